// 100,000 malformed events of every followed type through real appservice transactions: no crash, counted by
// reason, each kind logged once, no member tracked, still responsive; plus two shapes looked at one by one.
import { send } from "../../support/keepalive-http";
import { startHostileService, type HostileService } from "../../support/hostile-service";
import { series, total, type Sample } from "../../support/prometheus-text";
import { msc3401Event, legacyArrayEvent, sessionJoin } from "../../unit/domain/builders";
import { runIntakeFuzz, sent, type FuzzRun } from "./intake-fuzz";

jest.setTimeout(300_000);

const EVENTS = Number(process.env.FUZZ_EVENTS ?? 100_000);
const PER_TXN = 100;
const EVENTS_TOTAL = "rtc_reconciler_matrix_events_total";
const INVALID_TOTAL = "rtc_reconciler_invalid_memberships_total";
const LOGGED_ONCE = "invalid membership event (logged once per kind)";
const CALL_TYPES = [
  "org.matrix.msc3401.call.member",
  "m.call.member",
  "m.rtc.member",
  "org.matrix.msc4143.rtc.member",
];
const ROOM_TYPES = ["m.room.member", "m.room.create", "m.room.encryption"];

let svc: HostileService;
let run: FuzzRun;
let before: Sample[];
let after: Sample[];

/** The label the router counts a reason under (src/app/intake/event-router.ts). */
const kindOf = (type: string, reason: string) => `${type}: ${reason.replace(/\[\d+\]/g, "[]")}`.slice(0, 120);
const delta = (name: string, labels: Record<string, string>) =>
  total(after, name, labels) - total(before, name, labels);

beforeAll(async () => {
  svc = await startHostileService("memberships");
  before = await svc.metrics();
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  run = await runIntakeFuzz(svc, { events: EVENTS, perTxn: PER_TXN, seed, txnPrefix: "fuzz" });
  after = await svc.metrics();
  const perType = Object.fromEntries([...run.perType].map(([type, tally]) => [type, tally]));
  console.log(
    `membership fuzz (FUZZ_SEED=${seed}): ${run.events} events in ${run.events / PER_TXN} transactions; ` +
      `service time ${(run.serviceMs / 1000).toFixed(1)} s = ${Math.round(run.events / (run.serviceMs / 1000))} events/s ` +
      `(generation ${(run.generationMs / 1000).toFixed(1)} s not counted); slowest /health during ingest ` +
      `${Math.round(run.maxHealthMs)} ms; statuses ${JSON.stringify(Object.fromEntries(run.statuses))}\n` +
      `sent: ${JSON.stringify(perType)}\n` +
      `logged once-per-kind lines: ${svc.logged(LOGGED_ONCE).length}; kinds counted: ${series(after, INVALID_TOTAL).length}; ` +
      `oversized-dropped lines: ${svc.logged("oversized event dropped").length}`,
  );
});

afterAll(async () => {
  await svc.stop();
});

describe(`fuzz: ${EVENTS} malformed events in appservice transactions of ${PER_TXN}`, () => {
  test("every transaction is accepted and the service stays up and responsive", async () => {
    expect(Object.fromEntries(run.statuses)).toEqual({ 200: EVENTS / PER_TXN });
    expect((await send(svc.agent, { method: "GET", url: `${svc.base}/health` })).status).toBe(200);
    expect((await send(svc.agent, { method: "GET", url: `${svc.base}/ready` })).status).toBe(200);
    expect(run.maxHealthMs).toBeLessThan(2_000);
    expect(svc.log.lines().filter((l) => l.level === "error")).toEqual([]);
    expect(
      svc.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM inbox WHERE seq > (SELECT processed_through FROM inbox_cursor)",
      ),
    ).toEqual([{ n: 0 }]);
  });

  test("no member is tracked: nothing joined, no membership or session stored", () => {
    expect(svc.logged("membership joined")).toEqual([]);
    expect(svc.query("SELECT member_key FROM user_sessions WHERE left_at IS NULL")).toEqual([]);
    expect(svc.query("SELECT id FROM user_sessions")).toEqual([]);
    const tracked = [...svc.service.app.state.allRooms()].reduce((n, room) => n + room.memberCount, 0);
    expect(tracked).toBe(0);
  });

  test.each(CALL_TYPES)("every malformed %s is counted invalid, with at least one reason each", (type) => {
    const expected = sent(run, [type], "invalid", "dropped", "oversized");
    expect(expected).toBeGreaterThan(EVENTS / 100);
    expect(delta(EVENTS_TOTAL, { type, outcome: "invalid" })).toBe(expected);
    expect(delta(EVENTS_TOTAL, { type, outcome: "applied" })).toBe(0);
    const ofType = (samples: Sample[]) =>
      series(samples, INVALID_TOTAL)
        .filter((s) => (s.labels.reason ?? "").startsWith(`${type}: `))
        .reduce((sum, s) => sum + s.value, 0);
    const counted = ofType(after) - ofType(before);
    expect(counted).toBeGreaterThanOrEqual(sent(run, [type], "invalid"));
  });

  test.each(ROOM_TYPES)(
    "every malformed %s is counted invalid (ignored before its room's first call event), not applied",
    (type) => {
      const expected = sent(run, [type], "room-invalid");
      expect(expected).toBeGreaterThan(EVENTS / 100);
      const invalid = delta(EVENTS_TOTAL, { type, outcome: "invalid" });
      const ignored = delta(EVENTS_TOTAL, { type, outcome: "ignored" });
      expect({
        counted: invalid + ignored,
        applied: delta(EVENTS_TOTAL, { type, outcome: "applied" }),
      }).toEqual({
        counted: expected,
        applied: 0,
      });
      // Call events come in every transaction of every room: nearly all room events land in followed rooms.
      expect(invalid).toBeGreaterThan(expected * 0.9);
    },
  );

  test("each kind of invalid membership is logged once, and only kinds that are counted", () => {
    const lines = svc.logged(LOGGED_ONCE);
    const kinds = lines.map((l) => kindOf(String(l.type), String(l.reason)));
    const counted = new Set(series(after, INVALID_TOTAL).map((s) => s.labels.reason));
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds.filter((k) => !counted.has(k))).toEqual([]);
    expect(lines.length).toBeLessThanOrEqual(Math.min(counted.size, 200));
    expect(lines.length).toBeLessThan(EVENTS / 100);
    for (const l of lines)
      expect([l.level, typeof l.type, typeof l.reason]).toEqual(["warn", "string", "string"]);
  });
});

describe("malformed shapes looked at one by one", () => {
  test("malformed entries of MSC3401 and legacy membership arrays are counted by reason and logged", async () => {
    const room = "!arrays:hostile.local";
    const a = msc3401Event({
      user: "@alice:example.org",
      roomId: room,
      calls: [{ callId: "c", devices: [] }],
    });
    const b = legacyArrayEvent({ user: "@bob:example.org", roomId: room, entries: [] });
    const events = [
      {
        ...a,
        content: { "m.calls": [{ "m.call_id": "c", "m.devices": [{ device_id: 42, expires_ts: "soon" }] }] },
      },
      { ...b, content: { memberships: [{ application: ["m.call"], call_id: "", device_id: {} }] } },
    ];
    const was = await svc.metrics();
    expect((await svc.transaction("arrays-1", events)).status).toBe(200);
    await svc.service.app.intake.settled();
    const now = await svc.metrics();
    const grew = series(now, INVALID_TOTAL)
      .filter((s) => s.value > total(was, INVALID_TOTAL, { reason: s.labels.reason ?? "" }))
      .map((s) => s.labels.reason ?? "");
    expect(grew.filter((r) => r.includes("content.m.calls[]"))).not.toEqual([]);
    expect(grew.filter((r) => r.includes("content.memberships[]"))).not.toEqual([]);
    expect(
      svc.query(`SELECT member_key FROM user_sessions WHERE room_id = '${room}' AND left_at IS NULL`),
    ).toEqual([]);
  });

  test("an event nested 10,000 deep is dropped as invalid, and its transaction and the next go through", async () => {
    const room = "!deep:hostile.local";
    const deepEvent = sessionJoin({ user: "@alice:example.org", device: "DEEP", roomId: room });
    // 10,000 levels is ~60 KB of JSON, under the 64 KB event limit; JSON.stringify cannot write it, so by hand.
    const depth = 10_000;
    const poisoned = JSON.stringify({
      ...deepEvent,
      content: { ...deepEvent.content, "x-deep": "@@" },
    }).replace('"@@"', `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
    const fine = sessionJoin({ user: "@bob:example.org", device: "FINE", roomId: room });
    const was = await svc.metrics();
    const first = await svc.transaction("deep-1", `{"events":[${poisoned}]}`);
    // A homeserver retries a refused transaction, unchanged, before it sends anything newer.
    const retried = await svc.transaction("deep-1", `{"events":[${poisoned}]}`);
    const next = await svc.transaction("deep-2", [fine]);
    await svc.service.app.intake.settled();
    const now = await svc.metrics();
    const errors = svc.log
      .lines()
      .filter((l) => l.level === "error")
      .map((l) => `${String(l.message)}: ${String((l.error as { message?: unknown } | undefined)?.message)}`);
    expect({ statuses: [first.status, retried.status, next.status], errors }).toEqual({
      statuses: [200, 200, 200],
      errors: [],
    });
    const type = "org.matrix.msc3401.call.member";
    expect(
      total(now, EVENTS_TOTAL, { type, outcome: "invalid" }) -
        total(was, EVENTS_TOTAL, { type, outcome: "invalid" }),
    ).toBe(1);
    expect(svc.logged("membership joined").map((l) => l.device)).toEqual(["FINE"]);
  });
});
