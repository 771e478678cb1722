// Drives the intake fuzz: generates malformed events transaction by transaction, PUTs them as the homeserver
// would, waits for the journal to drain, and tallies what was sent by type and expected outcome.
import fc from "fast-check";
import { send } from "../../support/keepalive-http";
import { HOSTILE_DOMAIN, type HostileService } from "../../support/hostile-service";
import type { Category } from "./malformed-events";
import { malformedEventArb } from "./malformed-mix";

/** The intake's per-event size limit (MAX_EVENT_BYTES in src/app/intake/matrix-intake.ts). */
const MAX_EVENT_BYTES = 65_536;
const ROOMS = Array.from({ length: 20 }, (_, k) => `!fuzz${k}:${HOSTILE_DOMAIN}`);

export type Tally = Record<Category, number>;

export interface FuzzRun {
  readonly seed: number;
  readonly events: number;
  /** Sent events by type and by how the intake must treat them. */
  readonly perType: ReadonlyMap<string, Tally>;
  /** Transaction answers by HTTP status. */
  readonly statuses: ReadonlyMap<number, number>;
  /** Time the service spent: PUT round trips plus draining the journal after each. */
  readonly serviceMs: number;
  readonly generationMs: number;
  /** Slowest /health answer among those sent alongside a transaction. */
  readonly maxHealthMs: number;
}

const emptyTally = (): Tally => ({ invalid: 0, "room-invalid": 0, dropped: 0, oversized: 0, other: 0 });

/**
 * What the intake does with an event before any parsing: ids first, then size (as MatrixIntake.accept), in UTF-8
 * bytes of the event without the homeserver's `unsigned`.
 */
function effectiveCategory(category: Category, event: Record<string, unknown>): Category {
  if (typeof event.event_id !== "string" || typeof event.room_id !== "string") return "dropped";
  const { unsigned: _unsigned, ...signed } = event;
  if (Buffer.byteLength(JSON.stringify(signed), "utf8") > MAX_EVENT_BYTES) return "oversized";
  return category;
}

export async function runIntakeFuzz(
  svc: HostileService,
  opts: { events: number; perTxn: number; seed: number; txnPrefix: string },
): Promise<FuzzRun> {
  const perType = new Map<string, Tally>();
  const statuses = new Map<number, number>();
  let serviceMs = 0;
  let generationMs = 0;
  let maxHealthMs = 0;
  for (let t = 0; t * opts.perTxn < opts.events; t++) {
    const started = performance.now();
    const specs = fc.sample(malformedEventArb, { numRuns: opts.perTxn, seed: opts.seed + t });
    const texts = specs.map((spec, k) => {
      const i = t * opts.perTxn + k;
      const event = spec.build(i, ROOMS[i % ROOMS.length] ?? "");
      const text = JSON.stringify(event);
      const tally = perType.get(spec.type) ?? emptyTally();
      tally[effectiveCategory(spec.category, event)]++;
      perType.set(spec.type, tally);
      return text;
    });
    const body = `{"events":[${texts.join(",")}]}`;
    const sending = performance.now();
    generationMs += sending - started;
    const health =
      t % 10 === 0
        ? send(svc.agent, { method: "GET", url: `${svc.base}/health` }).then(
            () => performance.now() - sending,
          )
        : Promise.resolve(0);
    const res = await svc.transaction(`${opts.txnPrefix}-${t}`, body);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    await svc.service.app.intake.settled();
    serviceMs += performance.now() - sending;
    maxHealthMs = Math.max(maxHealthMs, await health);
  }
  return { seed: opts.seed, events: opts.events, perType, statuses, serviceMs, generationMs, maxHealthMs };
}

/** Sum of one category over the given types. */
export function sent(run: FuzzRun, types: readonly string[], ...categories: Category[]): number {
  let n = 0;
  for (const type of types) {
    const tally = run.perType.get(type);
    for (const c of categories) n += tally?.[c] ?? 0;
  }
  return n;
}
