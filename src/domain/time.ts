// Time values used across the domain: epoch milliseconds, always passed in, never read from a clock.

/** Milliseconds since the Unix epoch. The domain never reads a clock: callers pass `now` in. */
export type EpochMs = number;

/** A duration in milliseconds. */
export type DurationMs = number;
