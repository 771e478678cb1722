// Ghost clearing on a Synapse without delayed events (MSC4140 off): only the reconciler can end a crashed member.
import { createHash } from "node:crypto";
import { AccessToken } from "livekit-server-sdk";
import {
  auditOf,
  CALL_MEMBER,
  isEmpty,
  joinCall,
  livekitRoomName,
  MatrixHttp,
  newRoom,
  newUser,
  sleep,
  waitForState,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "no-delayed-events" });

test("a killed client and participant: the membership becomes a leave within 45 s of the kill", async () => {
  const user = await newUser(stack, "crash", "CRASHDEV");
  const call = await joinCall(stack, user, await newRoom(user));
  const killedAt = Date.now();
  await Promise.all([call.client.kill(), call.participant?.kill()]);
  const sfuLeft = await stack.reconciler.waitForLog(
    (l) => l.message === "LiveKit webhook" && l.event === "participant_left" && l.identity === call.identity,
    45_000,
  );
  const clearedAt = await waitForState(
    MatrixHttp.of(user),
    call.roomId,
    CALL_MEMBER,
    call.stateKey,
    isEmpty,
    45_000,
  );
  const lifetime = (clearedAt - killedAt) / 1000;
  const detect = (Date.parse(sfuLeft.time) - killedAt) / 1000;
  console.log(
    `ghost lifetime ${lifetime.toFixed(1)} s (kill → leave in room state); LiveKit detection ${detect.toFixed(1)} s`,
  );
  expect(lifetime).toBeLessThan(45);
  const clear = await stack.reconciler.waitForLog(
    (l) => l.message === "clear: cleared" && l.user === user.userId,
    5_000,
  );
  expect(clear).toMatchObject({ reason: "left_sfu", method: "write_as_user", room: call.roomId });
  expect(auditOf(stack, call.roomId).filter((a) => a.action === "clear")).toEqual([
    expect.objectContaining({ reason: "left_sfu", method: "write_as_user", result: "cleared" }),
  ]);
});

test("a forged participant_left for a live member is refused (401) and changes nothing", async () => {
  const user = await newUser(stack, "forged", "FORGEDDEV");
  const call = await joinCall(stack, user, await newRoom(user));
  try {
    const body = JSON.stringify({
      event: "participant_left",
      id: `EV_forged_${Date.now()}`,
      createdAt: String(Math.floor(Date.now() / 1000)),
      room: { name: livekitRoomName(call.roomId) },
      participant: { identity: call.identity, sid: "PA_forged", disconnectReason: "CONNECTION_TIMEOUT" },
    });
    const token = new AccessToken(stack.livekit.apiKey, "not-the-secret-not-the-secret-not-the-secret");
    token.sha256 = createHash("sha256").update(body).digest("base64");
    const res = await fetch(stack.reconciler.webhookUrl, {
      method: "POST",
      headers: { "Content-Type": "application/webhook+json", Authorization: await token.toJwt() },
      body,
    });
    expect(res.status).toBe(401);
    await sleep(8_000); // past the 5 s leave grace
    const api = MatrixHttp.of(user);
    expect(isEmpty(await api.getStateEvent(call.roomId, CALL_MEMBER, call.stateKey))).toBe(false);
    expect(auditOf(stack, call.roomId).filter((a) => a.action !== "verdict")).toEqual([]);
    expect(
      stack.reconciler.logs().some((l) => l.message === "LiveKit webhook" && l.sid === "PA_forged"),
    ).toBe(false);
  } finally {
    await Promise.all([call.client.terminate(), call.participant?.terminate()]);
  }
});

test("dry run: the crashed member is judged and 'would clear' is logged and recorded, nothing is written", async () => {
  await stack.restartReconciler({ reconciliation: { dry_run: true } });
  try {
    stack.relay.setTarget(stack.reconciler.webhookUrl);
    const user = await newUser(stack, "dry", "DRYDEV");
    const call = await joinCall(stack, user, await newRoom(user));
    await Promise.all([call.client.kill(), call.participant?.kill()]);
    const would = await stack.reconciler.waitForLog(
      (l) => l.message === "clear: would_clear" && l.user === user.userId,
      45_000,
    );
    expect(would).toMatchObject({ reason: "left_sfu", dry_run: true, result: "would_clear" });
    expect(String(would.detail)).toContain("write_as_user");
    await sleep(3_000);
    expect(isEmpty(await MatrixHttp.of(user).getStateEvent(call.roomId, CALL_MEMBER, call.stateKey))).toBe(
      false,
    );
    const audit = auditOf(stack, call.roomId);
    expect(audit.filter((a) => a.action === "would_clear").length).toBeGreaterThanOrEqual(1);
    expect(audit.filter((a) => a.action === "clear")).toEqual([]);
  } finally {
    await stack.restartReconciler({ reconciliation: { dry_run: false } });
    stack.relay.setTarget(stack.reconciler.webhookUrl);
  }
});

test("webhooks never delivered: the poller alone keeps two live members for 2 minutes, then clears the one killed", async () => {
  stack.relay.setMode("drop");
  const dropFrom = Date.now();
  try {
    const [a, b] = [await newUser(stack, "polla", "POLLA"), await newUser(stack, "pollb", "POLLB")];
    const roomId = await newRoom(a);
    await MatrixHttp.of(a).invite(roomId, b.userId);
    await MatrixHttp.of(b).join(roomId);
    const [ca, cb] = [await joinCall(stack, a, roomId), await joinCall(stack, b, roomId)];
    const since = stack.reconciler.logs().length;
    await sleep(120_000);
    const users = [a.userId, b.userId];
    const cleared = stack.reconciler
      .logs()
      .slice(since)
      .filter((l) => l.message.startsWith("clear:") && users.includes(String(l.user)));
    expect(cleared).toEqual([]);
    const api = MatrixHttp.of(a);
    expect(isEmpty(await api.getStateEvent(roomId, CALL_MEMBER, ca.stateKey))).toBe(false);
    expect(isEmpty(await api.getStateEvent(roomId, CALL_MEMBER, cb.stateKey))).toBe(false);
    const killedAt = Date.now();
    await Promise.all([cb.client.kill(), cb.participant?.kill()]);
    const clearedAt = await waitForState(api, roomId, CALL_MEMBER, cb.stateKey, isEmpty, 60_000);
    console.log(`poller only: ghost cleared ${((clearedAt - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(isEmpty(await api.getStateEvent(roomId, CALL_MEMBER, ca.stateKey))).toBe(false);
    expect(stack.relay.received().filter((w) => w.action !== "dropped" && w.receivedAt >= dropFrom)).toEqual(
      [],
    );
    await Promise.all([ca.client.terminate(), ca.participant?.terminate()]);
  } finally {
    stack.relay.setMode("pass");
  }
}, 300_000);
