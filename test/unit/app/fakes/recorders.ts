// Recording Logger and Metrics: every line and every count kept in memory, so tests assert what operators would see.
import type { LogFields, Logger } from "../../../../src/app/ports/logger";
import type { Metrics } from "../../../../src/app/ports/metrics";

export type Level = "error" | "warn" | "info" | "debug";

export interface LogLine {
  readonly level: Level;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export class RecordingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly context: LogFields = {},
  ) {}

  error(message: string, fields?: LogFields): void {
    this.write("error", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.write("warn", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write("info", message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.write("debug", message, fields);
  }
  child(fields: LogFields): Logger {
    return new RecordingLogger(this.lines, { ...this.context, ...fields });
  }

  /** Lines whose message starts with `prefix`. */
  find(prefix: string, level?: Level): LogLine[] {
    return this.lines.filter(
      (l) => l.message.startsWith(prefix) && (level === undefined || l.level === level),
    );
  }

  private write(level: Level, message: string, fields: LogFields = {}): void {
    this.lines.push({ level, message, fields: { ...this.context, ...fields } });
  }
}

type MetricName = keyof Metrics;
export type MetricCall = {
  [K in MetricName]: { readonly name: K; readonly args: Parameters<Metrics[K]> };
}[MetricName];

export class RecordingMetrics implements Metrics {
  readonly calls: MetricCall[] = [];

  /** The argument lists of every call of one metric, in order. */
  of<K extends MetricName>(name: K): Parameters<Metrics[K]>[] {
    const out: Parameters<Metrics[K]>[] = [];
    for (const c of this.calls) if (c.name === name) out.push(c.args as Parameters<Metrics[K]>);
    return out;
  }

  matrixEvent(...args: Parameters<Metrics["matrixEvent"]>): void {
    this.calls.push({ name: "matrixEvent", args });
  }
  invalidMembership(...args: Parameters<Metrics["invalidMembership"]>): void {
    this.calls.push({ name: "invalidMembership", args });
  }
  webhook(...args: Parameters<Metrics["webhook"]>): void {
    this.calls.push({ name: "webhook", args });
  }
  livekitApiError(...args: Parameters<Metrics["livekitApiError"]>): void {
    this.calls.push({ name: "livekitApiError", args });
  }
  verdict(...args: Parameters<Metrics["verdict"]>): void {
    this.calls.push({ name: "verdict", args });
  }
  ghostCleared(...args: Parameters<Metrics["ghostCleared"]>): void {
    this.calls.push({ name: "ghostCleared", args });
  }
  clearFailed(...args: Parameters<Metrics["clearFailed"]>): void {
    this.calls.push({ name: "clearFailed", args });
  }
  cannotClear(...args: Parameters<Metrics["cannotClear"]>): void {
    this.calls.push({ name: "cannotClear", args });
  }
  reconnectAfterClear(...args: Parameters<Metrics["reconnectAfterClear"]>): void {
    this.calls.push({ name: "reconnectAfterClear", args });
  }
  falsePositive(...args: Parameters<Metrics["falsePositive"]>): void {
    this.calls.push({ name: "falsePositive", args });
  }
  setTracked(...args: Parameters<Metrics["setTracked"]>): void {
    this.calls.push({ name: "setTracked", args });
  }
  command(...args: Parameters<Metrics["command"]>): void {
    this.calls.push({ name: "command", args });
  }
}
