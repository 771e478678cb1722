// The appservice endpoints under hostile callers: wrong or missing hs_token refused everywhere, a refused
// transaction id not poisoned, replayed transactions processed once, errors answered without stack traces.
import { send, type RawResponse } from "../../support/keepalive-http";
import { startHostileService, type HostileService } from "../../support/hostile-service";
import { total } from "../../support/prometheus-text";
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
  const bad: [string, (token: string) => { headers: Record<string, string>; query: string }][] = [
    ["missing", () => ({ headers: {}, query: "" })],
    ["wrong", () => ({ headers: { Authorization: "Bearer not-the-token" }, query: "" })],
    ["empty", () => ({ headers: { Authorization: "Bearer " }, query: "" })],
    [
      "the right one with a character added",
      (t) => ({ headers: { Authorization: `Bearer ${t}x` }, query: "" }),
    ],
    [
      "the right one cut short",
      (t) => ({ headers: { Authorization: `Bearer ${t.slice(0, -1)}` }, query: "" }),
    ],
    [
      "wrong, in the access_token query parameter",
      () => ({ headers: {}, query: "?access_token=not-the-token" }),
    ],
  ];

  test.each(bad)("%s: transactions, user and alias queries and the ping are refused", async (_name, make) => {
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
    for (const res of Object.values(answers)) {
      expect([401, 403]).toContain(res.status);
      const { errcode } = JSON.parse(res.text) as { errcode?: unknown };
      expect(["M_FORBIDDEN", "M_UNAUTHORIZED"]).toContain(errcode);
    }
    const metricsAfter = await svc.metrics();
    const events = (s: typeof metricsAfter) => total(s, "rtc_reconciler_matrix_events_total");
    expect(events(metricsAfter)).toBe(events(metricsBefore));
    expect(svc.query(`SELECT event_id FROM inbox WHERE room_id = '${room}'`)).toEqual([]);
    expect(joinedLines(device)).toEqual([]);
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
    expect(svc.query(`SELECT member_key FROM memberships WHERE room_id = '${room}'`)).toEqual([]);
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
