// Ghost lifetime on the real stack: scenario "client and participant SIGKILLed" repeated, with the split between
// LiveKit's own detection (kill → participant_left) and the service's overhead (participant_left → leave written).
// A second, live member stays in each call: any clear of it is a false clear.
import {
  auditOf,
  CALL_MEMBER,
  isEmpty,
  joinCall,
  MatrixHttp,
  newRoom,
  newUser,
  startStack,
  waitForState,
} from "../../test/e2e/harness";
import { bench, percentile } from "./report";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function main(): Promise<void> {
  const stack = await startStack({ profile: "no-delayed-events" });
  const lifetimes: number[] = [];
  const detections: number[] = [];
  const overheads: number[] = [];
  let falseClears = 0;
  try {
    for (let run = 0; run < RUNS; run++) {
      const user = await newUser(stack, "ghost", `GHOST${run}`);
      const companion = await newUser(stack, "live", `LIVE${run}`);
      const roomId = await newRoom(user);
      await MatrixHttp.of(user).invite(roomId, companion.userId);
      await MatrixHttp.of(companion).join(roomId);
      const live = await joinCall(stack, companion, roomId);
      const call = await joinCall(stack, user, roomId);
      const killedAt = Date.now();
      await Promise.all([call.client.kill(), call.participant?.kill()]);
      const left = await stack.reconciler.waitForLog(
        (l) =>
          l.message === "LiveKit webhook" && l.event === "participant_left" && l.identity === call.identity,
        60_000,
      );
      const clearedAt = await waitForState(
        MatrixHttp.of(user),
        call.roomId,
        CALL_MEMBER,
        call.stateKey,
        isEmpty,
        60_000,
      );
      const leftAt = Date.parse(left.time);
      const liveContent = await MatrixHttp.of(companion).getStateEvent(roomId, CALL_MEMBER, live.stateKey);
      const wrongs = auditOf(stack, roomId).filter(
        (a) => (a.action === "clear" || a.action === "false_positive") && a.user_id === companion.userId,
      );
      if (isEmpty(liveContent) || wrongs.length > 0) falseClears++;
      await Promise.all([live.client.terminate(), live.participant?.terminate()]);
      lifetimes.push((clearedAt - killedAt) / 1000);
      detections.push((leftAt - killedAt) / 1000);
      overheads.push((clearedAt - leftAt) / 1000);
      console.error(
        `run ${run + 1}: lifetime ${lifetimes.at(-1)?.toFixed(1)} s, LiveKit ${detections.at(-1)?.toFixed(1)} s`,
      );
    }
  } finally {
    await stack.stop();
  }
  bench("ghost_lifetime_p50_s", percentile(lifetimes, 50), "s");
  bench("ghost_lifetime_p95_s", percentile(lifetimes, 95), "s");
  bench("sfu_detect_p50_s", percentile(detections, 50), "s");
  bench("overhead_p50_s", percentile(overheads, 50), "s");
  bench("overhead_p95_s", percentile(overheads, 95), "s");
  bench("false_clears", falseClears, "count");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
