// Feeds the bot's device what appservice transactions carry for it: to-device messages (room keys), device list
// changes, one-time key counts (MSC2409/MSC4203 and MSC3202 transaction extensions).
import { DeviceLists, type OlmMachine, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import type { Logger } from "../../app/ports/logger";

const TO_DEVICE = "de.sorunome.msc2409.to_device";
const DEVICE_LISTS = "org.matrix.msc3202.device_lists";
const OTK_COUNTS = "org.matrix.msc3202.device_one_time_keys_count";
const FALLBACK_KEYS = "org.matrix.msc3202.device_unused_fallback_key_types";

/** The to-device type the device sends itself at start, to learn whether the homeserver forwards to-device at all. */
export const PROBE_TYPE = "org.matrix.rtc_reconciler.probe";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

function userIds(v: unknown): UserId[] {
  const out: UserId[] = [];
  for (const s of strings(v)) {
    try {
      out.push(new UserId(s));
    } catch {
      // Not a user id: skipped.
    }
  }
  return out;
}

/** What one transaction holds for one device. */
export interface ForDevice {
  readonly toDevice: Record<string, unknown>[];
  readonly changed: string[];
  readonly left: string[];
  readonly otkCounts: Map<string, number> | null;
  readonly fallbackKeys: Set<string> | null;
}

/**
 * Picks out of a transaction body what is for this device. The registration's user namespace covers every local
 * user, so the homeserver forwards their to-device messages too (encrypted for their own devices): all but this
 * device's are dropped here, unread.
 */
export function forDevice(body: Record<string, unknown>, userId: string, deviceId: string): ForDevice {
  const toDevice = (Array.isArray(body[TO_DEVICE]) ? (body[TO_DEVICE] as unknown[]) : [])
    .filter(isRecord)
    .filter((m) => m.to_user_id === userId && m.to_device_id === deviceId)
    .map(({ to_user_id: _u, to_device_id: _d, ...event }) => event);
  const lists = isRecord(body[DEVICE_LISTS]) ? body[DEVICE_LISTS] : {};
  const countsOf = body[OTK_COUNTS];
  const mine = isRecord(countsOf) && isRecord(countsOf[userId]) ? countsOf[userId][deviceId] : undefined;
  let otkCounts: Map<string, number> | null = null;
  if (isRecord(mine)) {
    otkCounts = new Map();
    for (const [k, v] of Object.entries(mine)) if (typeof v === "number") otkCounts.set(k, v);
  }
  const fallbackOf = body[FALLBACK_KEYS];
  const fallback =
    isRecord(fallbackOf) && isRecord(fallbackOf[userId]) ? fallbackOf[userId][deviceId] : undefined;
  return {
    toDevice,
    changed: strings(lists.changed),
    left: strings(lists.left),
    otkCounts,
    fallbackKeys: Array.isArray(fallback) ? new Set(strings(fallback)) : null,
  };
}

/**
 * Concurrency: `accept` runs synchronously in the transaction's handling and only queues; the machine is fed in
 * transaction order, one at a time, each followed by `afterEach` (the key uploads and queries it asks for).
 */
export class DeviceFeed {
  private chain: Promise<void> = Promise.resolve();
  private probeSeen: (() => void) | null = null;

  constructor(
    private readonly machine: OlmMachine,
    private readonly userId: string,
    private readonly deviceId: string,
    private readonly logger: Logger,
    private readonly afterEach: () => Promise<void>,
  ) {}

  accept(body: Record<string, unknown>): void {
    const d = forDevice(body, this.userId, this.deviceId);
    if (d.toDevice.some((e) => e.type === PROBE_TYPE)) this.probeSeen?.();
    const toDevice = d.toDevice.filter((e) => e.type !== PROBE_TYPE);
    const empty =
      toDevice.length === 0 && d.changed.length === 0 && d.left.length === 0 && d.otkCounts === null;
    if (empty) return;
    this.chain = this.chain
      .then(async () => {
        await this.machine.receiveSyncChanges(
          JSON.stringify(toDevice),
          new DeviceLists(userIds(d.changed), userIds(d.left)),
          d.otkCounts ?? new Map<string, number>(),
          d.fallbackKeys ?? undefined,
        );
        await this.afterEach();
      })
      .catch((err: unknown) => {
        this.logger.warn("encryption: a transaction's keys could not be handed to the device", {
          error: String(err),
        });
      });
  }

  /** Resolves true once the start-up probe came back through a transaction, false after `timeoutMs`. */
  awaitProbe(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.probeSeen = null;
        resolve(false);
      }, timeoutMs);
      this.probeSeen = () => {
        clearTimeout(timer);
        this.probeSeen = null;
        resolve(true);
      };
    });
  }

  /** Waits for everything accepted so far to be handed over. */
  settled(): Promise<void> {
    return this.chain;
  }
}
