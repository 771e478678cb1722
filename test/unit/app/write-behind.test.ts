// Rows written behind: one write per row at the end of a batch, and a crash before that write loses nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../../src/adapters/sqlite/store";
import type { UserSessionRow } from "../../../src/app/ports/store";
import { ALICE, BOB, type ClientEvent, ROOM, sessionJoin, sessionLeave, T0 } from "../domain/builders";
import { Harness } from "./harness";

/** Counts user session writes, and can fail the write that marks a batch processed (a crash before the commit). */
class FlakyStore extends SqliteStore {
  userSessionWrites = 0;
  crashBeforeCommit = false;
  /** Fails the next mark only (a busy or full disk the service survives). */
  failNextMark = false;
  override putUserSession(row: UserSessionRow): void {
    this.userSessionWrites++;
    super.putUserSession(row);
  }
  override markInboxProcessed(throughSeq: number): void {
    if (this.crashBeforeCommit) throw new Error("crash before the batch committed");
    if (this.failNextMark) {
      this.failNextMark = false;
      throw new Error("the disk was busy");
    }
    super.markInboxProcessed(throughSeq);
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dbFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "rtc-write-behind-"));
  dirs.push(dir);
  return join(dir, "state.db");
}

/** What a restart rebuilds from: slots, sessions and rooms on disk. */
function onDisk(store: SqliteStore): unknown {
  const all = (sql: string) => store.db.prepare(sql).all();
  return {
    slots: all(
      "SELECT room_id, slot_key, event_id, event_json, received_at FROM slots ORDER BY room_id, slot_key",
    ),
    userSessions: all("SELECT * FROM user_sessions ORDER BY id"),
    callSessions: all("SELECT * FROM call_sessions ORDER BY id"),
    rooms: all("SELECT room_id, room_version, encrypted, first_seen_at FROM rooms ORDER BY room_id"),
  };
}

/** Alice in a call, processed; then the batch under test: Bob joins, Alice leaves. */
function aliceThenBatch(h: Harness): { before: ClientEvent[]; events: ClientEvent[] } {
  return {
    before: [...h.room({ users: [ALICE, BOB] }), sessionJoin({ user: ALICE, device: "DEVA" })],
    events: [
      sessionJoin({ user: BOB, device: "DEVB" }),
      sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 1 }),
    ],
  };
}

/** Journals the batch's events and drains it: the drain throws `message` (the store fails the batch). */
function failingBatch(h: Harness, events: readonly ClientEvent[], message: string): void {
  for (const e of events) h.intake.accept(e);
  expect(() => {
    h.intake.drain();
  }).toThrow(message);
}

describe("rows written behind", () => {
  test("a session opened and closed in one batch is written once, with when its join and its leave were received", () => {
    const store = new FlakyStore(SqliteStore.open(":memory:").store.db);
    const h = new Harness({ store });
    h.feed(...h.room({ users: [ALICE] }));
    const before = store.userSessionWrites;
    h.intake.accept(sessionJoin({ user: ALICE, device: "DEVA" }));
    h.clock.advance(5_000);
    h.intake.accept(sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 5_000 }));
    h.intake.drain();
    expect(store.userSessionWrites - before).toBe(1);
    expect(h.userSessions().map((s) => [s.joinedReceivedAt, s.leftReceivedAt, s.leaveReason])).toEqual([
      [T0, T0 + 5_000, "left"],
    ]);
  });

  test("a crash after the journal committed and before the batch's rows were written: a restart replays to the same state", async () => {
    const path = dbFile();
    const crashing = new FlakyStore(SqliteStore.open(path).store.db);
    const a = new Harness({ store: crashing });
    // Before the crash: the room and its first call event, processed (the room's state read).
    const { before, events } = aliceThenBatch(a);
    await a.deliver(...before);
    // The batch that crashes before its commit: its events are journaled, its rows never written.
    crashing.crashBeforeCommit = true;
    failingBatch(a, events, "crash before the batch committed");
    // The crashed process is gone: the turn of the drain its intake had scheduled never runs (it would retry the
    // batch).
    jest.spyOn(a.intake as unknown as { turn: () => "idle" }, "turn").mockImplementation(() => "idle");
    expect(
      a.state
        .room(ROOM)
        ?.members()
        .map((m) => m.userId),
    ).toEqual([BOB]);
    expect(crashing.pendingInbox(10)).toHaveLength(2);
    expect(
      crashing.db.prepare("SELECT COUNT(*) AS n FROM user_sessions WHERE left_at IS NULL").get(),
    ).toEqual({
      n: 1,
    });

    // A second app on the same file, as after the restart: it restores what was written and replays the journal.
    const b = new Harness({ store: SqliteStore.open(path).store, start: T0 + 60_000 });
    b.state.restore();
    b.intake.drain();
    await b.settle();

    // The same events without a crash.
    const c = new Harness();
    await c.deliver(...before);
    await c.deliver(...events);

    expect(b.store.pendingInbox(10)).toEqual([]);
    expect(
      b.state
        .room(ROOM)
        ?.members()
        .map((m) => m.key),
    ).toEqual(
      c.state
        .room(ROOM)
        ?.members()
        .map((m) => m.key),
    );
    expect(onDisk(b.store)).toEqual(onDisk(c.store));
    crashing.close();
    b.store.close();
  });

  test("a batch whose commit fails, drained again without a restart, still writes its rows", async () => {
    const store = new FlakyStore(SqliteStore.open(":memory:").store.db);
    const a = new Harness({ store });
    const { before, events } = aliceThenBatch(a);
    await a.deliver(...before);
    store.failNextMark = true;
    failingBatch(a, events, "the disk was busy");
    // The service lives on (a resync's drain, whose error is caught): the next drain replays the batch.
    a.intake.drain();
    await a.settle();
    expect(store.pendingInbox(10)).toEqual([]);
    const c = new Harness();
    await c.deliver(...before);
    await c.deliver(...events);
    expect(onDisk(store)).toEqual(onDisk(c.store));
  });

  test("after a restart, an open session whose member is gone lends its old first sighting to no later join", async () => {
    const path = dbFile();
    const a = new Harness({ store: SqliteStore.open(path).store });
    await a.deliver(...a.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    // The slot is gone and its session still open (what a handler failing half-way can leave behind).
    const slot = a.store.slots(ROOM).find((row) => row.slotKey.startsWith("state"));
    a.store.deleteSlot(ROOM, slot?.slotKey ?? "");
    a.store.close();
    const later = T0 + 3_600_000;
    const b = new Harness({ store: SqliteStore.open(path).store, start: later });
    b.state.restore();
    await b.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: later }));
    expect(b.state.firstSeenAt(b.member(ALICE, "DEVA"))).toBe(later);
    b.store.close();
  });
});
