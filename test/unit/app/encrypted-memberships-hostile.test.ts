// Attacks on decrypted sticky memberships: an unread newer event, a flooded queue, restarts and evictions must not
// get a live member cleared (each of these failed before the guard it names).
import {
  ALICE,
  BOB,
  type ClientEvent,
  livekitFocus,
  ROOM,
  sessionJoin,
  stickyJoin,
  T0,
} from "../domain/builders";
import {
  aliceConnected,
  bobHangsUpOldCall,
  bobInCall,
  bobMoves,
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

describe("no decrypted join is cleared while its sender has a newer encrypted event the bot has not read", () => {
  test("key on its way (≤ key_wait): Bob moves his device to another call; the leave written for the old join ends the new one", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    await bobInCall(h, device, [BOB]);
    // Bob's device joins another call of the room: same sticky key (js-sdk: its member id), a new slot id.
    // The event is encrypted; its room key reaches the bot's device a few seconds later.
    const release = holdKeys(device);
    await h.deliver(bobMoves(h, device));
    // His client hangs up the old call's LiveKit room (he is live in the other call's room).
    await bobHangsUpOldCall(h);
    release();
    await h.encryptedMemberships.settled();
    await h.settle();
    // A sticky leave with Bob's sticky key replaces his newest event of that key (the live join) for every client.
    expect(h.matrix.writes()).toEqual([]);
  });

  test("queue flood: Mallory's keyless events cannot crowd Bob's new membership out of the queue", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    await bobInCall(h, device, [BOB, MALLORY]);
    // Mallory: 10 008 encrypted sticky events nobody has a key for (each holds a decryption up to key_wait).
    const release = holdKeys(device);
    const junk: ClientEvent[] = [];
    for (let i = 0; i < 10_008; i++)
      junk.push(encryptedEnvelope(stickyJoin({ user: MALLORY, device: `M${i}`, durationMs: 3_600_000 })));
    await h.deliver(...junk);
    await h.deliver(bobMoves(h, device));
    release();
    await h.encryptedMemberships.settled();
    await h.settle();
    const dropped = h.logger.find("encrypted membership left unread: too many waiting for their keys");
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((l) => l.fields.sender === MALLORY)).toBe(true);
    await bobHangsUpOldCall(h);
    expect(h.matrix.writes()).toEqual([]);
    expect(tracked(h)).toContain(`${BOB} DEVB m.call#other`);
  }, 120_000);
});

test("the same move sent in the clear is read at once and nothing is written", async () => {
  const { device, h } = withDevice();
  await bobJoins(h, device);
  await h.connect(BOB, "DEVB", "PB_1");
  await h.advance(61_000);
  await h.deliver(
    stickyJoin({
      user: BOB,
      device: "DEVB",
      durationMs: 3_600_000,
      slotId: "m.call#other",
      ts: h.clock.now(),
    }),
  );
  await h.webhook("participant_left", BOB, "DEVB", "PB_1", "CLIENT_INITIATED");
  await h.advance(8_000);
  h.reconciler.sweep();
  await h.settle();
  expect(h.matrix.writes()).toEqual([]);
});

describe("the decryption queue is bounded in bytes and per sender", () => {
  test("2 000 encrypted sticky events of ~60 KB from one sender hold little memory while they wait", async () => {
    const device = new FakeDevice();
    const release = holdKeys(device);
    const h = new Harness({ crypto: { current: () => device } });
    await h.deliver(...h.room({ users: [MALLORY] }));
    const big = "A".repeat(60_000);
    const junk: ClientEvent[] = [];
    for (let i = 0; i < 2_000; i++)
      junk.push(
        encryptedEnvelope(stickyJoin({ user: MALLORY, device: `M${i}`, durationMs: 3_600_000 }), {
          content: {
            algorithm: "m.megolm.v1.aes-sha2",
            ciphertext: big + String(i),
            session_id: `s${i}`,
            device_id: "X",
          },
        }),
      );
    await h.deliver(...junk);
    const waiting = h.encryptedMemberships.waiting;
    release();
    expect(waiting.events).toBeLessThanOrEqual(32);
    expect(waiting.bytes).toBeLessThanOrEqual(16 * 1024 * 1024);
  }, 120_000);
});

describe("a restart keeps the encrypted sightings", () => {
  test("Carol's decrypted claim (only the bot was shown it) still does not settle Alice's SFU after a restart", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    await h.deliver(
      ...h.room({ users: [ALICE, CAROL] }),
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 }),
    );
    await deliverDecrypted(
      h,
      encrypt(
        device,
        stickyJoin({ user: CAROL, device: "DEVC", durationMs: 3_600_000, published: [livekitFocus()] }),
      ),
    );
    expect(tracked(h)).toContain(`${CAROL} DEVC m.call#ROOM`);
    // The service restarts.
    const again = new Harness({ store: h.store, start: h.clock.now(), crypto: { current: () => device } });
    again.state.restore();
    again.sfu.restore();
    await aliceConnected(again);
    await aliceHangsUp(again);
    expect(again.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
    expect(again.matrix.writes()).toEqual([]);
  });
});

describe("eviction and a decryption in flight", () => {
  test("a room with an encrypted sighting is not evicted; Carol's claim never settles Alice's SFU there", async () => {
    const device = new FakeDevice();
    // An operator's short eviction, and a key that takes long to arrive.
    const h = new Harness({ crypto: { current: () => device }, evictAfterMs: 60_000 });
    const release = holdKeys(device);
    await h.deliver(...h.room({ users: [ALICE, CAROL], botLevel: null }));
    await h.deliver(
      encrypt(
        device,
        stickyJoin({ user: CAROL, device: "DEVC", durationMs: 3_600_000, published: [livekitFocus()] }),
      ),
    );
    await h.advance(60_000);
    h.app.evictIdle(h.clock.now());
    await h.advance(61_000);
    // The room has no slot yet, but Carol's encrypted event may be a membership: the room is kept.
    expect(h.app.evictIdle(h.clock.now())).toEqual([]);
    release();
    await h.encryptedMemberships.settled();
    await h.settle();
    expect(tracked(h)).toContain(`${CAROL} DEVC m.call#ROOM`);
    // Alice starts a call with oldest-membership selection on our SFU, and hangs up there.
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    await aliceConnected(h);
    await aliceHangsUp(h);
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
    expect(h.matrix.writes()).toEqual([]);
  });
});

describe("an encrypted sticky event marked with the stable `sticky` field only", () => {
  test("is neither decrypted nor counted as an unread membership: the oldest-membership guard misses it", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    await h.deliver(
      ...h.room({ users: [ALICE, CAROL] }),
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 }),
    );
    await aliceConnected(h);
    // Carol's client (stable MSC4354 field names) sends an encrypted sticky membership clients can read.
    const plain = stickyJoin({ user: CAROL, device: "DEVC", ttlMs: null, published: [livekitFocus()] });
    const e = encryptedEnvelope({ ...plain, sticky: { duration_ms: 3_600_000 } } as ClientEvent);
    device.decryptsTo(e, plain.type, plain.content, ROOM);
    await deliverDecrypted(h, e);
    await aliceHangsUp(h);
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
  });
});
