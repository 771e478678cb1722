// A fake homeserver behind MatrixPort: room state, membership-checked reads and writes, delayed events, an echo queue.
import type { Actor, DelayedEvent, MatrixPort, StateEventSnapshot } from "../../../../src/app/ports/matrix";
import { MatrixRequestError } from "../../../../src/app/ports/matrix";
import type { ClientEvent } from "../../domain/builders";
import type { FakeClock } from "./clock";
import { type MatrixCall, type MatrixMethod, WRITES } from "./matrix-calls";

export type { MatrixCall, MatrixMethod } from "./matrix-calls";

const forbidden = (): MatrixRequestError => new MatrixRequestError("forbidden", 403, "M_FORBIDDEN");

interface Fault {
  readonly method: MatrixMethod;
  readonly error: Error;
  remaining: number;
  readonly when: (call: MatrixCall) => boolean;
}

export class FakeMatrix implements MatrixPort {
  readonly calls: MatrixCall[] = [];
  readonly notices: { roomId: string; text: string; html: string }[] = [];
  /** Events the homeserver would push to the appservice (our own writes), until the test delivers them. */
  readonly outbox: ClientEvent[] = [];
  supportsDelayed = true;
  /** How far the homeserver's clock is ahead of ours (its events' origin_server_ts). */
  serverSkewMs = 0;
  /** The room directory: alias → room id. */
  readonly aliases = new Map<string, string>();
  private readonly rooms = new Map<string, Map<string, ClientEvent>>();
  private readonly delayed = new Map<string, DelayedEvent[]>();
  private readonly faults: Fault[] = [];
  private readonly pauses = new Map<MatrixMethod, Promise<void>>();
  private counter = 0;

  constructor(
    readonly botUserId: string,
    private readonly clock: FakeClock,
  ) {}

  /** Puts a state event into the homeserver's room state (as if it happened there); no echo. */
  hold(event: ClientEvent): void {
    if (event.state_key === undefined) return;
    let room = this.rooms.get(event.room_id);
    if (!room) this.rooms.set(event.room_id, (room = new Map<string, ClientEvent>()));
    room.set(`${event.type}\u0000${event.state_key}`, event);
  }

  addDelayed(userId: string, d: DelayedEvent): void {
    this.delayed.set(userId, [...(this.delayed.get(userId) ?? []), d]);
  }

  pendingDelayed(userId: string): readonly DelayedEvent[] {
    return this.delayed.get(userId) ?? [];
  }

  /** Fails the next `times` calls of `method` (matching `when`) with `error`. */
  fail(
    method: MatrixMethod,
    error: Error,
    times = 1,
    when: (call: MatrixCall) => boolean = () => true,
  ): void {
    this.faults.push({ method, error, remaining: times, when });
  }

  /** Holds every call of `method` until the returned release is called. */
  pause(method: MatrixMethod): () => void {
    let release = (): void => undefined;
    this.pauses.set(
      method,
      new Promise<void>((resolve) => {
        release = () => {
          this.pauses.delete(method);
          resolve();
        };
      }),
    );
    return release;
  }

  writes(): MatrixCall[] {
    return this.calls.filter((c) => WRITES.has(c.method));
  }

  takeOutbox(): ClientEvent[] {
    return this.outbox.splice(0);
  }

  current(roomId: string, type: string, stateKey: string): ClientEvent | null {
    return this.rooms.get(roomId)?.get(`${type}\u0000${stateKey}`) ?? null;
  }

  /** The state as of the request: an answer held by `pause` is a snapshot the room may have moved past. */
  async roomState(roomId: string, as: Actor): Promise<readonly unknown[]> {
    const snapshot = [...(this.rooms.get(roomId)?.values() ?? [])];
    await this.enter({ method: "roomState", roomId, as });
    this.mustBeIn(roomId, as);
    return snapshot;
  }

  async stateEvent(
    roomId: string,
    type: string,
    stateKey: string,
    as: Actor,
  ): Promise<StateEventSnapshot | null> {
    await this.enter({ method: "stateEvent", roomId, type, stateKey, as });
    this.mustBeIn(roomId, as);
    const e = this.current(roomId, type, stateKey);
    return e === null ? null : { eventId: e.event_id, content: e.content, raw: e };
  }

  async putState(
    roomId: string,
    type: string,
    stateKey: string,
    content: object,
    as: Actor,
  ): Promise<string> {
    await this.enter({ method: "putState", roomId, type, stateKey, content, as });
    this.mustBeIn(roomId, as);
    const event = this.event(roomId, type, this.senderOf(as), { ...content }, stateKey);
    this.hold(event);
    this.outbox.push(event);
    return event.event_id;
  }

  async sendEvent(
    roomId: string,
    type: string,
    content: object,
    as: Actor,
    stickyDurationMs?: number,
  ): Promise<string> {
    await this.enter({
      method: "sendEvent",
      roomId,
      type,
      content,
      as,
      stickyDurationMs: stickyDurationMs ?? null,
    });
    this.mustBeIn(roomId, as);
    const base = this.event(roomId, type, this.senderOf(as), { ...content });
    const event: ClientEvent =
      stickyDurationMs === undefined ? base : { ...base, msc4354_sticky: { duration_ms: stickyDurationMs } };
    this.outbox.push(event);
    return event.event_id;
  }

  async delayedEvents(userId: string): Promise<readonly DelayedEvent[] | null> {
    await this.enter({ method: "delayedEvents", userId });
    return this.supportsDelayed ? this.pendingDelayed(userId) : null;
  }

  async delayedEventAction(delayId: string, action: "send" | "cancel", userId: string): Promise<void> {
    await this.enter({ method: "delayedEventAction", delayId, action, userId });
    const list = this.pendingDelayed(userId);
    const d = list.find((x) => x.delayId === delayId);
    if (!d) throw new MatrixRequestError("unknown delay id", 404, "M_NOT_FOUND");
    this.delayed.set(
      userId,
      list.filter((x) => x !== d),
    );
    if (action === "cancel") return;
    const event = this.event(d.roomId, d.type, userId, { ...d.content }, d.stateKey ?? undefined);
    this.hold(event);
    this.outbox.push(event);
  }

  async joinedRooms(): Promise<readonly string[]> {
    await this.enter({ method: "joinedRooms" });
    return [...this.rooms.keys()].filter((r) => this.isJoined(r, this.botUserId));
  }

  async resolveAlias(alias: string): Promise<string | null> {
    await this.enter({ method: "resolveAlias", alias });
    return this.aliases.get(alias) ?? null;
  }

  async join(roomId: string): Promise<void> {
    await this.enter({ method: "join", roomId });
    this.hold(this.event(roomId, "m.room.member", this.botUserId, { membership: "join" }, this.botUserId));
  }

  async leave(roomId: string): Promise<void> {
    await this.enter({ method: "leave", roomId });
    this.hold(this.event(roomId, "m.room.member", this.botUserId, { membership: "leave" }, this.botUserId));
  }

  async sendNotice(roomId: string, text: string, html: string): Promise<void> {
    await this.enter({ method: "sendNotice", roomId, text, html });
    this.notices.push({ roomId, text, html });
  }

  isJoined(roomId: string, userId: string): boolean {
    return this.current(roomId, "m.room.member", userId)?.content.membership === "join";
  }

  private async enter(call: MatrixCall): Promise<void> {
    this.calls.push(call);
    const pause = this.pauses.get(call.method);
    if (pause) await pause;
    const fault = this.faults.find((f) => f.method === call.method && f.remaining > 0 && f.when(call));
    if (fault) {
      fault.remaining--;
      throw fault.error;
    }
  }

  private mustBeIn(roomId: string, as: Actor): void {
    if (!this.isJoined(roomId, this.senderOf(as))) throw forbidden();
  }

  private senderOf(as: Actor): string {
    return as.kind === "bot" ? this.botUserId : as.userId;
  }

  private event(
    roomId: string,
    type: string,
    sender: string,
    content: Record<string, unknown>,
    stateKey?: string,
  ): ClientEvent {
    const base = {
      event_id: `$hs${++this.counter}:example.org`,
      type,
      room_id: roomId,
      sender,
      origin_server_ts: this.clock.now() + this.serverSkewMs,
      content,
    };
    return stateKey === undefined ? base : { ...base, state_key: stateKey };
  }
}
