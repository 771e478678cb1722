// A typed fake of the bot's encrypted device: decrypts by a table of event id → result, records what it sends.
import type { CryptoPort, Decryption } from "../../../../src/app/ports/crypto";
import { type ClientEvent, ROOM } from "../../domain/builders";

export class FakeDevice implements CryptoPort {
  readonly deviceId = "BOTDEVICE";
  readonly results = new Map<string, Decryption>();
  readonly sent: { roomId: string; type: string; content: Record<string, unknown> }[] = [];
  readonly waits: number[] = [];
  /** The events it was asked to decrypt, as handed over. */
  readonly asked: Readonly<Record<string, unknown>>[] = [];
  failSends = false;
  /** While set, `decrypt` waits for it (a key on its way). */
  gate: Promise<void> | null = null;

  /** The event decrypts to this type and content, its plaintext naming `roomId`. */
  decryptsTo(
    e: ClientEvent,
    type: string,
    content: Record<string, unknown>,
    roomId: string | null = ROOM,
  ): void {
    this.results.set(e.event_id, { kind: "decrypted", type, content, roomId });
  }

  /** The event decrypts to a text message with this body. */
  decryptsAs(e: ClientEvent, body: string): void {
    this.decryptsTo(e, "m.room.message", { msgtype: "m.text", body });
  }

  async decrypt(event: Readonly<Record<string, unknown>>, waitMs: number): Promise<Decryption> {
    this.waits.push(waitMs);
    this.asked.push(event);
    if (this.gate !== null) await this.gate;
    const r = this.results.get(String(event.event_id));
    return r ?? { kind: "undecryptable", reason: "missing_key", detail: "no key" };
  }

  sendEncrypted(roomId: string, type: string, content: object): Promise<string> {
    if (this.failSends) return Promise.reject(new Error("no olm session"));
    this.sent.push({ roomId, type, content: content as Record<string, unknown> });
    return Promise.resolve(`$sent${this.sent.length}`);
  }
}
