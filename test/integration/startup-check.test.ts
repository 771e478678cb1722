// Start-up checks against a stand-in homeserver: its ping of a service that is not listening yet is asked
// again until the deadline, then refused clearly; an unreachable or non-Matrix homeserver fails clearly too.
import { createServer } from "node:http";
import { MatrixHttp } from "../../src/adapters/matrix/http";
import { checkHomeserver, StartupError } from "../../src/adapters/matrix/startup-check";
import { captureLogger } from "../support/capture-logger";
import { type FakeHomeserver, startFakeHomeserver } from "../support/fake-homeserver";
import { closeServer, freePort, listenOnLoopback } from "../support/net";

const BOT = "@rtc-bot:example.org";
const AS_TOKEN = "as-token";
const PING_PATH = "POST /_matrix/client/v1/appservice/rtc/ping";

/** An appservice answering pings, once started (the port stays closed until then). */
const service = createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end("{}");
});

let servicePort = 0;
let homeserver: FakeHomeserver;

beforeAll(async () => {
  servicePort = await freePort();
  homeserver = await startFakeHomeserver({
    asToken: AS_TOKEN,
    hsToken: "hs-token",
    botUserId: BOT,
    appserviceUrl: `http://127.0.0.1:${servicePort}`,
  });
});

afterAll(async () => {
  await homeserver.close();
  if (service.listening) await closeServer(service);
});

/** Runs the start-up checks on a fake clock; `onSleep` runs after each pause. */
function check(
  timeoutMs: number,
  homeserverUrl = homeserver.url,
  onSleep: (n: number) => Promise<void> = async () => {},
  asToken = AS_TOKEN,
) {
  const captured = captureLogger();
  let now = 1_000_000;
  const slept: number[] = [];
  const run = checkHomeserver({
    http: new MatrixHttp({ baseUrl: homeserverUrl, accessToken: asToken, logger: captured.logger }),
    homeserverUrl,
    registrationId: "rtc",
    botUserId: BOT,
    appserviceUrl: `http://127.0.0.1:${servicePort}`,
    logger: captured.logger,
    timeoutMs,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
      await onSleep(slept.length);
    },
  });
  return { run, captured, slept };
}

const pingsAsked = (): number => homeserver.requests.filter((r) => r === PING_PATH).length;

test("a homeserver that never reaches us fails start-up after the deadline, naming the url to check", async () => {
  const before = pingsAsked();
  const { run } = check(10_000);
  await expect(run).rejects.toThrow(StartupError);
  await expect(run).rejects.toThrow(
    `the homeserver cannot reach this service at http://127.0.0.1:${servicePort} (M_CONNECTION_FAILED)`,
  );
  // 1 + 2 + 3 + 4 s of waiting fit in 10 s; the attempt after the deadline is the last.
  expect(pingsAsked() - before).toBe(5);
});

test("a ping that fails twice with M_CONNECTION_FAILED is asked again, and start-up goes on", async () => {
  const before = pingsAsked();
  // The service starts listening during the second pause: the third ping reaches it.
  const { run, captured, slept } = check(30_000, homeserver.url, async (n) => {
    if (n === 2) await listenOnLoopback(service, servicePort);
  });
  const facts = await run;
  expect(homeserver.pings).toHaveLength(1);
  expect(facts).toMatchObject({ pingMs: homeserver.pings[0] });
  expect(pingsAsked() - before).toBe(3);
  expect(slept).toEqual([1000, 2000]);
  const warnings = captured
    .lines()
    .filter((l) => l.message === "homeserver could not ping this service yet; retrying");
  expect(warnings.map((l) => [l.attempt, l.next_try_in_s, l.gives_up_in_s])).toEqual([
    [1, 1, 30],
    [2, 2, 29],
  ]);
  expect(warnings[0]).toMatchObject({ level: "warn", errcode: "M_CONNECTION_FAILED" });
});

test("an unreachable homeserver is asked again until the deadline, each retry saying when the next is and when it gives up", async () => {
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const { run, captured, slept } = check(3_000, nowhere);
  await expect(run).rejects.toThrow(
    `cannot reach the homeserver at ${nowhere} (tried for 3 s, homeserver.startup_timeout)`,
  );
  expect(slept).toEqual([1000, 2000]);
  const retries = captured.lines().filter((l) => l.message === "homeserver not reachable yet; retrying");
  expect(
    retries.map(({ attempt, next_try_in_s, gives_up_in_s, url }) => ({
      attempt,
      next_try_in_s,
      gives_up_in_s,
      url,
    })),
  ).toEqual([
    { attempt: 1, next_try_in_s: 1, gives_up_in_s: 3, url: nowhere },
    { attempt: 2, next_try_in_s: 2, gives_up_in_s: 2, url: nowhere },
  ]);
});

test("a server that is not a Matrix homeserver fails at once", async () => {
  const web = createServer((_req, res) => {
    res.writeHead(404, { "Content-Type": "text/html" });
    res.end("<h1>Not Found</h1>");
  });
  const url = await listenOnLoopback(web);
  try {
    const { run, slept } = check(30_000, url);
    await expect(run).rejects.toThrow(`${url} does not look like a Matrix homeserver`);
    expect(slept).toEqual([]);
  } finally {
    await closeServer(web);
  }
});

test("an as_token the homeserver does not know fails at once, naming where each homeserver family loads registrations", async () => {
  const { run, slept } = check(30_000, homeserver.url, async () => {}, "a-token-nobody-loaded");
  await expect(run).rejects.toThrow(StartupError);
  const message = await run.then(
    () => "",
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  expect(message).toContain("the homeserver rejects this appservice's as_token (M_UNKNOWN_TOKEN)");
  for (const place of [
    "Synapse: app_service_config_files in homeserver.yaml",
    "Dendrite: app_service_api.config_files in dendrite.yaml",
    "Conduit: the admin room's register-appservice command",
    "conduwuit, continuwuity, tuwunel: !admin appservices register",
  ])
    expect(message).toContain(place);
  expect(slept).toEqual([]);
});
