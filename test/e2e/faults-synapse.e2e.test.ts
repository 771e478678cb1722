// Fault matrix, Synapse: 429s and 500s to the service's reads and writes; transactions cut after the service got
// them (Synapse retries: processed once); Synapse stopped and restarted while a transaction is pending.
import {
  crash,
  endCall,
  eventually,
  expectGhostCleared,
  expectLiveUntouched,
  joinCall,
  liveAndGhost,
  MatrixHttp,
  newRoom,
  newUser,
  query,
  sleep,
  type Fault,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "no-delayed-events", faults: true });

const faults: [string, Fault][] = [
  ["429 with retry_after_ms", { kind: "status429", retryAfterMs: 2_000 }],
  ["500", { kind: "status500" }],
];

test.each(faults)(
  "Synapse answers %s to every read and write while the ghost is judged and for 20 s after: nothing live cleared, the ghost cleared after",
  async (name, fault) => {
    const proxy = stack.homeserverProxy!;
    const s = await liveAndGhost(stack, name.startsWith("429") ? "rl" : "err");
    try {
      await crash(s.ghost);
      const since = stack.reconciler.logs().length;
      await stack.reconciler.waitForLog(
        (l) =>
          l.message === "LiveKit webhook" &&
          l.event === "participant_left" &&
          l.identity === s.ghost.identity,
        60_000,
      );
      const faultFrom = Date.now();
      proxy.setRules([{ path: /^\/_matrix\/client\//, fault }]);
      await stack.reconciler.waitForLog(
        (l) => l.message === "verdict: ghost" && l.user === s.ghost.user.userId,
        90_000,
        since,
      );
      await sleep(20_000);
      const refused = proxy.requests().filter((r) => r.at >= faultFrom && r.fault !== "pass");
      proxy.setRules([]);
      const recoveredAt = Date.now();
      const clearedAt = await expectGhostCleared(s, 90_000);
      const kinds = [
        ...new Set(
          refused.map(
            (r) =>
              `${r.method} ${r.path
                .replace(/![^/]+/, "{room}")
                .split("/")
                .slice(0, 7)
                .join("/")}`,
          ),
        ),
      ];
      console.log(
        `Synapse ${name}: ${refused.length} requests refused (${kinds.slice(0, 4).join("; ")}); ghost cleared ${((clearedAt - recoveredAt) / 1000).toFixed(1)} s after recovery`,
      );
      expect(refused.length).toBeGreaterThan(0);
      if (fault.kind === "status429") {
        // The service waits what the server asks before trying the same request again.
        const byPath = new Map<string, number[]>();
        for (const r of refused)
          byPath.set(`${r.method} ${r.path}`, [...(byPath.get(`${r.method} ${r.path}`) ?? []), r.at]);
        for (const times of byPath.values())
          for (let i = 1; i < times.length; i++)
            expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1_900);
      }
      await expectLiveUntouched(stack, s);
    } finally {
      proxy.setRules([]);
      await endCall(s);
    }
  },
  300_000,
);

test("a transaction cut after the service got it is retried by Synapse and processed once", async () => {
  const proxy = stack.appserviceProxy!;
  const user = await newUser(stack, "cut", "CUTDEV");
  const roomId = await newRoom(user);
  const rule = {
    method: "PUT",
    path: /\/transactions\//,
    bodyIncludes: `_${user.userId}_CUTDEV_m.call`,
    times: 1,
    fault: { kind: "forward-then-drop" } as const,
  };
  proxy.setRules([rule]);
  const call = await joinCall(stack, user, roomId, { participant: false });
  await stack.reconciler.waitForLog(
    (l) => l.message === "membership joined" && l.user === user.userId,
    30_000,
  );
  // Synapse saw no answer, marks the service down and its recoverer sends the same transaction again.
  const cut = await eventually(
    async () => Promise.resolve(proxy.requests().find((r) => r.fault === "forward-then-drop")),
    30_000,
    "the transaction was cut",
  );
  const retried = await eventually(
    async () =>
      Promise.resolve(
        proxy.requests().find((r) => r.path === cut.path && r.fault === "pass" && r.status === 200),
      ),
    90_000,
    "Synapse sent the same transaction again and the service answered",
  );
  await sleep(2_000);
  const joins = stack.reconciler
    .logs()
    .filter((l) => l.message === "membership joined" && l.user === user.userId);
  const sessions = query<{ n: number }>(
    stack,
    "SELECT COUNT(*) AS n FROM user_sessions WHERE user_id = ?",
    user.userId,
  )[0]?.n;
  console.log(
    `transaction cut after delivery, retried by Synapse ${((retried.at - cut.at) / 1000).toFixed(1)} s later: joins processed ${joins.length}, sessions ${sessions}`,
  );
  expect(rule.times).toBe(0);
  expect(joins).toHaveLength(1);
  expect(sessions).toBe(1);
  await call.client.terminate();
}, 180_000);

test("Synapse stopped and restarted while a transaction is pending: delivered after the restart, processed once", async () => {
  const proxy = stack.appserviceProxy!;
  const user = await newUser(stack, "pending", "PENDDEV");
  const api = MatrixHttp.of(user);
  const roomId = await newRoom(user);
  // The service is unreachable for Synapse: the membership's transaction stays pending in Synapse.
  proxy.setRules([{ path: /\/transactions\//, fault: { kind: "drop" } }]);
  const call = await joinCall(stack, user, roomId, { participant: false });
  await sleep(3_000);
  expect(
    stack.reconciler.logs().some((l) => l.message === "membership joined" && l.user === user.userId),
  ).toBe(false);
  await stack.synapse.restart(3_000);
  proxy.setRules([]);
  // New activity after the restart makes Synapse send again, oldest transaction first.
  await api.sendMessage(roomId, "back");
  await stack.reconciler.waitForLog(
    (l) => l.message === "membership joined" && l.user === user.userId,
    120_000,
  );
  await sleep(3_000);
  const joins = stack.reconciler
    .logs()
    .filter((l) => l.message === "membership joined" && l.user === user.userId);
  expect(joins).toHaveLength(1);
  expect(
    query<{ n: number }>(stack, "SELECT COUNT(*) AS n FROM user_sessions WHERE user_id = ?", user.userId)[0]
      ?.n,
  ).toBe(1);
  await call.client.kill();
}, 240_000);
