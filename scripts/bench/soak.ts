// Soak on the real stack: hundreds of rooms of raw-event membership churn, a few real clients that crash and
// rejoin, signed webhooks at a steady rate; counts false clears and missed ghosts, and watches the service's RSS.
import {
  CALL_MEMBER,
  crash,
  isEmpty,
  MatrixHttp,
  rawMembershipEvent,
  sleep,
  startStack,
  type InCall,
  type LogLine,
} from "../../test/e2e/harness";
import { participantWebhookBody, webhookHeaders } from "../../test/support/livekit-webhook";
import { bench, percentile } from "./report";
import {
  EXPIRES_MS,
  heapUsedMb,
  membership,
  realCall,
  rssMb,
  sendRaw,
  setUp,
  type RawDevice,
} from "./soak-world";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const ROOMS = Number(process.env.SOAK_ROOMS ?? 200);
const CHURN_PER_S = Number(process.env.SOAK_CHURN_PER_S ?? 2);
const WEBHOOKS_PER_S = Number(process.env.SOAK_WEBHOOKS_PER_S ?? 20);
const REAL_CALLS = 2; // rooms with two real members each
const CRASH_EVERY_MS = Number(process.env.SOAK_CRASH_EVERY_S ?? 240) * 1000;
/** A raw membership still there this long after it expired is a missed ghost. */
const MISSED_AFTER_MS = 90_000;
/** A membership cleared this long before its expiry (server clock vs ours, same machine) is a false clear. */
const CLOCK_MARGIN_MS = 2_000;
const note = (text: string) => {
  console.error(`[soak +${((Date.now() - t0) / 60_000).toFixed(1)} min] ${text}`);
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

let t0 = Date.now();

async function main(): Promise<void> {
  // Info-level logs, as an operator runs it (the e2e default, debug, is far chattier).
  const stack = await startStack({ profile: "no-delayed-events", config: { logging: { level: "info" } } });
  const devices = await setUp(stack, ROOMS);
  const reals: InCall[] = [];
  for (let i = 0; i < REAL_CALLS; i++) reals.push(...(await realCall(stack, `real${i}`)));
  const liveReal = new Set(reals.map((c) => c.user.userId));
  const crashedReal = new Set<string>();
  const realLifetimes: number[] = [];
  const rawLifetimes: number[] = [];
  const falseClears: LogLine[] = [];
  let clearsSeen = 0;
  let logCursor = 0;
  let webhooksSent = 0;
  let webhookFailures = 0;
  let eventsSent = 0;
  const rss: number[] = [];
  const heap: number[] = [];
  t0 = Date.now();
  const endAt = t0 + MINUTES * 60_000;
  note(`${ROOMS} rooms, ${devices.length} raw devices, ${reals.length} real members; running ${MINUTES} min`);

  const send = async (d: RawDevice, kind: "join" | "refresh" | "leave"): Promise<void> => {
    await sendRaw(d, kind);
    eventsSent++;
  };

  // Churn: idle devices join; live ones leave (80 %) or are abandoned, i.e. become ghosts (20 %).
  const churn = async (): Promise<void> => {
    while (Date.now() < endAt) {
      const d = pick(devices);
      if (d.state === "idle") {
        await send(d, "join");
        d.state = "live";
      } else if (d.state === "live") {
        if (Math.random() < 0.8) {
          d.state = "idle";
          await send(d, "leave");
        } else {
          d.state = "abandoned";
        }
      }
      await sleep(1000 / CHURN_PER_S);
    }
  };

  // Live raw devices are refreshed well before they expire, as a client would.
  const refresh = async (): Promise<void> => {
    while (Date.now() < endAt) {
      for (const d of devices) {
        if (d.state === "live" && Date.now() - d.lastSentAt > EXPIRES_MS / 2) await send(d, "refresh");
      }
      await sleep(2_000);
    }
  };

  // Abandoned devices: cleared by the service (lifetime from expiry), or missed when still there much later.
  const audit = async (): Promise<void> => {
    while (Date.now() < endAt + MISSED_AFTER_MS) {
      for (const d of devices) {
        if (d.state !== "abandoned" || Date.now() < d.validUntil) continue;
        const ev = rawMembershipEvent(membership(d));
        const content = await MatrixHttp.of(d.owner).getStateEvent(d.roomId, ev.type, ev.stateKey);
        if (isEmpty(content)) {
          rawLifetimes.push((Date.now() - d.validUntil) / 1000);
          d.state = "idle";
        } else if (!d.missed && Date.now() > d.validUntil + MISSED_AFTER_MS) {
          d.missed = true;
          note(`missed ghost: ${d.owner.userId} ${d.deviceId} in ${d.roomId}`);
        }
      }
      await sleep(5_000);
    }
  };

  // Every clear the service made, judged against what we know: a live member cleared is a false clear.
  const judgeClears = (): void => {
    const lines = stack.reconciler.logs();
    for (; logCursor < lines.length; logCursor++) {
      const l = lines[logCursor] as LogLine;
      if (l.message !== "clear: cleared") continue;
      clearsSeen++;
      const at = Date.parse(l.time);
      const raw = devices.find(
        (d) => d.owner.userId === l.user && d.deviceId === l.device && l.room === d.roomId,
      );
      const sentBefore = raw?.sends.filter((x) => x.at <= at).at(-1);
      const falseRaw = sentBefore !== undefined && at < sentBefore.validUntil - CLOCK_MARGIN_MS;
      const falseReal = liveReal.has(String(l.user)) && !crashedReal.has(String(l.user));
      if (falseRaw || falseReal) {
        falseClears.push(l);
        note(`FALSE CLEAR: ${JSON.stringify(l)}`);
      }
    }
  };

  // Real members: every few minutes one crashes (a real ghost, cleared through LiveKit) and a new pair joins.
  const crashes = async (): Promise<void> => {
    let round = 0;
    while (Date.now() + CRASH_EVERY_MS < endAt) {
      await sleep(CRASH_EVERY_MS);
      const victim = reals.shift();
      if (!victim) break;
      crashedReal.add(victim.user.userId);
      const killedAt = await crash(victim);
      const api = MatrixHttp.of(victim.user);
      const deadline = killedAt + 120_000;
      for (;;) {
        const content = await api.getStateEvent(victim.roomId, CALL_MEMBER, victim.stateKey);
        if (isEmpty(content)) {
          realLifetimes.push((Date.now() - killedAt) / 1000);
          break;
        }
        if (Date.now() > deadline) {
          note(`real ghost not cleared within 120 s: ${victim.user.userId}`);
          break;
        }
        await sleep(500);
      }
      note(`real crash ${round + 1}: ghost lifetime ${realLifetimes.at(-1)?.toFixed(1) ?? "-"} s`);
      const fresh = await realCall(stack, `rejoin${round++}`);
      for (const c of fresh) liveReal.add(c.user.userId);
      reals.push(...fresh);
    }
  };

  // Signed webhooks for participants no membership names, at a steady rate (the service's busiest input).
  const webhooks = async (): Promise<void> => {
    let seq = 0;
    while (Date.now() < endAt) {
      const n = seq++;
      const sid = `PA_soak${Math.floor(n / 2)}`;
      const body = participantWebhookBody({
        id: `EV_soak${n}`,
        event: n % 2 === 0 ? "participant_joined" : "participant_left",
        room: `soak-room-${n % 500}`,
        identity: `@noone${n % 1000}:elsewhere.example:DEV`,
        sid,
      });
      const res = await fetch(stack.reconciler.webhookUrl, {
        method: "POST",
        headers: await webhookHeaders(body, stack.livekit.apiKey, stack.livekit.apiSecret),
        body,
      }).catch(() => null);
      if (res?.status === 200) webhooksSent++;
      else webhookFailures++;
      await sleep(1000 / WEBHOOKS_PER_S);
    }
  };

  const sampler = async (): Promise<void> => {
    while (Date.now() < endAt) {
      rss.push(rssMb(stack.reconciler.pid));
      const used = await heapUsedMb(stack.reconciler.metricsUrl);
      if (used !== null) heap.push(used);
      judgeClears();
      if (rss.length % 12 === 0)
        note(
          `rss ${rss.at(-1)?.toFixed(0)} MB, events ${eventsSent}, webhooks ${webhooksSent}, clears ${clearsSeen}, false ${falseClears.length}`,
        );
      await sleep(10_000);
    }
  };

  try {
    await Promise.all([churn(), refresh(), audit(), crashes(), webhooks(), sampler()]);
    judgeClears();
  } finally {
    await Promise.allSettled(
      reals.map(async (c) => Promise.all([c.client.terminate(), c.participant?.terminate()])),
    );
    await stack.stop();
  }
  // Growth: the last tenth of the run against the tenth after warm-up (20-30 % in; samples every 10 s).
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const growth = (xs: number[]) => {
    const n = xs.length;
    const warm = xs.slice(Math.floor(n * 0.2), Math.max(Math.floor(n * 0.3), Math.floor(n * 0.2) + 1));
    return avg(xs.slice(Math.floor(n * 0.9))) - avg(warm);
  };
  const missed = devices.filter((d) => d.missed).length;
  bench("soak_false_clears", falseClears.length, "count");
  bench("soak_missed_ghosts", missed, "count");
  bench("soak_rss_growth_mb", growth(rss), "MB");
  bench("soak_heap_growth_mb", growth(heap), "MB");
  bench("soak_heap_max_mb", Math.max(...heap), "MB");
  bench("soak_rss_max_mb", Math.max(...rss), "MB");
  bench("soak_real_ghost_lifetime_p95_s", percentile(realLifetimes, 95), "s");
  bench("soak_expired_ghost_lifetime_p95_s", percentile(rawLifetimes, 95), "s");
  bench("soak_membership_events", eventsSent, "count");
  bench("soak_webhooks", webhooksSent, "count");
  bench("soak_webhook_failures", webhookFailures, "count");
  bench("soak_clears", clearsSeen, "count");
  if (falseClears.length > 0) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
