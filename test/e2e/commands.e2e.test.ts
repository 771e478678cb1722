// Bot commands on the real stack: status during a real call, history after it, end and kick with permissions.
import { RoomServiceClient } from "livekit-server-sdk";
import {
  ask,
  CALL_MEMBER,
  eventually,
  inviteBot,
  joinCall,
  livekitRoomName,
  MatrixHttp,
  newRoom,
  newUser,
  sleep,
  startStack,
  type MatrixSession,
  type Stack,
} from "./harness";

let stack: Stack;
let lk: RoomServiceClient;

beforeAll(async () => {
  stack = await startStack({ profile: "delayed-events" });
  lk = new RoomServiceClient(stack.livekit.httpUrl, stack.livekit.apiKey, stack.livekit.apiSecret);
}, 180_000);

afterAll(async () => {
  await stack.stop();
}, 60_000);

async function roomOf(owner: MatrixSession, others: MatrixSession[]): Promise<string> {
  const roomId = await newRoom(owner);
  for (const u of others) {
    await MatrixHttp.of(owner).invite(roomId, u.userId);
    await MatrixHttp.of(u).join(roomId);
  }
  await inviteBot(stack, owner, roomId);
  return roomId;
}

/** Leave events (empty content) written for a state key since `since`. */
async function leavesOf(api: MatrixHttp, roomId: string, stateKey: string, since: number) {
  const events = await api.messages(roomId, { limit: 100 });
  return events.filter(
    (e) =>
      e.type === CALL_MEMBER &&
      e.state_key === stateKey &&
      e.origin_server_ts >= since &&
      Object.keys(e.content).length === 0,
  );
}

test("status lists a member as connected; after the call, history shows it with its duration and leave reason", async () => {
  const alice = await newUser(stack, "alice", "ALICE");
  const roomId = await roomOf(alice, []);
  const call = await joinCall(stack, alice, roomId);
  const joinedAt = (await call.client.waitFor("joined-call")).t;
  await eventually(
    async () => {
      const status = await ask(stack, alice, roomId, "!rtc status");
      return status.text.includes(alice.userId) && status.text.includes("SFU: connected")
        ? status
        : undefined;
    },
    30_000,
    "status shows the member connected",
    1000,
  );
  const status = await ask(stack, alice, roomId, "!rtc status");
  expect(status.text).toMatch(/ALICE\) since .* · SFU: connected · expires in .* · alive \(connected\)/);
  await sleep(6_000);
  await call.participant?.terminate();
  await call.client.terminate();
  const leftAt = call.client.events().find((e) => e.event === "left-call")?.t ?? Date.now();
  const history = await eventually(
    async () => {
      const reply = await ask(stack, alice, roomId, "!rtc history");
      return reply.text.includes("left: left") ? reply : undefined;
    },
    30_000,
    "history shows the ended call",
    1000,
  );
  const line = history.text.split("\n").find((l) => l.includes(alice.userId)) ?? "";
  const seconds = Number(/\) (\d+)s, left: left/.exec(line)?.[1]);
  const measured = (leftAt - joinedAt) / 1000;
  console.log(`history: ${line.trim()} (measured ${measured.toFixed(1)} s)`);
  expect(Math.abs(seconds - measured)).toBeLessThanOrEqual(2);
  expect(history.text).toMatch(/unanswered · 1 participant\(s\), peak 1/);
});

test("a non-moderator's end is refused and changes nothing; a moderator's end clears every membership and empties the SFU room", async () => {
  const [owner, guest] = [await newUser(stack, "owner", "OWNER"), await newUser(stack, "guest", "GUEST")];
  const roomId = await roomOf(owner, [guest]);
  const calls = [await joinCall(stack, owner, roomId), await joinCall(stack, guest, roomId)];
  const api = MatrixHttp.of(owner);
  const before = Date.now();
  const refused = await ask(stack, guest, roomId, "!rtc end");
  expect(refused.text).toContain('"end" needs power level 50 or more in this room');
  await sleep(2_000);
  for (const c of calls) expect(await leavesOf(api, roomId, c.stateKey, before)).toEqual([]);
  expect((await lk.listParticipants(livekitRoomName(roomId))).length).toBe(2);

  const since = Date.now();
  const ended = await ask(stack, owner, roomId, "!rtc end");
  expect(ended.text).toContain("End call");
  expect(ended.text).toContain("Removed 2 participant(s) from the SFU.");
  for (const c of calls) {
    expect(ended.text).toContain(`${c.user.userId} (${c.user.deviceId}): cleared`);
    expect((await leavesOf(api, roomId, c.stateKey, since)).length).toBeGreaterThanOrEqual(1);
  }
  await eventually(
    async () => ((await lk.listParticipants(livekitRoomName(roomId))).length === 0 ? true : undefined),
    10_000,
    "the LiveKit room is empty",
  );
  await Promise.all(calls.map((c) => c.client.terminate()));
});

test("kick @user removes only that user's membership and participant", async () => {
  const [owner, bob] = [await newUser(stack, "kowner", "KOWNER"), await newUser(stack, "bob", "BOB")];
  const roomId = await roomOf(owner, [bob]);
  const [mine, his] = [await joinCall(stack, owner, roomId), await joinCall(stack, bob, roomId)];
  const api = MatrixHttp.of(owner);
  const since = Date.now();
  const reply = await ask(stack, owner, roomId, `!rtc kick ${bob.userId}`);
  expect(reply.text).toContain(`${bob.userId} (BOB): cleared`);
  expect(reply.text).not.toContain(owner.userId);
  expect((await leavesOf(api, roomId, his.stateKey, since)).length).toBeGreaterThanOrEqual(1);
  expect(await leavesOf(api, roomId, mine.stateKey, since)).toEqual([]);
  const left = await lk.listParticipants(livekitRoomName(roomId));
  expect(left.map((p) => p.identity)).toEqual([mine.identity]);
  await Promise.all([mine, his].map((c) => c.client.terminate()));
  await mine.participant?.terminate();
});

test("bad arguments and unknown commands get a short usage reply; HTML in arguments is escaped", async () => {
  const owner = await newUser(stack, "usage", "USAGE");
  const roomId = await roomOf(owner, []);
  expect((await ask(stack, owner, roomId, "!rtc history lots")).text).toContain("Usage:");
  const unknown = await ask(stack, owner, roomId, "!rtc <b>frobnicate</b>");
  expect(unknown.text).toContain('Unknown command "<b>frobnicate</b>"');
  expect(unknown.html).toContain("&lt;b&gt;frobnicate&lt;/b&gt;");
  expect(unknown.html).not.toContain("<b>frobnicate");
  const help = await ask(stack, owner, roomId, "!rtc help");
  for (const name of ["status", "history", "ghosts", "clean", "end", "kick", "stats"])
    expect(help.text).toContain(`!rtc ${name}`);
});
