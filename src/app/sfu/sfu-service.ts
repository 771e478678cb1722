// What every LiveKit deployment says, from webhooks and polls, kept per deployment; answers the verdict's SFU view.
import type { RtcMember, Transport } from "../../domain/membership/model";
import { type CallPeers, sfuContested, sfuNamesFor, sfuTransportFor } from "../../domain/sfu/mapping";
import { type SfuSignal, SfuPresenceTracker, type SfuView } from "../../domain/sfu/presence";
import type { EpochMs } from "../../domain/time";
import type { Clock } from "../ports/clock";
import { type LiveKitPort, SfuUnavailableError } from "../ports/livekit";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { DeploymentDirectory } from "./deployments";

/** A verified LiveKit webhook, as the adapter hands it over (times in ms on our clock). */
export interface SfuWebhookSignal {
  readonly id: string;
  readonly deployment: string;
  readonly event: string;
  readonly room: string | null;
  readonly identity: string | null;
  readonly sid: string | null;
  readonly disconnectReason: string | null;
  readonly receivedAt: EpochMs;
}

/** Where a member is looked for on the SFU, once its deployment is known. */
export interface MemberTarget {
  readonly deployment: string;
  readonly rooms: readonly string[];
  readonly identities: readonly string[];
}

/** At least this many participants must vanish in one poll (and half of all) to count as an SFU incident. */
const MASS_LOSS_MIN = 2;

export interface SfuServiceOptions {
  /** A deployment's view is stale (never an SFU-based ghost) when its last good poll is older than this. */
  readonly staleAfterMs: number;
  /** How long gone participants are remembered. */
  readonly retentionMs: number;
}

export interface SfuServiceDeps {
  /** The deployments we hold keys for, and which `livekit_service_url`s each serves. */
  readonly directory: DeploymentDirectory;
  readonly livekit: LiveKitPort;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly options: SfuServiceOptions;
}

export class SfuService {
  private readonly trackers = new Map<string, SfuPresenceTracker>();

  constructor(private readonly d: SfuServiceDeps) {
    const { clock, directory } = d;
    const now = clock.now();
    for (const name of directory.names()) {
      const tracker = new SfuPresenceTracker(now);
      // Until the first poll succeeds nothing is known: the view is "stale", never evidence of absence.
      tracker.apply({ kind: "poll-failed", at: now, reason: "not polled yet" });
      this.trackers.set(name, tracker);
    }
  }

  /**
   * Takes back what LiveKit said before a restart: participants that left within the retention stay known as gone
   * (since when they left), so their ghosts get the short leave grace rather than the connect grace of strangers.
   * Nothing is judged on it before the first good poll.
   */
  restore(): number {
    const now = this.d.clock.now();
    let restored = 0;
    for (const row of this.d.store.sfuIntervalsEndedSince(now - this.d.options.retentionMs)) {
      const tracker = this.trackers.get(row.deployment);
      if (!tracker || row.leftAt === null) continue;
      const base = {
        room: row.livekitRoom,
        identity: row.identity,
        sid: row.sid,
        eventId: `restored:${row.sid}`,
      };
      tracker.apply({ kind: "left", ...base, at: row.leftAt, reason: row.reason });
      restored++;
    }
    return restored;
  }

  /**
   * The deployment and candidate names for a member, or why there are none. The names are derived (hashed) each
   * time, and only for a member on one of our SFUs: any sender can name a foreign one.
   */
  targetOf(member: RtcMember, peers: CallPeers): MemberTarget | "no-sfu" | "not-ours" {
    const transport = sfuTransportFor(member, peers);
    if (transport === null) return "no-sfu";
    const deployment = this.d.directory.forTransport(transport);
    if (deployment === null) return "not-ours";
    return { deployment, ...sfuNamesFor(member, transport) };
  }

  /** The SFU evidence for one member, for the verdict. */
  viewOf(member: RtcMember, peers: CallPeers, now: EpochMs): { view: SfuView; target: MemberTarget | null } {
    const target = this.targetOf(member, peers);
    if (target === "no-sfu") return { view: { kind: "none" }, target: null };
    if (target === "not-ours") return { view: { kind: "not-ours" }, target: null };
    const tracker = this.trackers.get(target.deployment);
    if (!tracker) return { view: { kind: "not-ours" }, target: null };
    const view = tracker.viewOf(target.rooms, target.identities, now, this.d.options.staleAfterMs);
    if (view.kind !== "observed") return { view, target };
    const isChosen = (t: Transport) => this.d.directory.forTransport(t) === target.deployment;
    const contested = sfuContested(member, peers, isChosen, now);
    return { view: contested ? { ...view, contested: true } : view, target };
  }

  /** Applies a webhook; returns the LiveKit room it concerns (to re-judge members mapped there). */
  onWebhook(hook: SfuWebhookSignal): string | null {
    const tracker = this.trackers.get(hook.deployment);
    if (!tracker || hook.room === null) return null;
    const at = hook.receivedAt;
    let signal: SfuSignal | null = null;
    if (hook.identity !== null && hook.sid !== null) {
      const base = { room: hook.room, identity: hook.identity, sid: hook.sid, at, eventId: hook.id };
      if (hook.event === "participant_joined") signal = { kind: "joined", ...base };
      else if (hook.event === "participant_left")
        signal = { kind: "left", ...base, reason: hook.disconnectReason };
      else if (hook.event === "participant_connection_aborted")
        signal = { kind: "aborted", ...base, reason: null };
    }
    if (hook.event === "room_finished") signal = { kind: "room-finished", room: hook.room, at };
    if (signal === null) return null;
    tracker.apply(signal);
    if (hook.disconnectReason === "SERVER_SHUTDOWN" || hook.disconnectReason === "MIGRATION") {
      // The SFU itself is going away: nothing it says about absence counts until it has been polled again.
      tracker.apply({ kind: "poll-failed", at, reason: `participant left with ${hook.disconnectReason}` });
    }
    this.recordInterval(hook);
    return hook.room;
  }

  private recordInterval(hook: SfuWebhookSignal): void {
    if (hook.sid === null || hook.identity === null || hook.room === null) return;
    if (hook.event === "participant_joined") {
      this.d.store.openSfuInterval({
        deployment: hook.deployment,
        sid: hook.sid,
        livekitRoom: hook.room,
        identity: hook.identity,
        joinedAt: hook.receivedAt,
        leftAt: null,
        reason: null,
      });
    } else if (hook.event === "participant_left" || hook.event === "participant_connection_aborted") {
      this.d.store.closeSfuInterval(
        hook.deployment,
        hook.sid,
        hook.receivedAt,
        hook.disconnectReason ?? hook.event,
      );
    }
  }

  /** Polls every deployment (rooms, then participants of each); a failure marks that deployment unavailable. */
  async pollAll(): Promise<void> {
    await Promise.all(this.d.directory.names().map((name) => this.poll(name)));
  }

  async poll(deployment: string): Promise<void> {
    const tracker = this.trackers.get(deployment);
    if (!tracker) return;
    const wasAvailable = tracker.status.available;
    try {
      const rooms = await this.d.livekit.listRooms(deployment);
      const snapshots = await Promise.all(
        rooms.map(async (room) => ({
          room,
          participants: await this.d.livekit.listParticipants(deployment, room),
        })),
      );
      const at = this.d.clock.now();
      const before = new Set(tracker.connectedParticipants().map((p) => p.sid));
      for (const { room, participants } of snapshots) {
        tracker.apply({ kind: "snapshot", room, at, participants });
        for (const p of participants) {
          if (p.state !== "active") continue;
          this.d.store.openSfuInterval({
            deployment,
            sid: p.sid,
            livekitRoom: room,
            identity: p.identity,
            joinedAt: p.joinedAt ?? at,
            leftAt: null,
            reason: null,
          });
        }
      }
      for (const room of tracker.roomsWithConnected()) {
        if (!rooms.includes(room)) tracker.apply({ kind: "room-finished", room, at });
      }
      const after = new Set(tracker.connectedParticipants().map((p) => p.sid));
      const lost = [...before].filter((sid) => !after.has(sid)).length;
      if (lost >= MASS_LOSS_MIN && lost * 2 >= before.size) {
        // Most participants gone at once is an SFU incident (restart, network), not that many crashes: follow the
        // deployment afresh so its clients get the connect grace to come back before anyone is judged gone.
        tracker.apply({ kind: "incident", at });
        this.d.logger.warn(
          "LiveKit deployment lost most participants at once; giving clients time to reconnect",
          {
            deployment,
            lost,
            before: before.size,
          },
        );
      }
      tracker.apply({ kind: "poll-ok", at });
      tracker.prune(at, this.d.options.retentionMs);
      if (!wasAvailable)
        this.d.logger.info("LiveKit deployment reachable", { deployment, rooms: rooms.length });
    } catch (err) {
      const reason = err instanceof SfuUnavailableError ? err.reason : String(err);
      tracker.apply({ kind: "poll-failed", at: this.d.clock.now(), reason });
      this.d.metrics.livekitApiError(deployment, err instanceof SfuUnavailableError ? err.operation : "poll");
      if (wasAvailable)
        this.d.logger.warn("LiveKit deployment unavailable: no SFU-based verdicts on it", {
          deployment,
          reason,
        });
    }
  }

  /**
   * Asks the API, at decision time, whether the member is connected now. "absent" only when every candidate room
   * answered and none lists a participant that is not disconnected (joining counts: a reconnect) with one of the member's identities.
   */
  async confirmAbsent(target: MemberTarget): Promise<"absent" | "present" | "unavailable"> {
    try {
      const lists = await Promise.all(
        target.rooms.map((room) => this.d.livekit.listParticipants(target.deployment, room)),
      );
      const at = this.d.clock.now();
      const tracker = this.trackers.get(target.deployment);
      lists.forEach((participants, i) => {
        const room = target.rooms[i];
        if (room !== undefined && participants.length > 0)
          tracker?.apply({ kind: "snapshot", room, at, participants });
      });
      const present = lists.some((list) =>
        // Not only ACTIVE: a device reconnecting after a timeout is JOINING under a new sid.
        list.some((p) => p.state !== "disconnected" && target.identities.includes(p.identity)),
      );
      return present ? "present" : "absent";
    } catch (err) {
      this.d.metrics.livekitApiError(
        target.deployment,
        err instanceof SfuUnavailableError ? err.operation : "confirm",
      );
      return "unavailable";
    }
  }

  /** Removes the member's participants from the SFU (for `end` and `kick`); returns how many were removed. */
  async removeParticipants(target: MemberTarget): Promise<number> {
    let removed = 0;
    for (const room of target.rooms) {
      for (const identity of target.identities) {
        try {
          if ((await this.d.livekit.removeParticipant(target.deployment, room, identity)) === "removed")
            removed++;
        } catch (err) {
          this.d.metrics.livekitApiError(target.deployment, "removeParticipant");
          this.d.logger.warn("could not remove a participant from the SFU", {
            deployment: target.deployment,
            room,
            identity,
            error: String(err),
          });
        }
      }
    }
    return removed;
  }

  /** ACTIVE participants per deployment and room, as last observed (for orphan reports). */
  connected(): { deployment: string; room: string; identity: string; sid: string; since: EpochMs }[] {
    const out: { deployment: string; room: string; identity: string; sid: string; since: EpochMs }[] = [];
    for (const [deployment, tracker] of this.trackers) {
      for (const p of tracker.connectedParticipants()) out.push({ deployment, ...p });
    }
    return out;
  }

  status(deployment: string) {
    return this.trackers.get(deployment)?.status ?? null;
  }

  deploymentNames(): string[] {
    return this.d.directory.names();
  }
}
