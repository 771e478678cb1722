// Starts a real Synapse 1.163 (from .tools/synapse-venv) on a free loopback port with a generated config, in one of two profiles.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { freshDir, requireFile, SYNAPSE_PYTHON, tail } from "./paths";
import { freePort, sleep } from "./ports";
import { spawnManaged } from "./processes";

export type SynapseProfile = "delayed-events" | "no-delayed-events";

export interface SynapseOptions {
  profile: SynapseProfile;
  /** Absolute paths of appservice registration files to load. */
  registrationFiles: string[];
  /** Folder for config, database, keys and logs; default `.e2e/<run>/synapse-<n>`. */
  dir?: string;
  /** Put into `matrix_rtc.transports`; clients do not contact it. */
  livekitServiceUrl?: string;
  startTimeoutMs?: number;
}

export interface SynapseHandle {
  baseUrl: string;
  serverName: "localhost";
  registrationSharedSecret: string;
  pid: number;
  /** Synapse's own log; process output goes to `<dir>/synapse.out.log`. */
  logFile: string;
  dir: string;
  stop(): Promise<void>;
  /** Stops Synapse, waits `downMs`, and starts it again on the same port and database. */
  restart(downMs?: number): Promise<void>;
}

/** Default `livekit_service_url` in `matrix_rtc.transports` (nothing listens there; clients only copy it). */
export const DEFAULT_LIVEKIT_SERVICE_URL = "http://127.0.0.1:9/livekit/jwt";

const unlimited = { per_second: 9999, burst_count: 9999 };

export function synapseConfig(
  dir: string,
  port: number,
  opts: SynapseOptions,
  sharedSecret: string,
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    server_name: "localhost",
    pid_file: path.join(dir, "homeserver.pid"),
    report_stats: false,
    listeners: [
      {
        port,
        bind_addresses: ["127.0.0.1"],
        type: "http",
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["client"], compress: false }],
      },
    ],
    database: { name: "sqlite3", args: { database: path.join(dir, "homeserver.db") } },
    media_store_path: path.join(dir, "media_store"),
    signing_key_path: path.join(dir, "localhost.signing.key"),
    log_config: path.join(dir, "log.config.yaml"),
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    enable_registration: true,
    enable_registration_without_verification: true,
    registration_shared_secret: sharedSecret,
    bcrypt_rounds: 4,
    app_service_config_files: opts.registrationFiles,
    rc_message: unlimited,
    rc_registration: unlimited,
    rc_login: { address: unlimited, account: unlimited, failed_attempts: unlimited },
    rc_joins: { local: unlimited, remote: unlimited },
    rc_joins_per_room: unlimited,
    rc_delayed_event_mgmt: unlimited,
    rc_room_creation: unlimited,
    rc_invites: { per_room: unlimited, per_user: unlimited, per_issuer: unlimited },
    experimental_features: {
      msc4222_enabled: true,
      msc4354_enabled: true,
      msc4143_enabled: true,
      // The bot's encrypted device: to-device messages, device lists and key counts in transactions.
      msc2409_to_device_messages_enabled: true,
      msc3202_transaction_extensions: true,
    },
    matrix_rtc: {
      transports: [
        { type: "livekit", livekit_service_url: opts.livekitServiceUrl ?? DEFAULT_LIVEKIT_SERVICE_URL },
      ],
    },
  };
  if (opts.profile === "delayed-events") config["max_event_delay_duration"] = "24h";
  return config;
}

function logConfig(logFile: string): Record<string, unknown> {
  return {
    version: 1,
    formatters: {
      precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
    },
    handlers: {
      file: { class: "logging.FileHandler", formatter: "precise", filename: logFile, encoding: "utf8" },
    },
    loggers: { "synapse.storage.SQL": { level: "WARNING" } },
    root: { level: "INFO", handlers: ["file"] },
    disable_existing_loggers: false,
  };
}

/** JSON is valid YAML: write configs as JSON text so no YAML library is needed. */
function writeYaml(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

export async function startSynapse(opts: SynapseOptions): Promise<SynapseHandle> {
  const python = requireFile(SYNAPSE_PYTHON, "run scripts/provision-e2e.sh first");
  for (const file of opts.registrationFiles) requireFile(file, "registration file not found");
  const dir = opts.dir ?? freshDir(`synapse-${opts.profile}`);
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const secret = randomBytes(24).toString("hex");
  const configFile = path.join(dir, "homeserver.yaml");
  const logFile = path.join(dir, "homeserver.log");
  const outLog = path.join(dir, "synapse.out.log");
  writeYaml(configFile, synapseConfig(dir, port, opts, secret));
  writeYaml(path.join(dir, "log.config.yaml"), logConfig(logFile));
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };
  const base = ["-m", "synapse.app.homeserver", "-c", configFile];
  const keygen = spawnManaged({
    name: "synapse-keygen",
    command: python,
    args: [...base, "--generate-keys"],
    logFile: outLog,
    cwd: dir,
    env,
  });
  const keygenStatus = await keygen.exited;
  if (keygenStatus !== 0)
    throw new Error(`synapse --generate-keys exited with ${keygenStatus}:\n${tail(outLog)}`);
  const baseUrl = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const proc = spawnManaged({
      name: "synapse",
      command: python,
      args: base,
      logFile: outLog,
      cwd: dir,
      env,
    });
    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    for (;;) {
      const status = proc.exitStatus();
      if (status !== undefined) {
        throw new Error(`synapse exited with ${status} during start-up:\n${tail(outLog)}\n${tail(logFile)}`);
      }
      try {
        const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok && (await res.text()) === "OK") return proc;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await proc.kill();
        throw new Error(`synapse did not answer /health within the timeout:\n${tail(logFile)}`);
      }
      await sleep(200);
    }
  };
  let proc = await launch();
  return {
    baseUrl,
    serverName: "localhost",
    registrationSharedSecret: secret,
    get pid() {
      return proc.pid;
    },
    logFile,
    dir,
    stop: async () => {
      await proc.stop(10_000);
    },
    restart: async (downMs = 0) => {
      await proc.stop(10_000);
      await sleep(downMs);
      proc = await launch();
    },
  };
}
