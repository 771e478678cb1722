// Cross-signs each new device of the bot with its lasting identity, so clients do not show it as an unknown device.
import { DeviceId, KeysUploadRequest, type OlmMachine, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import type { Logger } from "../../app/ports/logger";
import { MatrixHttpError } from "../matrix/http";
import type { OutgoingQueue } from "./outgoing";
import type { StateFiles } from "./state-files";

export interface CrossSignDeps {
  readonly machine: OlmMachine;
  readonly queue: OutgoingQueue;
  readonly files: StateFiles;
  readonly logger: Logger;
  readonly userId: string;
  readonly deviceId: string;
}

/**
 * The first start creates the bot's cross-signing keys (a first upload needs no interactive auth, MSC3967) and
 * keeps the private keys in the state files; later starts import them and sign the new device. A failure leaves
 * the device working but unsigned, and says why.
 */
export async function crossSign(d: CrossSignDeps): Promise<void> {
  try {
    const saved = d.files.crossSigning();
    if (saved === null) await create(d);
    else await signWithSaved(d, saved);
  } catch (err) {
    const hint =
      err instanceof MatrixHttpError && err.status === 401
        ? "the homeserver already holds cross-signing keys for the bot that this store lacks; replacing them needs interactive auth: restore encryption.store_path, or reset the bot's keys with the homeserver's admin API"
        : null;
    d.logger.warn("encryption: the bot's device is not cross-signed", { error: String(err), hint });
  }
}

async function create(d: CrossSignDeps): Promise<void> {
  const requests = await d.machine.bootstrapCrossSigning(true);
  if (requests.uploadKeysRequest instanceof KeysUploadRequest)
    await d.queue.sendNow(requests.uploadKeysRequest);
  await d.queue.sendNow(requests.uploadSigningKeysRequest);
  await d.queue.sendNow(requests.uploadSignaturesRequest);
  const keys = await d.machine.exportCrossSigningKeys();
  if (!keys?.masterKey || !keys.self_signing_key || !keys.userSigningKey)
    throw new Error("the new cross-signing keys could not be exported");
  d.files.saveCrossSigning({
    masterKey: keys.masterKey,
    selfSigningKey: keys.self_signing_key,
    userSigningKey: keys.userSigningKey,
  });
  d.logger.info("encryption: created the bot's cross-signing identity", { device_id: d.deviceId });
}

async function signWithSaved(
  d: CrossSignDeps,
  saved: { masterKey: string; selfSigningKey: string; userSigningKey: string },
): Promise<void> {
  // The public identity must be known first: the import checks the private keys against it.
  await d.machine.updateTrackedUsers([new UserId(d.userId)]);
  await d.queue.flush();
  const status = await d.machine.importCrossSigningKeys(
    saved.masterKey,
    saved.selfSigningKey,
    saved.userSigningKey,
  );
  if (!status.hasSelfSigning) throw new Error("the saved self-signing key does not match the bot's identity");
  const device = await d.machine.getDevice(new UserId(d.userId), new DeviceId(d.deviceId));
  if (device === undefined) throw new Error("the new device is not known to its own machine");
  await d.queue.sendNow(await device.verify());
  d.logger.info("encryption: signed the bot's new device with its cross-signing identity", {
    device_id: d.deviceId,
  });
}
