// The command line: generate a registration (-r), check a config (--check-config) or run the service (-c).
import { closeSync, fchmodSync, openSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load";
import { configWarnings } from "../config/warnings";
import { checkConfig } from "./check-config";
import { versionLine } from "./version";
import { generateRegistration, loadRegistration, registrationToYaml } from "../adapters/matrix/registration";

const USAGE = `Usage:
  matrix-rtc-reconciler -r -u URL [-f FILE] [-l LOCALPART] [-d DOMAIN | -c CONFIG] [--force]
      Write an appservice registration (default file: registration.yaml, mode 0600). URL is where
      the homeserver reaches this service, e.g. http://127.0.0.1:9000. DOMAIN (or the config's
      homeserver.domain) scopes the user namespaces to your server. An existing FILE is only
      replaced with --force (new tokens: Synapse's copy must be replaced too).
  matrix-rtc-reconciler -c CONFIG [-f REGISTRATION]
      Run the service.
  matrix-rtc-reconciler -c CONFIG [-f REGISTRATION] --check-config
      Validate the config and the registration it names: exit 0 (after listing any warnings and what the
      homeserver must enable), or list every problem and exit 1.
Options:
  -h, --help     this text
  --version      print the version`;

class UsageError extends Error {}

function options(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        "generate-registration": { type: "boolean", short: "r" },
        url: { type: "string", short: "u" },
        file: { type: "string", short: "f" },
        localpart: { type: "string", short: "l" },
        domain: { type: "string", short: "d" },
        config: { type: "string", short: "c" },
        "check-config": { type: "boolean" },
        force: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** The registration's tokens are secrets: an existing file is kept unless forced, and is 0600 before they are written. */
function writeSecretFile(file: string, text: string, force: boolean): void {
  let fd: number;
  try {
    fd = openSync(file, force ? "w" : "wx", 0o600);
  } catch (err) {
    if (err instanceof Error && "code" in err && err.code === "EEXIST") {
      throw new Error(
        `${file} exists; not replacing it. Give --force to write a new registration over it ` +
          "(new tokens: copy it to Synapse again and restart Synapse).",
      );
    }
    throw err;
  }
  try {
    // Also when replacing a file created with looser permissions: the mode changes before any token is written.
    fchmodSync(fd, 0o600);
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function generate(values: ReturnType<typeof options>): number {
  if (!values.url) throw new UsageError("-r needs -u URL (where the homeserver reaches this service)");
  try {
    new URL(values.url);
  } catch {
    throw new UsageError(`-u ${values.url}: not a URL`);
  }
  const domain = values.domain ?? (values.config ? loadConfig(values.config).homeserver.domain : null);
  const file = values.file ?? "registration.yaml";
  const reg = generateRegistration({
    url: values.url,
    localpart: values.localpart ?? "rtc-reconciler",
    domain,
  });
  writeSecretFile(file, registrationToYaml(reg), values.force === true);
  console.log(`wrote ${file} (id ${reg.id}, bot @${reg.sender_localpart}:${domain ?? "<your server>"})`);
  if (domain === null) console.log("note: no -d/-c given, so the user namespaces match any server name");
  return 0;
}

async function run(configFile: string, registrationFile: string | undefined): Promise<number> {
  const config = loadConfig(configFile);
  // Loaded only to run: generating a registration or checking a config stays fast.
  const { createLogger } = await import("../adapters/logging/winston-logger.js");
  const { routeBridgeLogs } = await import("../adapters/logging/bridge-logs.js");
  const { Service } = await import("../main/service.js");
  const logger = createLogger({ level: config.logging.level, format: config.logging.format });
  routeBridgeLogs(logger);
  for (const warning of configWarnings(config)) logger.warn("config warning", { file: configFile, warning });
  const registration = loadRegistration(registrationFile ?? config.appservice.registration);
  const service = new Service({ config, registration, logger });
  let stopping: Promise<void> | null = null;
  const stop = (signal: string) => {
    if (stopping) return;
    logger.info("stopping", { signal });
    stopping = service.stop().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error("stop failed", { error: err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => {
    stop("SIGTERM");
  });
  process.on("SIGINT", () => {
    stop("SIGINT");
  });
  try {
    await service.start();
  } catch (err) {
    logger.error("start-up failed", { error: err instanceof Error ? err.message : String(err) });
    await service.stop();
    return 1;
  }
  return -1; // keeps running until a signal
}

/** Runs the CLI; sets the process exit code (or keeps the process running for the service). */
export async function main(argv: string[]): Promise<void> {
  let code: number;
  try {
    const values = options(argv);
    if (values.help) {
      console.log(USAGE);
      code = 0;
    } else if (values.version) {
      console.log(versionLine());
      code = 0;
    } else if (values["generate-registration"]) {
      code = generate(values);
    } else if (values.config && values["check-config"]) {
      code = checkConfig(
        values.config,
        values.file,
        (line) => {
          console.log(line);
        },
        (line) => {
          console.error(line);
        },
      );
    } else if (values.config) {
      code = await run(values.config, values.file);
    } else {
      throw new UsageError("nothing to do: give -r to write a registration or -c CONFIG to run");
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n\n${USAGE}`);
      code = 2;
    } else if (err instanceof ConfigError) {
      console.error(err.message);
      code = 1;
    } else {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      code = 1;
    }
  }
  if (code >= 0) process.exit(code);
}
