// The bot's end-to-end encrypted device: logs in as the bot, keeps its keys in memory, decrypts and encrypts room events.
import {
  DecryptionErrorCode,
  DecryptionSettings,
  DeviceId,
  EncryptionSettings,
  MegolmDecryptionError,
  OlmMachine,
  RoomId,
  TrustRequirement,
  UserId,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import { randomBytes } from "node:crypto";
import { encryptionGaps } from "../matrix/registration";
import type { Decryption, CryptoPort, Undecryptable } from "../../app/ports/crypto";
import type { Logger } from "../../app/ports/logger";
import { type MatrixHttp, MatrixHttpError, seg } from "../matrix/http";
import { crossSign } from "./cross-signing";
import { OutgoingQueue } from "./outgoing";
import type { StateFiles } from "./state-files";
import { DeviceFeed, PROBE_TYPE } from "./device-feed";

export interface BotDeviceOptions {
  readonly baseUrl: string;
  readonly botUserId: string;
  /** Requests as the appservice (its as_token): the login that creates the device. */
  readonly appservice: MatrixHttp;
  /** Builds a client for the device's own access token. */
  readonly httpFor: (accessToken: string) => MatrixHttp;
  readonly files: StateFiles;
  readonly logger: Logger;
  readonly sleep: (ms: number) => Promise<void>;
  /** What the registration asks of the homeserver: to-device (with ephemeral events) and MSC3202 extensions. */
  readonly registration: Parameters<typeof encryptionGaps>[0];
}

/** A start-up problem with the bot's device, in words that say what the homeserver or the store lacks. */
export class EncryptionStartError extends Error {
  override name = "EncryptionStartError";
}

const APPSERVICE_LOGIN = "m.login.application_service";
/** How long the start-up probe waits for its to-device message to come back in a transaction. */
const PROBE_WAIT_MS = 15_000;
const DISPLAY_NAME = "matrix-rtc-reconciler";

function reasonOf(err: unknown): { reason: Undecryptable; detail: string } {
  if (!(err instanceof MegolmDecryptionError)) return { reason: "other", detail: String(err) };
  if (err.maybe_withheld !== undefined) return { reason: "withheld", detail: err.maybe_withheld };
  if (err.code === DecryptionErrorCode.MissingRoomKey)
    return { reason: "missing_key", detail: err.description };
  if (err.code === DecryptionErrorCode.UnknownMessageIndex)
    return { reason: "unknown_index", detail: err.description };
  return { reason: "other", detail: err.description };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The device is logged in with the appservice login; what a client would get from /sync (to-device messages,
 * device list changes, key counts) comes in the appservice's transactions instead (Synapse refuses /sync to an
 * appservice's own user), handed to `accept`. Requests go out with the device's own access token.
 *
 * The crypto state (Olm and Megolm sessions) lives in memory: the wasm crypto stores only in IndexedDB, which
 * Node lacks, and the native store downloads its binary at install. So each start logs out the previous device
 * and logs in a new one; clients share their room keys with it from their next message on. The cross-signing
 * keys, kept in the state files, are the lasting identity that signs each new device.
 *
 * Concurrency: transactions feed the machine in order in the background; `sendEncrypted` calls are serialised
 * (one room key share at a time); `decrypt` may run at any time (the machine locks internally).
 */
export class BotDevice implements CryptoPort {
  private sending: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly deviceId: string,
    private readonly machine: OlmMachine,
    private readonly http: MatrixHttp,
    private readonly queue: OutgoingQueue,
    private readonly feed: DeviceFeed,
    private readonly o: BotDeviceOptions,
  ) {}

  static async start(o: BotDeviceOptions): Promise<BotDevice> {
    requireRegistration(o);
    await requireAppserviceLogin(o);
    try {
      o.files.prepare();
    } catch (err) {
      throw new EncryptionStartError(`encryption.store_path cannot be used: ${String(err)}`);
    }
    await logOutPrevious(o);
    await ensureRegistered(o);
    const login = await o.appservice.request<{ access_token?: unknown; device_id?: unknown }>(
      "POST",
      "/_matrix/client/v3/login",
      {
        body: {
          type: APPSERVICE_LOGIN,
          identifier: { type: "m.id.user", user: o.botUserId },
          initial_device_display_name: DISPLAY_NAME,
        },
      },
    );
    if (typeof login.access_token !== "string" || typeof login.device_id !== "string")
      throw new EncryptionStartError("the homeserver's login answer has no access token or device id");
    o.files.saveDevice({ userId: o.botUserId, deviceId: login.device_id, accessToken: login.access_token });
    const machine = await OlmMachine.initialize(new UserId(o.botUserId), new DeviceId(login.device_id));
    const http = o.httpFor(login.access_token);
    const queue = new OutgoingQueue(machine, http);
    await queue.flush();
    await crossSign({
      machine,
      queue,
      files: o.files,
      logger: o.logger,
      userId: o.botUserId,
      deviceId: login.device_id,
    });
    const feed = new DeviceFeed(machine, o.botUserId, login.device_id, o.logger, () => queue.flush());
    o.logger.info("encryption: the bot's device is ready", { device_id: login.device_id });
    return new BotDevice(login.device_id, machine, http, queue, feed, o);
  }

  /** A transaction body: what it carries for this device (to-device, device lists, key counts) is fed to it. */
  accept(body: Record<string, unknown>): void {
    this.feed.accept(body);
  }

  /**
   * Sends the device a to-device message of its own and waits for it to come back in a transaction; logs what
   * the homeserver must enable when it does not (room keys would never arrive). Call once `accept` is wired.
   */
  async probe(): Promise<boolean> {
    const seen = this.feed.awaitProbe(PROBE_WAIT_MS);
    const txn = `rtcrec.probe.${randomBytes(8).toString("hex")}`;
    await this.http.request("PUT", `/_matrix/client/v3/sendToDevice/${seg(PROBE_TYPE)}/${seg(txn)}`, {
      body: { messages: { [this.o.botUserId]: { [this.deviceId]: {} } } },
    });
    const ok = await seen;
    if (ok) this.o.logger.info("encryption: the homeserver forwards to-device messages to the service", {});
    else
      this.o.logger.error("encryption: no to-device message reached the service", {
        hint: "room keys cannot arrive: on Synapse set experimental_features msc2409_to_device_messages_enabled and msc3202_transaction_extensions to true, then restart it",
      });
    return ok;
  }

  async decrypt(event: Readonly<Record<string, unknown>>, waitMs: number): Promise<Decryption> {
    if (typeof event.room_id !== "string")
      return { kind: "undecryptable", reason: "other", detail: "no room id" };
    const deadline = performance.now() + waitMs;
    for (;;) {
      try {
        const out = await this.machine.decryptRoomEvent(
          JSON.stringify(event),
          new RoomId(event.room_id),
          new DecryptionSettings(TrustRequirement.Untrusted),
        );
        const plain: unknown = JSON.parse(out.event);
        if (!isRecord(plain) || typeof plain.type !== "string" || !isRecord(plain.content))
          return { kind: "undecryptable", reason: "other", detail: "the plaintext is no event" };
        const roomId = typeof plain.room_id === "string" ? plain.room_id : null;
        return { kind: "decrypted", type: plain.type, content: plain.content, roomId };
      } catch (err) {
        const { reason, detail } = reasonOf(err);
        // The room key travels to the device on its own (to-device, through the sync loop): give it time.
        if (reason === "missing_key" && performance.now() < deadline) {
          await this.o.sleep(250);
          continue;
        }
        return { kind: "undecryptable", reason, detail };
      }
    }
  }

  sendEncrypted(roomId: string, type: string, content: object): Promise<string> {
    const next = this.sending.then(() => this.encryptAndSend(roomId, type, content));
    this.sending = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    await this.feed.settled();
    await this.sending.catch(() => undefined);
    this.machine.close();
  }

  private async encryptAndSend(roomId: string, type: string, content: object): Promise<string> {
    const res = await this.http.request<{ joined?: unknown }>(
      "GET",
      `/_matrix/client/v3/rooms/${seg(roomId)}/joined_members`,
    );
    const members = isRecord(res.joined) ? Object.keys(res.joined) : [];
    // The wasm calls consume the ids they are given: each call gets fresh ones.
    const users = (): UserId[] => members.map((m) => new UserId(m));
    await this.machine.updateTrackedUsers(users());
    await this.queue.flush();
    const claim = await this.machine.getMissingSessions(users());
    if (claim) await this.queue.sendNow(claim);
    const room = new RoomId(roomId);
    for (const share of await this.machine.shareRoomKey(room, users(), new EncryptionSettings()))
      await this.queue.sendNow(share);
    const encrypted = await this.machine.encryptRoomEvent(new RoomId(roomId), type, JSON.stringify(content));
    const txn = `rtcrec.e2ee.${randomBytes(8).toString("hex")}`;
    const sent = await this.http.request<{ event_id?: unknown }>(
      "PUT",
      `/_matrix/client/v3/rooms/${seg(roomId)}/send/m.room.encrypted/${seg(txn)}`,
      { body: JSON.parse(encrypted) as unknown },
    );
    return typeof sent.event_id === "string" ? sent.event_id : "";
  }
}

/** To-device messages come only with ephemeral events; device lists and key counts only with MSC3202. */
function requireRegistration(o: BotDeviceOptions): void {
  const missing = encryptionGaps(o.registration);
  if (missing.length > 0)
    throw new EncryptionStartError(
      `the registration lacks ${missing.join(" and ")}: without them the homeserver sends the bot's device no room keys (add them, restart the homeserver)`,
    );
}

/** The device is created by the appservice login; without it the bot cannot have one. */
async function requireAppserviceLogin(o: BotDeviceOptions): Promise<void> {
  const res = await o.appservice.request<{ flows?: unknown }>("GET", "/_matrix/client/v3/login", {
    anonymous: true,
  });
  const flows = Array.isArray(res.flows) ? res.flows : [];
  if (!flows.some((f) => isRecord(f) && f.type === APPSERVICE_LOGIN))
    throw new EncryptionStartError(
      `the homeserver does not offer the ${APPSERVICE_LOGIN} login, so the bot cannot log in a device of its own (Synapse offers it to every registered appservice)`,
    );
}

/**
 * Synapse keeps no account row for an appservice's own sender until it is registered, and a device token of an
 * account without a row is refused ("Invalid access token"). Registering it once makes the row; afterwards the
 * homeserver answers M_USER_IN_USE, which is the expected answer on every later start.
 */
async function ensureRegistered(o: BotDeviceOptions): Promise<void> {
  const localpart = o.botUserId.slice(1, o.botUserId.indexOf(":"));
  try {
    await o.appservice.request("POST", "/_matrix/client/v3/register", {
      body: { type: APPSERVICE_LOGIN, username: localpart, inhibit_login: true },
    });
  } catch (err) {
    if (err instanceof MatrixHttpError && err.errcode === "M_USER_IN_USE") return;
    throw err;
  }
}

/** Logs out the device of the previous start: its keys died with that process, and clients would keep encrypting to it. */
async function logOutPrevious(o: BotDeviceOptions): Promise<void> {
  const old = o.files.device();
  if (old === null || old.userId !== o.botUserId) return;
  try {
    await o.httpFor(old.accessToken).request("POST", "/_matrix/client/v3/logout", { body: {} });
    o.logger.info("encryption: logged out the bot's previous device (its keys lived in memory)", {
      device_id: old.deviceId,
    });
  } catch (err) {
    if (err instanceof MatrixHttpError && err.status === 401) return; // already gone
    o.logger.warn("encryption: could not log out the bot's previous device", {
      device_id: old.deviceId,
      error: String(err),
    });
  }
}
