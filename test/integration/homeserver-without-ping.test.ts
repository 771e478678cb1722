// On a homeserver without the appservice ping (Dendrite, the Conduit family) the service says it cannot check that
// the homeserver reaches it, warns when no transaction arrives, and names where each homeserver loads registrations.
import { generateRegistration, type Registration } from "../../src/adapters/matrix/registration";
import { validateConfig } from "../../src/config/load";
import { Service } from "../../src/main/service";
import { captureLogger } from "../support/capture-logger";
import { type FakeHomeserver, startFakeHomeserver } from "../support/fake-homeserver";
import { freePort, http } from "../support/net";

const DOMAIN = "dendrite.test";
const QUIET_MS = 400;
const PLACES = [
  "Synapse: app_service_config_files",
  "Dendrite: app_service_api.config_files",
  "Conduit: the admin room's register-appservice command",
  "!admin appservices register",
];

interface Running {
  readonly service: Service;
  readonly log: ReturnType<typeof captureLogger>;
  readonly base: string;
  readonly registration: Registration;
  readonly homeserver: FakeHomeserver;
  readonly messages: (message: string) => Record<string, unknown>[];
  stop(): Promise<void>;
}

async function startWithoutPing(): Promise<Running> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const registration = generateRegistration({ url: base, localpart: "rtcbot", domain: DOMAIN });
  const homeserver = await startFakeHomeserver({
    asToken: registration.as_token,
    hsToken: registration.hs_token,
    botUserId: `@rtcbot:${DOMAIN}`,
    appserviceUrl: base,
    withoutPing: true,
  });
  const config = validateConfig(
    {
      homeserver: { url: homeserver.url, domain: DOMAIN },
      appservice: { port },
      metrics: { port: metricsPort },
      database: { path: ":memory:" },
    },
    "test.yaml",
    "/",
  );
  const log = captureLogger("info");
  const service = new Service({
    config,
    registration,
    logger: log.logger,
    quietHomeserverWarningMs: QUIET_MS,
  });
  await service.start();
  return {
    service,
    log,
    base,
    registration,
    homeserver,
    messages: (message) => log.lines().filter((l) => l.message === message),
    stop: async () => {
      await service.stop();
      await homeserver.close();
    },
  };
}

const transaction = (run: Running, txnId: string, token: string) =>
  http("PUT", `${run.base}/_matrix/app/v1/transactions/${txnId}`, {
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ events: [] }),
  });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("start-up says the homeserver has no ping, and warns when no transaction arrives within the wait", async () => {
  const run = await startWithoutPing();
  try {
    expect(run.homeserver.requests).not.toContain(
      `POST /_matrix/client/v1/appservice/${run.registration.id}/ping`,
    );
    expect(run.messages("homeserver checked")).toEqual([expect.objectContaining({ ping_ms: null })]);
    expect(
      run.messages("homeserver has no appservice ping: cannot check that it reaches this service"),
    ).toEqual([expect.objectContaining({ level: "warn", registration_url: run.base, warn_after_s: 0 })]);
    expect(run.messages("no transaction from the homeserver since start-up")).toEqual([]);
    await pause(QUIET_MS + 300);
    const [silence, ...more] = run.messages("no transaction from the homeserver since start-up");
    expect(more).toEqual([]);
    expect(silence).toMatchObject({ level: "warn", registration_url: run.base });
    for (const place of PLACES) expect(silence?.hint).toContain(place);
  } finally {
    await run.stop();
  }
});

test("a transaction accepted within the wait means no warning", async () => {
  const run = await startWithoutPing();
  try {
    expect((await transaction(run, "t1", run.registration.hs_token)).status).toBe(200);
    await pause(QUIET_MS + 300);
    expect(run.messages("no transaction from the homeserver since start-up")).toEqual([]);
  } finally {
    await run.stop();
  }
});

test("transactions with a token other than our hs_token are refused, and warned about once with where to fix it", async () => {
  const run = await startWithoutPing();
  try {
    expect((await transaction(run, "t1", "stale-hs-token")).status).toBe(403);
    expect((await transaction(run, "t2", "stale-hs-token")).status).toBe(403);
    const warned = run.messages("refused a transaction with a token other than our hs_token");
    expect(warned).toHaveLength(1);
    for (const place of PLACES) expect(warned[0]?.hint).toContain(place);
    // A refused transaction does not count as the homeserver reaching us.
    await pause(QUIET_MS + 300);
    expect(run.messages("no transaction from the homeserver since start-up")).toHaveLength(1);
  } finally {
    await run.stop();
  }
});
