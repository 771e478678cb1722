// The bot's encrypted side: which encrypted messages it reads, decrypting them, and answering encrypted where asked so.
import type { Reply } from "../../domain/commands/html";
import type { Clock } from "../ports/clock";
import type { CryptoPort, CryptoSource } from "../ports/crypto";
import type { Logger } from "../ports/logger";
import type { MatrixPort } from "../ports/matrix";
import { EncryptedNotices } from "./encrypted-notices";

export interface EncryptedChannelDeps {
  readonly matrix: MatrixPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly prefix: string;
  /** How long an encrypted command waits for its room key. */
  readonly keyWaitMs: number;
  /** The bot's encrypted device, once it runs (absent: encrypted rooms get a notice only). */
  readonly crypto?: CryptoSource;
}

/**
 * Rooms whose commands came encrypted get their answers encrypted (never in the clear: a failure to encrypt says
 * only that). A message the device cannot read, or any encrypted message when there is no device, gets the
 * room's notice (`EncryptedNotices`) instead of silence.
 */
export class EncryptedChannel {
  private readonly notices: EncryptedNotices;
  /** Rooms a command came from encrypted: answers there are encrypted too. */
  private readonly encryptedRooms = new Set<string>();

  constructor(private readonly d: EncryptedChannelDeps) {
    this.notices = new EncryptedNotices({
      matrix: d.matrix,
      clock: d.clock,
      logger: d.logger,
      prefix: d.prefix,
    });
  }

  private device(): CryptoPort | null {
    return this.d.crypto?.current() ?? null;
  }

  /** Whether an encrypted message should be read (lets the intake skip the others). */
  wants(event: Record<string, unknown>): boolean {
    return this.device() === null ? this.notices.wants(event) : this.notices.forBot(event);
  }

  /** The bot's own membership changed in a room (what it may read follows it). */
  onOwnMembership(roomId: string, membership: unknown): void {
    this.notices.onOwnMembership(roomId, membership);
  }

  /**
   * Decrypts an encrypted message for the bot: the plain message when it is one (its room then gets encrypted
   * answers), null when there is nothing to answer (the room was told why, where it could not be read).
   */
  async read(event: Record<string, unknown>): Promise<Record<string, unknown> | null> {
    const device = this.device();
    if (device === null || !this.notices.forBot(event)) {
      await this.notices.notify(event);
      return null;
    }
    const plain = await device.decrypt(event, this.d.keyWaitMs);
    if (plain.kind === "undecryptable") {
      this.d.logger.info("encrypted message not decrypted", {
        room: event.room_id,
        sender: event.sender,
        reason: plain.reason,
        detail: plain.detail,
      });
      await this.notices.notify(event, plain.reason);
      return null;
    }
    // Only messages can be commands; other encrypted events (reactions, call keys) are not the bot's.
    if (plain.type !== "m.room.message" || typeof event.room_id !== "string") return null;
    this.encryptedRooms.add(event.room_id);
    return { ...event, type: plain.type, content: plain.content };
  }

  /** Sends a notice; encrypted in rooms whose commands came encrypted. */
  async send(roomId: string, reply: Reply): Promise<void> {
    const device = this.device();
    if (device === null || !this.encryptedRooms.has(roomId)) {
      await this.d.matrix.sendNotice(roomId, reply.text, reply.html);
      return;
    }
    try {
      await device.sendEncrypted(roomId, "m.room.message", {
        msgtype: "m.notice",
        body: reply.text,
        format: "org.matrix.custom.html",
        formatted_body: reply.html,
      });
    } catch (err) {
      this.d.logger.warn("could not send an encrypted answer", { room: roomId, error: String(err) });
      const note = "The answer to this command could not be encrypted, so it is not posted here.";
      await this.d.matrix.sendNotice(roomId, note, note);
    }
  }
}
