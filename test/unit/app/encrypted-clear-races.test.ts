// A clear in flight meets a newer encrypted event; the decryption queue meets large events and many rooms (each
// of these failed before its guard).
import { BOB, type ClientEvent, ROOM, stickyJoin } from "../domain/builders";
import {
  bobInCall,
  bobMoves,
  encryptedEnvelope,
  holdKeys,
  tracked,
  bobJoins,
  withDevice,
} from "./encrypted-scenario";
import { FakeDevice } from "./fakes/device";
import { BOT, flush, Harness, powerLevels } from "./harness";

describe("a clear in flight asks again, right before it writes", () => {
  test("Bob's encrypted move arrives while the clear of his old join awaits the room's access: nothing is written", async () => {
    const device = new FakeDevice();
    const h = new Harness({ crypto: { current: () => device } });
    await bobInCall(h, device, [BOB]);
    // The room's access is read afresh (power levels changed, cache expired, ...): the homeserver is slow.
    await h.deliver(powerLevels({ [BOT]: 50 }));
    const releaseState = h.matrix.pause("stateEvent");
    // Bob hangs up the old call's LiveKit room; past the leave grace his old join is a left_sfu ghost.
    await h.webhook("participant_left", BOB, "DEVB", "PB_1", "CLIENT_INITIATED");
    h.clock.advance(8_000);
    h.reconciler.sweep();
    await flush();
    expect(h.label(BOB, "DEVB")).toBe("ghost:left_sfu");
    // Meanwhile Bob's device joins another call with the same sticky key, encrypted; its key is on its way.
    const releaseKeys = holdKeys(device);
    h.intake.accept(bobMoves(h, device));
    h.intake.drain();
    await flush();
    const bob = h.member(BOB, "DEVB");
    expect(h.state.room(ROOM)?.encryptedSightings.unreadUntil(BOB, h.clock.now())).not.toBeNull();
    expect(bob.slotId).toBe("m.call#ROOM");
    // The clear is under way (waiting on the access read), nothing written yet.
    expect(h.matrix.writes()).toEqual([]);
    releaseState();
    await h.settle();
    releaseKeys();
    await h.encryptedMemberships.settled();
    await h.settle();
    // A sticky leave under Bob's sticky key ends his newest event of that key: the live join of the other call.
    expect(h.matrix.writes()).toEqual([]);
    expect(tracked(h)).toContain(`${BOB} DEVB m.call#other`);
  });
});

describe("what waits for a decryption is bounded", () => {
  test("an event waits with only the fields decryption needs: 60 KB of other content is not held", async () => {
    const device = new FakeDevice();
    const release = holdKeys(device);
    const h = new Harness({ crypto: { current: () => device } });
    const senders = Array.from({ length: 20 }, (_, i) => `@m${i}:evil.example`);
    await h.deliver(...h.room({ users: senders }));
    const padding = "A".repeat(60_000);
    const junk: ClientEvent[] = [];
    for (let i = 0; i < 400; i++)
      junk.push(
        encryptedEnvelope(stickyJoin({ user: senders[i % 20]!, device: `M${i}`, durationMs: 3_600_000 }), {
          // Within the homeserver's 64 KiB: the content is the sender's.
          content: {
            algorithm: "m.megolm.v1.aes-sha2",
            ciphertext: "AwgA",
            session_id: "s",
            device_id: "X",
            padding,
          },
          unsigned: { msc4354_sticky_duration_ttl_ms: 3_600_000, prev_content: { padding } },
        }),
      );
    await h.deliver(...junk);
    expect(h.encryptedMemberships.waiting.bytes).toBeLessThan(400 * 1_000);
    release();
    await h.encryptedMemberships.settled();
    expect(device.asked.length).toBeGreaterThan(0);
    expect(device.asked.reduce((sum, e) => sum + stringBytes(e), 0)).toBeLessThan(
      device.asked.length * 1_000,
    );
  }, 120_000);
});

/** The characters of every string in a JSON value (what holding it costs, roughly). */
function stringBytes(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (Array.isArray(v)) return v.reduce((s: number, x) => s + stringBytes(x), 0);
  if (typeof v === "object" && v !== null)
    return Object.entries(v).reduce((s, [k, x]) => s + k.length + stringBytes(x), 0);
  return 0;
}

describe("one sender cannot crowd the others out of the decryption queue", () => {
  test("one account's keyless events in 313 rooms of her own: Bob's move in his room is still read", async () => {
    const { device, h } = withDevice();
    await bobJoins(h, device);
    const MALLORY = "@mallory:example.org";
    // Mallory creates rooms (the bot is in none; its membership there is not known yet) and sends 32 encrypted
    // sticky events in each, keys for none: each holds a decryption for key_wait (15 s, 8 at once: hours in all).
    const release = holdKeys(device);
    const junk: ClientEvent[] = [];
    for (let r = 0; r < 313; r++)
      for (let i = 0; i < 32; i++)
        junk.push(
          encryptedEnvelope(stickyJoin({ user: MALLORY, device: `M${i}`, durationMs: 3_600_000 }), {
            room_id: `!mallory${r}:example.org`,
          }),
        );
    await h.deliver(...junk);
    await h.advance(1_000);
    await h.deliver(bobMoves(h, device));
    const dropped = h.logger.find("encrypted membership left unread: too many waiting for their keys");
    release();
    await h.encryptedMemberships.settled();
    await h.settle();
    expect(dropped.filter((l) => l.fields.sender === BOB)).toEqual([]);
    expect(tracked(h)).toContain(`${BOB} DEVB m.call#other`);
  }, 300_000);
});
