// The metrics port: what the app counts, named by meaning; the Prometheus adapter maps it to series.

export type MatrixEventOutcome = "applied" | "duplicate" | "invalid" | "ignored" | "unreadable" | "decrypted";
export type WebhookOutcome =
  "accepted" | "duplicate" | "bad_signature" | "too_large" | "bad_request" | "unknown_deployment";

export interface Metrics {
  matrixEvent(type: string, outcome: MatrixEventOutcome): void;
  invalidMembership(reason: string): void;
  webhook(event: string, outcome: WebhookOutcome): void;
  livekitApiError(deployment: string, operation: string): void;
  verdict(kind: string, reason: string): void;
  ghostCleared(reason: string, method: string, lifetimeSeconds: number): void;
  clearFailed(method: string, reason: string): void;
  cannotClear(reason: string): void;
  falsePositive(reason: string): void;
  /** A member cleared because LiveKit timed it out came back: it really was unreachable, so not a wrong clear. */
  reconnectAfterClear(reason: string): void;
  setTracked(counts: { rooms: number; members: number; liveCalls: number; ghosts: number }): void;
  command(name: string, outcome: string): void;
}
