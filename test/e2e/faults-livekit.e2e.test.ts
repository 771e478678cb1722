// Fault matrix, LiveKit: its API down or hanging for a minute (no SFU-based verdict meanwhile), and the LiveKit
// server restarted mid-call (everyone vanishes at once; clients that come back are not cleared).
import {
  crash,
  endCall,
  expectGhostCleared,
  expectLiveUntouched,
  liveAndGhost,
  sleep,
  type Fault,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "no-delayed-events", faults: true });

const outages: [string, Fault][] = [
  ["down (500)", { kind: "status500" }],
  ["hanging", { kind: "hang" }],
];

test.each(outages)(
  "LiveKit API %s for a minute: nothing cleared by SFU absence meanwhile; the ghost cleared once it is back",
  async (name, fault) => {
    // Webhooks are lost too, so only the API could tell: nothing may be judged gone while it is out.
    stack.relay.setMode("drop");
    const proxy = stack.livekitApiProxy!;
    try {
      const s = await liveAndGhost(stack, name.split(" ")[0] ?? "lk");
      proxy.setRules([{ fault }]);
      const outageAt = Date.now();
      await crash(s.ghost);
      await sleep(60_000);
      const during = stack.reconciler
        .logs()
        .filter((l) => l.message === "clear: cleared" && Date.parse(l.time) >= outageAt);
      expect(during).toEqual([]);
      await expectLiveUntouched(stack, s);
      const failed = proxy.requests().filter((r) => r.at >= outageAt && r.fault !== "pass").length;
      proxy.setRules([]);
      const backAt = Date.now();
      const clearedAt = await expectGhostCleared(s, 120_000);
      console.log(
        `LiveKit API ${name}: ${failed} API calls failed during the outage; ghost cleared ${((clearedAt - backAt) / 1000).toFixed(1)} s after recovery`,
      );
      await expectLiveUntouched(stack, s);
      await endCall(s);
    } finally {
      proxy.setRules([]);
      stack.relay.setMode("pass");
    }
  },
  300_000,
);

test("the LiveKit server restarted mid-call: reconnecting clients are not cleared, the one that does not come back is", async () => {
  const s = await liveAndGhost(stack, "restart", true);
  await stack.livekit.restart();
  const restartedAt = Date.now();
  // The ghost's app dies with the SFU: neither its participant nor its Matrix client comes back.
  await crash(s.ghost);
  for (const call of s.live) await call.participant?.waitFor("reconnected", 90_000);
  const clearedAt = await expectGhostCleared(s, 150_000);
  console.log(
    `LiveKit restart: live participants reconnected; ghost cleared ${((clearedAt - restartedAt) / 1000).toFixed(1)} s after the restart`,
  );
  await sleep(10_000);
  await expectLiveUntouched(stack, s);
  await endCall(s);
}, 300_000);
