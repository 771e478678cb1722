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

/** Errors nested in fields would serialise as `{}` (message + stack instead), bigints would throw (text instead). */
function plain(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return typeof value === "bigint" ? value.toString() : value;
}

/** One JSON line, serialised in one pass (no copy of the fields is built first). */
const jsonLine = winston.format((info) => {
  const { level, message, ...rest } = info;
  const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...rest }, plain);
  return Object.assign(info, { [Symbol.for("message")]: line });
});

/** A field value as a person reads it: plain words unquoted, anything else as JSON. */
function readable(value: unknown): string {
  if (typeof value === "string") return /^[\w@:.!/+#-]+$/.test(value) ? value : JSON.stringify(value);
  return value === undefined ? "undefined" : JSON.stringify(value, plain);
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

const LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

/**
 * winston formats every line it is given, even one its level will drop: the serialisation of a debug line's fields
 * would be paid on every event with debug off. So the level is checked here, before any line is built.
 */
class WinstonLogger implements Logger {
  constructor(
    private readonly inner: winston.Logger,
    private readonly enabled: ReadonlySet<LogLevel>,
  ) {}
  error(message: string, fields?: LogFields): void {
    if (this.enabled.has("error")) this.inner.error(message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    if (this.enabled.has("warn")) this.inner.warn(message, fields);
  }
  info(message: string, fields?: LogFields): void {
    if (this.enabled.has("info")) this.inner.info(message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    if (this.enabled.has("debug")) this.inner.debug(message, fields);
  }
  child(fields: LogFields): Logger {
    return new WinstonLogger(this.inner.child(fields), this.enabled);
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
  return new WinstonLogger(inner, new Set(LEVELS.filter((level) => inner.isLevelEnabled(level))));
}
