// Scenario helpers for encrypted sticky memberships: envelopes the fake device decrypts, and Alice's oldest-membership call.
import { ALICE, BOB, type ClientEvent, nextEventId, ROOM, stickyJoin } from "../domain/builders";
import { FakeDevice } from "./fakes/device";
import { DEPLOYMENT, Harness, identityOf, LK_ROOM } from "./harness";

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

/** A harness whose bot has the fake device. */
export function withDevice(): { device: FakeDevice; h: Harness } {
  const device = new FakeDevice();
  return { device, h: new Harness({ crypto: { current: () => device } }) };
}

/** The room (with `users`) and Bob's encrypted sticky join, decrypted. */
export async function bobJoins(
  h: Harness,
  device: FakeDevice,
  users: readonly string[] = [BOB],
): Promise<void> {
  await deliverDecrypted(
    h,
    ...h.room({ users }),
    encrypt(device, stickyJoin({ user: BOB, device: "DEVB", durationMs: 3_600_000 })),
  );
}

/** Bob's decrypted join, connected to our SFU past the connect grace. */
export async function bobInCall(
  h: Harness,
  device: FakeDevice,
  users: readonly string[] = [BOB],
): Promise<void> {
  await bobJoins(h, device, users);
  await h.connect(BOB, "DEVB", "PB_1");
  await h.advance(61_000);
}

/** Bob's device joins another call of the room: same sticky key (js-sdk: its member id), a new slot id, encrypted. */
export function bobMoves(h: Harness, device: FakeDevice): ClientEvent {
  const plain = stickyJoin({
    user: BOB,
    device: "DEVB",
    durationMs: 3_600_000,
    slotId: "m.call#other",
    ts: h.clock.now(),
  });
  return encrypt(device, plain);
}

/** Bob's client hangs up the old call's LiveKit room (he is live in the other call's), past the leave grace. */
export async function bobHangsUpOldCall(h: Harness): Promise<void> {
  await h.webhook("participant_left", BOB, "DEVB", "PB_1", "CLIENT_INITIATED");
  await h.advance(8_000);
  h.reconciler.sweep();
  await h.settle();
}
