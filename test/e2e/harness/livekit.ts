// Starts a real LiveKit server v1.13.5 (from .tools/livekit/bin) on free loopback ports, with webhooks to the given URLs.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { freshDir, LIVEKIT_SERVER, requireFile, tail } from "./paths";
import { freePort, waitForTcp } from "./ports";
import { spawnManaged } from "./processes";

export interface LiveKitOptions {
  /** Where LiveKit POSTs its webhooks (e.g. a WebhookRelay's url). May be empty. */
  webhookUrls: string[];
  dir?: string;
  startTimeoutMs?: number;
}

export interface LiveKitHandle {
  /** For clients: `ws://127.0.0.1:<port>`. */
  wsUrl: string;
  /** For the server API (RoomServiceClient): `http://127.0.0.1:<port>`. */
  httpUrl: string;
  apiKey: string;
  apiSecret: string;
  pid: number;
  logFile: string;
  dir: string;
  stop(): Promise<void>;
  /** Stops the server (every participant is dropped) and starts it again on the same ports and keys. */
  restart(): Promise<void>;
}

export function liveKitConfig(
  ports: { http: number; rtcTcp: number; rtcUdp: number },
  apiKey: string,
  apiSecret: string,
  webhookUrls: readonly string[],
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    port: ports.http,
    bind_addresses: ["127.0.0.1"],
    keys: { [apiKey]: apiSecret },
    logging: { level: "info" },
    rtc: {
      udp_port: ports.rtcUdp,
      tcp_port: ports.rtcTcp,
      use_external_ip: false,
      node_ip: "127.0.0.1",
      enable_loopback_candidate: true,
    },
    room: { auto_create: true, empty_timeout: 30, departure_timeout: 1 },
  };
  if (webhookUrls.length > 0) config["webhook"] = { api_key: apiKey, urls: [...webhookUrls] };
  return config;
}

export async function startLiveKit(opts: LiveKitOptions): Promise<LiveKitHandle> {
  const server = requireFile(LIVEKIT_SERVER, "run scripts/provision-e2e.sh first");
  const dir = opts.dir ?? freshDir("livekit");
  fs.mkdirSync(dir, { recursive: true });
  const ports = { http: await freePort(), rtcTcp: await freePort(), rtcUdp: await freePort(true) };
  const apiKey = "e2ekey";
  const apiSecret = randomBytes(24).toString("hex"); // 48 chars: LiveKit wants >= 32
  const configFile = path.join(dir, "livekit.yaml");
  // JSON is valid YAML; LiveKit rejects unknown keys, so this holds only keys it knows.
  fs.writeFileSync(
    configFile,
    `${JSON.stringify(liveKitConfig(ports, apiKey, apiSecret, opts.webhookUrls), null, 2)}\n`,
  );
  const logFile = path.join(dir, "livekit.log");
  const launch = async () => {
    const proc = spawnManaged({
      name: "livekit",
      command: server,
      args: ["--config", configFile],
      logFile,
      cwd: dir,
    });
    try {
      await waitForTcp(ports.http, opts.startTimeoutMs ?? 30_000, () => {
        const status = proc.exitStatus();
        return status === undefined
          ? undefined
          : `livekit exited with ${status} during start-up:\n${tail(logFile)}`;
      });
    } catch (err) {
      await proc.kill();
      throw err;
    }
    return proc;
  };
  let proc = await launch();
  return {
    wsUrl: `ws://127.0.0.1:${ports.http}`,
    httpUrl: `http://127.0.0.1:${ports.http}`,
    apiKey,
    apiSecret,
    get pid() {
      return proc.pid;
    },
    logFile,
    dir,
    stop: async () => {
      await proc.stop(10_000);
    },
    restart: async () => {
      await proc.stop(10_000);
      proc = await launch();
    },
  };
}
