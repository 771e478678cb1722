// Acting as a user: only the requests that clearing needs leave the process with `?user_id=`; others are refused and logged.
import http from "node:http";
import { MatrixHttp } from "../../src/adapters/matrix/http";
import { Homeserver } from "../../src/adapters/matrix/homeserver";
import { MasqueradeRefusedError, mayMasquerade } from "../../src/adapters/matrix/masquerade";
import type { Actor } from "../../src/app/ports/matrix";
import { captureLogger, type CapturedLogger } from "../support/capture-logger";
import { closeServer, listenOnLoopback } from "../support/net";

const ROOM = "!room:example.org";
const ALICE = "@alice:example.org";
const BOT = "@rtc-reconciler:example.org";
const AS_ALICE: Actor = { kind: "user", userId: ALICE };
const KEY = `_${ALICE}_DEVA_m.call`;

/** What the fake homeserver received: method, decoded path, and the user it was asked to act as. */
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly userId: string | null;
}

let server: http.Server;
let base = "";
const seen: Seen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    seen.push({
      method: req.method ?? "?",
      path: decodeURIComponent(url.pathname),
      userId: url.searchParams.get("user_id"),
    });
    req.resume();
    const body = url.pathname.endsWith("/delayed_events")
      ? { delayed_events: [] }
      : url.pathname.endsWith("/state")
        ? []
        : { event_id: "$e:example.org", content: {} };
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  });
  base = await listenOnLoopback(server);
});

afterAll(async () => {
  await closeServer(server);
});

function homeserver(): { hs: Homeserver; log: CapturedLogger } {
  const log = captureLogger();
  const api = new MatrixHttp({ baseUrl: base, accessToken: "as-token", logger: log.logger });
  return { hs: new Homeserver({ http: api, botUserId: BOT, logger: log.logger }), log };
}

beforeEach(() => {
  seen.length = 0;
});

describe("requests as a user", () => {
  test("reading room state, writing call membership and the user's delayed leave go out as the user", async () => {
    const { hs, log } = homeserver();
    await hs.roomState(ROOM, AS_ALICE);
    await hs.stateEvent(ROOM, "org.matrix.msc3401.call.member", KEY, AS_ALICE);
    for (const type of [
      "org.matrix.msc3401.call.member",
      "m.call.member",
      "m.rtc.member",
      "org.matrix.msc4143.rtc.member",
    ])
      await hs.putState(ROOM, type, KEY, {}, AS_ALICE);
    await hs.sendEvent(
      ROOM,
      "org.matrix.msc4143.rtc.member",
      { slot_id: "m.call#ROOM" },
      AS_ALICE,
      3_600_000,
    );
    await hs.delayedEvents(ALICE);
    await hs.delayedEventAction("d1", "send", ALICE);
    await hs.delayedEventAction("d2", "cancel", ALICE);
    expect(seen.map((s) => `${s.method} ${s.path} ${s.userId ?? "-"}`)).toEqual([
      `GET /_matrix/client/v3/rooms/${ROOM}/state ${ALICE}`,
      `GET /_matrix/client/v3/rooms/${ROOM}/state/org.matrix.msc3401.call.member/${KEY} ${ALICE}`,
      `PUT /_matrix/client/v3/rooms/${ROOM}/state/org.matrix.msc3401.call.member/${KEY} ${ALICE}`,
      `PUT /_matrix/client/v3/rooms/${ROOM}/state/m.call.member/${KEY} ${ALICE}`,
      `PUT /_matrix/client/v3/rooms/${ROOM}/state/m.rtc.member/${KEY} ${ALICE}`,
      `PUT /_matrix/client/v3/rooms/${ROOM}/state/org.matrix.msc4143.rtc.member/${KEY} ${ALICE}`,
      expect.stringMatching(
        new RegExp(
          `^PUT /_matrix/client/v3/rooms/${ROOM}/send/org\\.matrix\\.msc4143\\.rtc\\.member/\\S+ ${ALICE}$`,
        ),
      ),
      `GET /_matrix/client/unstable/org.matrix.msc4140/delayed_events ${ALICE}`,
      `POST /_matrix/client/unstable/org.matrix.msc4140/delayed_events/d1/send ${ALICE}`,
      `POST /_matrix/client/unstable/org.matrix.msc4140/delayed_events/d2/cancel ${ALICE}`,
    ]);
    expect(log.lines().filter((l) => l.level === "error")).toEqual([]);
  });

  test.each<[string, (hs: Homeserver) => Promise<unknown>]>([
    [
      "a room member event",
      (hs) => hs.putState(ROOM, "m.room.member", ALICE, { membership: "leave" }, AS_ALICE),
    ],
    ["power levels", (hs) => hs.putState(ROOM, "m.room.power_levels", "", { users: {} }, AS_ALICE)],
    ["a message", (hs) => hs.sendEvent(ROOM, "m.room.message", { body: "hi" }, AS_ALICE)],
    ["a sticky message", (hs) => hs.sendEvent(ROOM, "m.room.message", { body: "hi" }, AS_ALICE, 1_000)],
    ["a membership event that is not sticky", (hs) => hs.sendEvent(ROOM, "m.rtc.member", {}, AS_ALICE)],
    [
      "a membership state key that would resolve to another path",
      (hs) => hs.putState(ROOM, "org.matrix.msc3401.call.member", "..", {}, AS_ALICE),
    ],
    [
      "a state read whose room id would resolve to another path",
      (hs) => hs.stateEvent("..", "..", "account", AS_ALICE),
    ],
  ])("%s is refused, logged, and never reaches the homeserver", async (_name, call) => {
    const { hs, log } = homeserver();
    const failure = call(hs);
    await expect(failure).rejects.toBeInstanceOf(MasqueradeRefusedError);
    await expect(failure).rejects.toThrow(`as ${ALICE}: the service does not make this request as a user`);
    expect(seen).toEqual([]);
    expect(log.lines()).toEqual([
      expect.objectContaining({ level: "error", message: "refused a request as a user", user: ALICE }),
    ]);
  });

  test("the bot's own requests are not masquerade and are not limited", async () => {
    const { hs } = homeserver();
    await hs.putState(ROOM, "m.room.power_levels", "", { users: {} }, { kind: "bot" });
    await hs.sendNotice(ROOM, "text", "<p>text</p>");
    expect(seen.map((s) => [s.method, s.userId])).toEqual([
      ["PUT", null],
      ["PUT", null],
    ]);
  });
});

describe("mayMasquerade", () => {
  test.each<[string, string, string, Record<string, string>]>([
    [
      "a delayed event restart",
      "POST",
      "/_matrix/client/unstable/org.matrix.msc4140/delayed_events/d1/restart",
      {},
    ],
    [
      "scheduling a delayed state event",
      "PUT",
      `/_matrix/client/v3/rooms/R/state/m.call.member/k`,
      { "org.matrix.msc4140.delay": "1" },
    ],
    ["a join", "POST", "/_matrix/client/v3/join/R", {}],
    ["a redaction", "PUT", "/_matrix/client/v3/rooms/R/redact/$e/t", {}],
    ["whoami", "GET", "/_matrix/client/v3/account/whoami", {}],
    ["another API version", "PUT", "/_matrix/client/r0/rooms/R/state/m.call.member/k", {}],
    ["a trailing segment", "GET", "/_matrix/client/v3/rooms/R/state/t/k/extra", {}],
    ["a malformed escape", "GET", "/_matrix/client/v3/rooms/%E0%A4%A/state", {}],
  ])("refuses %s", (_name, method, path, query) => {
    expect(mayMasquerade({ method, path, query })).toBe(false);
  });
});
