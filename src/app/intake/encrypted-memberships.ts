// Encrypted sticky call memberships: decrypted by the bot's device when a client shared the key, then tracked as plain.
import { stickyFromDecrypted } from "../../domain/membership/parse/decrypted";
import type { Clock } from "../ports/clock";
import type { CryptoSource, Undecryptable } from "../ports/crypto";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { Reconciler } from "../reconcile/reconciler";
import type { CallState } from "../state/call-state";

export interface EncryptedMembershipsDeps {
  readonly crypto: CryptoSource;
  readonly state: CallState;
  readonly reconciler: Reconciler;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How long one event waits for its room key (it reaches the device separately, often a moment later). */
  readonly keyWaitMs: number;
  /** Keys reach the bot's device only in rooms it is in: elsewhere nothing is tried. */
  readonly botUserId: string;
}

/** Decryptions running at once: each may wait up to `keyWaitMs` for a key, polling the device. */
const CONCURRENCY = 8;
/**
 * Bounds of what waits: in all, and per sender in a room (one sender cannot hold the queue for the others). An
 * event past them stays unread: it keeps counting as a membership nobody read, and keeps its sender's sticky
 * memberships undecided until it lapses (`EncryptedSightings`), so dropping it is safe, never a wrong clear.
 */
const MAX_QUEUED = 10_000;
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const MAX_QUEUED_PER_SENDER = 32;

/** The fields decryption and the plain event need: nothing else of a large event is held while it waits. */
const KEPT_FIELDS = [
  "type",
  "event_id",
  "room_id",
  "sender",
  "origin_server_ts",
  "content",
  "msc4354_sticky",
  "sticky",
  "unsigned",
  "state_key",
] as const;

interface Pending {
  readonly event: Readonly<Record<string, unknown>>;
  readonly roomId: string;
  readonly receivedAt: number;
  /** Who waits: room and sender, for the per-sender bound. */
  readonly who: string;
  readonly bytes: number;
}

function kept(event: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of KEPT_FIELDS) if (event[field] !== undefined) out[field] = event[field];
  return out;
}

/** The size that matters of an encrypted event: its ciphertext (the rest is bounded by the homeserver's checks). */
function ciphertextBytes(event: Readonly<Record<string, unknown>>): number {
  const content = event.content;
  if (typeof content !== "object" || content === null) return 0;
  const ciphertext = (content as Record<string, unknown>).ciphertext;
  return typeof ciphertext === "string" ? ciphertext.length : 0;
}

/**
 * The router hands over each encrypted sticky event after its batch committed; the event already counts as an
 * unread membership of its room (see `UnreadMemberships`). When the device decrypts it into a sticky call
 * membership, that plain event is applied like any other, in its own store transaction, and its room is judged.
 * Out of order is fine: sticky events of one key are ordered by their own timestamps, not by arrival.
 *
 * A decrypted membership still leaves its encrypted sighting counting for the room's oldest-membership calls:
 * the sender shares its Megolm key with each device separately, so a hostile sender can show the bot's device
 * other content than the clients see, and its claims must not settle which SFU the oldest member chose.
 *
 * Concurrency: `read` only queues; up to `CONCURRENCY` decryptions await the device at once, the rest wait in
 * order. Each apply is synchronous, so nothing sees a room half updated.
 */
export class EncryptedMemberships {
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private readonly perSender = new Map<string, number>();
  private running = 0;
  private readonly loggedRooms = new Set<string>();
  private idle: (() => void)[] = [];

  constructor(private readonly d: EncryptedMembershipsDeps) {}

  /** An encrypted sticky event was journaled and applied as unreadable; decrypt it if the device runs. */
  read(event: Readonly<Record<string, unknown>>, roomId: string, receivedAt: number): void {
    if (this.d.crypto.current() === null) {
      if (this.firstInRoom(roomId))
        this.d.logger.warn(
          "encrypted room: sticky call memberships cannot be read without the bot's device",
          {
            room: roomId,
            hint: "turn encryption.enabled on (see docs/deployment.md, Encrypted rooms)",
          },
        );
      return;
    }
    if (this.d.state.room(roomId)?.isJoined(this.d.botUserId) === false) return;
    const who = `${roomId}\u0000${String(event.sender)}`;
    const bytes = ciphertextBytes(event);
    const waiting = this.perSender.get(who) ?? 0;
    if (
      this.queue.length >= MAX_QUEUED ||
      this.queuedBytes + bytes > MAX_QUEUED_BYTES ||
      waiting >= MAX_QUEUED_PER_SENDER
    ) {
      this.d.logger.warn("encrypted membership left unread: too many waiting for their keys", {
        room: roomId,
        event_id: event.event_id,
        sender: event.sender,
      });
      return;
    }
    this.perSender.set(who, waiting + 1);
    this.queuedBytes += bytes;
    this.queue.push({ event: kept(event), roomId, receivedAt, who, bytes });
    this.pump();
  }

  /** What waits for a decryption now: events and their ciphertext bytes. */
  get waiting(): { readonly events: number; readonly bytes: number } {
    return { events: this.queue.length, bytes: this.queuedBytes };
  }

  /** Resolves when nothing is queued or being decrypted (tests, shutdown). */
  settled(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.running < CONCURRENCY) {
      const next = this.queue.shift();
      if (next === undefined) break;
      this.queuedBytes -= next.bytes;
      this.running++;
      void this.readOne(next)
        .catch((err: unknown) => {
          this.d.logger.error("reading an encrypted membership failed", { room: next.roomId, error: err });
        })
        .finally(() => {
          const left = (this.perSender.get(next.who) ?? 1) - 1;
          if (left > 0) this.perSender.set(next.who, left);
          else this.perSender.delete(next.who);
          this.running--;
          this.pump();
          if (this.running === 0 && this.queue.length === 0)
            for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }

  private async readOne(p: Pending): Promise<void> {
    const device = this.d.crypto.current();
    if (device === null) return;
    const result = await device.decrypt(p.event, this.d.keyWaitMs);
    if (result.kind === "undecryptable") {
      this.unreadable(p, result.reason, result.detail);
      return;
    }
    const plain = stickyFromDecrypted(p.event, result);
    if (plain.kind === "skip") {
      const fields = {
        room: p.roomId,
        event_id: p.event.event_id,
        sender: p.event.sender,
        reason: plain.reason,
      };
      // `not_membership` is common (a call's ring is an encrypted sticky event too); the others are hostile, and
      // stay unread: they keep their sender's own sticky memberships undecided until they lapse.
      if (plain.reason !== "not_membership") {
        this.d.logger.warn("decrypted sticky event refused as a call membership", fields);
        return;
      }
      this.d.logger.debug("decrypted sticky event is no call membership", fields);
    }
    const eventId = String(p.event.event_id);
    const outcome = this.d.store.transaction(() => {
      // A room forgotten while the key was awaited (evicted) is not brought back by this: its next call event does.
      if (this.d.state.room(p.roomId) === undefined) return "room_gone";
      if (plain.kind === "membership")
        this.d.reconciler.onApplied(this.d.state.apply(plain.event, p.roomId, p.receivedAt));
      const read = this.d.state.encryptedRead(p.roomId, eventId, this.d.clock.now());
      if (read !== null) this.d.reconciler.onApplied(read);
      return plain.kind;
    });
    if (outcome === "membership") {
      this.d.metrics.matrixEvent(String(p.event.type), "decrypted");
      this.d.logger.info("encrypted membership decrypted", {
        room: p.roomId,
        event_id: eventId,
        sender: p.event.sender,
      });
    }
    this.d.reconciler.flush();
  }

  /** True the first time a room is logged about (remembered up to 10k rooms, then every room counts as seen). */
  private firstInRoom(roomId: string): boolean {
    if (this.loggedRooms.has(roomId) || this.loggedRooms.size >= 10_000) return false;
    this.loggedRooms.add(roomId);
    return true;
  }

  private unreadable(p: Pending, reason: Undecryptable, detail: string): void {
    const first = this.firstInRoom(p.roomId);
    const fields = { room: p.roomId, event_id: p.event.event_id, sender: p.event.sender, reason, detail };
    // Once per room at warn (what the operator can act on), then quietly.
    if (first)
      this.d.logger.warn("encrypted membership could not be decrypted (logged once per room)", {
        ...fields,
        hint: "the sender's client shares room keys only with devices of joined members it does not block: invite the bot to the room, and allow sharing keys with unverified devices",
      });
    else this.d.logger.debug("encrypted membership could not be decrypted", fields);
  }
}
