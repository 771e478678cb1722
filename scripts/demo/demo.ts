// `npm run demo`: a local Synapse and LiveKit, the service registered with them, a real two-person call, one
// person's app crashing, and a narrated account of what the service sees and does, then its bot's replies.
import * as path from "node:path";
import { loadConfig } from "../../src/config/load";
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
  type Stack,
} from "../../test/e2e/harness";
import { handleInterruption } from "./interrupt";
import { Narrator } from "./narrate";

const t0 = Date.now();
const stamp = (at: number) => `+${((at - t0) / 1000).toFixed(1).padStart(5)}s`;

/**
 * What is printed, in the order things happened: the service's lines are read from its log as they come, and
 * everything the log holds is printed before the demo says what it does next.
 */
class Transcript {
  private seen = 0;
  private narrator: Narrator | null = null;
  private stack: Stack | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly muted: () => boolean) {}

  follow(stack: Stack, narrator: Narrator): Narrator {
    this.stack = stack;
    this.narrator = narrator;
    this.timer = setInterval(() => {
      this.flush();
    }, 100);
    return narrator;
  }

  /** Prints the service's lines logged so far. */
  flush(): void {
    const lines = this.stack?.reconciler.logs() ?? [];
    for (; this.seen < lines.length; this.seen++) {
      const line = lines[this.seen];
      if (line === undefined || this.narrator === null) continue;
      for (const sentence of this.narrator.tell(line)) this.print(sentence, Date.parse(line.time));
    }
  }

  /** The demo's own line: everything the service logged before it comes first. */
  say(text: string): void {
    this.flush();
    this.print(text, Date.now());
  }

  /** Lines printed as they are (a bot reply, the closing notes). */
  raw(text: string): void {
    if (!this.muted()) console.log(text);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private print(text: string, at: number): void {
    if (!this.muted()) console.log(`${stamp(at)}  ${text}`);
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `          | ${l}`)
    .join("\n");
}

/** `_@user:server_DEVICE_m.call` → user and device, for the people the demo knows. */
function memberOfKey(key: string, users: readonly string[]): { userId: string; deviceId: string } | null {
  for (const userId of users) {
    const prefix = `_${userId}_`;
    if (key.startsWith(prefix))
      return { userId, deviceId: key.slice(prefix.length).replace(/_m\.call$/, "") };
  }
  return null;
}

let stack: Stack | null = null;
let stopping: Promise<void> | null = null;
/** Stops everything this demo started; one run however many ask. */
const stopAll = (): Promise<void> =>
  (stopping ??= (async () => {
    await stack?.stop().catch(() => undefined);
    killAllLeftovers();
  })());

const interruption = handleInterruption(stopAll, () => {
  killAllLeftovers();
});
const transcript = new Transcript(interruption.interrupted);

async function main(): Promise<void> {
  transcript.say(
    "starting a local Synapse and LiveKit server, and matrix-rtc-reconciler registered with both…",
  );
  const started = await startStack({ profile: "no-delayed-events", config: { logging: { level: "info" } } });
  stack = started;
  try {
    transcript.say(
      `Synapse at ${started.synapse.baseUrl} (no delayed events, like matrix.org), LiveKit at ${started.livekit.wsUrl}`,
    );
    transcript.say(`the service is ready; its bot is ${started.registration.botUserId}`);
    const config = loadConfig(started.reconciler.configFile);
    const alice = await newUser(started, "alice", "ALICEPHONE");
    const bob = await newUser(started, "bob", "BOBLAPTOP");
    const names = new Map([
      [alice.userId, "Alice"],
      [bob.userId, "Bob"],
    ]);
    const narrator = transcript.follow(
      started,
      new Narrator({
        names,
        sfuLeaveGraceMs: config.reconciliation.sfu_leave_grace,
        clientLeaveGraceMs: config.reconciliation.client_leave_grace,
      }),
    );
    const roomId = await newRoom(alice, { name: "Demo call" });
    await MatrixHttp.of(alice).invite(roomId, bob.userId);
    await MatrixHttp.of(bob).join(roomId);
    await inviteBot(started, alice, roomId);
    transcript.say(`Alice (${alice.userId}) created a room and invited Bob (${bob.userId}) and the bot`);
    const aliceCall = await joinCall(started, alice, roomId);
    const bobCall = await joinCall(started, bob, roomId);
    await started.reconciler.waitForLog(
      (l) =>
        l.message === "LiveKit webhook" &&
        l.event === "participant_joined" &&
        l.identity === bobCall.identity,
      30_000,
    );
    transcript.say(
      "both are in the call: each has a Matrix client (a membership in room state) and a LiveKit connection",
    );
    await pause(3000);
    transcript.say("Bob's app crashes (his Matrix client and his LiveKit connection are killed)");
    const crashAt = Date.now();
    await Promise.all([bobCall.client.kill(), bobCall.participant?.kill()]);
    transcript.say(
      "his membership stays behind (without the service, for 4 hours); LiveKit notices in about 20 s…",
    );
    const cleared = await started.reconciler.waitForLog(
      (l) => l.message === "clear: cleared" && l.user === bob.userId,
      90_000,
    );
    await pause(500);
    transcript.say(
      `Bob's membership was a ghost for ${((Date.parse(cleared.time) - crashAt) / 1000).toFixed(1)} s after the crash`,
    );
    const state = await MatrixHttp.of(alice).getState(roomId);
    transcript.say("the call memberships in the room now:");
    for (const e of state.filter((s) => s.type === CALL_MEMBER)) {
      const who = memberOfKey(e.state_key ?? "", [alice.userId, bob.userId]);
      const name = who ? narrator.nameOf(who.userId) : (e.state_key ?? "");
      const device = who ? ` (${who.deviceId})` : "";
      const left = Object.keys(e.content).length === 0;
      const how = !left
        ? "in the call"
        : who && narrator.wasRemoved(who.userId, who.deviceId)
          ? `left (the service wrote the leave as ${name})`
          : "left";
      transcript.raw(`          ${name}${device}: ${how}`);
    }
    transcript.say("Alice asks the bot: !rtc status");
    transcript.raw(indent((await ask(started, alice, roomId, "!rtc status")).text));
    transcript.say("Alice hangs up");
    await Promise.all([aliceCall.participant?.terminate(), aliceCall.client.terminate()]);
    await Promise.all([
      started.reconciler.waitForLog(
        (l) => l.message === "membership left" && l.user === alice.userId,
        30_000,
      ),
      started.reconciler.waitForLog(
        (l) =>
          l.message === "LiveKit webhook" &&
          l.event === "participant_left" &&
          l.identity === aliceCall.identity,
        30_000,
      ),
    ]);
    transcript.say("Alice asks the bot: !rtc history");
    transcript.raw(indent((await ask(started, alice, roomId, "!rtc history")).text));
    transcript.flush();
    transcript.stop();
    transcript.raw("");
    transcript.raw(`database:     ${started.reconciler.dbPath}`);
    transcript.raw(
      `service log:  ${started.reconciler.logFile} (JSON lines; every decision with its evidence)`,
    );
    transcript.raw(`config:       ${started.reconciler.configFile}`);
    transcript.raw(`all logs:     ${path.dirname(path.dirname(started.reconciler.logFile))}`);
  } finally {
    transcript.stop();
    await stopAll();
  }
}

main().then(
  () => {
    // After Ctrl-C the interruption handler ends the process once everything is stopped.
    if (!interruption.interrupted()) process.exit(0);
  },
  (err: unknown) => {
    if (interruption.interrupted()) return;
    console.error("demo failed:", err instanceof Error ? err.message : err);
    killAllLeftovers();
    process.exit(1);
  },
);
