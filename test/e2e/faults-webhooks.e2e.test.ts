// Fault matrix, LiveKit webhooks: dropped, duplicated, reordered, delayed past 30 s. Live members are never
// cleared; the ghost is cleared (by webhook or, when webhooks fail, by the poller).
import {
  crash,
  endCall,
  expectGhostCleared,
  expectLiveUntouched,
  liveAndGhost,
  type RelayMode,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "no-delayed-events" });

const cases: [string, RelayMode][] = [
  ["dropped entirely", "drop"],
  ["duplicated", "duplicate"],
  ["reordered", "reorder"],
  ["delayed past 30 s", { delayMs: 35_000 }],
];

test.each(cases)(
  "webhooks %s: live members kept, the ghost cleared",
  async (name, mode) => {
    stack.relay.setMode(mode);
    try {
      const s = await liveAndGhost(stack, name.split(" ")[0] ?? "wh");
      const crashedAt = await crash(s.ghost);
      const clearedAt = await expectGhostCleared(s, 90_000);
      console.log(
        `webhooks ${name}: injected ${JSON.stringify(mode)}; ghost cleared ${((clearedAt - crashedAt) / 1000).toFixed(1)} s after the crash`,
      );
      await expectLiveUntouched(stack, s);
      await endCall(s);
    } finally {
      stack.relay.setMode("pass");
    }
  },
  180_000,
);
