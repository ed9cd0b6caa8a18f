/**
 * A procedural run's parameters become `--name` flags on its script's command line: their names
 * must be what a command line carries unambiguously. Checked when the run is created, so the
 * caller gets a 400, and again on the runner.
 */
export const FLAG_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export function flagNameProblems(parameters: Record<string, unknown>): string[] {
  return Object.keys(parameters)
    .filter((key) => !FLAG_NAME.test(key))
    .map((key) => `${key}: a procedural agent's parameter names become --flags: use letters, digits, "_" and "-", starting with a letter or digit`);
}
