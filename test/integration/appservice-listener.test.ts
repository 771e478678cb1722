// The real bridge listener on loopback: hs_token checks, /health, /ready, /metrics, ping, clean stop.
import { validateConfig } from "../../src/config/load";
import { generateRegistration } from "../../src/adapters/matrix/registration";
import { Service } from "../../src/main/service";
import { captureLogger } from "../support/capture-logger";
import { startFakeHomeserver, type FakeHomeserver } from "../support/fake-homeserver";
import { freePort, http } from "../support/net";

describe("appservice listener", () => {
  let service: Service;
  let homeserver: FakeHomeserver;
  let base: string;
  let metricsBase: string;
  const log = captureLogger();
  let release: () => void = () => undefined;
  let started: Promise<void>;
  let hsToken = "";

  beforeAll(async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    metricsBase = `http://127.0.0.1:${metricsPort}`;
    const registration = generateRegistration({ url: base, localpart: "rtcbot", domain: "test.local" });
    homeserver = await startFakeHomeserver({
      asToken: registration.as_token,
      hsToken: registration.hs_token,
      botUserId: "@rtcbot:test.local",
      appserviceUrl: base,
      holdPing: new Promise<void>((resolve) => (release = resolve)),
    });
    const config = validateConfig(
      {
        homeserver: { url: homeserver.url, domain: "test.local" },
        appservice: { port },
        metrics: { port: metricsPort },
        database: { path: ":memory:" },
      },
      "test.yaml",
      "/",
    );
    service = new Service({ config, registration, logger: log.logger });
    started = service.start();
    hsToken = registration.hs_token;
  });

  afterAll(async () => {
    release();
    await service.stop();
    await homeserver.close();
  });

  test("/health answers and /ready says 503 until start-up is done, then 200", async () => {
    // start() is blocked in the homeserver's ping of the listener (held): the listener is up but not ready.
    for (let i = 0; i < 50; i++) {
      const res = await http("GET", `${base}/health`).catch(() => null);
      if (res?.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await http("GET", `${base}/health`)).text).toBe("OK");
    const notReady = await http("GET", `${base}/ready`);
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.text)).toEqual({ ready: false });
    release();
    await started;
    const ready = await http("GET", `${base}/ready`);
    expect(ready.status).toBe(200);
    expect(homeserver.pings).toHaveLength(1);
  });

  const txn = (events: unknown[]) => JSON.stringify({ events });
  const member = {
    event_id: "$e1",
    type: "org.matrix.msc3401.call.member",
    room_id: "!r:test.local",
    sender: "@alice:test.local",
    state_key: "_@alice:test.local_DEV_m.call",
    origin_server_ts: 1,
    content: { application: "m.call", call_id: "", device_id: "DEV" },
  };

  test("a transaction with the right hs_token is accepted and its events reach the service", async () => {
    await started;
    const res = await http("PUT", `${base}/_matrix/app/v1/transactions/t1`, {
      headers: { Authorization: `Bearer ${hsToken}`, "Content-Type": "application/json" },
      body: txn([member]),
    });
    expect(res.status).toBe(200);
    const seen = log.lines().filter((l) => l.message === "matrix event received");
    expect(seen).toEqual([
      expect.objectContaining({ event_id: "$e1", type: member.type, state_key: member.state_key }),
    ]);
  });

  test("a transaction with a wrong or missing hs_token is refused and has no effect", async () => {
    await started;
    const before = log.lines().length;
    const wrong = await http("PUT", `${base}/_matrix/app/v1/transactions/t2`, {
      headers: { Authorization: "Bearer not-the-token", "Content-Type": "application/json" },
      body: txn([{ ...member, event_id: "$e2" }]),
    });
    const missing = await http("PUT", `${base}/_matrix/app/v1/transactions/t3`, {
      headers: { "Content-Type": "application/json" },
      body: txn([{ ...member, event_id: "$e3" }]),
    });
    expect(wrong.status).toBe(403);
    expect(missing.status).toBe(401);
    const after = log.lines().slice(before);
    expect(after.filter((l) => l.message === "matrix event received")).toEqual([]);
  });

  test("/metrics on the metrics listener serves Prometheus text with process and service series", async () => {
    await started;
    const res = await http("GET", `${metricsBase}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^rtc_reconciler_process_cpu_user_seconds_total \d/m);
    expect(res.text).toMatch(
      /^rtc_reconciler_matrix_events_total\{type="org.matrix.msc3401.call.member",outcome="\w+"\} 1$/m,
    );
  });

  test("logs are JSON lines with time, level, message and context", () => {
    const lines = log.lines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(typeof line.time).toBe("string");
      expect(["error", "warn", "info", "debug"]).toContain(line.level);
      expect(typeof line.message).toBe("string");
    }
    expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ message: "ready" })]));
  });
});
