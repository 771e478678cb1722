// Routes matrix-appservice-bridge's and matrix-bot-sdk's own log lines into our logger (component "bridge").
import { Writable } from "node:stream";
import { Logger as BridgeLogger } from "matrix-appservice-bridge";
import type { Logger } from "../../app/ports/logger";

interface BridgeLine {
  level?: unknown;
  module?: unknown;
  message?: unknown;
  error?: unknown;
  args?: unknown;
}

function forward(logger: Logger, line: string): void {
  let parsed: BridgeLine;
  try {
    parsed = JSON.parse(line) as BridgeLine;
  } catch {
    logger.debug(line.trim());
    return;
  }
  const message = typeof parsed.message === "string" ? parsed.message : "(no message)";
  const fields = {
    module: parsed.module,
    ...(parsed.error === undefined ? {} : { error: parsed.error }),
    ...(parsed.args === undefined ? {} : { args: parsed.args }),
  };
  const level = typeof parsed.level === "string" ? parsed.level.toLowerCase() : "info";
  if (level === "error") logger.error(message, fields);
  else if (level === "warn") logger.warn(message, fields);
  else if (level === "info") logger.info(message, fields);
  else logger.debug(message, fields);
}

/** Configures the bridge's global logger to write JSON into a stream that feeds `logger`. */
export function routeBridgeLogs(logger: Logger): void {
  const bridgeLogger = logger.child({ component: "bridge" });
  let pending = "";
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim()) forward(bridgeLogger, line);
        newline = pending.indexOf("\n");
      }
      done();
    },
  });
  BridgeLogger.root.configureLogging({ json: true }, sink);
}
