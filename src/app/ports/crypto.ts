// The crypto port: the bot's end-to-end encrypted device as the app sees it (decrypt a room event, send one encrypted).

/** Why an encrypted event could not be read, in words an operator and the room can act on. */
export type Undecryptable =
  /** The sender's device refused to share the key with the bot (its settings, or it does not trust the bot). */
  | "withheld"
  /** No key arrived in time: the sender's client did not share it with the bot's device (yet). */
  | "missing_key"
  /** The key is known but not from that point on (the bot's device joined the session later). */
  | "unknown_index"
  /** Anything else: a broken or forged event, or the device is gone. */
  | "other";

/**
 * A decrypted room event (`type` and `content` are the sender's; the outer `sender` stays the homeserver's), and
 * the room its plaintext names (null when it names none).
 */
export type Decryption =
  | {
      readonly kind: "decrypted";
      readonly type: string;
      readonly content: Readonly<Record<string, unknown>>;
      readonly roomId: string | null;
    }
  | { readonly kind: "undecryptable"; readonly reason: Undecryptable; readonly detail: string };

export interface CryptoPort {
  /** The bot's device id, for logs and notices. */
  readonly deviceId: string;
  /** Decrypts an `m.room.encrypted` event, waiting up to `waitMs` for its room key to arrive. */
  decrypt(event: Readonly<Record<string, unknown>>, waitMs: number): Promise<Decryption>;
  /** Sends a room event encrypted for the room's joined members' devices; returns its event id. */
  sendEncrypted(roomId: string, type: string, content: object): Promise<string>;
}

/** The device once it runs: null before it started, when encryption is off, or when it could not start. */
export interface CryptoSource {
  current(): CryptoPort | null;
}
