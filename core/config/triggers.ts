import { TriggerNotFoundError } from '../contract/errors.js';
import { Trigger } from '../contract/triggers.js';
import { readSecretConfig, removeSecretConfig, secretConfigNames, writeSecretConfig } from './secret-files.js';

/** Triggers live as `config/triggers/<name>.json`, their owner's only: each holds its webhook secret. */
const KIND = 'triggers';
const notFound = (name: string) => () => new TriggerNotFoundError(name);

export function loadTrigger(configDir: string, name: string): Promise<Trigger> {
  return readSecretConfig(configDir, KIND, name, Trigger, notFound(name));
}

export function listTriggerNames(configDir: string): Promise<string[]> {
  return secretConfigNames(configDir, KIND);
}

export function saveTrigger(configDir: string, trigger: Trigger): Promise<Trigger> {
  return writeSecretConfig(configDir, KIND, trigger);
}

export function deleteTrigger(configDir: string, name: string): Promise<void> {
  return removeSecretConfig(configDir, KIND, name, notFound(name));
}
