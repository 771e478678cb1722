// The clock port: the only way the app reads time, so tests pass a fake one.
import type { EpochMs } from "../../domain/time";

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): EpochMs;
}
