// The harness runs the app as the service builds it (buildApp from a schema-parsed config), not a copy of the wiring.
import type { AuditAction } from "../../../src/app/ports/store";
import { ALICE, nextEventId, ROOM, T0 } from "../domain/builders";
import { DEPLOYMENT, Harness, LK_ROOM } from "./harness";

/** A participant on the SFU that no call membership maps to, first seen by a poll now. */
async function stranger(h: Harness): Promise<void> {
  h.feed(...h.room({ users: [ALICE] }));
  h.livekit.connect(DEPLOYMENT, LK_ROOM, "@mallory:evil.example:PHONE", "PA_X");
  await h.poll();
}

describe("buildApp as the harness's app", () => {
  test("reports an SFU participant without a membership once, past the orphan grace", async () => {
    const h = new Harness();
    await stranger(h);
    await h.advance(119_000);
    await h.poll();
    expect(h.audit("orphan_participant")).toEqual([]);
    await h.advance(2_000);
    await h.poll();
    await h.poll();
    expect(h.audit("orphan_participant")).toMatchObject([
      {
        reason: "no_membership",
        result: "reported",
        evidence: { deployment: DEPLOYMENT, identity: "@mallory:evil.example:PHONE", sid: "PA_X" },
      },
    ]);
    expect(h.livekit.calls.filter((c) => c.method === "removeParticipant")).toEqual([]);
    expect(h.livekit.participants(DEPLOYMENT, LK_ROOM)).toHaveLength(1);
  });

  test.each<[boolean, AuditAction, number]>([
    [false, "participant_removed", 0],
    [true, "orphan_participant", 1],
  ])(
    "remove_orphan_participants with dry run %s: recorded as %s, %i left on the SFU",
    async (dryRun, action, left) => {
      const h = new Harness({ removeOrphans: true, dryRun });
      await stranger(h);
      await h.advance(121_000);
      await h.poll();
      expect(h.audit(action)).toHaveLength(1);
      expect(h.livekit.participants(DEPLOYMENT, LK_ROOM)).toHaveLength(left);
    },
  );

  test("journals an encrypted event only when it is sticky, or in a room the bot is in (to tell it or decrypt it)", async () => {
    const h = new Harness();
    h.bot.wantsEncrypted({ type: "m.room.encrypted", room_id: ROOM, sender: ALICE }); // the bot's rooms are read
    await h.settle();
    const encrypted = {
      type: "m.room.encrypted",
      room_id: ROOM,
      sender: ALICE,
      origin_server_ts: T0,
      content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA" },
    };
    const chat = { ...encrypted, event_id: nextEventId() };
    const sticky = { ...encrypted, event_id: nextEventId(), msc4354_sticky: { duration_ms: 3_600_000 } };
    h.intake.accept(chat);
    h.intake.accept(sticky);
    expect(h.store.pendingInbox(10).map((e) => e.eventId)).toEqual([sticky.event_id]);
    expect(h.metrics.of("matrixEvent")).toEqual([["m.room.encrypted", "ignored"]]);
  });

  test("each part logs under its own component, as in the service's logs", async () => {
    const h = new Harness();
    await h.leftSfuAfterACall(ALICE, "DEVA");
    await h.poll();
    expect(h.logger.find("verdict: ghost", "info")[0]?.fields.component).toBe("judge");
    expect(h.logger.find("clear: cleared", "info")[0]?.fields.component).toBe("clearer");
    await h.echo();
    expect(h.logger.find("membership left", "info")[0]?.fields.component).toBe("reconciler");
  });
});
