// Start-up ping: a homeserver that cannot reach us at first is asked again until the deadline, then refused clearly.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { MatrixHttp } from "../../src/adapters/matrix/http";
import { checkHomeserver, StartupError } from "../../src/adapters/matrix/startup-check";
import { captureLogger } from "../support/capture-logger";

const BOT = "@rtc-bot:example.org";
let server: http.Server;
let base = "";
/** How many of the next pings fail the way Synapse reports an appservice it could not reach. */
let failingPings = 0;
let pings = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (path === "/_matrix/client/versions") json(200, { versions: ["v1.11"] });
    else if (path === "/_matrix/client/v3/account/whoami") json(200, { user_id: BOT });
    else if (path.endsWith("/ping")) {
      pings++;
      if (failingPings > 0) {
        failingPings--;
        json(502, {
          errcode: "M_CONNECTION_FAILED",
          error: "AlreadyCalled: Tried to cancel an already-called event.",
        });
      } else json(200, { duration_ms: 7 });
    } else json(404, { errcode: "M_UNRECOGNIZED" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
});

function check(timeoutMs: number) {
  const captured = captureLogger();
  let now = 1_000_000;
  const slept: number[] = [];
  const run = checkHomeserver({
    http: new MatrixHttp({ baseUrl: base, accessToken: "as", logger: captured.logger }),
    homeserverUrl: base,
    registrationId: "rtc",
    botUserId: BOT,
    appserviceUrl: "http://127.0.0.1:9999",
    logger: captured.logger,
    timeoutMs,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  });
  return { run, captured, slept };
}

test("a ping that fails twice with M_CONNECTION_FAILED is asked again, and start-up goes on", async () => {
  failingPings = 2;
  pings = 0;
  const { run, captured, slept } = check(30_000);
  await expect(run).resolves.toMatchObject({ pingMs: 7 });
  expect(pings).toBe(3);
  expect(slept).toEqual([1000, 2000]);
  const warnings = captured
    .lines()
    .filter((l) => l.message === "homeserver could not ping this service yet; retrying");
  expect(warnings.map((l) => l.attempt)).toEqual([1, 2]);
  expect(warnings[0]).toMatchObject({ level: "warn", errcode: "M_CONNECTION_FAILED" });
});

test("a homeserver that never reaches us fails start-up after the deadline, naming the url to check", async () => {
  failingPings = 1_000;
  pings = 0;
  const { run } = check(10_000);
  await expect(run).rejects.toThrow(StartupError);
  await expect(run).rejects.toThrow(
    "the homeserver cannot reach this service at http://127.0.0.1:9999 (M_CONNECTION_FAILED)",
  );
  // 1 + 2 + 3 + 4 s of waiting fit in 10 s; the attempt after the deadline is the last.
  expect(pings).toBe(5);
});
