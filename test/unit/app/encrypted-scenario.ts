// Scenario helpers for encrypted sticky memberships: envelopes the fake device decrypts, and Alice's oldest-membership call.
import { ALICE, type ClientEvent, nextEventId, ROOM } from "../domain/builders";
import type { FakeDevice } from "./fakes/device";
import { DEPLOYMENT, type Harness, identityOf, LK_ROOM } from "./harness";

/** What the homeserver delivers for a sticky event sent encrypted: the envelope, sticky fields and ciphertext. */
export function encryptedEnvelope(plain: ClientEvent, over: Partial<ClientEvent> = {}): ClientEvent {
  const { type: _type, content: _content, ...outer } = plain;
  return {
    ...outer,
    event_id: nextEventId(),
    type: "m.room.encrypted",
    content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA", session_id: "s1", device_id: "X" },
    ...over,
  };
}

/** Encrypts `plain` for the fake device: the device decrypts the envelope back to its type and content. */
export function encrypt(
  device: FakeDevice,
  plain: ClientEvent,
  plaintextRoom: string | null = ROOM,
): ClientEvent {
  const e = encryptedEnvelope(plain);
  device.decryptsTo(e, plain.type, plain.content, plaintextRoom);
  return e;
}

/** Keys reach the device only once the returned function is called. */
export function holdKeys(device: FakeDevice): () => void {
  let release = (): void => undefined;
  device.gate = new Promise((resolve) => (release = resolve));
  return release;
}

/** Delivers events and waits until every decryption they started has ended. */
export async function deliverDecrypted(h: Harness, ...events: ClientEvent[]): Promise<void> {
  await h.deliver(...events);
  await h.encryptedMemberships.settled();
  await h.settle();
}

/** The room's memberships as `user device slot`. */
export function tracked(h: Harness): string[] {
  return (
    h.state
      .room(ROOM)
      ?.allSlotMembers()
      .map((m) => `${m.userId} ${m.deviceId} ${m.slotId}`) ?? []
  );
}

/** Alice's device is connected to our SFU, past the connect grace. */
export async function aliceConnected(h: Harness): Promise<void> {
  await h.connect(ALICE, "DEVA", "PA_1");
  await h.advance(61_000);
  await h.poll();
}

/** Alice hangs up on our SFU (as a client following a new "oldest" member elsewhere would), past the leave grace. */
export async function aliceHangsUp(h: Harness): Promise<void> {
  h.livekit.disconnect(DEPLOYMENT, LK_ROOM, identityOf(ALICE, "DEVA"));
  await h.webhook("participant_left", ALICE, "DEVA", "PA_1", "CLIENT_INITIATED");
  await h.advance(6_000);
  h.reconciler.sweep();
  await h.settle();
}
