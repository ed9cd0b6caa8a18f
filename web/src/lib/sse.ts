/** The SSE parser lives in the contract: the CLI reads the same stream. */
export { SseParser, type SseMessage } from '../../../core/contract/sse';
