// Human-friendly durations in the config ("5s", "2m", "4h", "30d" or plain milliseconds), parsed to milliseconds.
import { z } from "zod";

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/** Parses "5s", "1.5m", "4h", "30d", "250ms" or a number of milliseconds; null when it is not a duration. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
  const match = PATTERN.exec(value.trim());
  if (!match) return null;
  const [, amount, unit = "ms"] = match;
  const factor = UNIT_MS[unit];
  if (amount === undefined || factor === undefined) return null;
  return Math.round(Number(amount) * factor);
}

/** A config field holding a duration; its parsed value is milliseconds. */
export function duration(description: string) {
  return z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null) {
        ctx.addIssue({
          code: "custom",
          message: `expected a duration such as "5s", "2m", "4h", "30d" or milliseconds, got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .describe(description);
}
