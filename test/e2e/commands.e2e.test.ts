// Bot commands on the real stack: status during a real call, history after it, end and kick with permissions.
import { RoomServiceClient } from "livekit-server-sdk";
import {
  ask,
  auditOf,
  commandRoom,
  eventually,
  joinCall,
  leavesSince,
  livekitRoomName,
  MatrixHttp,
  newUser,
  sleep,
} from "./harness";
import { useStack } from "./harness/use-stack";

let lk: RoomServiceClient;
const stack = useStack({ profile: "delayed-events" });

beforeAll(() => {
  lk = new RoomServiceClient(stack.livekit.httpUrl, stack.livekit.apiKey, stack.livekit.apiSecret);
});

test("status lists a member as connected; after the call, history shows it with its duration and leave reason", async () => {
  const alice = await newUser(stack, "alice", "ALICE");
  const roomId = await commandRoom(stack, alice, []);
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
  const roomId = await commandRoom(stack, owner, [guest]);
  const calls = [await joinCall(stack, owner, roomId), await joinCall(stack, guest, roomId)];
  const api = MatrixHttp.of(owner);
  const before = Date.now();
  const refused = await ask(stack, guest, roomId, "!rtc end");
  expect(refused.text).toContain('"end" needs power level 50 or more in this room');
  await sleep(2_000);
  for (const c of calls) expect(await leavesSince(api, roomId, c.stateKey, before)).toEqual([]);
  expect((await lk.listParticipants(livekitRoomName(roomId))).length).toBe(2);

  const since = Date.now();
  const ended = await ask(stack, owner, roomId, "!rtc end");
  expect(ended.text).toContain("End call");
  expect(ended.text).toContain("Removed 2 participant(s) from the SFU.");
  for (const c of calls) {
    expect(ended.text).toContain(`${c.user.userId} (${c.user.deviceId}): cleared`);
    expect((await leavesSince(api, roomId, c.stateKey, since)).length).toBeGreaterThanOrEqual(1);
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
  const roomId = await commandRoom(stack, owner, [bob]);
  const [mine, his] = [await joinCall(stack, owner, roomId), await joinCall(stack, bob, roomId)];
  const api = MatrixHttp.of(owner);
  const since = Date.now();
  const reply = await ask(stack, owner, roomId, `!rtc kick ${bob.userId}`);
  expect(reply.text).toContain(`${bob.userId} (BOB): cleared`);
  expect(reply.text).not.toContain(owner.userId);
  expect((await leavesSince(api, roomId, his.stateKey, since)).length).toBeGreaterThanOrEqual(1);
  expect(await leavesSince(api, roomId, mine.stateKey, since)).toEqual([]);
  const left = await lk.listParticipants(livekitRoomName(roomId));
  expect(left.map((p) => p.identity)).toEqual([mine.identity]);
  await Promise.all([mine, his].map((c) => c.client.terminate()));
  await mine.participant?.terminate();
});

test("bad arguments and unknown commands get a short usage reply; HTML in arguments is escaped", async () => {
  const owner = await newUser(stack, "usage", "USAGE");
  const roomId = await commandRoom(stack, owner, []);
  expect((await ask(stack, owner, roomId, "!rtc history lots")).text).toContain("Usage:");
  const unknown = await ask(stack, owner, roomId, "!rtc <b>frobnicate</b>");
  expect(unknown.text).toContain('Unknown command "<b>frobnicate</b>"');
  expect(unknown.html).toContain("&lt;b&gt;frobnicate&lt;/b&gt;");
  expect(unknown.html).not.toContain("<b>frobnicate");
  const help = await ask(stack, owner, roomId, "!rtc help");
  for (const name of ["status", "history", "ghosts", "clean", "end", "kick", "stats"])
    expect(help.text).toContain(`!rtc ${name}`);
});

describe("hostile commands", () => {
  /** The command audit rows of a room (refused or done), oldest first. */
  const commandAudit = (roomId: string) =>
    auditOf(stack, roomId)
      .filter((a) => a.action === "command")
      .map((a) => ({ actor: a.actor, reason: a.reason, result: a.result }));

  test("without the power level, kick and clean are refused, audited, and change nothing", async () => {
    const [owner, guest] = [
      await newUser(stack, "howner", "HOWNER"),
      await newUser(stack, "hguest", "HGUEST"),
    ];
    const roomId = await commandRoom(stack, owner, [guest]);
    const calls = [await joinCall(stack, owner, roomId), await joinCall(stack, guest, roomId)];
    const api = MatrixHttp.of(owner);
    const since = Date.now();
    const kick = await ask(stack, guest, roomId, `!rtc kick ${owner.userId}`);
    expect(kick.text).toContain('"kick" needs power level 50 or more in this room');
    const clean = await ask(stack, guest, roomId, "!rtc clean");
    expect(clean.text).toContain('"clean" needs power level 50 or more in this room');
    console.log(`non-moderator: kick and clean refused: ${JSON.stringify(kick.text)}`);
    await sleep(2_000);
    for (const c of calls) expect(await leavesSince(api, roomId, c.stateKey, since)).toEqual([]);
    expect((await lk.listParticipants(livekitRoomName(roomId))).map((p) => p.identity).sort()).toEqual(
      calls.map((c) => c.identity).sort(),
    );
    expect(commandAudit(roomId)).toEqual([
      { actor: guest.userId, reason: "kick", result: "refused" },
      { actor: guest.userId, reason: "clean", result: "refused" },
    ]);
    expect(auditOf(stack, roomId).filter((a) => a.action === "clear")).toEqual([]);
    await Promise.all(calls.map((c) => c.client.terminate()));
    await Promise.all(calls.map(async (c) => c.participant?.terminate()));
  });

  test("a moderator's kick and end in one room leave the same user's call in another room alone", async () => {
    const [owner, bob] = [await newUser(stack, "xowner", "XOWNER"), await newUser(stack, "xbob", "XBOB")];
    const [roomA, roomB] = [await commandRoom(stack, owner, [bob]), await commandRoom(stack, owner, [bob])];
    const inB = [await joinCall(stack, owner, roomB), await joinCall(stack, bob, roomB)];
    const api = MatrixHttp.of(owner);
    const since = Date.now();
    const kick = await ask(stack, owner, roomA, `!rtc kick ${bob.userId}`);
    expect(kick.text).toContain(`Kick ${bob.userId} from the call`);
    expect(kick.text).toContain("Removed 0 participant(s) from the SFU.");
    const end = await ask(stack, owner, roomA, "!rtc end");
    expect(end.text).toContain("Removed 0 participant(s) from the SFU.");
    console.log(`kick and end in room A with the call in room B: ${JSON.stringify(end.text)}`);
    await sleep(2_000);
    for (const c of inB) expect(await leavesSince(api, roomB, c.stateKey, since)).toEqual([]);
    expect((await lk.listParticipants(livekitRoomName(roomB))).length).toBe(2);
    expect(auditOf(stack, roomB).filter((a) => a.action === "clear")).toEqual([]);
    await Promise.all(inB.map((c) => c.client.terminate()));
    await Promise.all(inB.map(async (c) => c.participant?.terminate()));
  });

  test("HTML and Markdown in arguments come back escaped and literal; nothing is kicked", async () => {
    const owner = await newUser(stack, "inject", "INJECT");
    const roomId = await commandRoom(stack, owner, []);
    const call = await joinCall(stack, owner, roomId);
    const since = Date.now();
    const html = await ask(stack, owner, roomId, "!rtc kick @<img/src=x/onerror=alert(1)>:localhost");
    expect(html.text).toContain("Kick @<img/src=x/onerror=alert(1)>:localhost from the call");
    expect(html.html).toContain("@&lt;img/src=x/onerror=alert(1)&gt;:localhost");
    expect(html.html).not.toMatch(/<img/i);
    const md = await ask(stack, owner, roomId, "!rtc kick @**nobody**_<i>x</i>_:localhost");
    expect(md.text).toContain("Kick @**nobody**_<i>x</i>_:localhost from the call");
    expect(md.html).toContain("@**nobody**_&lt;i&gt;x&lt;/i&gt;_:localhost");
    expect(md.html).not.toMatch(/<(i|em|strong)>/);
    console.log(`injected arguments: replies ${JSON.stringify(html.html)} / ${JSON.stringify(md.html)}`);
    expect(await leavesSince(MatrixHttp.of(owner), roomId, call.stateKey, since)).toEqual([]);
    expect((await lk.listParticipants(livekitRoomName(roomId))).length).toBe(1);
    await call.client.terminate();
    await call.participant?.terminate();
  });

  test("a command flood in one room gets 10 answers, one warning, then silence; another room is still answered", async () => {
    const owner = await newUser(stack, "flood", "FLOOD");
    const [noisy, quiet] = [await commandRoom(stack, owner, []), await commandRoom(stack, owner, [])];
    const api = MatrixHttp.of(owner);
    const start = Date.now();
    for (let i = 0; i < 16; i++) await api.sendMessage(noisy, "!rtc help");
    await sleep(6_000);
    const replies = (await api.messages(noisy, { limit: 100 })).filter(
      (e) =>
        e.sender === stack.registration.botUserId &&
        e.origin_server_ts >= start &&
        e.content.msgtype === "m.notice",
    );
    const warnings = replies.filter((e) => String(e.content.body).startsWith("Too many commands"));
    console.log(`flood: 16 commands sent, ${replies.length} replies, ${warnings.length} warning(s)`);
    expect(warnings.length).toBe(1);
    expect(replies.length).toBe(11);
    expect((await ask(stack, owner, quiet, "!rtc help")).text).toContain("!rtc status");
  });
});
