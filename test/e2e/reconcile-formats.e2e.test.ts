// Older formats on a real Synapse: expired entries of shared @user keys are removed as the user, live ones kept;
// users outside the service's namespace are cleared by the bot's power level, or recorded as "cannot clear".
import {
  auditOf,
  CALL_MEMBER,
  eventually,
  MatrixHttp,
  newRoom,
  newUser,
  sendRawMembership,
  type Json,
  type MatrixSession,
} from "./harness";
import { useStack } from "./harness/use-stack";

// Only users whose localpart starts with "in-" are the service's to act for.
const stack = useStack({ profile: "no-delayed-events", userRegex: "@in-.*:localhost" });

const devicesOf = (c: Json | undefined): string[] => {
  const calls = (c?.["m.calls"] ?? []) as { "m.devices": { device_id: string }[] }[];
  return calls.flatMap((call) => call["m.devices"].map((d) => d.device_id));
};
const entriesOf = (c: Json | undefined): string[] =>
  ((c?.memberships ?? []) as { device_id: string }[]).map((e) => e.device_id);

test("an expired MSC3401 device and an expired legacy entry beside live ones: only the expired are removed, as the user", async () => {
  const [a, b] = [await newUser(stack, "in-mesh", "MESH1"), await newUser(stack, "in-legacy", "LEG1")];
  const roomId = await newRoom(a);
  await MatrixHttp.of(a).invite(roomId, b.userId);
  await MatrixHttp.of(b).join(roomId);
  const now = Date.now();
  await sendRawMembership(MatrixHttp.of(a), roomId, {
    format: "msc3401",
    userId: a.userId,
    devices: [
      { deviceId: "EXPIRED", expiresTs: now - 60_000 },
      { deviceId: "LIVE", expiresTs: now + 3_600_000 },
    ],
  });
  await sendRawMembership(MatrixHttp.of(b), roomId, {
    format: "legacy-array",
    userId: b.userId,
    entries: [
      { deviceId: "OLD", createdTs: now - 7_200_000, expires: 3_600_000 },
      { deviceId: "NEW", createdTs: now, expires: 3_600_000 },
    ],
  });
  const api = MatrixHttp.of(a);
  await eventually(
    async () =>
      devicesOf(await api.getStateEvent(roomId, CALL_MEMBER, a.userId)).join() === "LIVE" ? true : undefined,
    30_000,
    "the MSC3401 key rewritten",
  );
  await eventually(
    async () =>
      entriesOf(await api.getStateEvent(roomId, CALL_MEMBER, b.userId)).join() === "NEW" ? true : undefined,
    30_000,
    "the legacy key rewritten",
  );
  const state = await api.getState(roomId);
  for (const user of [a, b]) {
    const event = state.find((e) => e.type === CALL_MEMBER && e.state_key === user.userId);
    expect(event?.sender).toBe(user.userId);
  }
  const clears = auditOf(stack, roomId).filter((r) => r.action === "clear");
  expect(clears.map((r) => [r.device_id, r.reason, r.method]).sort()).toEqual([
    ["EXPIRED", "expired", "write_as_user"],
    ["OLD", "expired", "write_as_user"],
  ]);
});

async function roomWithBot(
  owner: MatrixSession,
  outsider: MatrixSession,
  botLevel: number,
  memberLevel: number,
) {
  const roomId = await MatrixHttp.of(owner).createRoom({
    preset: "private_chat",
    power_level_content_override: {
      events: { [CALL_MEMBER]: memberLevel },
      users: { [stack.registration.botUserId]: botLevel, [outsider.userId]: 50 },
    },
  });
  await MatrixHttp.of(owner).invite(roomId, outsider.userId);
  await MatrixHttp.of(outsider).join(roomId);
  await MatrixHttp.of(owner).invite(roomId, stack.registration.botUserId);
  await eventually(
    async () =>
      (await MatrixHttp.of(owner).getStateEvent(roomId, "m.room.member", stack.registration.botUserId))
        ?.membership === "join"
        ? true
        : undefined,
    30_000,
    "the bot joined",
  );
  return roomId;
}

async function expiredGhost(outsider: MatrixSession, roomId: string) {
  const sent = await sendRawMembership(MatrixHttp.of(outsider), roomId, {
    format: "session",
    userId: outsider.userId,
    deviceId: "GONE",
    focus: { type: "livekit", livekit_service_url: stack.serviceUrl },
    createdTs: Date.now() - 7_200_000,
    expires: 3_600_000,
  });
  return sent.stateKey;
}

test("a user outside the namespace: their _@ key ghost is cleared by the bot through its power level", async () => {
  const [owner, outsider] = [
    await newUser(stack, "in-owner", "OWN"),
    await newUser(stack, "out-user", "OUT"),
  ];
  const roomId = await roomWithBot(owner, outsider, 50, 50);
  const stateKey = await expiredGhost(outsider, roomId);
  const cleared = await eventually(
    async () => {
      const state = await MatrixHttp.of(owner).getState(roomId);
      const event = state.find((e) => e.type === CALL_MEMBER && e.state_key === stateKey);
      return event && Object.keys(event.content).length === 0 ? event : undefined;
    },
    30_000,
    "the ghost cleared",
  );
  expect(cleared.sender).toBe(stack.registration.botUserId);
  expect(auditOf(stack, roomId).filter((r) => r.action === "clear")).toEqual([
    expect.objectContaining({
      reason: "expired",
      method: "write_as_bot",
      result: "cleared",
      user_id: outsider.userId,
    }),
  ]);
});

test("with too low a power level: recorded as 'cannot clear', nothing written", async () => {
  const [owner, outsider] = [
    await newUser(stack, "in-owner2", "OWN2"),
    await newUser(stack, "out-user2", "OUT2"),
  ];
  const roomId = await roomWithBot(owner, outsider, 0, 50);
  const stateKey = await expiredGhost(outsider, roomId);
  const row = await eventually(
    async () => Promise.resolve(auditOf(stack, roomId).find((r) => r.action === "cannot_clear")),
    30_000,
    "a cannot_clear record",
  );
  expect(row).toMatchObject({ reason: "expired", result: "cannot_clear", user_id: outsider.userId });
  expect(JSON.parse(String(row.evidence_json))).toMatchObject({ detail: "bot_power_too_low" });
  const content = await MatrixHttp.of(owner).getStateEvent(roomId, CALL_MEMBER, stateKey);
  expect(content).toMatchObject({ device_id: "GONE" });
  expect(auditOf(stack, roomId).filter((r) => r.action === "clear")).toEqual([]);
});
