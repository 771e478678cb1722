// Renders command replies (plain text + escaped HTML) from plain view models; no I/O, times passed in.
import type { EpochMs } from "../time";
import { type Reply, ReplyBuilder } from "./html";

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatInstant(at: EpochMs): string {
  return new Date(at)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
}

export interface StatusMember {
  readonly userId: string;
  readonly deviceId: string;
  readonly since: EpochMs;
  /** "connected", "gone since …", "not seen yet", "unknown SFU", "SFU unavailable", "no SFU". */
  readonly sfu: string;
  readonly expiresAt: EpochMs | null;
  readonly verdict: string;
}

export interface StatusCall {
  readonly application: string;
  readonly callId: string;
  readonly members: readonly StatusMember[];
}

export function renderStatus(calls: readonly StatusCall[], now: EpochMs): Reply {
  const r = new ReplyBuilder();
  if (calls.length === 0) return r.line("No call in this room right now.").build();
  for (const call of calls) {
    r.heading(
      `Call ${call.application}${call.callId ? ` #${call.callId}` : ""}: ${call.members.length} member(s)`,
    );
    for (const m of call.members) {
      const expiry =
        m.expiresAt === null
          ? "no expiry"
          : m.expiresAt <= now
            ? `expired ${formatDuration(now - m.expiresAt)} ago`
            : `expires in ${formatDuration(m.expiresAt - now)}`;
      r.item(
        `${m.userId} (${m.deviceId}) since ${formatDuration(now - m.since)} ago · SFU: ${m.sfu} · ${expiry} · ${m.verdict}`,
      );
    }
  }
  return r.build();
}

export interface HistoryParticipant {
  readonly userId: string;
  readonly deviceId: string;
  readonly joinedAt: EpochMs;
  readonly leftAt: EpochMs | null;
  readonly leaveReason: string | null;
  readonly joinedBeforeTracking: boolean;
}

export interface HistoryCall {
  readonly startedAt: EpochMs;
  readonly endedAt: EpochMs | null;
  readonly kind: string | null;
  readonly peakConcurrency: number;
  readonly distinctParticipants: number;
  readonly participants: readonly HistoryParticipant[];
}

const KIND_TEXT: Readonly<Record<string, string>> = {
  answered: "answered",
  unanswered: "unanswered",
  cleared: "ended by clearing ghosts",
};

export function renderHistory(calls: readonly HistoryCall[], now: EpochMs): Reply {
  const r = new ReplyBuilder();
  if (calls.length === 0) return r.line("No call recorded in this room yet.").build();
  r.heading(`Last ${calls.length} call(s)`);
  for (const c of calls) {
    const duration = formatDuration((c.endedAt ?? now) - c.startedAt);
    const state = c.endedAt === null ? "ongoing" : (KIND_TEXT[c.kind ?? ""] ?? "ended");
    r.item(
      `${formatInstant(c.startedAt)} · ${duration} · ${state} · ${c.distinctParticipants} participant(s), peak ${c.peakConcurrency}`,
    );
    for (const p of c.participants) {
      const stayed = formatDuration((p.leftAt ?? now) - p.joinedAt);
      const how = p.leftAt === null ? "still in" : `left: ${p.leaveReason ?? "unknown"}`;
      r.line(
        `    ${p.userId} (${p.deviceId}) ${stayed}, ${how}${p.joinedBeforeTracking ? " (joined before tracking)" : ""}`,
      );
    }
  }
  return r.build();
}

export interface GhostLine {
  readonly roomId: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly reason: string;
  readonly clearable: string;
}

/** Ghosts of other rooms, counted only: their ids and users are not posted into the room asked in. */
export interface GhostsElsewhere {
  readonly ghosts: number;
  readonly rooms: number;
}

export function renderGhosts(ghosts: readonly GhostLine[], elsewhere: GhostsElsewhere | null = null): Reply {
  const r = new ReplyBuilder();
  if (ghosts.length === 0) r.line("No ghost membership in this room.");
  else r.heading(`${ghosts.length} ghost membership(s) in this room`);
  for (const g of ghosts) r.item(`${g.userId} (${g.deviceId}) · ${g.reason} · ${g.clearable}`);
  if (elsewhere !== null) {
    r.line(
      elsewhere.ghosts === 0
        ? "No ghost membership in any other room."
        : `Other rooms: ${elsewhere.ghosts} ghost membership(s) in ${elsewhere.rooms} room(s). Their rooms and users are not listed here; ask in each room.`,
    );
  }
  return r.build();
}

export interface RefusedLine {
  readonly userId: string;
  readonly deviceId: string;
  readonly reason: string;
}

/** A kick or end refused by the room's rules: nothing was done, and each membership says why. */
export function renderRefused(title: string, refusals: readonly RefusedLine[]): Reply {
  const r = new ReplyBuilder().heading(`${title}: refused, nothing was changed`);
  for (const x of refusals) r.item(`${x.userId} (${x.deviceId}): ${x.reason}`);
  return r.build();
}

export interface ActionLine {
  readonly userId: string;
  readonly deviceId: string;
  readonly result: string;
  readonly detail: string;
}

export function renderActions(
  title: string,
  actions: readonly ActionLine[],
  extra: readonly string[] = [],
): Reply {
  const r = new ReplyBuilder().heading(title);
  if (actions.length === 0) r.line("Nothing to do.");
  for (const a of actions) r.item(`${a.userId} (${a.deviceId}): ${a.result} — ${a.detail}`);
  for (const line of extra) r.line(line);
  return r.build();
}

export interface StatsView {
  readonly rooms: number;
  readonly liveCalls: number;
  readonly members: number;
  readonly cleared24h: Readonly<Record<string, number>>;
  readonly cleared7d: Readonly<Record<string, number>>;
  readonly medianLifetimeS: number | null;
  readonly falsePositives7d: number;
  readonly cannotClear7d: number;
}

const list = (counts: Readonly<Record<string, number>>): string =>
  Object.keys(counts).length === 0
    ? "none"
    : Object.entries(counts)
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");

export function renderStats(s: StatsView): Reply {
  return new ReplyBuilder()
    .heading("matrix-rtc-reconciler statistics")
    .item(`Tracked: ${s.rooms} room(s), ${s.liveCalls} live call(s), ${s.members} membership(s)`)
    .item(`Ghosts cleared in 24 h (reason/method): ${list(s.cleared24h)}`)
    .item(`Ghosts cleared in 7 d (reason/method): ${list(s.cleared7d)}`)
    .item(
      `Median ghost lifetime (7 d): ${s.medianLifetimeS === null ? "n/a" : `${s.medianLifetimeS.toFixed(1)} s`}`,
    )
    .item(`False positives (7 d): ${s.falsePositives7d} · could not clear (7 d): ${s.cannotClear7d}`)
    .build();
}
