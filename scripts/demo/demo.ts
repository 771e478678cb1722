// `npm run demo`: a local Synapse and LiveKit, the service registered with them, a real two-person call, one
// person's app crashing, and a narrated account of what the service sees and does, then its bot's replies.
import * as path from "node:path";
import {
  ask,
  CALL_MEMBER,
  inviteBot,
  joinCall,
  killAllLeftovers,
  MatrixHttp,
  newRoom,
  newUser,
  startStack,
  type LogLine,
  type Stack,
} from "../../test/e2e/harness";

const t0 = Date.now();
const stamp = (at = Date.now()) => `+${((at - t0) / 1000).toFixed(1).padStart(5)}s`;
const say = (text: string, at?: number) => {
  console.log(`${stamp(at)}  ${text}`);
};

/** Prints the service's own log lines that tell the story, as they happen. */
function narrate(stack: Stack): () => void {
  let seen = 0;
  const tell = (l: LogLine): string | null => {
    switch (l.message) {
      case "membership joined":
        return `service: ${String(l.user)} (${String(l.device)}) joined the call [${String(l.format)} membership]`;
      case "membership left":
        return `service: ${String(l.user)} (${String(l.device)}) left the call (cause: ${String(l.cause)})`;
      case "LiveKit webhook":
        return l.event === "participant_joined" || l.event === "participant_left"
          ? `LiveKit → service: ${l.event} ${String(l.identity)}${typeof l.disconnect_reason === "string" ? ` (${l.disconnect_reason})` : ""}`
          : null;
      case "verdict: ghost":
        return `service: verdict GHOST for ${String(l.user)} (${String(l.device)}): ${String(l.reason)}`;
      case "clear: cleared":
        return `service: cleared ${String(l.user)}'s membership (${String(l.method)}): ${String(l.detail)}`;
      default:
        return null;
    }
  };
  const timer = setInterval(() => {
    const lines = stack.reconciler.logs();
    for (; seen < lines.length; seen++) {
      const line = lines[seen];
      const text = line ? tell(line) : null;
      if (line && text) say(text, Date.parse(line.time));
    }
  }, 100);
  return () => {
    clearInterval(timer);
  };
}

async function main(): Promise<void> {
  say("starting a local Synapse and LiveKit server, and matrix-rtc-reconciler registered with both…");
  const stack = await startStack({ profile: "no-delayed-events", config: { logging: { level: "info" } } });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop().catch(() => undefined);
    killAllLeftovers();
  };
  process.on("SIGINT", () => {
    console.log("\ninterrupted: stopping everything this demo started…");
    void stop().then(() => process.exit(130));
  });
  const stopNarration = narrate(stack);
  try {
    say(
      `Synapse at ${stack.synapse.baseUrl} (no delayed events, like matrix.org), LiveKit at ${stack.livekit.wsUrl}`,
    );
    say(`service ready; its bot is ${stack.registration.botUserId}`);
    const alice = await newUser(stack, "alice", "ALICEPHONE");
    const bob = await newUser(stack, "bob", "BOBLAPTOP");
    const roomId = await newRoom(alice, { name: "Demo call" });
    await MatrixHttp.of(alice).invite(roomId, bob.userId);
    await MatrixHttp.of(bob).join(roomId);
    await inviteBot(stack, alice, roomId);
    say(`${alice.userId} created ${roomId}, invited ${bob.userId} and the bot`);
    const aliceCall = await joinCall(stack, alice, roomId);
    const bobCall = await joinCall(stack, bob, roomId);
    say(
      "both are in the call: two matrix-js-sdk clients (memberships in room state) and two LiveKit participants",
    );
    await new Promise((r) => setTimeout(r, 3000));
    const crashAt = Date.now();
    await Promise.all([bobCall.client.kill(), bobCall.participant?.kill()]);
    say(
      `bob's app crashes (SIGKILL of his Matrix client and his LiveKit participant): his membership stays behind`,
    );
    say("without the service it would stay for 4 hours; LiveKit notices the lost connection in about 20 s…");
    const cleared = await stack.reconciler.waitForLog(
      (l) => l.message === "clear: cleared" && l.user === bob.userId,
      90_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    say(`bob's ghost lived ${((Date.parse(cleared.time) - crashAt) / 1000).toFixed(1)} s`);
    const state = await MatrixHttp.of(alice).getState(roomId);
    say("room state now:");
    for (const e of state.filter((s) => s.type === CALL_MEMBER)) {
      const empty = Object.keys(e.content).length === 0;
      console.log(
        `          ${e.state_key ?? ""}: ${empty ? "{} (left)" : "in the call"} — written by ${e.sender}`,
      );
    }
    say(`${alice.userId} asks the bot: !rtc status`);
    console.log(indent((await ask(stack, alice, roomId, "!rtc status")).text));
    await Promise.all([aliceCall.participant?.terminate(), aliceCall.client.terminate()]);
    say("alice hangs up (a clean leave)");
    await stack.reconciler.waitForLog(
      (l) => l.message === "membership left" && l.user === alice.userId,
      30_000,
    );
    say(`${alice.userId} asks the bot: !rtc history`);
    console.log(indent((await ask(stack, alice, roomId, "!rtc history")).text));
    stopNarration();
    console.log("");
    console.log(`database:     ${stack.reconciler.dbPath}`);
    console.log(`service log:  ${stack.reconciler.logFile} (JSON lines; every decision with its evidence)`);
    console.log(`config:       ${stack.reconciler.configFile}`);
    console.log(`all logs:     ${path.dirname(path.dirname(stack.reconciler.logFile))}`);
  } finally {
    stopNarration();
    await stop();
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `          | ${l}`)
    .join("\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("demo failed:", err instanceof Error ? err.message : err);
    killAllLeftovers();
    process.exit(1);
  },
);
