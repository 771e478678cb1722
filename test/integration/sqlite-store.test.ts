// The SQLite store on real files: migrations, refusal of newer or corrupt databases, idempotent writes.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DatabaseError, migrate, openDatabase } from "../../src/adapters/sqlite/database";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/adapters/sqlite/migrations";
import { SqliteStore } from "../../src/adapters/sqlite/store";

const dir = mkdtempSync(join(tmpdir(), "rtc-store-"));
let n = 0;
const file = () => join(dir, `db-${++n}.sqlite`);

describe("migrations", () => {
  test.each(Array.from({ length: SCHEMA_VERSION }, (_, v) => v))(
    "a database at schema version %i migrates to the current version",
    (from) => {
      const path = file();
      const old = new Database(path);
      migrate(old, MIGRATIONS.slice(0, from));
      expect(old.pragma("user_version", { simple: true })).toBe(from);
      old.close();
      const { db, from: was, to } = openDatabase(path);
      expect([was, to]).toEqual([from, SCHEMA_VERSION]);
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
      )
        .map((t) => t.name)
        .sort();
      expect(tables).toEqual(
        expect.arrayContaining(["audit", "call_sessions", "inbox", "slots", "user_sessions"]),
      );
      db.close();
    },
  );

  test("a journal from schema 3 keeps what was processed and what was pending", () => {
    const path = file();
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 3));
    const insert = old.prepare(
      "INSERT INTO inbox (event_id, room_id, received_at, event_json, processed_at) VALUES (?, '!r', 1, '{}', ?)",
    );
    const day = 86_400_000;
    const rows = [
      ["$old", 1],
      ["$a", 2 * day],
      ["$b", 2 * day],
      ["$c", null],
      ["$d", null],
    ] as const;
    for (const [id, processedAt] of rows) insert.run(id, processedAt);
    old.close();
    const { store } = SqliteStore.open(path);
    expect(store.pendingInbox(10).map((e) => e.eventId)).toEqual(["$c", "$d"]);
    expect(["$b", "$c"].map((id) => store.inboxHasProcessed(id))).toEqual([true, false]);
    // Processed a day before the last one was: pruned at the first prune; the others a day after it at the earliest.
    store.prune(0, 3 * day);
    const left = store.db.prepare("SELECT event_id FROM inbox ORDER BY seq").pluck().all();
    store.close();
    expect(left).toEqual(["$a", "$b", "$c", "$d"]);
  });

  test("a database from a newer release is refused with a clear message and left as it was", () => {
    const path = file();
    const newer = new Database(path);
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    newer.close();
    const before = readFileSync(path);
    expect(() => openDatabase(path)).toThrow(DatabaseError);
    expect(() => openDatabase(path)).toThrow(/newer than this release understands/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test("a corrupt file is refused with a clear message and not overwritten", () => {
    const path = file();
    const garbage = Buffer.from("this is not a database, it is a shopping list\n".repeat(200));
    writeFileSync(path, garbage);
    expect(() => openDatabase(path)).toThrow(/cannot open the database .* untouched/);
    expect(readFileSync(path).equals(garbage)).toBe(true);
  });

  test("a failing migration rolls back entirely", () => {
    const path = file();
    expect(() =>
      openDatabase(path, ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y INTEGER); SELEC broken;"]),
    ).toThrow();
    const db = new Database(path);
    expect(db.pragma("user_version", { simple: true })).toBe(0);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name IN ('a', 'b')").all()).toEqual([]);
    db.close();
  });
});

describe("indexes", () => {
  /** Each index the schema keeps, and a query of the store that reads through it. */
  const READ_BY: Readonly<Record<string, string>> = {
    call_sessions_room: "SELECT * FROM call_sessions WHERE room_id = '!r' ORDER BY started_at DESC LIMIT 5",
    user_sessions_call: "SELECT * FROM user_sessions WHERE call_session_id = 'c' ORDER BY joined_at",
    user_sessions_open: "SELECT * FROM user_sessions WHERE left_at IS NULL",
    sfu_presence_open:
      "SELECT * FROM sfu_presence WHERE left_at IS NOT NULL AND left_at >= 1 ORDER BY left_at",
    audit_at: "DELETE FROM audit WHERE at < 1",
  };

  test("every index written is read by a query of the store (an index nothing reads only costs writes)", () => {
    const { db } = openDatabase(":memory:");
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as {
        name: string;
      }[]
    ).map((i) => i.name);
    expect(indexes.sort()).toEqual(Object.keys(READ_BY).sort());
    for (const [index, sql] of Object.entries(READ_BY)) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map(
        (r) => r.detail,
      );
      expect(plan.join("; ")).toContain(`INDEX ${index}`);
    }
    db.close();
  });
});

describe("file modes", () => {
  test("a new database, its -wal and -shm are readable by their owner only, whatever the umask", () => {
    const path = join(dir, "private", "new.sqlite");
    const previous = process.umask(0o002);
    try {
      const { store } = SqliteStore.open(path);
      store.audit({ at: 1, action: "command", roomId: "!r:example.org", reason: "status", result: "ok" });
      const modes = ["", "-wal", "-shm"].map((suffix) =>
        (statSync(`${path}${suffix}`).mode & 0o777).toString(8),
      );
      store.close();
      expect(modes).toEqual(["600", "600", "600"]);
      expect((statSync(join(dir, "private")).mode & 0o777).toString(8)).toBe("700");
    } finally {
      process.umask(previous);
    }
  });
});

describe("store writes", () => {
  const { store } = SqliteStore.open(file());
  afterAll(() => {
    store.close();
  });

  test("the journal keeps each event id once and hands back pending events in order", () => {
    const a = store.appendInbox("$a", "!r", 1, '{"event_id":"$a"}');
    const b = store.appendInbox("$b", "!r", 2, '{"event_id":"$b"}');
    expect(store.appendInbox("$a", "!r", 3, '{"event_id":"$a"}')).toBeNull();
    const pending = store.pendingInbox(10);
    expect(pending.map((p) => p.eventId)).toEqual(["$a", "$b"]);
    // Each append hands back its entry's seq.
    expect(a).toEqual(expect.any(Number));
    expect(pending.map((p) => p.seq)).toEqual([a, b]);
    store.markInboxProcessed(pending[0]!.seq);
    expect(store.pendingInbox(10).map((p) => p.eventId)).toEqual(["$b"]);
    expect(store.inboxHasProcessed("$a")).toBe(true);
    expect(store.inboxHasProcessed("$b")).toBe(false);
  });

  test("marking through an entry marks every pending entry up to it; marking an earlier one again changes nothing", () => {
    for (const id of ["$c", "$d", "$e"]) store.appendInbox(id, "!r", 4, JSON.stringify({ event_id: id }));
    const pending = store.pendingInbox(10);
    expect(pending.map((p) => p.eventId)).toEqual(["$b", "$c", "$d", "$e"]);
    store.markInboxProcessed(pending[2]!.seq);
    expect(store.pendingInbox(10).map((p) => p.eventId)).toEqual(["$e"]);
    store.markInboxProcessed(pending[0]!.seq);
    expect(store.pendingInbox(10).map((p) => p.eventId)).toEqual(["$e"]);
    expect(["$b", "$d", "$e"].map((id) => store.inboxHasProcessed(id))).toEqual([true, true, false]);
  });

  test("pruning drops journal entries processed over a day ago, never a pending one however old", () => {
    const { store: s } = SqliteStore.open(file());
    const day = 86_400_000;
    const journal = () => s.db.prepare("SELECT event_id FROM inbox ORDER BY seq").pluck().all();
    for (const id of ["$a", "$b", "$pending"]) s.appendInbox(id, "!r", 1, JSON.stringify({ event_id: id }));
    s.markInboxProcessed(s.pendingInbox(2)[1]!.seq);
    // The first prune only marks how far processing had gone.
    s.prune(0, 10 * day);
    expect(journal()).toEqual(["$a", "$b", "$pending"]);
    s.appendInbox("$c", "!r", 1, JSON.stringify({ event_id: "$c" }));
    s.markInboxProcessed(s.pendingInbox(10).at(-1)!.seq);
    // Less than a day after the mark: nothing goes.
    s.prune(0, 10.5 * day);
    expect(journal()).toEqual(["$a", "$b", "$pending", "$c"]);
    // A day after it: what was processed by the mark goes; $pending and $c were processed after it.
    s.prune(0, 11 * day);
    expect(journal()).toEqual(["$pending", "$c"]);
    s.prune(0, 12 * day);
    expect(journal()).toEqual([]);
    s.close();
  });

  test("sessions upsert by id: writing the same session twice leaves one row", () => {
    const session = {
      id: "s1",
      callSessionId: "c1",
      memberKey: "k",
      roomId: "!r",
      userId: "@a:x",
      deviceId: "D",
      application: "m.call",
      callId: "",
      joinedAt: 100,
      joinedReceivedAt: 101,
      leftAt: null,
      leftReceivedAt: null,
      leaveReason: null,
      joinEventId: "$j",
      leaveEventId: null,
      joinedBeforeTracking: false,
    };
    store.putUserSession(session);
    store.putUserSession(session);
    store.putUserSession({
      ...session,
      leftAt: 200,
      leftReceivedAt: 201,
      leaveReason: "left",
      leaveEventId: "$l",
    });
    expect(store.userSessionsOfCall("c1")).toEqual([
      { ...session, leftAt: 200, leftReceivedAt: 201, leaveReason: "left", leaveEventId: "$l" },
    ]);
    expect(store.openUserSessions()).toEqual([]);
  });

  test("webhook ids are first seen once", () => {
    expect(store.firstWebhookSighting("WH_1", 1000)).toBe(true);
    expect(store.firstWebhookSighting("WH_1", 1000)).toBe(false);
  });

  test("audit rows keep their evidence", () => {
    const id = store.audit({
      at: 5,
      action: "clear",
      roomId: "!r",
      reason: "left_sfu",
      evidence: { grace_ms: 5000 },
    });
    expect(store.auditSince(0, { roomId: "!r" })).toEqual([
      expect.objectContaining({ id, action: "clear", reason: "left_sfu", evidence: { grace_ms: 5000 } }),
    ]);
  });

  test("a transaction that throws writes nothing", () => {
    expect(() =>
      store.transaction(() => {
        store.audit({ at: 6, action: "verdict", roomId: "!t" });
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.auditSince(0, { roomId: "!t" })).toEqual([]);
  });

  test("a nested transaction that throws undoes only its own writes", () => {
    store.transaction(() => {
      store.audit({ at: 7, action: "verdict", roomId: "!n", reason: "outer" });
      expect(() =>
        store.transaction(() => {
          store.audit({ at: 7, action: "verdict", roomId: "!n", reason: "inner" });
          throw new Error("inner");
        }),
      ).toThrow("inner");
    });
    expect(store.auditSince(0, { roomId: "!n" }).map((r) => r.reason)).toEqual(["outer"]);
  });

  test("transactions reuse one wrapper: better-sqlite3 is not asked to build one per call", () => {
    const built = jest.spyOn(store.db, "transaction");
    for (let i = 0; i < 3; i++) store.transaction(() => store.transaction(() => i));
    expect(built).not.toHaveBeenCalled();
    built.mockRestore();
  });

  test("prune removes old closed history and expired webhook ids, keeps open sessions", () => {
    store.putCallSession({
      id: "old",
      roomId: "!r",
      application: "m.call",
      callId: "",
      startedAt: 1,
      endedAt: 2,
      peakConcurrency: 1,
      distinctParticipants: 1,
      endReason: "left",
      kind: "unanswered",
    });
    store.putCallSession({
      id: "open",
      roomId: "!r",
      application: "m.call",
      callId: "",
      startedAt: 1,
      endedAt: null,
      peakConcurrency: 1,
      distinctParticipants: 1,
      endReason: null,
      kind: null,
    });
    expect(store.prune(50, 2000)).toBeGreaterThan(0);
    expect(store.callSessions("!r", 10).map((c) => c.id)).toEqual(["open"]);
    expect(store.firstWebhookSighting("WH_1", 5000)).toBe(true);
  });
});

describe("rollback hooks", () => {
  test("a level that rolls back undoes what was handed to it, and only that; a commit forgets them all", () => {
    const store = SqliteStore.open(":memory:").store;
    const undone: string[] = [];
    store.onRollback(() => undone.push("outside"));
    store.transaction(() => {
      store.onRollback(() => undone.push("outer"));
      expect(() =>
        store.transaction(() => {
          store.onRollback(() => undone.push("inner"));
          throw new Error("inner fails");
        }),
      ).toThrow("inner fails");
    });
    expect(undone).toEqual(["inner"]);
    expect(() =>
      store.transaction(() => {
        store.onRollback(() => undone.push("first"));
        store.transaction(() => {
          store.onRollback(() => undone.push("nested, committed"));
        });
        throw new Error("outer fails");
      }),
    ).toThrow("outer fails");
    expect(undone).toEqual(["inner", "nested, committed", "first"]);
  });
});
