// The machine's yardstick for bench:model: random-access memory latency, and the least work per corpus event.
import { hashedTuple } from "../../src/domain/sfu/hash";
import { CorpusGenerator } from "./corpus";
import { rng } from "./corpus-events";
import { bench } from "./report";

const ROOMS = Number(process.env.BENCH_ROOMS ?? 50_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/** The same delivery as bench:model: small batches generated (untimed) right before they are processed. */
const CHUNK = 200;
const LATENCY_SIZES_MB = [1, 4, 16, 64];
const LATENCY_STEPS = 2_000_000;

/**
 * Nanoseconds per dependent load over `mb` megabytes: one random cycle through every 64-byte line, so each load
 * waits for the previous one (what following a pointer to a cold object costs).
 */
function loadLatencyNs(mb: number, random: () => number): number {
  const lines = (mb * 1024 * 1024) / 64;
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  const next = new Int32Array(lines * 16);
  for (let i = 0; i < lines; i++) next[(order[i] as number) * 16] = (order[(i + 1) % lines] as number) * 16;
  let at = 0;
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < LATENCY_STEPS; s++) at = next[at] as number;
  const ns = Number(process.hrtime.bigint() - t0) / LATENCY_STEPS;
  if (at < 0) throw new Error("unreachable: keeps the chase from being optimised away");
  return ns;
}

type Json = Record<string, unknown>;

function record(value: unknown): Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}

/** One device's membership, reduced to what a verdict needs; its LiveKit identities live with it. */
interface Device {
  readonly deviceId: string;
  readonly memberId: string | null;
  readonly expiresAt: number | null;
  identities: string[] | null;
}

interface Slot {
  readonly eventId: string;
  readonly devices: Device[];
}

function device(deviceId: unknown, memberId: unknown, expiresAt: number | null): Device | null {
  const id = text(deviceId);
  return id === null ? null : { deviceId: id, memberId: text(memberId), expiresAt, identities: null };
}

/** The devices an event announces (empty for a leave), or null when it is not a readable membership. */
function devicesOf(event: Json, content: Json, ts: number): Device[] | null {
  const entries = Array.isArray(content.memberships)
    ? (content.memberships as unknown[])
    : Array.isArray(content["m.calls"])
      ? (record((content["m.calls"] as unknown[])[0])?.["m.devices"] as unknown[] | undefined)
      : null;
  if (entries !== null) {
    const out: Device[] = [];
    for (const raw of entries ?? []) {
      const e = record(raw);
      if (e === null) return null;
      const expires = num(e.expires_ts) ?? (num(e.created_ts) ?? ts) + (num(e.expires) ?? 0);
      const d = device(e.device_id, e.membershipID ?? e.session_id, expires);
      if (d === null) return null;
      out.push(d);
    }
    return out;
  }
  const member = record(content.member);
  if (member !== null) {
    if (member.membership === "leave") return [];
    return [device(member.device_id ?? "", member.id, null)].filter((d): d is Device => d !== null);
  }
  if (typeof event.state_key !== "string") return null;
  if (content.application === undefined && content["m.application"] === undefined) return [];
  const expires = num(content.expires);
  const d = device(
    content.device_id,
    content.membershipID,
    expires === null ? null : (num(content.created_ts) ?? ts) + expires,
  );
  return d === null ? null : [d];
}

const MEMBERSHIP_TYPES = new Set([
  "m.call.member",
  "org.matrix.msc3401.call.member",
  "m.rtc.member",
  "org.matrix.msc4143.rtc.member",
]);

/** A deliberately incomplete model: reads, one slot map per room, names kept with the device, one presence map. */
class FloorModel {
  readonly rooms: (Map<string, Slot> | null)[];
  /** Each room's LiveKit room name (MSC4195 hash of its room call), computed once. */
  private readonly lkRooms: (string | null)[];
  /** LiveKit identity → the room it is connected in (absent once gone). */
  readonly connected = new Map<string, string>();
  verdicts = 0;
  alive = 0;

  constructor(
    private readonly roomIds: readonly string[],
    private readonly withSfu: boolean,
  ) {
    this.rooms = roomIds.map(() => null);
    this.lkRooms = roomIds.map(() => null);
  }

  apply(r: number, raw: unknown, now: number): void {
    const event = record(raw);
    const type = text(event?.type);
    const content = record(event?.content);
    const sender = text(event?.sender);
    const eventId = text(event?.event_id);
    if (event === null || type === null || !MEMBERSHIP_TYPES.has(type)) return;
    if (content === null || sender === null || eventId === null) return;
    const stickyKey = text(content.msc4354_sticky_key) ?? text(content.sticky_key);
    const key = text(event.state_key) ?? (stickyKey === null ? null : `${sender}\u0000${stickyKey}`);
    if (key === null) return;
    const devices = devicesOf(event, content, num(event.origin_server_ts) ?? now);
    if (devices === null) return;
    const slots = (this.rooms[r] ??= new Map<string, Slot>());
    const before = slots.get(key);
    if (before?.eventId === eventId) return;
    if (devices.length === 0) slots.delete(key);
    else slots.set(key, { eventId, devices });
    const lkRoom = this.withSfu
      ? (this.lkRooms[r] ??= hashedTuple([this.roomIds[r] as string, "m.call#ROOM"]))
      : "";
    for (const d of devices) {
      const old = before?.devices.find((o) => o.deviceId === d.deviceId);
      if (old !== undefined && old.memberId === d.memberId) {
        d.identities = old.identities;
        if (old.expiresAt === d.expiresAt) continue;
      }
      this.judge(sender, d, lkRoom, now);
    }
  }

  private judge(user: string, d: Device, lkRoom: string, now: number): void {
    this.verdicts++;
    if (!this.withSfu) return;
    d.identities ??= [
      `${user}:${d.deviceId}`,
      hashedTuple([user, d.deviceId, d.memberId ?? `${user}:${d.deviceId}`]),
      hashedTuple([user, d.memberId ?? ""]),
    ];
    let connected = false;
    for (const identity of d.identities) if (this.connected.get(identity) === lkRoom) connected = true;
    if (connected && (d.expiresAt === null || d.expiresAt > now)) this.alive++;
  }
}

/** Runs the corpus through the floor model; events per second of processing (generation untimed). */
export function floorRun(withSfu: boolean): { perS: number; verdicts: number; alive: number } {
  const generator = new CorpusGenerator(ROOMS);
  const model = new FloorModel(
    generator.rooms.map((r) => r.roomId),
    withSfu,
  );
  let elapsedMs = 0;
  let processed = 0;
  while (processed < EVENTS) {
    const { events, roomOf, receivedAt, signals } = generator.chunk(Math.min(CHUNK, EVENTS - processed));
    for (const s of signals) {
      if (s.kind === "joined") model.connected.set(s.identity, s.room);
      else if (s.kind === "left") model.connected.delete(s.identity);
    }
    const t0 = performance.now();
    for (let i = 0; i < events.length; i++)
      model.apply(roomOf[i] as number, events[i], receivedAt[i] as number);
    elapsedMs += performance.now() - t0;
    processed += events.length;
  }
  return { perS: Math.round(processed / (elapsedMs / 1000)), verdicts: model.verdicts, alive: model.alive };
}

function main(): void {
  const random = rng(7);
  for (const mb of LATENCY_SIZES_MB) bench(`memory_load_latency_${mb}mb`, loadLatencyNs(mb, random), "ns");
  const bare = floorRun(false);
  bench("floor_without_sfu_events_per_s", bare.perS, "events/s");
  const full = floorRun(true);
  bench("floor_events_per_s", full.perS, "events/s");
  bench("floor_verdicts", full.verdicts, "verdicts");
  bench("floor_verdict_alive", full.alive, "verdicts");
}

// bench:model imports `floorRun` to measure its floor in the same process; run alone, this prints the yardstick.
if (require.main === module) main();
