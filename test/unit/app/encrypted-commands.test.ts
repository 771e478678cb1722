// The bot with an encrypted device: commands decrypted and answered encrypted, unreadable ones get the notice why.
import type { Bot } from "../../../src/app/commands/bot";
import { FollowFilter } from "../../../src/app/intake/follow-filter";
import { ALICE, BOB, type ClientEvent, nextEventId, ROOM, T0 } from "../domain/builders";
import { FakeDevice } from "./fakes/device";
import { BOT, Harness } from "./harness";

function encrypted(sender: string): ClientEvent {
  return {
    event_id: nextEventId(),
    type: "m.room.encrypted",
    room_id: ROOM,
    sender,
    origin_server_ts: T0,
    content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA", session_id: "s1" },
  };
}

/** The ring's parts with a bot that has a device (`null`: the device has not started). */
async function ringWithDevice(device: FakeDevice | null): Promise<{ h: Harness; bot: Bot }> {
  const h = new Harness({ crypto: { current: () => device } });
  await h.deliver(...h.room({ users: [ALICE, BOB] }));
  return { h, bot: h.bot };
}

async function receive(h: Harness, bot: Bot, e: ClientEvent): Promise<void> {
  bot.onEncrypted({ ...e }, h.clock.now());
  await h.settle();
}

describe("with an encrypted device", () => {
  test("a decrypted command is answered encrypted, and nothing is posted in the clear", async () => {
    const device = new FakeDevice();
    const { h, bot } = await ringWithDevice(device);
    const e = encrypted(BOB);
    device.decryptsAs(e, "!rtc status");
    await receive(h, bot, e);
    expect(device.waits).toEqual([15_000]);
    expect(device.sent).toEqual([
      {
        roomId: ROOM,
        type: "m.room.message",
        content: {
          msgtype: "m.notice",
          body: "No call in this room right now.",
          format: "org.matrix.custom.html",
          formatted_body: "No call in this room right now.",
        },
      },
    ]);
    expect(h.matrix.notices).toEqual([]);
  });

  test("the decrypted sender is the homeserver's, whatever the plaintext claims: permissions follow it", async () => {
    const device = new FakeDevice();
    const { h, bot } = await ringWithDevice(device);
    const e = encrypted(BOB);
    device.decryptsTo(e, "m.room.message", {
      msgtype: "m.text",
      body: "!rtc clean",
      sender: "@admin:example.org",
    });
    await receive(h, bot, e);
    expect(device.sent.map((s) => s.content.body)).toEqual([
      '"clean" needs power level 50 or more in this room.',
    ]);
  });

  test("a message whose key was withheld gets the plain notice with the reason; a decrypted non-message nothing", async () => {
    const device = new FakeDevice();
    const { h, bot } = await ringWithDevice(device);
    const withheld = encrypted(BOB);
    device.results.set(withheld.event_id, {
      kind: "undecryptable",
      reason: "withheld",
      detail: "m.unverified",
    });
    const reaction = encrypted(ALICE);
    device.decryptsTo(reaction, "m.reaction", {});
    await receive(h, bot, reaction);
    await receive(h, bot, withheld);
    expect(device.sent).toEqual([]);
    const [notice, ...more] = h.matrix.notices.map((n) => n.text);
    expect(more).toEqual([]);
    expect(notice).toContain("the sender's device withheld the key from the bot's device");
    expect(notice).toContain(`!rtc status ${ROOM}`);
    expect(h.logger.find("encrypted message not decrypted", "info")[0]?.fields).toMatchObject({
      reason: "withheld",
    });
  });

  test("an answer that cannot be encrypted is not posted in the clear: a plain note says so", async () => {
    const device = new FakeDevice();
    device.failSends = true;
    const { h, bot } = await ringWithDevice(device);
    const e = encrypted(BOB);
    device.decryptsAs(e, "!rtc status");
    await receive(h, bot, e);
    expect(h.matrix.notices.map((n) => n.text)).toEqual([
      "The answer to this command could not be encrypted, so it is not posted here.",
    ]);
    expect(h.logger.find("could not send an encrypted answer", "warn")).toHaveLength(1);
  });

  test("the intake keeps every encrypted message of a joined room (commands may follow a notice)", async () => {
    const device = new FakeDevice();
    const { h, bot } = await ringWithDevice(device);
    await receive(h, bot, encrypted(BOB)); // undecryptable: the notice of the day is spent
    const filter = new FollowFilter({ followed: () => true, botUserId: BOT, bot: bot });
    const wanted = (type: string, event: Record<string, unknown>) => filter.wanted(type, event);
    const next = encrypted(BOB);
    expect(wanted(next.type, { ...next })).toBe(true);
    expect(wanted(next.type, { ...next, room_id: "!elsewhere:example.org" })).toBe(false);
  });

  test("before the device started, an encrypted message gets the no-device notice", async () => {
    const { h, bot } = await ringWithDevice(null);
    await receive(h, bot, encrypted(BOB));
    expect(h.matrix.notices.map((n) => n.text).join("\n")).toContain(
      "this service cannot read encrypted messages here",
    );
  });
});
