// The one place loggers are made: winston writing JSON lines (or text) to stdout, with child context.
import winston from "winston";
import type { LogFields, Logger } from "../../app/ports/logger";

export type LogLevel = "error" | "warn" | "info" | "debug";

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: "json" | "text";
  /** Where lines go; stdout by default (tests pass a stream to capture them). */
  readonly stream?: NodeJS.WritableStream;
}

/** Errors nested in fields would serialise as `{}`: turn them into message + stack. */
function plain(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  if (typeof value === "bigint") return value.toString();
  if (depth < 4 && typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, depth + 1)]));
  }
  return value;
}

const jsonLine = winston.format((info) => {
  const { level, message, ...rest } = info;
  const out: Record<string, unknown> = { time: new Date().toISOString(), level, message };
  for (const [key, value] of Object.entries(rest)) out[key] = plain(value);
  return Object.assign(info, { [Symbol.for("message")]: JSON.stringify(out) });
});

const textLine = winston.format.printf((info) => {
  const { level, message, ...rest } = info;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${JSON.stringify(plain(v))}`)
    .join(" ");
  return `${new Date().toISOString()} ${level.toUpperCase()} ${String(message)}${fields ? ` ${fields}` : ""}`;
});

class WinstonLogger implements Logger {
  constructor(private readonly inner: winston.Logger) {}
  error(message: string, fields?: LogFields): void {
    this.inner.error(message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.inner.warn(message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.inner.info(message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.inner.debug(message, fields);
  }
  child(fields: LogFields): Logger {
    return new WinstonLogger(this.inner.child(fields));
  }
}

/** Builds the root logger. Call once, in main; everything else receives it (or a child). */
export function createLogger(opts: LoggerOptions): Logger {
  const transport = new winston.transports.Stream({ stream: opts.stream ?? process.stdout });
  const inner = winston.createLogger({
    level: opts.level,
    format: opts.format === "json" ? jsonLine() : textLine,
    // winston's Stream transport type comes from a second copy of winston-transport's typings.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    transports: [transport],
  });
  return new WinstonLogger(inner);
}
