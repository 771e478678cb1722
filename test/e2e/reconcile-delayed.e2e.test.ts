// Ghost clearing on a Synapse with delayed events: the user's own pending delayed leave is what the service fires.
import {
  auditOf,
  CALL_MEMBER,
  isEmpty,
  joinCall,
  MatrixHttp,
  newRoom,
  newUser,
  waitForState,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "delayed-events" });

test("a client with a 10-minute delayed leave is killed: the service fires that delayed leave well before", async () => {
  const user = await newUser(stack, "delayed", "DELAYDEV");
  const api = MatrixHttp.of(user);
  const call = await joinCall(stack, user, await newRoom(user), { delayedLeaveEventDelayMs: 600_000 });
  const pending = await api.delayedEvents();
  expect(pending.filter((d) => d.state_key === call.stateKey)).toHaveLength(1);
  const killedAt = Date.now();
  await Promise.all([call.client.kill(), call.participant?.kill()]);
  const clearedAt = await waitForState(api, call.roomId, CALL_MEMBER, call.stateKey, isEmpty, 60_000);
  console.log(
    `delayed leave fired ${((clearedAt - killedAt) / 1000).toFixed(1)} s after the kill (its own delay: 600 s)`,
  );
  expect(clearedAt - killedAt).toBeLessThan(60_000);
  const clear = await stack.reconciler.waitForLog(
    (l) => l.message === "clear: cleared" && l.user === user.userId,
    5_000,
  );
  expect(clear).toMatchObject({ method: "delayed_leave", reason: "left_sfu" });
  expect((await api.delayedEvents()).filter((d) => d.state_key === call.stateKey)).toEqual([]);
  const members = await api.getState(call.roomId);
  const leave = members.find((e) => e.type === CALL_MEMBER && e.state_key === call.stateKey);
  expect(leave?.sender).toBe(user.userId);
});

test("sticky mode: a killed js-sdk client's sticky membership is ended", async () => {
  const user = await newUser(stack, "sticky", "STICKYDEV");
  const api = MatrixHttp.of(user);
  const roomId = await newRoom(user);
  const call = await joinCall(stack, user, roomId, { sticky: true, delayedLeaveEventDelayMs: 600_000 });
  await stack.reconciler.waitForLog(
    (l) => l.message === "membership joined" && l.user === user.userId && l.format === "sticky",
    30_000,
  );
  await Promise.all([call.client.kill(), call.participant?.kill()]);
  const ended = await stack.reconciler.waitForLog(
    (l) => l.message === "membership left" && l.user === user.userId && l.format === "sticky",
    60_000,
  );
  expect(ended.room).toBe(roomId);
  const clear = await stack.reconciler.waitForLog(
    (l) => l.message === "clear: cleared" && l.user === user.userId,
    5_000,
  );
  expect(["delayed_leave", "write_as_user"]).toContain(clear.method);
  expect((await api.delayedEvents()).filter((d) => d.room_id === roomId)).toEqual([]);
  expect(auditOf(stack, roomId).filter((a) => a.action === "clear")).toHaveLength(1);
});
