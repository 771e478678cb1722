// A real winston logger writing JSON lines into memory, so tests can assert on what operators would read.
import { Writable } from "node:stream";
import type { Logger } from "../../src/app/ports/logger";
import { createLogger } from "../../src/adapters/logging/winston-logger";

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

export function captureLogger(level: "debug" | "info" = "debug"): CapturedLogger {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      raw.push(
        ...chunk
          .toString()
          .split("\n")
          .filter((l) => l.trim() !== ""),
      );
      done();
    },
  });
  return {
    logger: createLogger({ level, format: "json", stream }),
    lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
