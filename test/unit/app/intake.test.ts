// MatrixIntake + EventRouter: journal once per event id, in order, a failing entry skipped alone, routing by type.
import { SqliteStore } from "../../../src/adapters/sqlite/store";
import { type BotEvents, EventRouter } from "../../../src/app/intake/event-router";
import { MatrixIntake } from "../../../src/app/intake/matrix-intake";
import type { InboxEntry } from "../../../src/app/ports/store";
import {
  ALICE,
  BOB,
  CALL_MEMBER,
  type ClientEvent,
  nextEventId,
  ROOM,
  roomMember,
  sessionJoin,
  sessionLeave,
  T0,
} from "../domain/builders";
import { BOT, Harness, powerLevels } from "./harness";

function message(sender: string, body: string, msgtype = "m.text"): ClientEvent {
  return {
    event_id: nextEventId(),
    type: "m.room.message",
    room_id: ROOM,
    sender,
    origin_server_ts: T0,
    content: { msgtype, body },
  };
}

/**
 * An intake whose handler records each entry (and writes an audit row for it), throwing for `failing`; each entry
 * takes `costMs` of the harness clock. `committed` holds how many entries were seen at the end of each batch.
 */
function recordingIntake(h: Harness, failing: string | null = null, costMs = 0) {
  const seen: string[] = [];
  const committed: number[] = [];
  let flushes = 0;
  const intake = new MatrixIntake({
    store: h.store,
    clock: h.clock,
    logger: h.logger,
    metrics: h.metrics,
    handler: {
      handle: (entry: InboxEntry) => {
        seen.push(entry.eventId);
        h.store.audit({ at: entry.receivedAt, action: "command", reason: entry.eventId });
        h.clock.advance(costMs);
        if (entry.eventId === failing) throw new Error("handler bug");
      },
      flush: () => {
        flushes++;
      },
      afterBatch: () => {
        committed.push(seen.length);
      },
    },
  });
  return { intake, seen, committed, batches: () => committed.length, flushes: () => flushes };
}

/**
 * Journals `count` joins in one transaction and schedules their drain; `between()` then says how many entries had
 * been handled when a callback queued right behind the drain's first turn ran.
 */
function journalBacklog(h: Harness, intake: MatrixIntake, seen: readonly string[], count: number) {
  const events = Array.from({ length: count }, (_, i) => roomMember(`@u${i}:example.org`, "join"));
  h.store.transaction(() => {
    for (const e of events) intake.accept(e);
  });
  let between: number | null = null;
  setImmediate(() => {
    between = seen.length;
  });
  return { events, between: () => between };
}

describe("MatrixIntake", () => {
  test("journals an event once per event id; a replay after processing changes nothing", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE] }));
    const join = sessionJoin({ user: ALICE, device: "DEVA" });
    h.intake.accept(join);
    h.intake.accept(join);
    expect(h.store.pendingInbox(10).map((e) => e.eventId)).toEqual([join.event_id]);
    await h.deliver();
    await h.deliver(join);
    expect(h.userSessions()).toHaveLength(1);
    expect(h.store.pendingInbox(10)).toEqual([]);
    expect(h.metrics.of("matrixEvent").filter(([, o]) => o === "duplicate")).toEqual([
      [CALL_MEMBER, "duplicate"],
      [CALL_MEMBER, "duplicate"],
    ]);
    expect(h.metrics.of("matrixEvent").filter(([t, o]) => t === CALL_MEMBER && o === "applied")).toHaveLength(
      1,
    );
  });

  test("processes the journal in order", async () => {
    const h = new Harness();
    const { intake, seen } = recordingIntake(h);
    const events = [
      roomMember(ALICE, "join"),
      sessionJoin({ user: ALICE, device: "DEVA" }),
      sessionLeave({ user: ALICE, device: "DEVA" }),
    ];
    for (const e of events) intake.accept(e);
    await intake.settled();
    expect(seen).toEqual(events.map((e) => e.event_id));
    const ordered = new Harness();
    await ordered.deliver(...ordered.room({ users: [ALICE] }), ...events.slice(1));
    expect(ordered.state.room(ROOM)?.allSlotMembers()).toEqual([]);
    expect(ordered.userSessions().map((s) => s.leaveReason)).toEqual(["left"]);
  });

  test("entries an earlier run left pending are processed first, then the new ones, each once", async () => {
    const h = new Harness();
    const earlier = [roomMember(ALICE, "join"), roomMember(BOB, "join")];
    // Journaled by a run that stopped before processing them.
    for (const e of earlier) h.store.appendInbox(e.event_id, e.room_id, T0, JSON.stringify(e));
    const { intake, seen } = recordingIntake(h);
    const later = [roomMember(BOT, "join"), sessionJoin({ user: ALICE, device: "DEVA" })];
    for (const e of later) intake.accept(e);
    await intake.settled();
    expect(seen).toEqual([...earlier, ...later].map((e) => e.event_id));
    expect(h.store.pendingInbox(10)).toEqual([]);
    const more = roomMember(ALICE, "leave");
    intake.accept(more);
    await intake.settled();
    expect(seen).toEqual([...earlier, ...later, more].map((e) => e.event_id));
  });

  test("events of a transaction that could not be journaled are not processed", async () => {
    const h = new Harness();
    const { intake, seen } = recordingIntake(h);
    const kept = roomMember(ALICE, "join");
    intake.accept(kept);
    await intake.settled();
    const lost = [roomMember(BOB, "join"), roomMember(BOT, "join")];
    expect(() => {
      h.store.transaction(() => {
        for (const e of lost) intake.accept(e);
        throw new Error("disk full");
      });
    }).toThrow("disk full");
    await intake.settled();
    expect(seen).toEqual([kept.event_id]);
    // The homeserver's retry of the transaction journals and processes them.
    h.store.transaction(() => {
      for (const e of lost) intake.accept(e);
    });
    await intake.settled();
    expect(seen).toEqual([kept, ...lost].map((e) => e.event_id));
  });

  test("a throwing handler skips only its entry; what it did before it threw is kept, as in memory", () => {
    const h = new Harness();
    const events = [roomMember(ALICE, "join"), roomMember(BOB, "join"), roomMember(BOT, "join")];
    const { intake, seen, batches, flushes } = recordingIntake(h, events[1]?.event_id ?? null);
    for (const e of events) intake.accept(e);
    intake.drain();
    expect(seen).toHaveLength(3);
    expect(h.audit("command").map((r) => r.reason)).toEqual(events.map((e) => e.event_id));
    expect(flushes()).toBe(1);
    expect(h.store.pendingInbox(10)).toEqual([]);
    expect(h.store.inboxHasProcessed(events[1]?.event_id ?? "")).toBe(true);
    expect(h.logger.find("failed to process an event; skipped", "error")[0]?.fields).toMatchObject({
      event_id: events[1]?.event_id,
    });
    expect(batches()).toBe(1);
  });

  test("a backlog is drained a batch per turn of the event loop, so requests and timers are served between", async () => {
    const h = new Harness();
    const { intake, seen, batches } = recordingIntake(h);
    const { events, between } = journalBacklog(h, intake, seen, 450);
    await intake.settled();
    expect(between()).toBe(200);
    expect(seen).toEqual(events.map((e) => e.event_id));
    expect(batches()).toBe(3);
    expect(h.store.pendingInbox(10)).toEqual([]);
  });

  test("a turn of the drain ends once its time budget is spent, and the rest follows on later turns", async () => {
    const h = new Harness();
    // Each event takes 2 ms of the turn.
    const { intake, seen, committed } = recordingIntake(h, null, 2);
    const { events, between } = journalBacklog(h, intake, seen, 10);
    await intake.settled();
    // The budget (TURN_BUDGET_MS, 5 ms) is spent by the third event of a turn, which then commits what it took.
    expect(between()).toBe(3);
    expect(committed).toEqual([3, 6, 9, 10]);
    expect(seen).toEqual(events.map((e) => e.event_id));
    expect(h.store.pendingInbox(10)).toEqual([]);
  });

  test("once stopped, a queued turn does not run: what is journaled waits in the journal for the next start", async () => {
    const h = new Harness();
    const { intake, seen } = recordingIntake(h);
    const { events } = journalBacklog(h, intake, seen, 3);
    intake.stop();
    // Nothing more will be processed, so nothing is waited for.
    await intake.settled();
    await new Promise((resolve) => setTimeout(resolve, 20));
    intake.accept(roomMember(ALICE, "join"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([]);
    expect(h.store.pendingInbox(10).map((e) => e.eventId)).toEqual([
      ...events.map((e) => e.event_id),
      expect.any(String),
    ]);
  });

  test("a drain kept out by the write lock for long says so once, and again when it is processed", async () => {
    /** A store whose write lock another process holds while `locked`. */
    class LockableStore extends SqliteStore {
      locked = false;
      override tryTransaction(fn: () => void): boolean {
        return this.locked ? false : super.tryTransaction(fn);
      }
    }
    const store = new LockableStore(SqliteStore.open(":memory:").store.db);
    const h = new Harness({ store });
    const { intake, seen } = recordingIntake(h);
    const events = [roomMember(ALICE, "join"), roomMember(BOB, "join")];
    h.store.transaction(() => {
      for (const e of events) intake.accept(e);
    });
    store.locked = true;
    const settled = intake.settled();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(20);
    expect(h.logger.find("the database's write lock")).toEqual([]);
    h.clock.advance(6_000);
    await sleep(20);
    await sleep(20);
    expect(h.logger.find("the database's write lock", "warn")).toHaveLength(1);
    expect(seen).toEqual([]);
    store.locked = false;
    await settled;
    expect(seen).toEqual(events.map((e) => e.event_id));
    expect(h.logger.find("database writable again", "info")).toHaveLength(1);
    expect(h.logger.find("the database's write lock", "warn")).toHaveLength(1);
  });

  test("a batch is marked processed with one write, its failed entry included", () => {
    /** Counts the journal's writes that mark entries processed. */
    class CountingStore extends SqliteStore {
      marks = 0;
      override markInboxProcessed(throughSeq: number): void {
        this.marks++;
        super.markInboxProcessed(throughSeq);
      }
    }
    const store = new CountingStore(SqliteStore.open(":memory:").store.db);
    const h = new Harness({ store });
    const events = [roomMember(ALICE, "join"), roomMember(BOB, "join"), roomMember(BOT, "join")];
    const { intake } = recordingIntake(h, events[1]?.event_id ?? null);
    for (const e of events) intake.accept(e);
    intake.drain();
    expect(store.marks).toBe(1);
    expect(h.store.pendingInbox(10)).toEqual([]);
    expect(events.map((e) => h.store.inboxHasProcessed(e.event_id))).toEqual([true, true, true]);
  });

  test("drops at the door what it does not follow, lacks ids, or is oversized", () => {
    const h = new Harness();
    h.intake.accept({ ...roomMember(ALICE, "join"), type: "m.room.topic" });
    h.intake.accept(message(ALICE, "just chatting"));
    h.intake.accept({ type: CALL_MEMBER, room_id: ROOM });
    h.intake.accept({
      ...sessionJoin({ user: ALICE, device: "DEVA" }),
      content: { pad: "x".repeat(70_000) },
    });
    h.intake.accept("not an object");
    expect(h.store.pendingInbox(10)).toEqual([]);
    expect(h.metrics.of("matrixEvent")).toEqual([
      ["other", "ignored"],
      ["m.room.message", "ignored"],
      [CALL_MEMBER, "invalid"],
      [CALL_MEMBER, "invalid"],
      ["other", "invalid"],
    ]);
    expect(h.logger.find("oversized event dropped", "warn")).toHaveLength(1);
  });

  test("skips transaction entries that are not events, each counted and logged, and keeps the rest", () => {
    const h = new Harness();
    const join = sessionJoin({ user: ALICE, device: "DEVA" });
    for (const entry of [null, 5, "x", [], true, undefined]) h.intake.accept(entry);
    h.intake.accept(join);
    expect(h.store.pendingInbox(10).map((e) => e.eventId)).toEqual([join.event_id]);
    expect(h.metrics.of("matrixEvent")).toEqual(Array.from({ length: 6 }, () => ["other", "invalid"]));
    expect(h.logger.find("transaction entry that is not an event skipped", "warn")).toHaveLength(6);
  });

  test("serialises an event within the limit once on its way into the journal", () => {
    const h = new Harness();
    const join = sessionJoin({ user: ALICE, device: "DEVA" });
    const stringify = jest.spyOn(JSON, "stringify");
    try {
      h.intake.accept(join);
      expect(stringify.mock.calls.filter(([value]) => value === join)).toHaveLength(1);
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
    expect(h.store.pendingInbox(10).map((e) => e.event)).toEqual([join]);
  });

  test("measures an event without `unsigned`, in UTF-8 bytes, against the homeserver's 64 KiB", () => {
    const h = new Harness();
    const join = sessionJoin({ user: ALICE, device: "DEVA" });
    // Within the limit itself, over it only with what the homeserver added when sending it: kept whole.
    const large = {
      ...join,
      content: { ...join.content, pad: "j".repeat(40_000) },
      unsigned: { prev_content: { pad: "p".repeat(40_000) }, msc4354_sticky_duration_ttl_ms: 60_000 },
    };
    h.intake.accept(large);
    const [entry] = h.store.pendingInbox(10);
    expect(entry?.eventId).toBe(join.event_id);
    expect(entry?.event).toEqual(large);
    // Under 64 Ki characters but over 64 KiB: three bytes per character in UTF-8.
    const wide = sessionJoin({ user: ALICE, device: "DEVB" });
    h.intake.accept({ ...wide, content: { ...wide.content, pad: "\u20ac".repeat(30_000) } });
    expect(h.store.pendingInbox(10)).toHaveLength(1);
    expect(h.logger.find("oversized event dropped", "warn").map((l) => l.fields.event_id)).toEqual([
      wide.event_id,
    ]);
  });
});

describe("EventRouter", () => {
  test("a command reaches the bot after the batch; the bot's own messages and notices do not", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE] }));
    await h.deliver(message(BOT, "!rtc help"), message(ALICE, "!rtc help", "m.notice"));
    expect(h.matrix.notices).toEqual([]);
    await h.deliver(message(ALICE, "!rtc help"));
    expect(h.matrix.notices).toHaveLength(1);
    expect(h.matrix.notices[0]?.text).toContain("matrix-rtc-reconciler commands");
  });

  test("an invite of the bot is acted on after the batch", async () => {
    const h = new Harness();
    await h.deliver({ ...roomMember(BOT, "invite", { sender: ALICE }), state_key: BOT });
    expect(h.matrix.calls.filter((c) => c.method === "join")).toEqual([{ method: "join", roomId: ROOM }]);
  });

  test("a power levels change makes the next permission check read the room again", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE, BOB] }));
    const reads = () =>
      h.matrix.calls.filter((c) => c.method === "stateEvent" && c.type === "m.room.power_levels").length;
    await h.deliver(message(BOB, "!rtc clean"));
    expect(h.matrix.notices.at(-1)?.text).toContain("needs power level 50");
    await h.deliver(powerLevels({ [BOT]: 50, [BOB]: 50 }));
    await h.deliver(message(BOB, "!rtc clean"));
    expect(reads()).toBe(2);
    expect(h.matrix.notices.at(-1)?.text).toContain("Clean");
  });

  test("an invalid membership is counted and logged once per kind", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE] }));
    const bad = () => ({
      ...sessionJoin({ user: ALICE, device: "DEVA" }),
      content: { application: "m.call", call_id: 5, device_id: "DEVA" },
    });
    const [first, second] = [bad(), bad()];
    await h.deliver(first, second);
    expect(h.metrics.of("matrixEvent").filter(([, o]) => o === "invalid")).toHaveLength(2);
    expect(h.metrics.of("invalidMembership")).toHaveLength(4);
    const logged = h.logger.find("invalid membership event", "warn");
    expect(logged.map((l) => l.fields.reason)).toEqual([
      "content.call_id: not a string",
      "content.focus_active: missing",
    ]);
    expect(logged.every((l) => l.fields.event_id === first.event_id)).toBe(true);
  });

  test("hands messages, encrypted messages and invites to the bot only after the batch, never the bot's own", () => {
    const h = new Harness();
    const seen: string[] = [];
    const bot: BotEvents = {
      onMessage: (e) => seen.push(`message ${String(e.sender)}`),
      onInvite: (e) => seen.push(`invite ${String(e.sender)}`),
      onEncrypted: (e) => seen.push(`encrypted ${String(e.sender)}`),
    };
    const router = new EventRouter({
      state: h.state,
      reconciler: h.reconciler,
      access: h.access,
      clock: h.clock,
      logger: h.logger,
      metrics: h.metrics,
      botUserId: BOT,
      bot,
      readEncrypted: () => undefined,
      readRoomState: () => undefined,
    });
    const encrypted = (sender: string, sticky = false): ClientEvent => ({
      event_id: nextEventId(),
      type: "m.room.encrypted",
      room_id: ROOM,
      sender,
      origin_server_ts: T0,
      content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA" },
      ...(sticky ? { msc4354_sticky: { duration_ms: 3_600_000 } } : {}),
    });
    const entries = [
      message(BOT, "!rtc help"),
      message(ALICE, "!rtc help"),
      { ...roomMember(BOT, "invite", { sender: BOB }), state_key: BOT },
      encrypted(BOT),
      encrypted(BOB),
      encrypted(ALICE, true),
    ];
    entries.forEach((event, i) => {
      router.handle({ seq: i + 1, eventId: event.event_id, roomId: ROOM, receivedAt: T0, event });
    });
    expect(seen).toEqual([]);
    router.afterBatch();
    expect(seen).toEqual([`message ${ALICE}`, `invite ${BOB}`, `encrypted ${BOB}`]);
  });
});
