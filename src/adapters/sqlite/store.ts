// The SQLite store (better-sqlite3): prepared statements behind the Store port, idempotent writes by id.
import type Database from "better-sqlite3";
import type {
  AuditAction,
  AuditEntry,
  AuditRow,
  BackoffRow,
  CallSessionRow,
  InboxEntry,
  RoomRow,
  SfuIntervalRow,
  SlotRow,
  Store,
  UserSessionRow,
} from "../../app/ports/store";
import { BUSY_TIMEOUT_MS, openDatabase, type Db } from "./database";
import * as rows from "./rows";

type Stmt = Database.Statement;

const JOURNAL_RETENTION_MS = 86_400_000;

export class SqliteStore implements Store {
  private readonly stmts = new Map<string, Stmt>();
  /**
   * One transaction wrapper for every call: better-sqlite3 builds four wrapper functions each time `transaction` is
   * called, which costs more than the SAVEPOINT of a nested one (and the drain opens one per event).
   */
  private readonly runTransaction: ((fn: () => unknown) => unknown) & {
    immediate: (fn: () => unknown) => unknown;
  };
  /** How deep the running transaction is nested (0: none), and what to undo if a level of it rolls back. */
  private depth = 0;
  private readonly rollbackHooks: (() => void)[] = [];

  constructor(readonly db: Db) {
    this.runTransaction = db.transaction((fn: () => unknown) => fn());
  }

  static open(path: string): { store: SqliteStore; migratedFrom: number; version: number } {
    const { db, from, to } = openDatabase(path);
    return { store: new SqliteStore(db), migratedFrom: from, version: to };
  }

  private stmt(sql: string): Stmt {
    const cached = this.stmts.get(sql);
    if (cached) return cached;
    const s = this.db.prepare(sql);
    this.stmts.set(sql, s);
    return s;
  }

  private all(sql: string, ...params: unknown[]): rows.SqlRow[] {
    return this.stmt(sql).all(...params) as rows.SqlRow[];
  }

  transaction<T>(fn: () => T): T {
    return this.run(fn, this.runTransaction);
  }

  tryTransaction(fn: () => void): boolean {
    if (this.depth > 0) {
      // Inside a transaction already: the lock is ours, or taken by its first write as usual.
      this.transaction(fn);
      return true;
    }
    const attempt = { began: false };
    this.stmt("PRAGMA busy_timeout = 0").get();
    try {
      // IMMEDIATE: the write lock is taken at BEGIN, before `fn` changes anything in memory.
      this.run(() => {
        attempt.began = true;
        fn();
      }, this.runTransaction.immediate);
      return true;
    } catch (err) {
      // SQLITE_BUSY and its extended codes (SQLITE_BUSY_RECOVERY, …): the lock is taken for now.
      const code = (err as { code?: unknown }).code;
      if (!attempt.began && typeof code === "string" && code.startsWith("SQLITE_BUSY")) return false;
      throw err;
    } finally {
      this.stmt(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`).get();
    }
  }

  private run<T>(fn: () => T, how: (fn: () => unknown) => unknown): T {
    const mark = this.rollbackHooks.length;
    this.depth++;
    try {
      const result = how(fn) as T;
      if (this.depth === 1) this.rollbackHooks.length = 0;
      return result;
    } catch (err) {
      // This level's writes are undone (a savepoint, or the whole transaction): so is what was handed to them.
      for (const undo of this.rollbackHooks.splice(mark).reverse()) undo();
      throw err;
    } finally {
      this.depth--;
    }
  }

  onRollback(undo: () => void): void {
    if (this.depth > 0) this.rollbackHooks.push(undo);
  }

  appendInbox(eventId: string, roomId: string, receivedAt: number, eventJson: string): number | null {
    const res = this.stmt(
      "INSERT OR IGNORE INTO inbox (event_id, room_id, received_at, event_json) VALUES (?, ?, ?, ?)",
    ).run(eventId, roomId, receivedAt, eventJson);
    return res.changes === 1 ? Number(res.lastInsertRowid) : null;
  }
  pendingInbox(limit: number): readonly InboxEntry[] {
    return this.all(
      "SELECT * FROM inbox WHERE seq > (SELECT processed_through FROM inbox_cursor) ORDER BY seq LIMIT ?",
      limit,
    ).map(rows.toInbox);
  }
  markInboxProcessed(throughSeq: number): void {
    this.stmt("UPDATE inbox_cursor SET processed_through = ? WHERE processed_through < ?").run(
      throughSeq,
      throughSeq,
    );
  }
  inboxHasProcessed(eventId: string): boolean {
    return (
      this.stmt(
        "SELECT 1 FROM inbox WHERE event_id = ? AND seq <= (SELECT processed_through FROM inbox_cursor)",
      ).get(eventId) !== undefined
    );
  }

  upsertRoom(r: RoomRow): void {
    this.stmt(
      `INSERT INTO rooms (room_id, room_version, encrypted, first_seen_at, last_event_at, unreadable_sticky)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (room_id) DO UPDATE SET room_version = excluded.room_version, encrypted = excluded.encrypted,
         last_event_at = excluded.last_event_at, unreadable_sticky = excluded.unreadable_sticky`,
    ).run(r.roomId, r.roomVersion, r.encrypted ? 1 : 0, r.firstSeenAt, r.lastEventAt, r.unreadableSticky);
  }
  rooms(): readonly RoomRow[] {
    return this.all("SELECT * FROM rooms ORDER BY room_id").map(rows.toRoom);
  }
  room(roomId: string): RoomRow | null {
    const r = this.stmt("SELECT * FROM rooms WHERE room_id = ?").get(roomId) as rows.SqlRow | undefined;
    return r ? rows.toRoom(r) : null;
  }

  forgetRoom(roomId: string): void {
    this.transaction(() => {
      for (const table of ["slots", "rooms"]) this.stmt(`DELETE FROM ${table} WHERE room_id = ?`).run(roomId);
    });
  }

  putSlot(r: SlotRow): void {
    this.stmt(
      `INSERT INTO slots (room_id, slot_key, event_id, event_json, received_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (room_id, slot_key) DO UPDATE SET event_id = excluded.event_id, event_json = excluded.event_json,
         received_at = excluded.received_at`,
    ).run(r.roomId, r.slotKey, r.eventId, JSON.stringify(r.event), r.receivedAt);
  }
  deleteSlot(roomId: string, slotKey: string): void {
    this.stmt("DELETE FROM slots WHERE room_id = ? AND slot_key = ?").run(roomId, slotKey);
  }
  slots(roomId?: string): readonly SlotRow[] {
    const list =
      roomId === undefined
        ? this.all("SELECT * FROM slots ORDER BY room_id, received_at")
        : this.all("SELECT * FROM slots WHERE room_id = ? ORDER BY received_at", roomId);
    return list.map(rows.toSlot);
  }

  putUserSession(s: UserSessionRow): void {
    this.stmt(
      `INSERT INTO user_sessions (id, call_session_id, member_key, room_id, user_id, device_id, application, call_id,
         joined_at, joined_received_at, left_at, left_received_at, leave_reason, join_event_id, leave_event_id,
         joined_before_tracking) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET call_session_id = excluded.call_session_id, left_at = excluded.left_at,
         left_received_at = excluded.left_received_at, leave_reason = excluded.leave_reason,
         leave_event_id = excluded.leave_event_id`,
    ).run(
      s.id,
      s.callSessionId,
      s.memberKey,
      s.roomId,
      s.userId,
      s.deviceId,
      s.application,
      s.callId,
      s.joinedAt,
      s.joinedReceivedAt,
      s.leftAt,
      s.leftReceivedAt,
      s.leaveReason,
      s.joinEventId,
      s.leaveEventId,
      s.joinedBeforeTracking ? 1 : 0,
    );
  }
  putCallSession(c: CallSessionRow): void {
    this.stmt(
      `INSERT INTO call_sessions (id, room_id, application, call_id, started_at, ended_at, peak_concurrency,
         distinct_participants, end_reason, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, peak_concurrency = excluded.peak_concurrency,
         distinct_participants = excluded.distinct_participants, end_reason = excluded.end_reason, kind = excluded.kind`,
    ).run(
      c.id,
      c.roomId,
      c.application,
      c.callId,
      c.startedAt,
      c.endedAt,
      c.peakConcurrency,
      c.distinctParticipants,
      c.endReason,
      c.kind,
    );
  }
  openUserSessions(): readonly UserSessionRow[] {
    return this.all("SELECT * FROM user_sessions WHERE left_at IS NULL").map(rows.toUserSession);
  }
  openCallSessions(): readonly CallSessionRow[] {
    return this.all("SELECT * FROM call_sessions WHERE ended_at IS NULL").map(rows.toCallSession);
  }
  callSessions(roomId: string, limit: number): readonly CallSessionRow[] {
    return this.all(
      "SELECT * FROM call_sessions WHERE room_id = ? ORDER BY started_at DESC LIMIT ?",
      roomId,
      limit,
    ).map(rows.toCallSession);
  }
  userSessionsOfCall(callSessionId: string): readonly UserSessionRow[] {
    return this.all(
      "SELECT * FROM user_sessions WHERE call_session_id = ? ORDER BY joined_at",
      callSessionId,
    ).map(rows.toUserSession);
  }

  openSfuInterval(r: SfuIntervalRow): void {
    this.stmt(
      `INSERT OR IGNORE INTO sfu_presence (deployment, sid, livekit_room, identity, joined_at, left_at, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.deployment, r.sid, r.livekitRoom, r.identity, r.joinedAt, r.leftAt, r.reason);
  }
  closeSfuInterval(deployment: string, sid: string, leftAt: number, reason: string | null): void {
    this.stmt(
      "UPDATE sfu_presence SET left_at = ?, reason = ? WHERE deployment = ? AND sid = ? AND left_at IS NULL",
    ).run(leftAt, reason, deployment, sid);
  }

  sfuIntervalsEndedSince(since: number): readonly SfuIntervalRow[] {
    return this.all(
      "SELECT * FROM sfu_presence WHERE left_at IS NOT NULL AND left_at >= ? ORDER BY left_at",
      since,
    ).map(rows.toSfuInterval);
  }

  audit(e: AuditEntry): number {
    const res = this.stmt(
      `INSERT INTO audit (at, action, room_id, user_id, device_id, member_key, reason, method, result, actor,
         evidence_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      e.at,
      e.action,
      e.roomId ?? null,
      e.userId ?? null,
      e.deviceId ?? null,
      e.memberKey ?? null,
      e.reason ?? null,
      e.method ?? null,
      e.result ?? null,
      e.actor ?? null,
      JSON.stringify(e.evidence ?? {}),
    );
    return Number(res.lastInsertRowid);
  }
  auditSince(since: number, filter: { action?: AuditAction; roomId?: string } = {}): readonly AuditRow[] {
    return this.all(
      `SELECT * FROM audit WHERE at >= ? AND (? IS NULL OR action = ?) AND (? IS NULL OR room_id = ?) ORDER BY id`,
      since,
      filter.action ?? null,
      filter.action ?? null,
      filter.roomId ?? null,
      filter.roomId ?? null,
    ).map(rows.toAudit);
  }

  firstWebhookSighting(id: string, expiresAt: number): boolean {
    return (
      this.stmt("INSERT OR IGNORE INTO webhooks_seen (id, expires_at) VALUES (?, ?)").run(id, expiresAt)
        .changes === 1
    );
  }

  backoff(deviceKey: string): BackoffRow | null {
    const r = this.stmt("SELECT * FROM backoff WHERE device_key = ?").get(deviceKey) as
      rows.SqlRow | undefined;
    return r ? { deviceKey, falsePositives: Number(r.false_positives), until: Number(r.until) } : null;
  }
  putBackoff(b: BackoffRow): void {
    this.stmt(
      `INSERT INTO backoff (device_key, false_positives, until) VALUES (?, ?, ?)
       ON CONFLICT (device_key) DO UPDATE SET false_positives = excluded.false_positives, until = excluded.until`,
    ).run(b.deviceKey, b.falsePositives, b.until);
  }

  addDailyTotal(day: string, name: string, delta: number): void {
    this.stmt(
      `INSERT INTO daily_totals (day, name, value) VALUES (?, ?, ?)
       ON CONFLICT (day, name) DO UPDATE SET value = value + excluded.value`,
    ).run(day, name, delta);
  }
  dailyTotals(sinceDay: string): readonly { day: string; name: string; value: number }[] {
    return this.stmt("SELECT day, name, value FROM daily_totals WHERE day >= ? ORDER BY day, name").all(
      sinceDay,
    ) as { day: string; name: string; value: number }[];
  }

  prune(before: number, now: number): number {
    const deletes: [sql: string, olderThan: number][] = [
      ["DELETE FROM user_sessions WHERE left_at IS NOT NULL AND left_at < ?", before],
      ["DELETE FROM call_sessions WHERE ended_at IS NOT NULL AND ended_at < ?", before],
      ["DELETE FROM sfu_presence WHERE left_at IS NOT NULL AND left_at < ?", before],
      ["DELETE FROM audit WHERE at < ?", before],
      ["DELETE FROM webhooks_seen WHERE expires_at < ?", now],
    ];
    return this.transaction(
      () =>
        this.pruneJournal(now) +
        deletes.reduce((removed, [sql, olderThan]) => removed + this.stmt(sql).run(olderThan).changes, 0),
    );
  }

  /**
   * The journal only needs to outlive the homeserver's redelivery window, whatever the history retention: an entry
   * goes once it was processed over a day ago. The cursor is marked (`marked_through` as of `marked_at`); a prune
   * a day or more after the mark deletes what the mark covers and marks the cursor anew, so an entry goes between
   * one and two days (plus the interval between prunes) after it was processed, and a pending one never.
   */
  private pruneJournal(now: number): number {
    const mark = this.stmt("SELECT marked_through, marked_at FROM inbox_cursor").get() as {
      marked_through: number;
      marked_at: number;
    };
    if (now - mark.marked_at < JOURNAL_RETENTION_MS) return 0;
    const removed = this.stmt("DELETE FROM inbox WHERE seq <= ?").run(mark.marked_through).changes;
    this.stmt("UPDATE inbox_cursor SET marked_through = processed_through, marked_at = ?").run(now);
    return removed;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
