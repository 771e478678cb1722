// Commands on the real stack under the room's own rules: a moderator cannot kick a higher user's call, and a
// command the homeserver replays after the service's downtime is not run (its sender is told why).
import { RoomServiceClient } from "livekit-server-sdk";
import {
  ask,
  auditOf,
  CALL_MEMBER,
  commandRoom,
  eventually,
  type InCall,
  isEmpty,
  joinCall,
  leavesSince,
  livekitRoomName,
  MatrixHttp,
  newUser,
  sleep,
} from "./harness";
import { useStack } from "./harness/use-stack";

const MAX_COMMAND_AGE_S = 5;
const stack = useStack({
  profile: "delayed-events",
  config: { commands: { max_command_age: `${MAX_COMMAND_AGE_S}s` } },
});
let lk: RoomServiceClient;

beforeAll(() => {
  lk = new RoomServiceClient(stack.livekit.httpUrl, stack.livekit.apiKey, stack.livekit.apiSecret);
});

/** The memberships are still there, nothing wrote a leave since `since`, and LiveKit still has every participant. */
async function expectUntouched(api: MatrixHttp, roomId: string, calls: readonly InCall[], since: number) {
  for (const c of calls) {
    expect(await leavesSince(api, roomId, c.stateKey, since)).toEqual([]);
    expect(isEmpty(await api.getStateEvent(roomId, CALL_MEMBER, c.stateKey))).toBe(false);
  }
  const participants = await lk.listParticipants(livekitRoomName(roomId));
  expect(participants.map((p) => p.identity).sort()).toEqual(calls.map((c) => c.identity).sort());
}

/** The commands audited in the room: who, which, and how it ended. */
const commandsAudited = (roomId: string) =>
  auditOf(stack, roomId)
    .filter((a) => a.action === "command")
    .map((a) => [a.actor, a.reason, a.result]);

async function hangUp(calls: readonly InCall[]): Promise<void> {
  await Promise.all(calls.map((c) => c.client.terminate()));
  await Promise.all(calls.map(async (c) => c.participant?.terminate()));
}

test("a moderator (50) cannot kick a level-100 user's call, nor end a call they are in: refused with the reason, nothing touched", async () => {
  const [owner, boss, mod] = [
    await newUser(stack, "powner", "POWNER"),
    await newUser(stack, "pboss", "PBOSS"),
    await newUser(stack, "pmod", "PMOD"),
  ];
  const roomId = await commandRoom(stack, owner, [boss, mod], { [boss.userId]: 100, [mod.userId]: 50 });
  const calls = [await joinCall(stack, boss, roomId)];
  const api = MatrixHttp.of(owner);
  const since = Date.now();
  try {
    const kick = await ask(stack, mod, roomId, `!rtc kick ${boss.userId}`);
    expect(kick.text).toContain(`Kick ${boss.userId} from the call: refused, nothing was changed`);
    expect(kick.text).toContain(
      `${boss.userId} (PBOSS): ${boss.userId} has power level 100, not below your 50`,
    );
    const end = await ask(stack, mod, roomId, "!rtc end");
    expect(end.text).toContain("End call: refused, nothing was changed");
    expect(end.text).toContain(`${boss.userId} has power level 100, not below your 50`);
    console.log(`moderator against level 100: ${JSON.stringify(kick.text)}`);
    await sleep(2_000);
    await expectUntouched(api, roomId, calls, since);
    expect(commandsAudited(roomId)).toEqual([
      [mod.userId, "kick", "refused"],
      [mod.userId, "end", "refused"],
    ]);
    expect(auditOf(stack, roomId).filter((a) => a.action === "clear")).toEqual([]);
  } finally {
    await hangUp(calls);
  }
}, 180_000);

test("an end sent while the service is down and replayed after its restart is not run, and its sender is told why", async () => {
  const [owner, guest] = [await newUser(stack, "lowner", "LOWNER"), await newUser(stack, "lguest", "LGUEST")];
  const roomId = await commandRoom(stack, owner, [guest]);
  const calls = [await joinCall(stack, owner, roomId), await joinCall(stack, guest, roomId)];
  const api = MatrixHttp.of(owner);
  const since = Date.now();
  try {
    await stack.reconciler.stop();
    const sent = await api.sendMessage(roomId, "!rtc end");
    const sentAt = Date.now();
    await sleep((MAX_COMMAND_AGE_S + 3) * 1000);
    await stack.restartReconciler();
    stack.relay.setTarget(stack.reconciler.webhookUrl);
    // Synapse retries the failed transaction on its own back-off: the reply comes once it is delivered.
    const reply = await eventually(
      async () => {
        const events = await api.messages(roomId, { limit: 50 });
        const index = events.findIndex((e) => e.event_id === sent);
        return events
          .slice(0, index < 0 ? 0 : index)
          .find((e) => e.sender === stack.registration.botUserId && e.content.msgtype === "m.notice");
      },
      150_000,
      "a reply to the replayed end",
      500,
    );
    const text = String(reply.content.body);
    console.log(
      `late end: replied ${((reply.origin_server_ts - sentAt) / 1000).toFixed(1)} s after it was sent: ${JSON.stringify(text)}`,
    );
    const late =
      /^"end" was not run: it reached the service (?:(\d+)m )?(\d+)s after the homeserver received it \(the limit is 5s\)/.exec(
        text,
      );
    expect(late).not.toBeNull();
    expect(Number(late?.[1] ?? 0) * 60 + Number(late?.[2])).toBeGreaterThanOrEqual(MAX_COMMAND_AGE_S + 3);
    await sleep(2_000);
    await expectUntouched(api, roomId, calls, since);
    expect(commandsAudited(roomId)).toEqual([[owner.userId, "end", "late"]]);
    // A fresh end from the same sender still works.
    const fresh = await ask(stack, owner, roomId, "!rtc end");
    expect(fresh.text).toContain("Removed 2 participant(s) from the SFU.");
  } finally {
    await hangUp(calls);
  }
}, 300_000);
