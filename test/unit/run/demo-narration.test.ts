// The demo narrates the service's log in an operator's words: people by name, the grace and the API's confirmation
// between LiveKit's notice and the clear, and the clear's own echo not mistaken for the person leaving.
import { Narrator, type ServiceLine } from "../../../scripts/demo/narrate";

const ALICE = "@alice-x1:localhost";
const BOB = "@bob-x2:localhost";
const ROOM = "!room";
const T = 1_796_287_200_000;

const narrator = () =>
  new Narrator({
    names: new Map([
      [ALICE, "Alice"],
      [BOB, "Bob"],
    ]),
    sfuLeaveGraceMs: 5000,
    clientLeaveGraceMs: 2000,
  });

// Shaped like the service's real lines (see docs/operations.md, "Reading the logs").
const joined = (user: string, device: string): ServiceLine => ({
  message: "membership joined",
  room: ROOM,
  user,
  device,
  format: "session",
  at: T,
});
const left = (user: string, device: string, cause = "left"): ServiceLine => ({
  message: "membership left",
  room: ROOM,
  user,
  device,
  format: "session",
  cause,
});
const webhook = (event: string, identity: string, reason: string | null = null): ServiceLine => ({
  message: "LiveKit webhook",
  deployment: "local",
  event,
  identity,
  disconnect_reason: reason,
});
const evidence = {
  now: T + 20_100,
  goneSince: T + 20_000,
  graceMs: 0,
  sfu: "observed",
  leaveKind: "unreachable",
};
const ghost: ServiceLine = {
  message: "verdict: ghost",
  room: ROOM,
  user: BOB,
  device: "BOBLAPTOP",
  member_key: `${ROOM}\u0000state\u0000org.matrix.msc3401.call.member\u0000_${BOB}_BOBLAPTOP_m.call`,
  format: "session",
  reason: "left_sfu",
  evidence,
};
const cleared: ServiceLine = {
  message: "clear: cleared",
  room: ROOM,
  user: BOB,
  device: "BOBLAPTOP",
  reason: "left_sfu",
  method: "write_as_user",
  result: "cleared",
  detail: `wrote {} to the key as ${BOB}`,
  evidence,
};

function tellAll(n: Narrator, lines: ServiceLine[]): string[] {
  return lines.flatMap((l) => n.tell(l));
}

test("a crash: LiveKit's notice, the grace, the verdict, the API's confirmation and the removal, in that order", () => {
  const n = narrator();
  const told = tellAll(n, [
    joined(ALICE, "ALICEPHONE"),
    webhook("participant_joined", `${ALICE}:ALICEPHONE`),
    joined(BOB, "BOBLAPTOP"),
    webhook("participant_joined", `${BOB}:BOBLAPTOP`),
    webhook("participant_left", `${BOB}:BOBLAPTOP`, "CONNECTION_TIMEOUT"),
    ghost,
    // The clear's own write comes back as the membership's end before the clear is logged.
    left(BOB, "BOBLAPTOP"),
    cleared,
  ]);
  expect(told).toEqual([
    "service: Alice joined the call (device ALICEPHONE)",
    "LiveKit → service: Alice connected to the SFU",
    "service: Bob joined the call (device BOBLAPTOP)",
    "LiveKit → service: Bob connected to the SFU",
    "LiveKit → service: Bob's connection timed out (participant_left, CONNECTION_TIMEOUT)",
    "service: Bob's membership is still in the room; LiveKit says this only after about 20 s without a sign of life, so there is no grace: the service acts once LiveKit's API confirms it",
    "service: LiveKit timed Bob out: the membership is a ghost (left_sfu, connection lost)",
    "service: asks LiveKit's API once more: Bob is not connected",
    "service: removed Bob's membership by writing the leave as Bob (appservice masquerade; no delayed leave to send)",
  ]);
  expect(n.wasRemoved(BOB, "BOBLAPTOP")).toBe(true);
  expect(n.wasRemoved(ALICE, "ALICEPHONE")).toBe(false);
});

test("a clean hang-up is told as leaving, with no grace and no verdict", () => {
  const n = narrator();
  tellAll(n, [joined(ALICE, "ALICEPHONE"), webhook("participant_joined", `${ALICE}:ALICEPHONE`)]);
  expect(
    tellAll(n, [
      webhook("participant_left", `${ALICE}:ALICEPHONE`, "CLIENT_INITIATED"),
      left(ALICE, "ALICEPHONE"),
    ]),
  ).toEqual([
    "LiveKit → service: Alice left the SFU (hung up)",
    "service: Alice left the call (the app removed its membership)",
  ]);
});

test("the API confirmation is only claimed for verdicts the clearer checks with the API, and a dry run writes nothing", () => {
  const n = narrator();
  expect(n.tell({ ...cleared, reason: "expired", method: "write_as_bot" })).toEqual([
    "service: removed Bob's membership by overwriting it with the bot's power level",
  ]);
  expect(n.tell({ ...cleared, message: "clear: would_clear" })).toEqual([
    "service (dry run): would remove Bob's membership; nothing is written",
  ]);
});

test("no jargon: no format names, raw contents, event types or state keys", () => {
  const n = narrator();
  const told = tellAll(n, [
    joined(BOB, "BOBLAPTOP"),
    webhook("participant_left", `${BOB}:BOBLAPTOP`, "CONNECTION_TIMEOUT"),
    ghost,
    left(BOB, "BOBLAPTOP"),
    cleared,
    left(ALICE, "ALICEPHONE", "expired"),
  ]).join("\n");
  for (const jargon of ["session", "{}", "m.call", "call.member", "_@", "cause:"])
    expect(told).not.toContain(jargon);
});
