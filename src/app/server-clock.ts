// How far our clock is from the homeserver's, learnt only from the homeserver's own answers (their Date header).
import type { EpochMs } from "../domain/time";
import type { Logger } from "./ports/logger";

/**
 * The largest clock difference a real, NTP-less but sane server can have: minutes. Anything further is a
 * misconfiguration (a wrong time zone gives hours); then no server timestamp can be trusted for expiry.
 */
export const MAX_CLOCK_ERROR_MS = 10 * 60_000;
/** A new estimate is logged when it moves at least this far from the last one logged. */
const LOG_STEP_MS = 2_000;

/**
 * offset = our receive time − the server's `Date` (whole seconds, so at most 1 s early) = clock difference +
 * delivery delay + truncation. Both are never negative, so the smallest offset over recent answers is the best
 * estimate of the difference. Only the homeserver's own answers feed it: an event's `origin_server_ts` is its
 * sender's claim (a remote server, or an appservice's timestamp massaging) and must never move how anyone is judged.
 */
export class ServerClockOffset {
  private readonly samples: number[] = [];
  private estimate = 0;
  private beyondBound = false;
  private logged: number | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly window = 64,
  ) {}

  /** One answer of the homeserver: its `Date` header and our clock when the answer arrived. */
  observe(serverMs: EpochMs, receivedAt: EpochMs): void {
    const offset = receivedAt - serverMs;
    if (!Number.isFinite(offset)) return;
    this.samples.push(offset);
    if (this.samples.length > this.window) this.samples.shift();
    const smallest = Math.min(...this.samples);
    const beyond = Math.abs(smallest) > MAX_CLOCK_ERROR_MS;
    if (beyond !== this.beyondBound) {
      this.beyondBound = beyond;
      if (beyond)
        this.logger.error(
          "the homeserver's clock is too far from ours: expiry is not judged until they agree",
          {
            offset_ms: smallest,
            bound_ms: MAX_CLOCK_ERROR_MS,
          },
        );
      else this.logger.info("the homeserver's clock is within bounds again", { offset_ms: smallest });
    }
    if (beyond) return;
    this.estimate = smallest;
    if (this.logged === null || Math.abs(smallest - this.logged) >= LOG_STEP_MS) {
      this.logger.info("homeserver clock offset", { offset_ms: smallest, previous_ms: this.logged });
      this.logged = smallest;
    }
  }

  /** Milliseconds to add to a server timestamp to get our clock's reading of the same instant. */
  get offsetMs(): number {
    return this.estimate;
  }

  /** False while the homeserver's clock is further from ours than a real clock error can be. */
  get trusted(): boolean {
    return !this.beyondBound;
  }

  /** A server instant expressed on our clock. */
  toLocal(serverTs: EpochMs): EpochMs {
    return serverTs + this.estimate;
  }
}
