// The soak's world: raw-event devices in many rooms (joined, refreshed like a client, left or abandoned) and real calls.
import fs from "node:fs";
import {
  joinCall,
  leftContent,
  MatrixHttp,
  newRoom,
  newUser,
  rawMembershipEvent,
  sendRawMembership,
  type InCall,
  type MatrixSession,
  type RawMembership,
  type Stack,
} from "../../test/e2e/harness";

const OWNERS = 10;
const DEVICES_PER_ROOM = 2;
/** Raw memberships expire this long after each join or refresh; live ones are refreshed at half of it. */
export const EXPIRES_MS = 120_000;
export const FOREIGN_FOCUS = {
  type: "livekit",
  livekit_service_url: "https://sfu.elsewhere.example/livekit/jwt",
} as const;

export type DeviceState = "idle" | "live" | "abandoned";

export interface RawDevice {
  readonly owner: MatrixSession;
  readonly roomId: string;
  readonly deviceId: string;
  state: DeviceState;
  /** `created_ts` of its current membership (ms; our clock is the server's: same machine). */
  createdTs: number;
  /** When we last sent its join or refresh. */
  lastSentAt: number;
  /** Until when its membership is valid (`created_ts + expires` of the last join or refresh). */
  validUntil: number;
  /** Recent joins and refreshes, oldest first (a clear is judged against the last one before it). */
  sends: { at: number; validUntil: number }[];
  missed: boolean;
}

/** The service's V8 heap in use, MB, from its own metrics (null when they cannot be read). */
export async function heapUsedMb(metricsUrl: string): Promise<number | null> {
  const text = await fetch(metricsUrl)
    .then(async (r) => r.text())
    .catch(() => "");
  const value = /^\w*nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  return value === undefined ? null : Number(value) / 1_048_576;
}

/** The resident set of a process, MB. */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

/** Like a client: `created_ts` fixed at the join, `expires` extended at each refresh. */
export const membership = (d: RawDevice, expires = EXPIRES_MS): RawMembership => ({
  format: "session",
  userId: d.owner.userId,
  deviceId: d.deviceId,
  focus: FOREIGN_FOCUS,
  createdTs: d.createdTs,
  expires,
});

/** Ten owners and `rooms` rooms, two raw devices in each. */
export async function setUp(stack: Stack, rooms: number): Promise<RawDevice[]> {
  const owners: MatrixSession[] = [];
  for (let i = 0; i < OWNERS; i++) owners.push(await newUser(stack, `soak${i}`, `SOAKOWNER${i}`));
  const devices: RawDevice[] = [];
  for (let r = 0; r < rooms; r++) {
    const owner = owners[r % OWNERS] as MatrixSession;
    const roomId = await newRoom(owner);
    for (let d = 0; d < DEVICES_PER_ROOM; d++) {
      devices.push({
        owner,
        roomId,
        deviceId: `R${r}D${d}`,
        state: "idle",
        createdTs: 0,
        lastSentAt: 0,
        validUntil: 0,
        sends: [],
        missed: false,
      });
    }
  }
  return devices;
}

/** One real call: two people with a js-sdk client and an rtc-node participant each. */
export async function realCall(stack: Stack, tag: string): Promise<InCall[]> {
  const [a, b] = [await newUser(stack, `${tag}a`, `${tag}A`), await newUser(stack, `${tag}b`, `${tag}B`)];
  const roomId = await newRoom(a);
  await MatrixHttp.of(a).invite(roomId, b.userId);
  await MatrixHttp.of(b).join(roomId);
  return [await joinCall(stack, a, roomId), await joinCall(stack, b, roomId)];
}

/** Sends a device's join, refresh (same `created_ts`, longer `expires`) or leave, and notes until when it is valid. */
export async function sendRaw(d: RawDevice, kind: "join" | "refresh" | "leave"): Promise<void> {
  const api = MatrixHttp.of(d.owner);
  if (kind === "leave") {
    const ev = rawMembershipEvent(membership(d));
    await api.putState(d.roomId, ev.type, ev.stateKey, leftContent("session"));
    return;
  }
  const at = Date.now();
  if (kind === "join") d.createdTs = at;
  const expires = at - d.createdTs + EXPIRES_MS;
  await sendRawMembership(api, d.roomId, membership(d, expires));
  d.lastSentAt = at;
  d.validUntil = d.createdTs + expires;
  d.sends.push({ at, validUntil: d.validUntil });
  if (d.sends.length > 16) d.sends.shift();
}
