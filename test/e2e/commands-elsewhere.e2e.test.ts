// One management room on the real stack: commands about another room, by alias and id, judged in that room.
import { ask, commandRoom, eventually, joinCall, newUser, uniqueLocalpart } from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "delayed-events" });

test("a management room asks about a call room by alias and id; the permission is the call room's", async () => {
  const [owner, guest, outsider] = [
    await newUser(stack, "owner", "OWNER"),
    await newUser(stack, "guest", "GUEST"),
    await newUser(stack, "outsider", "OUTSIDER"),
  ];
  const aliasName = uniqueLocalpart("standup");
  const callRoom = await commandRoom(stack, owner, [guest], {}, { room_alias_name: aliasName });
  const alias = `#${aliasName}:${stack.synapse.serverName}`;
  // The outsider is the management room's creator: unlimited power there, none in the call room.
  const mgmt = await commandRoom(stack, outsider, [guest, owner]);
  const call = await joinCall(stack, owner, callRoom);

  const status = await eventually(
    async () => {
      const reply = await ask(stack, guest, mgmt, `!rtc status ${alias}`);
      return reply.text.includes("SFU: connected") ? reply : undefined;
    },
    30_000,
    "status by alias shows the owner connected",
    1000,
  );
  expect(status.text.split("\n")[0]).toBe(`About ${alias} (${callRoom}):`);
  expect(status.text).toContain(`${owner.userId} (OWNER)`);

  const refused = await ask(stack, outsider, mgmt, `!rtc status ${callRoom}`);
  expect(refused.text).toBe(
    `"status" about ${callRoom}: you are not joined to that room, so the service does not answer about it for you.`,
  );
  expect(refused.text).not.toContain(owner.userId);

  expect((await ask(stack, guest, mgmt, `!rtc clean ${callRoom}`)).text).toBe(
    `"clean" needs power level 50 or more in ${callRoom}.`,
  );
  const dry = await ask(stack, owner, mgmt, `!rtc clean --dry-run ${alias}`);
  expect(dry.text).toContain(`About ${alias} (${callRoom}):`);
  expect(dry.text).toContain("Clean (dry run)");

  const nowhere = `#${uniqueLocalpart("nowhere")}:${stack.synapse.serverName}`;
  expect((await ask(stack, guest, mgmt, `!rtc ghosts ${nowhere}`)).text).toBe(
    `No room has the alias ${nowhere}.`,
  );
  await call.participant?.terminate();
  await call.client.terminate();
});
