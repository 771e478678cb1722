// The logging port: structured lines with context fields; adapters decide the output format.

/** Context and evidence carried by a log line (room, user, device, verdict, ...). JSON-serialisable values. */
export type LogFields = Readonly<Record<string, unknown>>;

/** One logger; `child` adds context fields to every line it writes. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}
