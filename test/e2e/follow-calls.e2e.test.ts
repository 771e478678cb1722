// Following calls on a real Synapse: a room's events before its first call are not kept, its first call event reads
// its state, and a user who then leaves the room while their membership stays is found not_joined and cleared.
import {
  auditOf,
  CALL_MEMBER,
  inviteBot,
  isEmpty,
  MatrixHttp,
  newRoom,
  newUser,
  query,
  sendRawMembership,
  waitForState,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "no-delayed-events" });

/** An SFU the service holds no keys for: the member is judged by room membership and expiry only. */
const ELSEWHERE = {
  type: "livekit" as const,
  livekit_service_url: "https://sfu.elsewhere.example/livekit/jwt",
};

const journaledTypes = (roomId: string): string[] =>
  query<{ type: string }>(
    stack,
    "SELECT json_extract(event_json, '$.type') AS type FROM inbox WHERE room_id = ? ORDER BY seq",
    roomId,
  ).map((r) => r.type);

test("a user who leaves a room that had no call before, while their membership stays, is not_joined and cleared", async () => {
  const [alice, bob] = [
    await newUser(stack, "follow-alice", "ALICEDEV"),
    await newUser(stack, "follow-bob", "BOBDEV"),
  ];
  // A room with no call and without the bot: its creation and Bob's join are sent to the service and not kept.
  const roomId = await newRoom(alice);
  await MatrixHttp.of(alice).invite(roomId, bob.userId);
  await MatrixHttp.of(bob).join(roomId);
  const call = await sendRawMembership(MatrixHttp.of(bob), roomId, {
    format: "session",
    userId: bob.userId,
    deviceId: "BOBDEV",
    focus: ELSEWHERE,
  });
  await stack.reconciler.waitForLog(
    (l) => l.message === "state of a newly followed room read" && l.room === roomId,
    30_000,
  );
  // The homeserver sends a room's events in order: all before the call event have arrived, and none was kept.
  expect(journaledTypes(roomId)).toEqual([CALL_MEMBER]);

  await MatrixHttp.of(bob).leave(roomId);
  const ghost = await stack.reconciler.waitForLog(
    (l) => l.message === "verdict: ghost" && l.user === bob.userId && l.reason === "not_joined",
    30_000,
  );
  expect(ghost.room).toBe(roomId);
  expect(journaledTypes(roomId)).toEqual([CALL_MEMBER, "m.room.member"]);
  // Bob is no longer in the room, so nothing can write as him, and the bot is not in it yet.
  await stack.reconciler.waitForLog(
    (l) => l.message === "clear: failed" && l.user === bob.userId && l.reason === "not_joined",
    30_000,
  );

  // Alice invites the bot: once in, it writes Bob's leave with its power level at the next try.
  await inviteBot(stack, alice, roomId);
  await waitForState(MatrixHttp.of(alice), roomId, CALL_MEMBER, call.stateKey, isEmpty, 60_000);
  const clears = auditOf(stack, roomId).filter((a) => a.action === "clear");
  expect(clears.map((c) => [c.reason, c.method, c.user_id])).toEqual([
    ["not_joined", "write_as_bot", bob.userId],
  ]);
});
