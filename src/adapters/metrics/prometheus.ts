// Prometheus series for the Metrics port, plus process metrics, on one registry served by the metrics listener.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { MatrixEventOutcome, Metrics, WebhookOutcome } from "../../app/ports/metrics";

/** Every series the service exports (the dashboard test checks its queries against these names). */
export const METRIC_PREFIX = "rtc_reconciler_";

export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly matrixEvents = this.counter(
    "matrix_events_total",
    "Matrix events received, by type and outcome",
    ["type", "outcome"],
  );
  private readonly invalid = this.counter(
    "invalid_memberships_total",
    "Membership events refused, by reason",
    ["reason"],
  );
  private readonly webhooks = this.counter("webhooks_total", "LiveKit webhooks, by event and outcome", [
    "event",
    "outcome",
  ]);
  private readonly apiErrors = this.counter("livekit_api_errors_total", "Failed LiveKit API calls", [
    "deployment",
    "operation",
  ]);
  private readonly verdicts = this.counter("verdicts_total", "Verdict changes, by kind and reason", [
    "kind",
    "reason",
  ]);
  private readonly cleared = this.counter(
    "ghosts_cleared_total",
    "Ghost memberships cleared, by reason and method",
    ["reason", "method"],
  );
  private readonly lifetime = new Histogram({
    name: `${METRIC_PREFIX}ghost_lifetime_seconds`,
    help: "From the moment a membership stopped being live (SFU leave, expiry, room leave) to its clearing",
    buckets: [1, 2, 5, 10, 15, 20, 25, 30, 45, 60, 120, 300, 900, 3600, 14400],
    registers: [this.registry],
  });
  private readonly clearFailures = this.counter(
    "clear_failures_total",
    "Clears that failed, by method and reason",
    ["method", "reason"],
  );
  private readonly cannot = this.counter(
    "cannot_clear_total",
    "Ghosts no enabled method can clear, by reason",
    ["reason"],
  );
  private readonly falsePositives = this.counter(
    "false_positives_total",
    "Clears of members that came back at once (membership re-sent or participant back on the SFU)",
    ["reason"],
  );
  private readonly reconnects = this.counter(
    "reconnects_after_clear_total",
    "Members cleared after LiveKit timed them out that came back (really unreachable: not wrong clears)",
    ["reason"],
  );
  private readonly commands = this.counter("commands_total", "Bot commands, by command and outcome", [
    "command",
    "outcome",
  ]);
  private readonly rooms = this.gauge("tracked_rooms", "Rooms with call state tracked");
  private readonly members = this.gauge("tracked_members", "Call memberships tracked (live and ghost)");
  private readonly calls = this.gauge("live_calls", "Calls with at least one member");
  private readonly ghosts = this.gauge("current_ghosts", "Memberships currently judged ghosts");

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name: METRIC_PREFIX + name, help, registers: [this.registry] });
  }

  matrixEvent(type: string, outcome: MatrixEventOutcome): void {
    this.matrixEvents.inc({ type, outcome });
  }
  invalidMembership(reason: string): void {
    this.invalid.inc({ reason });
  }
  webhook(event: string, outcome: WebhookOutcome): void {
    this.webhooks.inc({ event, outcome });
  }
  livekitApiError(deployment: string, operation: string): void {
    this.apiErrors.inc({ deployment, operation });
  }
  verdict(kind: string, reason: string): void {
    this.verdicts.inc({ kind, reason });
  }
  ghostCleared(reason: string, method: string, lifetimeSeconds: number): void {
    this.cleared.inc({ reason, method });
    this.lifetime.observe(Math.max(0, lifetimeSeconds));
  }
  clearFailed(method: string, reason: string): void {
    this.clearFailures.inc({ method, reason });
  }
  cannotClear(reason: string): void {
    this.cannot.inc({ reason });
  }
  falsePositive(reason: string): void {
    this.falsePositives.inc({ reason });
  }
  reconnectAfterClear(reason: string): void {
    this.reconnects.inc({ reason });
  }
  setTracked(counts: { rooms: number; members: number; liveCalls: number; ghosts: number }): void {
    this.rooms.set(counts.rooms);
    this.members.set(counts.members);
    this.calls.set(counts.liveCalls);
    this.ghosts.set(counts.ghosts);
  }
  command(name: string, outcome: string): void {
    this.commands.inc({ command: name, outcome });
  }
}
