// The store port: durable state, history and audit. One SQLite adapter implements it; tests may use it in memory.
import type { DeviceCall, UserLeaveReason } from "../../domain/sessions/types";

/** A Matrix event journaled before the homeserver's transaction was acknowledged. */
export interface InboxEntry {
  readonly seq: number;
  readonly eventId: string;
  readonly roomId: string;
  readonly receivedAt: number;
  readonly event: unknown;
}

export interface RoomRow {
  readonly roomId: string;
  readonly roomVersion: string | null;
  readonly encrypted: boolean;
  readonly firstSeenAt: number;
  readonly lastEventAt: number;
  readonly unreadableSticky: number;
}

/** The event currently holding one membership slot (state key or sticky key). */
export interface SlotRow {
  readonly roomId: string;
  readonly slotKey: string;
  readonly eventId: string;
  readonly event: unknown;
  readonly receivedAt: number;
}

/** Why a user session ended, as stored (the domain's reasons). */
export type LeaveReason = UserLeaveReason;

export interface UserSessionRow extends DeviceCall {
  readonly id: string;
  readonly callSessionId: string | null;
  readonly joinedAt: number;
  readonly joinedReceivedAt: number;
  readonly leftAt: number | null;
  readonly leftReceivedAt: number | null;
  readonly leaveReason: LeaveReason | null;
  readonly joinEventId: string;
  readonly leaveEventId: string | null;
  readonly joinedBeforeTracking: boolean;
}

/** How a call ended, for history: answered (people overlapped), unanswered, or ended by clearing ghosts. */
export type CallKind = "answered" | "unanswered" | "cleared";

export interface CallSessionRow {
  readonly id: string;
  readonly roomId: string;
  readonly application: string;
  readonly callId: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly peakConcurrency: number;
  readonly distinctParticipants: number;
  readonly endReason: string | null;
  readonly kind: CallKind | null;
}

export interface SfuIntervalRow {
  readonly deployment: string;
  readonly sid: string;
  readonly livekitRoom: string;
  readonly identity: string;
  readonly joinedAt: number;
  readonly leftAt: number | null;
  readonly reason: string | null;
}

export type AuditAction =
  | "verdict"
  | "clear"
  | "would_clear"
  | "cannot_clear"
  | "clear_failed"
  | "clear_skipped"
  | "false_positive"
  | "reconnect"
  | "orphan_participant"
  | "participant_removed"
  | "command";

export interface AuditEntry {
  readonly at: number;
  readonly action: AuditAction;
  readonly roomId?: string | null;
  readonly userId?: string | null;
  readonly deviceId?: string | null;
  readonly memberKey?: string | null;
  readonly reason?: string | null;
  readonly method?: string | null;
  readonly result?: string | null;
  readonly actor?: string | null;
  readonly evidence?: Readonly<Record<string, unknown>>;
}

export interface AuditRow extends AuditEntry {
  readonly id: number;
}

export interface BackoffRow {
  readonly deviceKey: string;
  readonly falsePositives: number;
  readonly until: number;
}

export interface Store {
  /** Runs `fn` in one transaction: all its writes land, or none. */
  transaction<T>(fn: () => T): T;
  /**
   * Like `transaction`, but only if the write lock can be taken now: false, with `fn` not run, while another
   * connection holds it (the background checkpointer does, for a moment, when it restarts the log). Lets a
   * frequent writer try again on a later turn instead of holding the event loop while it waits.
   */
  tryTransaction(fn: () => void): boolean;
  /**
   * Runs `undo` if the transaction running now (or the nested part of it running now) rolls back, so what was
   * handed to it can be kept for a later attempt; forgotten once the outermost transaction commits. Outside a
   * transaction it does nothing.
   */
  onRollback(undo: () => void): void;

  /** Journals an event given as its JSON text; its entry's `seq`, or null when its event id is already journaled. */
  appendInbox(eventId: string, roomId: string, receivedAt: number, eventJson: string): number | null;
  pendingInbox(limit: number): readonly InboxEntry[];
  /** Marks every pending entry up to and including `throughSeq` processed: one write for a whole batch. */
  markInboxProcessed(throughSeq: number): void;
  inboxHasProcessed(eventId: string): boolean;

  upsertRoom(row: RoomRow): void;
  rooms(): readonly RoomRow[];
  room(roomId: string): RoomRow | null;
  /** Deletes what is kept to follow a room (its row and slots); its call history stays. */
  forgetRoom(roomId: string): void;

  putSlot(row: SlotRow): void;
  deleteSlot(roomId: string, slotKey: string): void;
  slots(roomId?: string): readonly SlotRow[];

  putUserSession(row: UserSessionRow): void;
  putCallSession(row: CallSessionRow): void;
  openUserSessions(): readonly UserSessionRow[];
  openCallSessions(): readonly CallSessionRow[];
  callSessions(roomId: string, limit: number): readonly CallSessionRow[];
  userSessionsOfCall(callSessionId: string): readonly UserSessionRow[];

  openSfuInterval(row: SfuIntervalRow): void;
  closeSfuInterval(deployment: string, sid: string, leftAt: number, reason: string | null): void;
  /** Participant connections that ended at or after `since`, oldest end first (what LiveKit said before a restart). */
  sfuIntervalsEndedSince(since: number): readonly SfuIntervalRow[];

  audit(entry: AuditEntry): number;
  auditSince(since: number, filter?: { action?: AuditAction; roomId?: string }): readonly AuditRow[];

  /** True when the webhook id is new (and remembers it until `expiresAt`). */
  firstWebhookSighting(id: string, expiresAt: number): boolean;

  backoff(deviceKey: string): BackoffRow | null;
  putBackoff(row: BackoffRow): void;

  addDailyTotal(day: string, name: string, delta: number): void;
  dailyTotals(sinceDay: string): readonly { day: string; name: string; value: number }[];

  /** Deletes closed history older than `before` and processed journal rows older than a day; returns rows removed. */
  prune(before: number, now: number): number;
  close(): void;
}
