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

  /**
   * `deployment|identity` of the connected participants that `check` would report as of `at` unless a membership
   * maps to them (past the grace, not reported yet): the only names worth collecting while judging the rooms.
   */
  suspects(at: EpochMs): Set<string> {
    const out = new Set<string>();
    for (const p of this.d.sfu.connected()) {
      if (at - p.since < this.d.options.graceMs || this.reported.has(`${p.deployment}|${p.sid}`)) continue;
      out.add(`${p.deployment}|${p.identity}`);
    }
    return out;
  }

  /**
   * Reports the participants connected since before `at` minus the grace that no membership maps to. `known`:
   * `deployment|identity` of every participant some membership maps to (at least those `suspects(at)` named).
   */
  async check(known: ReadonlySet<string>, at: EpochMs = this.d.clock.now()): Promise<void> {
    const now = at;
    const live = new Set<string>();
    for (const p of this.d.sfu.connected()) {
      const key = `${p.deployment}|${p.sid}`;
      live.add(key);
      if (
        now - p.since < this.d.options.graceMs ||
        this.reported.has(key) ||
        known.has(`${p.deployment}|${p.identity}`)
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
