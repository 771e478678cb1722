// The one place loggers are made: winston writing JSON lines (or readable text on a terminal) to stdout, with child context.
import winston from "winston";
import type { LogFields, Logger } from "../../app/ports/logger";

export type LogLevel = "error" | "warn" | "info" | "debug";

export type LogFormat = "auto" | "json" | "text";

export interface LoggerOptions {
  readonly level: LogLevel;
  /** `auto`: text when the stream is a terminal, JSON otherwise (collectors and pipes keep getting JSON). */
  readonly format: LogFormat;
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

/** A field value as a person reads it: plain words unquoted, anything else as JSON. */
function readable(value: unknown): string {
  const v = plain(value);
  if (typeof v === "string") return /^[\w@:.!/+#-]+$/.test(v) ? v : JSON.stringify(v);
  return v === undefined ? "undefined" : JSON.stringify(v);
}

const LEVEL_WIDTH = 5;

/** `12:03:04.567 WARN  message  key=value …`: local time, the level padded so messages line up. */
const textLine = winston.format.printf((info) => {
  const { level, message, ...rest } = info;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${readable(v)}`)
    .join(" ");
  const now = new Date();
  const time = `${now.toTimeString().slice(0, 8)}.${String(now.getMilliseconds()).padStart(3, "0")}`;
  return `${time} ${level.toUpperCase().padEnd(LEVEL_WIDTH)} ${String(message)}${fields ? `  ${fields}` : ""}`;
});

/** The format actually written: `auto` follows whether the stream is a terminal. */
export function resolveLogFormat(format: LogFormat, stream: NodeJS.WritableStream): "json" | "text" {
  if (format !== "auto") return format;
  return "isTTY" in stream && stream.isTTY === true ? "text" : "json";
}

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
  const stream = opts.stream ?? process.stdout;
  const transport = new winston.transports.Stream({ stream });
  const inner = winston.createLogger({
    level: opts.level,
    format: resolveLogFormat(opts.format, stream) === "json" ? jsonLine() : textLine,
    // winston's Stream transport type comes from a second copy of winston-transport's typings.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    transports: [transport],
  });
  return new WinstonLogger(inner);
}
