// Estimates how far our clock is from the homeserver's, so expiry (server timestamps) is judged on server time.
import type { EpochMs } from "../domain/time";

const MAX_PLAUSIBLE_OFFSET_MS = 86_400_000;

/**
 * offset = our receive time − the event's origin_server_ts = clock difference + delivery delay. Delivery delay is
 * never negative, so the smallest offset over recent events is the best estimate of the clock difference alone.
 */
export class ServerClockOffset {
  private readonly samples: number[] = [];
  private estimate = 0;

  constructor(private readonly window = 64) {}

  observe(originServerTs: EpochMs, receivedAt: EpochMs): void {
    const offset = receivedAt - originServerTs;
    if (!Number.isFinite(offset) || Math.abs(offset) > MAX_PLAUSIBLE_OFFSET_MS) return;
    this.samples.push(offset);
    if (this.samples.length > this.window) this.samples.shift();
    this.estimate = Math.min(...this.samples);
  }

  /** Milliseconds to add to a server timestamp to get our clock's reading of the same instant. */
  get offsetMs(): number {
    return this.estimate;
  }

  /** A server instant expressed on our clock. */
  toLocal(serverTs: EpochMs): EpochMs {
    return serverTs + this.estimate;
  }
}
