// The appservice endpoints under hostile callers: wrong or missing hs_token refused everywhere (401/403) before any
// body is read, a refused transaction id not poisoned, replayed transactions processed once, malformed bodies a
// clear 400 or skipped entry by entry, large legitimate transactions and events kept, no stack traces.
import { send, type RawResponse } from "../../support/keepalive-http";
import { startHostileService, type HostileService } from "../../support/hostile-service";
import { total } from "../../support/prometheus-text";
import { statusBeforeBody } from "../../support/raw-http";
import { sessionJoin, sessionLeave } from "../../unit/domain/builders";
import { STACK_FRAME } from "./webhook-harness";

let svc: HostileService;
let n = 0;

/** A fresh room and a join of one device in it. */
function scene(): { room: string; join: ReturnType<typeof sessionJoin>; device: string } {
  n++;
  const room = `!as${n}:hostile.local`;
  const device = `DEV${n}`;
  return { room, device, join: sessionJoin({ user: "@alice:hostile.local", device, roomId: room }) };
}

const sessions = (room: string) =>
  svc.query<{ id: string; left_at: number | null }>(
    `SELECT id, left_at FROM user_sessions WHERE room_id = '${room}'`,
  );
const joinedLines = (device: string) => svc.logged("membership joined").filter((l) => l.device === device);

function call(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  return send(svc.agent, {
    method,
    url: `${svc.base}${path}`,
    headers: { "Content-Type": "application/json", ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

beforeAll(async () => {
  svc = await startHostileService("appservice");
});

afterAll(async () => {
  await svc.stop();
});

describe("hs_token", () => {
  // Missing credentials are 401 M_UNAUTHORIZED, wrong ones 403 M_FORBIDDEN (appservice spec, Authorization).
  const bad: [string, 401 | 403, (token: string) => { headers: Record<string, string>; query: string }][] = [
    ["missing", 401, () => ({ headers: {}, query: "" })],
    ["wrong", 403, () => ({ headers: { Authorization: "Bearer not-the-token" }, query: "" })],
    ["empty", 403, () => ({ headers: { Authorization: "Bearer " }, query: "" })],
    [
      "the right one with a character added",
      403,
      (t) => ({ headers: { Authorization: `Bearer ${t}x` }, query: "" }),
    ],
    [
      "the right one cut short",
      403,
      (t) => ({ headers: { Authorization: `Bearer ${t.slice(0, -1)}` }, query: "" }),
    ],
    [
      "the right one after seven characters that are not `Bearer `",
      403,
      (t) => ({ headers: { Authorization: `Basic: ${t}` }, query: "" }),
    ],
    [
      "the right one, in the header without a scheme",
      403,
      (t) => ({ headers: { Authorization: t }, query: "" }),
    ],
    [
      "wrong, in the access_token query parameter",
      401,
      () => ({ headers: {}, query: "?access_token=not-the-token" }),
    ],
    [
      "the right one, but only in the access_token query parameter",
      401,
      (t) => ({ headers: {}, query: `?access_token=${t}` }),
    ],
    [
      "the right header beside a wrong access_token query parameter",
      403,
      (t) => ({ headers: { Authorization: `Bearer ${t}` }, query: "?access_token=not-the-token" }),
    ],
  ];

  test.each(bad)(
    "%s: transactions, user and alias queries and the ping are refused with %i",
    async (_name, status, make) => {
      const { headers, query } = make(svc.hsToken);
      const { room, join, device } = scene();
      const metricsBefore = await svc.metrics();
      const answers = {
        transaction: await call(
          "PUT",
          `/_matrix/app/v1/transactions/bad-${n}${query}`,
          headers,
          JSON.stringify({ events: [join] }),
        ),
        user: await call(
          "GET",
          `/_matrix/app/v1/users/${encodeURIComponent("@rtcbot:hostile.local")}${query}`,
          headers,
        ),
        alias: await call(
          "GET",
          `/_matrix/app/v1/rooms/${encodeURIComponent("#call:hostile.local")}${query}`,
          headers,
        ),
        ping: await call("POST", `/_matrix/app/v1/ping${query}`, headers, "{}"),
      };
      await svc.service.app.intake.settled();
      const errcode = status === 401 ? "M_UNAUTHORIZED" : "M_FORBIDDEN";
      for (const [route, res] of Object.entries(answers)) {
        const body = JSON.parse(res.text) as { errcode?: unknown };
        expect({ route, status: res.status, errcode: body.errcode }).toEqual({ route, status, errcode });
      }
      const metricsAfter = await svc.metrics();
      const events = (s: typeof metricsAfter) => total(s, "rtc_reconciler_matrix_events_total");
      expect(events(metricsAfter)).toBe(events(metricsBefore));
      expect(svc.query(`SELECT event_id FROM inbox WHERE room_id = '${room}'`)).toEqual([]);
      expect(joinedLines(device)).toEqual([]);
    },
  );

  test("the scheme is case-insensitive: `bearer <token>` is accepted", async () => {
    const { room, join } = scene();
    const res = await call(
      "PUT",
      `/_matrix/app/v1/transactions/lower-${n}`,
      { Authorization: `bearer ${svc.hsToken}` },
      JSON.stringify({ events: [join] }),
    );
    expect(res.status).toBe(200);
    expect(svc.query(`SELECT event_id FROM inbox WHERE room_id = '${room}'`)).toEqual([
      { event_id: join.event_id },
    ]);
  });

  test("with the right token: the ping answers 200 and user queries 404 (the service provisions nobody)", async () => {
    const auth = { Authorization: `Bearer ${svc.hsToken}` };
    expect((await call("POST", "/_matrix/app/v1/ping", auth, "{}")).status).toBe(200);
    const user = await call(
      "GET",
      `/_matrix/app/v1/users/${encodeURIComponent("@someone:hostile.local")}`,
      auth,
    );
    expect(user.status).toBe(404);
  });

  test("a refused transaction does not burn its id: the genuine one with that id is processed", async () => {
    const { room, join, device } = scene();
    const body = JSON.stringify({ events: [join] });
    const spoofed = await call(
      "PUT",
      "/_matrix/app/v1/transactions/shared-id",
      { Authorization: "Bearer nope" },
      body,
    );
    expect(spoofed.status).toBe(403);
    expect((await svc.transaction("shared-id", [join])).status).toBe(200);
    await svc.service.app.intake.settled();
    expect(joinedLines(device)).toHaveLength(1);
    expect(sessions(room)).toHaveLength(1);
  });
});

describe("replayed transactions are processed once", () => {
  test("the same transaction id twice", async () => {
    const { room, join, device } = scene();
    expect((await svc.transaction("replay-a", [join])).status).toBe(200);
    expect((await svc.transaction("replay-a", [join])).status).toBe(200);
    await svc.service.app.intake.settled();
    expect(joinedLines(device)).toHaveLength(1);
    expect(sessions(room)).toHaveLength(1);
  });

  test("the same events under a new transaction id, and an older transaction after a newer one", async () => {
    const { room, join, device } = scene();
    const other = scene();
    const before = await svc.metrics();
    expect((await svc.transaction("replay-b1", [join])).status).toBe(200);
    expect((await svc.transaction("replay-b2", [join, join])).status).toBe(200);
    expect((await svc.transaction("replay-b3", [other.join])).status).toBe(200);
    expect((await svc.transaction("replay-b1", [join])).status).toBe(200);
    await svc.service.app.intake.settled();
    expect(joinedLines(device)).toHaveLength(1);
    expect(sessions(room)).toHaveLength(1);
    const after = await svc.metrics();
    const labels = { type: "org.matrix.msc3401.call.member", outcome: "duplicate" };
    expect(
      total(after, "rtc_reconciler_matrix_events_total", labels) -
        total(before, "rtc_reconciler_matrix_events_total", labels),
    ).toBe(3);
  });

  test("a join replayed after its leave does not bring the member back or open a second session", async () => {
    const { room, join, device } = scene();
    const leave = sessionLeave({
      user: "@alice:hostile.local",
      device,
      roomId: room,
      ts: join.origin_server_ts + 1000,
    });
    expect((await svc.transaction("replay-c1", [join])).status).toBe(200);
    expect((await svc.transaction("replay-c2", [leave])).status).toBe(200);
    expect((await svc.transaction("replay-c3", [join])).status).toBe(200);
    await svc.service.app.intake.settled();
    expect(joinedLines(device)).toHaveLength(1);
    expect(svc.logged("membership left").filter((l) => l.device === device)).toHaveLength(1);
    const rows = sessions(room);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.left_at).not.toBeNull();
    expect(
      svc.query(`SELECT member_key FROM user_sessions WHERE room_id = '${room}' AND left_at IS NULL`),
    ).toEqual([]);
  });
});

describe("junk bodies get a plain refusal, never a stack trace", () => {
  const cases: [string, string, string, Record<string, string>, string][] = [
    ["a transaction body that is not JSON", "PUT", "/_matrix/app/v1/transactions/junk-1", {}, "{not json"],
    [
      "a transaction body that is not JSON, with the right token",
      "PUT",
      "/_matrix/app/v1/transactions/junk-2",
      { auth: "yes" },
      "{not json",
    ],
    [
      "a transaction whose events are not a list",
      "PUT",
      "/_matrix/app/v1/transactions/junk-3",
      { auth: "yes" },
      '{"events":5}',
    ],
    ["a ping body that is not JSON", "POST", "/_matrix/app/v1/ping", {}, "]]"],
  ];

  test.each(cases)("%s", async (_name, method, path, flags, body) => {
    const headers = flags.auth === "yes" ? { Authorization: `Bearer ${svc.hsToken}` } : {};
    const res = await call(method, path, headers, body);
    expect({ refused: res.status >= 400, stackTrace: STACK_FRAME.test(res.text) }).toEqual({
      refused: true,
      stackTrace: false,
    });
    expect((await call("GET", "/health")).status).toBe(200);
  });
});

describe("bodies are read only after the route and its authentication are known, up to the route's limit", () => {
  /** Above the 64 MiB transaction limit (TRANSACTION_MAX_BYTES in src/adapters/http/appservice-routes.ts). */
  const OVER_TRANSACTION_LIMIT = 64 * 1024 * 1024 + 1;
  const head = (path: string, headers: Record<string, string>, contentLength: number) =>
    statusBeforeBody({ method: "PUT", url: `${svc.base}${path}`, headers, contentLength });

  test("a transaction without a token, or with a wrong one, is refused before its body is read", async () => {
    const json = { "Content-Type": "application/json" };
    expect(await head("/_matrix/app/v1/transactions/head-1", json, 5_000_000)).toBe(401);
    expect(
      await head("/_matrix/app/v1/transactions/head-2", { ...json, Authorization: "Bearer nope" }, 5_000_000),
    ).toBe(403);
    expect((await call("GET", "/health")).status).toBe(200);
  });

  test("a path no route knows is answered 404 M_UNRECOGNIZED without reading or parsing its body", async () => {
    expect(await head("/anywhere", { "Content-Type": "application/json" }, 5_000_000)).toBe(404);
    const junk = await call("POST", "/anywhere", {}, "{not json");
    expect([junk.status, JSON.parse(junk.text)]).toEqual([
      404,
      expect.objectContaining({ errcode: "M_UNRECOGNIZED" }),
    ]);
  });

  test("a homeserver transaction declared over the limit is refused 413 at once, not read", async () => {
    const status = await head(
      "/_matrix/app/v1/transactions/head-3",
      { "Content-Type": "application/json", Authorization: `Bearer ${svc.hsToken}` },
      OVER_TRANSACTION_LIMIT,
    );
    expect(status).toBe(413);
  });

  test("a legitimate transaction over 10 MB (100 large PDUs and 100 EDUs) is accepted and every event kept", async () => {
    const { room } = scene();
    const joins = Array.from({ length: 100 }, (_, k) => ({
      ...sessionJoin({ user: "@alice:hostile.local", device: `BIG${k}`, roomId: room }),
      // Each PDU near the homeserver's 64 KiB limit.
      content: {
        ...sessionJoin({ user: "@alice:hostile.local", device: `BIG${k}`, roomId: room }).content,
        "org.example.pad": "p".repeat(62_000),
      },
    }));
    const receipts = Array.from({ length: 100 }, (_, k) => ({
      type: "m.receipt",
      room_id: room,
      content: Object.fromEntries(
        Array.from({ length: 800 }, (_, i) => [
          `$ev${k}_${i}:hostile.local`,
          { "m.read": { "@alice:hostile.local": { ts: 1 } } },
        ]),
      ),
    }));
    const body = JSON.stringify({ events: joins, ephemeral: receipts });
    expect(body.length).toBeGreaterThan(10_500_000);
    const res = await svc.transaction(`big-${n}`, body);
    expect(res.status).toBe(200);
    await svc.service.app.intake.settled();
    expect(svc.query(`SELECT COUNT(*) AS n FROM inbox WHERE room_id = '${room}'`)).toEqual([{ n: 100 }]);
    expect(svc.logged("membership joined").filter((l) => String(l.device).startsWith("BIG"))).toHaveLength(
      100,
    );
  });
});

describe("malformed transactions never crash the service or wedge the homeserver", () => {
  test("entries that are not events are skipped alone: the valid events beside them are kept", async () => {
    const { room, join, device } = scene();
    const before = await svc.metrics();
    const res = await svc.transaction(`entries-${n}`, [null, 5, "x", [], true, join]);
    expect(res.status).toBe(200);
    await svc.service.app.intake.settled();
    expect(svc.query(`SELECT event_id FROM inbox WHERE room_id = '${room}'`)).toEqual([
      { event_id: join.event_id },
    ]);
    expect(joinedLines(device)).toHaveLength(1);
    const after = await svc.metrics();
    const invalid = { type: "other", outcome: "invalid" };
    expect(
      total(after, "rtc_reconciler_matrix_events_total", invalid) -
        total(before, "rtc_reconciler_matrix_events_total", invalid),
    ).toBe(5);
    expect((await call("GET", "/health")).status).toBe(200);
  });

  test("`events: [null]` alone is acknowledged and the service lives", async () => {
    expect((await svc.transaction(`null-${n}`, '{"events":[null]}')).status).toBe(200);
    expect((await call("GET", "/health")).status).toBe(200);
  });

  test.each(['{"events":5}', '{"events":"x"}', '{"events":{}}', '{"events":null}', "[]", '"events"', "{}x"])(
    "%s is a clear 400 every time, and does not burn its transaction id",
    async (body) => {
      const { room, join, device } = scene();
      const txnId = `malformed-${n}`;
      for (let i = 0; i < 2; i++) {
        const res = await svc.transaction(txnId, body);
        expect([res.status, STACK_FRAME.test(res.text)]).toEqual([400, false]);
        const { errcode } = JSON.parse(res.text) as { errcode?: unknown };
        expect(String(errcode)).toMatch(/^M_(BAD|NOT)_JSON$/);
      }
      expect((await svc.transaction(txnId, [join])).status).toBe(200);
      await svc.service.app.intake.settled();
      expect(sessions(room)).toHaveLength(1);
      expect(joinedLines(device)).toHaveLength(1);
    },
  );

  test("a transaction without `events` (EDUs only) is acknowledged", async () => {
    expect((await svc.transaction(`edus-${n}`, '{"ephemeral":[]}')).status).toBe(200);
  });
});

describe("the 64 KiB event limit does not count what the homeserver adds under `unsigned`", () => {
  test("a join within the limit, pushed past 64 KiB by its unsigned prev_content, is journaled and joins", async () => {
    const { room, join, device } = scene();
    const large = {
      ...join,
      content: { ...join.content, "org.example.pad": "j".repeat(40_000) },
      unsigned: { age: 5, prev_content: { "org.example.pad": "p".repeat(40_000) } },
    };
    expect(JSON.stringify(large).length).toBeGreaterThan(65_536);
    expect((await svc.transaction(`unsigned-${n}`, [large])).status).toBe(200);
    await svc.service.app.intake.settled();
    expect(svc.query(`SELECT event_id FROM inbox WHERE room_id = '${room}'`)).toEqual([
      { event_id: join.event_id },
    ]);
    expect(joinedLines(device)).toHaveLength(1);
    expect(sessions(room)).toHaveLength(1);
  });
});
