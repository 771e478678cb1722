// SFU participants with no call membership behind them (left over, or a client that never announced itself):
// reported once they have lasted past a grace period, and removed from the SFU only when the operator enables it.
import type { EpochMs } from "../../domain/time";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { Store } from "../ports/store";
import type { SfuService } from "../sfu/sfu-service";

export interface OrphanOptions {
  readonly graceMs: number;
  readonly remove: boolean;
  readonly dryRun: boolean;
}

export interface OrphansDeps {
  readonly sfu: SfuService;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: OrphanOptions;
}

export class Orphans {
  /** deployment|sid already reported (so each orphan is reported once). */
  private readonly reported = new Set<string>();

  constructor(private readonly d: OrphansDeps) {}

  /** `known`: `deployment|identity` (or `*|identity`, any deployment) of every participant a membership maps to. */
  async check(known: ReadonlySet<string>): Promise<void> {
    const now: EpochMs = this.d.clock.now();
    const live = new Set<string>();
    for (const p of this.d.sfu.connected()) {
      const key = `${p.deployment}|${p.sid}`;
      live.add(key);
      if (
        known.has(`${p.deployment}|${p.identity}`) ||
        known.has(`*|${p.identity}`) ||
        now - p.since < this.d.options.graceMs ||
        this.reported.has(key)
      )
        continue;
      this.reported.add(key);
      const remove = this.d.options.remove && !this.d.options.dryRun;
      let result = "reported";
      if (remove) {
        const removed = await this.d.sfu.removeParticipants({
          deployment: p.deployment,
          rooms: [p.room],
          identities: [p.identity],
        });
        result = removed > 0 ? "removed" : "not_removed";
      }
      const fields = {
        deployment: p.deployment,
        livekit_room: p.room,
        identity: p.identity,
        sid: p.sid,
        since: p.since,
        result,
      };
      this.d.logger.warn("SFU participant without a call membership", fields);
      this.d.store.audit({
        at: now,
        action: remove ? "participant_removed" : "orphan_participant",
        reason: "no_membership",
        result,
        evidence: fields,
      });
    }
    for (const key of this.reported) if (!live.has(key)) this.reported.delete(key);
  }
}
