import { proxySinks, type Sinks } from '@temporalio/workflow';

/**
 * What a run tells the control worker it runs on, outside its history: the fleet view there
 * (activities/fleet-view.ts) hears of a slot a pick reserved from the runner's reply, and of a slot
 * freed or granted to a queued run only this way. A hint, never read back by the workflow, so not called during replay.
 */
export interface FleetSinks extends Sinks {
  fleet: {
    /** `runId` no longer holds a slot on `runnerId`. */
    slotFreed(runnerId: string, runId: string): void;
    /** `runnerId` granted `runId`, queued there, a slot that freed. */
    slotGranted(runnerId: string, runId: string): void;
  };
}

export const { fleet: fleetSink } = proxySinks<FleetSinks>();
