// The demo's narrator: turns the service's JSON log lines into sentences an operator would say, in people's names.

/** One line of the service's JSON log (stdout is a pipe in the demo, so the service writes JSON). */
export type ServiceLine = Record<string, unknown> & { readonly message: string };

export interface NarratorOptions {
  /** Matrix user id → the name the demo calls that person by. */
  readonly names: ReadonlyMap<string, string>;
  /** The service's `reconciliation.sfu_leave_grace`, ms. */
  readonly sfuLeaveGraceMs: number;
  readonly clientLeaveGraceMs: number;
}

/**
 * Verdicts the clearer confirms with the LiveKit API at decision time (see src/app/reconcile/clearer.ts, step 1): a
 * `clear: cleared` with one of these reasons means the API said, at that moment, that the member was not connected.
 */
const CONFIRMED_BY_API: ReadonlySet<string> = new Set(["left_sfu", "never_connected"]);

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);
const text = (value: unknown): string => (typeof value === "string" ? value : String(value));

function evidenceOf(line: ServiceLine): Record<string, unknown> {
  const evidence = line.evidence;
  return typeof evidence === "object" && evidence !== null ? (evidence as Record<string, unknown>) : {};
}

/** Reads the service's log lines in order and says what they mean; keeps what it needs to tell echoes apart. */
export class Narrator {
  /** Members (user + device) with a ghost verdict not yet followed by their membership's end. */
  private readonly ghosts = new Set<string>();
  /** Members whose membership the service removed. */
  private readonly removed = new Set<string>();
  /** Members with a membership in room state, as far as the log has told. */
  private readonly inCall = new Set<string>();

  constructor(private readonly opts: NarratorOptions) {}

  /** The demo's name for a user id (or the id itself for someone it does not know). */
  nameOf(userId: string): string {
    return this.opts.names.get(userId) ?? userId;
  }

  /** Whether the service removed this member's membership (the room state then holds its leave, written by us). */
  wasRemoved(userId: string, deviceId: string): boolean {
    return this.removed.has(`${userId}|${deviceId}`);
  }

  /** The sentences one log line is worth, often none. */
  tell(line: ServiceLine): string[] {
    switch (line.message) {
      case "membership joined":
        return this.joined(line);
      case "membership left":
        return this.left(line);
      case "LiveKit webhook":
        return this.webhook(line);
      case "verdict: ghost":
        return this.ghost(line);
      case "clear: cleared":
      case "clear: would_clear":
        return this.cleared(line);
      default:
        return [];
    }
  }

  private joined(line: ServiceLine): string[] {
    const key = `${text(line.user)}|${text(line.device)}`;
    this.inCall.add(key);
    return [`service: ${this.nameOf(text(line.user))} joined the call (device ${text(line.device)})`];
  }

  private left(line: ServiceLine): string[] {
    const key = `${text(line.user)}|${text(line.device)}`;
    this.inCall.delete(key);
    // The end of a ghost's membership is the service's own clear coming back: the clear line tells it.
    if (this.ghosts.delete(key)) return [];
    const name = this.nameOf(text(line.user));
    switch (line.cause) {
      case "left":
        return [`service: ${name} left the call (the app removed its membership)`];
      case "expired":
        return [`service: ${name}'s membership expired`];
      case "left_room":
        return [`service: ${name} left the room, and with it the call`];
      default:
        return [`service: ${name}'s membership ended (${text(line.cause)})`];
    }
  }

  private webhook(line: ServiceLine): string[] {
    const identity = text(line.identity);
    const userId = [...this.opts.names.keys()].find((id) => identity.startsWith(`${id}:`));
    const name = userId === undefined ? identity : this.nameOf(userId);
    if (line.event === "participant_joined") return [`LiveKit → service: ${name} connected to the SFU`];
    if (line.event !== "participant_left") return [];
    const reason = text(line.disconnect_reason);
    if (reason === "CLIENT_INITIATED") return [`LiveKit → service: ${name} left the SFU (hung up)`];
    const lost =
      reason === "CONNECTION_TIMEOUT"
        ? `LiveKit → service: ${name}'s connection timed out (participant_left, CONNECTION_TIMEOUT)`
        : `LiveKit → service: ${name} left the SFU (${reason})`;
    const stillMember = userId !== undefined && [...this.inCall].some((k) => k.startsWith(`${userId}|`));
    if (!stillMember) return [lost];
    const still = `service: ${name}'s membership is still in the room`;
    if (reason === "CONNECTION_TIMEOUT")
      return [
        lost,
        `${still}; LiveKit says this only after about 20 s without a sign of life, so there is no grace: ` +
          "the service acts once LiveKit's API confirms it",
      ];
    const [graceMs, key] =
      reason === "CLIENT_INITIATED"
        ? [this.opts.clientLeaveGraceMs, "client_leave_grace"]
        : [this.opts.sfuLeaveGraceMs, "sfu_leave_grace"];
    return [lost, `${still}; it gives ${name} ${seconds(graceMs)} (reconciliation.${key}) to come back`];
  }

  private ghost(line: ServiceLine): string[] {
    const key = `${text(line.user)}|${text(line.device)}`;
    this.ghosts.add(key);
    const name = this.nameOf(text(line.user));
    const evidence = evidenceOf(line);
    const now = num(evidence.now);
    const goneSince = num(evidence.goneSince);
    switch (line.reason) {
      case "left_sfu":
        if (evidence.leaveKind === "unreachable")
          return [
            `service: LiveKit timed ${name} out: the membership is a ghost (left_sfu, connection lost)`,
          ];
        return [
          now !== null && goneSince !== null
            ? `service: ${name} has been off the SFU for ${seconds(now - goneSince)}, past the grace: the membership is a ghost (left_sfu)`
            : `service: ${name} is off the SFU past the grace: the membership is a ghost (left_sfu)`,
        ];
      case "never_connected":
        return [
          `service: ${name} never connected to the SFU within reconciliation.connect_grace: a ghost (never_connected)`,
        ];
      case "expired":
        return [`service: ${name}'s membership is past its expiry: a ghost (expired)`];
      case "not_joined":
        return [`service: ${name} is no longer in the room but still in the call: a ghost (not_joined)`];
      default:
        return [`service: ${name}'s membership is a ghost (${text(line.reason)})`];
    }
  }

  private cleared(line: ServiceLine): string[] {
    const name = this.nameOf(text(line.user));
    const dryRun = line.message === "clear: would_clear";
    const out: string[] = [];
    if (!dryRun && CONFIRMED_BY_API.has(text(line.reason)))
      out.push(`service: asks LiveKit's API once more: ${name} is not connected`);
    const how =
      line.method === "delayed_leave"
        ? `by sending ${name}'s own pending delayed leave`
        : line.method === "write_as_user"
          ? `by writing the leave as ${name} (appservice masquerade; no delayed leave to send)`
          : line.method === "write_as_bot"
            ? "by overwriting it with the bot's power level"
            : `(${text(line.method)})`;
    if (dryRun) {
      out.push(`service (dry run): would remove ${name}'s membership; nothing is written`);
    } else {
      this.removed.add(`${text(line.user)}|${text(line.device)}`);
      out.push(`service: removed ${name}'s membership ${how}`);
    }
    return out;
  }
}
