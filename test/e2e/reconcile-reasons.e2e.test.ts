// LiveKit's reason decides the wait, on a real Synapse + LiveKit: a timed-out device is cleared at once (only that
// device), a hang-up followed by the client's own leave gets nothing written, and a comeback is a reconnect.
import Database from "better-sqlite3";
import {
  auditOf,
  CALL_MEMBER,
  isEmpty,
  joinCall,
  login,
  MatrixHttp,
  newRoom,
  newUser,
  registerUser,
  sleep,
  startLiveKitParticipant,
  livekitRoomName,
  uniqueLocalpart,
  waitForState,
  eventually,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "no-delayed-events" });

function leaveReasons(roomId: string): Record<string, string | null> {
  const db = new Database(stack.reconciler.dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare("SELECT device_id, leave_reason FROM user_sessions WHERE room_id = ? ORDER BY joined_at")
      .all(roomId) as { device_id: string; leave_reason: string | null }[];
    return Object.fromEntries(rows.map((r) => [r.device_id, r.leave_reason]));
  } finally {
    db.close();
  }
}

test("two devices of one user, one crashed: only that device's membership goes, at LiveKit's timeout, as connection_lost", async () => {
  const first = await registerUser(stack.synapse.baseUrl, {
    username: uniqueLocalpart("twodev"),
    deviceId: "DEVONE",
  });
  const second = await login(stack.synapse.baseUrl, first.userId, first.password, "DEVTWO");
  const roomId = await newRoom(first);
  const [one, two] = [await joinCall(stack, first, roomId), await joinCall(stack, second, roomId)];
  try {
    await Promise.all([one.client.kill(), one.participant?.kill()]);
    const left = await stack.reconciler.waitForLog(
      (l) => l.message === "LiveKit webhook" && l.event === "participant_left" && l.identity === one.identity,
      45_000,
    );
    expect(left.disconnect_reason).toBe("CONNECTION_TIMEOUT");
    const api = MatrixHttp.of(first);
    const clearedAt = await waitForState(api, roomId, CALL_MEMBER, one.stateKey, isEmpty, 30_000);
    console.log(
      `cleared ${((clearedAt - Date.parse(left.time)) / 1000).toFixed(2)} s after LiveKit's notice`,
    );
    expect(isEmpty(await api.getStateEvent(roomId, CALL_MEMBER, two.stateKey))).toBe(false);
    const clears = auditOf(stack, roomId).filter((a) => a.action === "clear");
    expect(clears.map((c) => [c.device_id, c.reason])).toEqual([["DEVONE", "left_sfu"]]);
    expect(JSON.parse(String(clears[0]?.evidence_json))).toMatchObject({
      leaveKind: "unreachable",
      graceMs: 0,
    });
    await eventually(
      async () => {
        await Promise.resolve();
        return leaveReasons(roomId).DEVONE === "connection_lost" ? true : undefined;
      },
      10_000,
      "the session ends as connection_lost",
    );
    expect(leaveReasons(roomId).DEVTWO).toBeNull();
  } finally {
    await Promise.all([two.client.terminate(), two.participant?.terminate()]);
  }
});

test("a participant that hangs up and whose client then leaves Matrix within the short grace: nothing is written", async () => {
  const user = await newUser(stack, "hangup", "HANGDEV");
  const call = await joinCall(stack, user, await newRoom(user));
  await call.participant?.terminate(); // a clean LiveKit leave: CLIENT_INITIATED
  const left = await stack.reconciler.waitForLog(
    (l) => l.message === "LiveKit webhook" && l.event === "participant_left" && l.identity === call.identity,
    15_000,
  );
  expect(left.disconnect_reason).toBe("CLIENT_INITIATED");
  await call.client.terminate(); // the client's own Matrix leave follows
  await waitForState(MatrixHttp.of(user), call.roomId, CALL_MEMBER, call.stateKey, isEmpty, 15_000);
  await sleep(5_000); // past client_leave_grace (2 s) and a sweep
  expect(auditOf(stack, call.roomId).filter((a) => a.action !== "verdict")).toEqual([]);
  expect(leaveReasons(call.roomId)).toEqual({ HANGDEV: "left" });
});

test("a device cleared after LiveKit timed it out that comes straight back is a reconnect, not a false positive", async () => {
  const user = await newUser(stack, "comeback", "BACKDEV");
  const call = await joinCall(stack, user, await newRoom(user));
  try {
    await call.participant?.kill(); // the media connection dies; the Matrix client lives on
    // The live client re-sends its membership within milliseconds of our leave, so watch the log, not the state.
    await stack.reconciler.waitForLog(
      (l) => l.message === "clear: cleared" && l.user === user.userId,
      45_000,
    );
    const back = await startLiveKitParticipant({
      ...stack.livekit,
      room: livekitRoomName(call.roomId),
      identity: call.identity,
    });
    try {
      await back.waitFor("connected", 30_000);
      const reconnect = await eventually(
        async () => {
          await Promise.resolve();
          return auditOf(stack, call.roomId).find((a) => a.action === "reconnect");
        },
        15_000,
        "a reconnect is recorded",
      );
      expect(reconnect.reason).toBe("left_sfu");
      expect(auditOf(stack, call.roomId).filter((a) => a.action === "false_positive")).toEqual([]);
      expect(
        stack.reconciler.logs().some((l) => l.message.startsWith("false positive") && l.user === user.userId),
      ).toBe(false);
    } finally {
      await back.terminate();
    }
  } finally {
    await call.client.terminate();
  }
});
