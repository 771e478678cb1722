// The Matrix port: what the app reads from and writes to the homeserver, as the bot or as a local user.

/** A pending MSC4140 delayed event of a user, as the homeserver lists it. */
export interface DelayedEvent {
  readonly delayId: string;
  readonly roomId: string;
  readonly type: string;
  readonly stateKey: string | null;
  readonly delayMs: number;
  readonly content: Readonly<Record<string, unknown>>;
}

/** One current state event as the homeserver returns it (client format). */
export interface StateEventSnapshot {
  readonly eventId: string | null;
  readonly content: Readonly<Record<string, unknown>>;
  readonly raw: unknown;
}

/** Who a request is made as: the appservice bot, or a local user it masquerades as. */
export type Actor = { readonly kind: "bot" } | { readonly kind: "user"; readonly userId: string };

export interface MatrixPort {
  readonly botUserId: string;
  /** The room's full current state (client-format events). */
  roomState(roomId: string, as: Actor): Promise<readonly unknown[]>;
  /** One state key's current event, or null when the key holds nothing. */
  stateEvent(roomId: string, type: string, stateKey: string, as: Actor): Promise<StateEventSnapshot | null>;
  putState(roomId: string, type: string, stateKey: string, content: object, as: Actor): Promise<string>;
  /** Sends a timeline event; `stickyDurationMs` makes it an MSC4354 sticky event. */
  sendEvent(
    roomId: string,
    type: string,
    content: object,
    as: Actor,
    stickyDurationMs?: number,
  ): Promise<string>;
  /** Delayed events (MSC4140) pending for a user; null when the homeserver does not support them. */
  delayedEvents(userId: string): Promise<readonly DelayedEvent[] | null>;
  delayedEventAction(delayId: string, action: "send" | "cancel", userId: string): Promise<void>;
  joinedRooms(): Promise<readonly string[]>;
  /** The room an alias names, from the homeserver's room directory; null when no room has it. */
  resolveAlias(alias: string): Promise<string | null>;
  join(roomId: string): Promise<void>;
  leave(roomId: string): Promise<void>;
  sendNotice(roomId: string, text: string, html: string): Promise<void>;
}

/** The homeserver refused or failed a request. `status` 0 = it could not be reached. */
export class MatrixRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errcode: string | null,
  ) {
    super(message);
    this.name = "MatrixRequestError";
  }
}
