// Sticky call memberships in an encrypted room on the real stack: js-sdk 43 clients with their own crypto send them
// encrypted, the bot's device decrypts them, and a killed member is ended in a way the other member's client sees.
import {
  commandRoom,
  eventually,
  joinCall,
  MatrixHttp,
  newUser,
  type ClientHandle,
  type InCall,
  type MatrixSession,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "delayed-events" });

const ENCRYPTION = {
  type: "m.room.encryption",
  state_key: "",
  content: { algorithm: "m.megolm.v1.aes-sha2" },
};
const RTC_MEMBER = "org.matrix.msc4143.rtc.member";

/** The members a client's MatrixRTC session shows now (`user|device`), from its latest report. */
function membersSeenBy(client: ClientHandle): readonly string[] {
  const reports = client.events().filter((e) => e.event === "memberships");
  const last = reports[reports.length - 1];
  return Array.isArray(last?.members) ? (last.members as string[]) : [];
}

async function untilSeenBy(
  client: ClientHandle,
  done: (members: readonly string[]) => boolean,
  what: string,
) {
  return eventually(() => Promise.resolve(done(membersSeenBy(client)) ? true : undefined), 60_000, what, 250);
}

/** Alice and a second user in an encrypted room with the bot, both in a sticky-mode call with crypto on. */
async function encryptedCall(
  name: string,
): Promise<{ roomId: string; alice: InCall; other: InCall; user: MatrixSession }> {
  const aliceUser = await newUser(stack, "alice", "ALICEDEV");
  const user = await newUser(stack, name, `${name.toUpperCase()}DEV`);
  const roomId = await commandRoom(stack, aliceUser, [user], {}, { initial_state: [ENCRYPTION] });
  const opts = { sticky: true, crypto: true, delayedLeaveEventDelayMs: 600_000 };
  const alice = await joinCall(stack, aliceUser, roomId, opts);
  const other = await joinCall(stack, user, roomId, opts);
  const me = `${user.userId}|${user.deviceId}`;
  await untilSeenBy(alice.client, (m) => m.includes(me), `Alice's client sees ${name} in the call`);
  // On the wire the membership is ciphertext: the homeserver and the service see only m.room.encrypted.
  const wire = await MatrixHttp.of(aliceUser).messages(roomId, { limit: 100 });
  expect(wire.filter((e) => e.sender === user.userId && e.type === RTC_MEMBER)).toEqual([]);
  expect(
    wire.filter((e) => e.sender === user.userId && e.type === "m.room.encrypted").length,
  ).toBeGreaterThan(0);
  await stack.reconciler.waitForLog(
    (l) => l.message === "encrypted membership decrypted" && l.sender === user.userId,
    30_000,
  );
  await stack.reconciler.waitForLog(
    (l) => l.message === "membership joined" && l.user === user.userId && l.format === "sticky",
    30_000,
  );
  return { roomId, alice, other, user };
}

/** After a clear: the other member's client no longer shows the user, and the leave in the room is theirs. */
async function endedForAlice(roomId: string, alice: InCall, user: MatrixSession): Promise<void> {
  const gone = `${user.userId}|${user.deviceId}`;
  await untilSeenBy(alice.client, (m) => !m.includes(gone), "Alice's client sees the member leave");
  expect(membersSeenBy(alice.client)).toEqual([`${alice.user.userId}|${alice.user.deviceId}`]);
  const events = await MatrixHttp.of(alice.user).messages(roomId, { limit: 100 });
  const leaves = events.filter((e) => e.sender === user.userId && e.type === RTC_MEMBER);
  // The leave is in the clear (no keys of the user's are held by anyone but the user): sticky key and slot only.
  expect(leaves.map((e) => e.content)).toEqual([
    { msc4354_sticky_key: `${user.userId}:${user.deviceId}`, slot_id: "m.call#ROOM" },
  ]);
}

test("an encrypted sticky membership is decrypted; killed, its own delayed leave ends it, as the other client sees", async () => {
  const { roomId, alice, other, user } = await encryptedCall("bob");
  const pending = await MatrixHttp.of(user).delayedEvents();
  // js-sdk 43 schedules its delayed leave in the clear even in an encrypted room (delayed events are not encrypted).
  expect(pending.filter((d) => d.room_id === roomId).map((d) => d.type)).toEqual([RTC_MEMBER]);
  await Promise.all([other.client.kill(), other.participant?.kill()]);
  const clear = await stack.reconciler.waitForLog(
    (l) => l.message === "clear: cleared" && l.user === user.userId,
    90_000,
  );
  expect(clear).toMatchObject({ method: "delayed_leave", room: roomId });
  await endedForAlice(roomId, alice, user);
  await alice.client.terminate();
  await alice.participant?.kill();
});

test("without a delayed leave, the leave the service writes as the user ends the member for the other client too", async () => {
  const { roomId, alice, other, user } = await encryptedCall("carol");
  await Promise.all([other.client.kill(), other.participant?.kill()]);
  const api = MatrixHttp.of(user);
  for (const d of await api.delayedEvents()) await api.updateDelayedEvent(d.delay_id, "cancel");
  const clear = await stack.reconciler.waitForLog(
    (l) => l.message === "clear: cleared" && l.user === user.userId,
    90_000,
  );
  expect(clear).toMatchObject({ method: "write_as_user", room: roomId });
  await endedForAlice(roomId, alice, user);
  await alice.client.terminate();
  await alice.participant?.kill();
});
