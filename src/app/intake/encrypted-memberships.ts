// Encrypted sticky call memberships: decrypted by the bot's device when a client shared the key, then tracked as plain.
import { ENVELOPE_FIELDS, stickyFromDecrypted } from "../../domain/membership/parse/decrypted";
import type { Clock } from "../ports/clock";
import type { CryptoSource, Undecryptable } from "../ports/crypto";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { Reconciler } from "../reconcile/reconciler";
import type { CallState } from "../state/call-state";
import { FairQueue } from "./fair-queue";

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
 * Bounds of what waits: in all, in bytes, and per sender across rooms (senders are served in turn, so one sender
 * cannot hold the queue for the others). An event past them stays unread: it keeps counting as a membership
 * nobody read, and keeps its sender's sticky memberships undecided until it lapses (`EncryptedSightings`), so
 * dropping it is safe, never a wrong clear.
 */
const LIMITS = { total: 10_000, bytes: 16 * 1024 * 1024, perKey: 32 };

/** The fields decryption and the plain event need: nothing else of a large event is held while it waits. */
const KEPT_FIELDS: readonly string[] = ["type", ...ENVELOPE_FIELDS, "state_key"];
const KEPT_CONTENT = ["algorithm", "ciphertext", "session_id", "sender_key", "device_id"];
const KEPT_UNSIGNED = ["msc4354_sticky_duration_ttl_ms", "sticky_duration_remaining_ms"];

interface Pending {
  readonly event: Readonly<Record<string, unknown>>;
  readonly roomId: string;
  readonly receivedAt: number;
}

function pick(from: unknown, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof from !== "object" || from === null) return out;
  const record = from as Record<string, unknown>;
  for (const field of fields) if (record[field] !== undefined) out[field] = record[field];
  return out;
}

/** The event as it waits: the fields above, with only the content and `unsigned` fields they need. */
function kept(event: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out = pick(event, KEPT_FIELDS);
  out.content = pick(event.content, KEPT_CONTENT);
  const unsigned = pick(event.unsigned, KEPT_UNSIGNED);
  if (Object.keys(unsigned).length > 0) out.unsigned = unsigned;
  return out;
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
 * Concurrency: `read` only queues; up to `CONCURRENCY` decryptions await the device at once, the rest wait, their
 * senders served in turn. Each apply is synchronous, so nothing sees a room half updated.
 */
export class EncryptedMemberships {
  private readonly queue = new FairQueue<Pending>(LIMITS);
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
    const waiting = kept(event);
    const bytes = JSON.stringify(waiting).length;
    if (!this.queue.push(String(event.sender), { event: waiting, roomId, receivedAt }, bytes)) {
      this.d.logger.warn("encrypted membership left unread: too many waiting for their keys", {
        room: roomId,
        event_id: event.event_id,
        sender: event.sender,
      });
      return;
    }
    this.pump();
  }

  /** What waits for a decryption now: events and their ciphertext bytes. */
  get waiting(): { readonly events: number; readonly bytes: number } {
    return { events: this.queue.length, bytes: this.queue.bytes };
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
      this.running++;
      void this.readOne(next)
        .catch((err: unknown) => {
          this.d.logger.error("reading an encrypted membership failed", { room: next.roomId, error: err });
        })
        .finally(() => {
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
      const read = this.d.state.encryptedRead(p.roomId, eventId, String(p.event.sender), this.d.clock.now());
      if (read !== null) this.d.reconciler.onApplied(read);
      // Not from the journal: what the event changed is written now, in this transaction.
      this.d.state.flush();
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
