// An in-process Service on loopback with a stub homeserver, a LiveKit deployment whose API port is closed,
// a database file, captured logs and a keep-alive client: the target of the hostile-input suites.
import { mkdtempSync, rmSync } from "node:fs";
import type { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { generateRegistration } from "../../src/adapters/matrix/registration";
import { validateConfig } from "../../src/config/load";
import { Service } from "../../src/main/service";
import { captureLogger, type CapturedLogger } from "./capture-logger";
import { keepAliveAgent, send, type RawResponse } from "./keepalive-http";
import { freePort } from "./net";
import { parsePrometheus, type Sample } from "./prometheus-text";
import { startFakeHomeserver, type FakeHomeserver } from "./fake-homeserver";

export const HOSTILE_DOMAIN = "hostile.local";
/** The key and secret of the one LiveKit deployment the service holds. */
export const LIVEKIT = {
  deployment: "main",
  apiKey: "reconciler",
  apiSecret: "a-secret-of-at-least-32-characters-for-hmac",
  serviceUrl: "https://jwt.hostile.local/livekit/jwt",
} as const;
export const WEBHOOK_PATH = "/livekit/webhook";
export const WEBHOOK_MAX_BODY = 65_536;

export interface HostileService {
  readonly service: Service;
  readonly base: string;
  readonly metricsBase: string;
  readonly hsToken: string;
  readonly dbPath: string;
  readonly log: CapturedLogger;
  readonly homeserver: FakeHomeserver;
  readonly agent: Agent;
  /** Scrapes the metrics listener over HTTP. */
  metrics(): Promise<Sample[]>;
  /** Reads the database file through a separate read-only connection. */
  query<T>(sql: string): T[];
  /** PUTs an appservice transaction with the right hs_token (events, or the body already serialised). */
  transaction(txnId: string, events: readonly unknown[] | string): Promise<RawResponse>;
  /** Log lines with this message. */
  logged(message: string): Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startHostileService(name: string): Promise<HostileService> {
  const dir = mkdtempSync(join(tmpdir(), `rtc-hostile-${name}-`));
  const dbPath = join(dir, "reconciler.db");
  const [port, metricsPort, closedPort] = [await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const botUserId = `@rtcbot:${HOSTILE_DOMAIN}`;
  const registration = generateRegistration({ url: base, localpart: "rtcbot", domain: HOSTILE_DOMAIN });
  const homeserver = await startFakeHomeserver({
    asToken: registration.as_token,
    hsToken: registration.hs_token,
    botUserId,
    appserviceUrl: base,
  });
  const config = validateConfig(
    {
      homeserver: { url: homeserver.url, domain: HOSTILE_DOMAIN },
      appservice: { port },
      metrics: { port: metricsPort },
      database: { path: dbPath },
      // The stand-in homeserver has no login or key endpoints: the bot's encrypted device is tested end to end.
      encryption: { enabled: false },
      livekit: {
        webhook_path: WEBHOOK_PATH,
        webhook_max_body: WEBHOOK_MAX_BODY,
        deployments: [
          {
            name: LIVEKIT.deployment,
            service_urls: [LIVEKIT.serviceUrl],
            // Nothing listens there: every poll fails fast, so nobody is judged by SFU absence.
            api_url: `http://127.0.0.1:${closedPort}`,
            api_key: LIVEKIT.apiKey,
            api_secret: LIVEKIT.apiSecret,
          },
        ],
      },
    },
    `${name}.yaml`,
    dir,
  );
  const log = captureLogger("info");
  const service = new Service({ config, registration, logger: log.logger });
  await service.start();
  const agent = keepAliveAgent(4);
  const reader = new Database(dbPath, { readonly: true, fileMustExist: true });
  const metricsBase = `http://127.0.0.1:${metricsPort}`;
  return {
    service,
    base,
    metricsBase,
    hsToken: registration.hs_token,
    dbPath,
    log,
    homeserver,
    agent,
    metrics: async () => {
      const res = await send(agent, { method: "GET", url: `${metricsBase}/metrics` });
      if (res.status !== 200) throw new Error(`metrics answered ${res.status}`);
      return parsePrometheus(res.text);
    },
    query: <T>(sql: string) => reader.prepare(sql).all() as T[],
    transaction: (txnId, events) =>
      send(
        agent,
        {
          method: "PUT",
          url: `${base}/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`,
          headers: { Authorization: `Bearer ${registration.hs_token}`, "Content-Type": "application/json" },
          body: typeof events === "string" ? events : JSON.stringify({ events }),
        },
        60_000,
      ),
    logged: (message) => log.lines().filter((l) => l.message === message),
    stop: async () => {
      reader.close();
      agent.destroy();
      await service.stop();
      await homeserver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
