// Sticky call memberships in encrypted rooms: decrypted by the bot's device, tracked and cleared like plain ones,
// and never more than the sender's own plain event could be.
import { ALICE, BOB, livekitFocus, ROOM, RTC_MEMBER, sessionJoin, stickyJoin, T0 } from "../domain/builders";
import {
  aliceConnected,
  aliceHangsUp,
  deliverDecrypted,
  encrypt,
  encryptedEnvelope,
  holdKeys,
  tracked,
  bobJoins,
  withDevice,
} from "./encrypted-scenario";
import { FakeDevice } from "./fakes/device";
import { CAROL, Harness } from "./harness";

const MALLORY = "@mallory:example.org";

test("an encrypted sticky join the device decrypts is tracked; a timeout on the SFU ends it with the user's leave", async () => {
  const { device, h } = withDevice();
  await bobJoins(h, device);
  expect(tracked(h)).toEqual([`${BOB} DEVB m.call#ROOM`]);
  expect(device.waits).toEqual([15_000]);
  expect(h.logger.find("encrypted membership decrypted")[0]?.fields).toMatchObject({
    room: ROOM,
    sender: BOB,
  });

  await h.connect(BOB, "DEVB", "PB_1");
  await h.advance(61_000);
  await h.webhook("participant_left", BOB, "DEVB", "PB_1", "CONNECTION_TIMEOUT");
  await h.settle();
  expect(h.label(BOB, "DEVB")).toBe("ghost:left_sfu");
  const [write, ...more] = h.matrix.writes();
  expect(more).toEqual([]);
  // Written as the user, in the clear: the service holds no keys of the user's (docs/operations.md says why).
  expect(write).toMatchObject({
    method: "sendEvent",
    as: { kind: "user", userId: BOB },
    type: RTC_MEMBER,
    content: { msc4354_sticky_key: `${BOB}:DEVB`, slot_id: "m.call#ROOM" },
  });
  expect(h.audit("clear")).toHaveLength(1);
});

test("after a restart the decrypted membership is still there (the plaintext slot is stored)", async () => {
  const { device, h } = withDevice();
  await bobJoins(h, device);
  const again = new Harness({ store: h.store, crypto: { current: () => null } });
  again.state.restore();
  expect(tracked(again)).toEqual([`${BOB} DEVB m.call#ROOM`]);
});

test("without the key, or without a device, the membership stays unread: nothing tracked, a warning once per room", async () => {
  const device = new FakeDevice();
  const h = new Harness({ crypto: { current: () => device } });
  const noKey = () => encryptedEnvelope(stickyJoin({ user: BOB, device: "DEVB", durationMs: 3_600_000 }));
  await deliverDecrypted(h, ...h.room({ users: [BOB] }), noKey(), noKey());
  expect(tracked(h)).toEqual([]);
  const warned = h.logger.lines.filter((l) =>
    l.message.startsWith("encrypted membership could not be decrypted"),
  );
  expect(warned.map((l) => l.level)).toEqual(["warn", "debug"]);

  const off = new Harness({ crypto: { current: () => null } });
  await deliverDecrypted(off, ...off.room({ users: [BOB] }), noKey(), noKey());
  expect(tracked(off)).toEqual([]);
  expect(
    off.logger.lines.filter((l) => l.message.includes("cannot be read without the bot's device")),
  ).toHaveLength(1);
});

test("a key that arrives after the event: the membership is tracked once it decrypts, in the order of the events", async () => {
  const device = new FakeDevice();
  const release = holdKeys(device);
  const h = new Harness({ crypto: { current: () => device } });
  const join = encrypt(device, stickyJoin({ user: BOB, device: "DEVB", durationMs: 3_600_000, ts: T0 }));
  await h.deliver(...h.room({ users: [BOB] }), join);
  expect(tracked(h)).toEqual([]);
  // The plain leave (a delayed leave fires in the clear) lands first; the older join decrypted later must not win.
  await h.deliver({
    ...stickyJoin({ user: BOB, device: "DEVB", durationMs: 3_600_000, ts: T0 + 5_000 }),
    content: { slot_id: "m.call#ROOM", msc4354_sticky_key: `${BOB}:DEVB` },
  });
  release();
  await h.encryptedMemberships.settled();
  await h.settle();
  expect(tracked(h)).toEqual([]);
});

describe("ciphertext is the sender's to choose: it reaches no further than their plain event", () => {
  test("an encrypted *state* event whose plaintext is a call membership never becomes a membership", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    const plain = stickyJoin({ user: MALLORY, device: "DEVM", durationMs: 3_600_000 });
    const e = encryptedEnvelope(plain, { state_key: `_${BOB}_DEVB_m.call` });
    device.decryptsTo(e, RTC_MEMBER, plain.content);
    await deliverDecrypted(h, ...h.room({ users: [BOB, MALLORY] }), e);
    expect(tracked(h)).toEqual([]);
    expect(h.logger.find("decrypted sticky event refused as a call membership")[0]?.fields).toMatchObject({
      reason: "state_event",
    });
  });

  test("a ciphertext replayed from another room is refused", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    const e = encrypt(
      device,
      stickyJoin({ user: BOB, device: "DEVB", durationMs: 3_600_000 }),
      "!elsewhere:example.org",
    );
    await deliverDecrypted(h, ...h.room({ users: [BOB] }), e);
    expect(tracked(h)).toEqual([]);
    expect(h.logger.find("decrypted sticky event refused as a call membership")[0]?.fields).toMatchObject({
      reason: "other_room",
    });
  });

  test("Bob's ciphertext sent again by Mallory is Mallory's event: it claims Bob, so it is no membership at all", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    const bobs = stickyJoin({ user: BOB, device: "DEVB", durationMs: 3_600_000 });
    const replay = encryptedEnvelope({ ...bobs, sender: MALLORY });
    device.decryptsTo(replay, bobs.type, bobs.content);
    await deliverDecrypted(h, ...h.room({ users: [BOB, MALLORY] }), replay);
    expect(tracked(h)).toEqual([]);
  });

  test("a decrypted membership never settles an oldest-membership call's SFU: the bot may have been shown other content", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    await h.deliver(
      ...h.room({ users: [ALICE, CAROL] }),
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 }),
    );
    await aliceConnected(h);
    // Carol's encrypted membership reads, for the bot, as one more member on our SFU (clients may see another).
    await deliverDecrypted(
      h,
      encrypt(
        device,
        stickyJoin({ user: CAROL, device: "DEVC", durationMs: 3_600_000, published: [livekitFocus()] }),
      ),
    );
    expect(tracked(h)).toContain(`${CAROL} DEVC m.call#ROOM`);
    await aliceHangsUp(h);
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
    expect(h.matrix.writes()).toEqual([]);
  });
});

test("a sighting is kept in the database until its stickiness lapses, then removed; while unread it holds its sender's sticky members", async () => {
  const { device, h } = withDevice();
  await bobJoins(h, device);
  const unread = encryptedEnvelope(stickyJoin({ user: BOB, device: "DEVB", durationMs: 3_600_000 }));
  await deliverDecrypted(h, unread);
  const sightings = () => h.store.slots(ROOM).filter((s) => s.slotKey.startsWith("encrypted"));
  expect(
    sightings()
      .map((s) => (s.event as { read: boolean }).read)
      .sort(),
  ).toEqual([false, true]);
  await h.connect(BOB, "DEVB", "PB_1");
  await h.advance(61_000);
  await h.webhook("participant_left", BOB, "DEVB", "PB_1", "CONNECTION_TIMEOUT");
  expect(h.label(BOB, "DEVB")).toBe("unknown:update_unread");
  expect(h.matrix.writes()).toEqual([]);
  await h.advance(3_600_000);
  h.reconciler.sweep();
  await h.settle();
  expect(sightings()).toEqual([]);
});
