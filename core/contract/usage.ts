import { z } from 'zod';

const Tokens = z.number().int().nonnegative();

/**
 * A run's usage in one shape for every CLI: what this run itself used (a resumed run reports its
 * own share, not its session's running total). `input_tokens` are the uncached ones; cached
 * reads and cache writes are counted apart, as the vendors price them.
 */
export const RunUsage = z
  .object({
    input_tokens: Tokens,
    output_tokens: Tokens,
    cache_read_tokens: Tokens,
    cache_write_tokens: Tokens,
    /** Output tokens spent reasoning (also counted in `output_tokens` where the vendor does so). */
    reasoning_tokens: Tokens,
    /** The CLI's own figure (Claude Code), else from the price table; unset when the model has no price. */
    cost_usd: z.number().nonnegative().optional(),
    /** Model requests (Claude: the CLI's turns; Codex: model calls; Gemini: prompts). */
    turns: Tokens,
    /** What the CLI reported besides, as it reported it. */
    raw: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'RunUsage' });
export type RunUsage = z.infer<typeof RunUsage>;

export const NO_USAGE: RunUsage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, turns: 0 };

const TOKEN_KEYS = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'turns'] as const;

/** The sum of two usages (a session's total); a cost only when both have one. */
export function addUsage(a: RunUsage, b: RunUsage): RunUsage {
  const sum = { ...NO_USAGE };
  for (const key of TOKEN_KEYS) sum[key] = a[key] + b[key];
  return a.cost_usd !== undefined && b.cost_usd !== undefined ? { ...sum, cost_usd: roundUsd(a.cost_usd + b.cost_usd) } : sum;
}

/** USD to a millionth of a cent: sums of float prices stay readable. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e8) / 1e8;

/** A model's list price, USD per million tokens. */
export const ModelPrice = z
  .object({
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    /** @defaultValue the input price */
    cache_read: z.number().nonnegative().optional(),
    /** @defaultValue the input price */
    cache_write: z.number().nonnegative().optional(),
  })
  .strict();
export type ModelPrice = z.infer<typeof ModelPrice>;

/** Model name → price: a profile's `prices` override the shipped table. */
export const PriceTable = z.record(z.string().min(1), ModelPrice);
export type PriceTable = z.infer<typeof PriceTable>;

/**
 * The shipped prices (USD per million tokens, vendors' list prices for the standard tier): the cost
 * of the CLIs that report none of their own, and of each Claude model request as it comes (Claude
 * Code prices only the whole run, at its end). A model not here has no cost unless its profile prices it.
 */
export const SHIPPED_PRICES: PriceTable = {
  'claude-sonnet-4-5': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
  'claude-sonnet-4': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
  'claude-opus-4-5': { input: 5, output: 25, cache_read: 0.5, cache_write: 6.25 },
  'claude-opus-4-1': { input: 15, output: 75, cache_read: 1.5, cache_write: 18.75 },
  'claude-haiku-4-5': { input: 1, output: 5, cache_read: 0.1, cache_write: 1.25 },
  'gpt-5': { input: 1.25, output: 10, cache_read: 0.125 },
  'gpt-5-mini': { input: 0.25, output: 2, cache_read: 0.025 },
  'gpt-5-codex': { input: 1.25, output: 10, cache_read: 0.125 },
  'gemini-2.5-pro': { input: 1.25, output: 10, cache_read: 0.31 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5, cache_read: 0.075 },
};

/** The usage priced by the table; unchanged when the model has no price. */
export function priced(usage: RunUsage, model: string | undefined, overrides: PriceTable = {}): RunUsage {
  const price = model === undefined ? undefined : (overrides[model] ?? SHIPPED_PRICES[model]);
  if (!price) return usage;
  const perToken = (perMillion: number, tokens: number): number => (perMillion * tokens) / 1e6;
  const cost =
    perToken(price.input, usage.input_tokens) +
    perToken(price.output, usage.output_tokens) +
    perToken(price.cache_read ?? price.input, usage.cache_read_tokens) +
    perToken(price.cache_write ?? price.input, usage.cache_write_tokens);
  return { ...usage, cost_usd: roundUsd(cost) };
}
