// Event builders of the benchmark corpus: each family's join / refresh / leave, shaped like real clients send them.
import { hashedTuple } from "../../src/domain/sfu/hash";

/** A seeded PRNG (mulberry32): the corpus is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The identity lk-jwt-service gives the device's client, per format family (matrixrtc.md §4). */
export function identityOf(room: RoomGen, dev: Device): string {
  if (room.family === "sticky") return hashedTuple([dev.user, dev.device, dev.memberId]);
  if (room.family === "latest") return hashedTuple([dev.user, dev.memberId]);
  return `${dev.user}:${dev.device}`;
}

export type Family = "session" | "sticky" | "latest" | "seed" | "msc3401" | "legacy";

export interface Device {
  readonly user: string;
  readonly device: string;
  inCall: boolean;
  /** The client crashed in the call: its membership stays behind as a ghost and it sends nothing more. */
  crashed: boolean;
  /** Its LiveKit participant sid while connected, and the identity it connected as. */
  sid: string | null;
  identity: string;
  createdTs: number;
  memberId: string;
  expires: number;
}

export interface RoomGen {
  readonly roomId: string;
  readonly family: Family;
  /** A call is in progress (devices join, refresh and leave until all live ones left). */
  active: boolean;
  /** The LiveKit room name of its call. */
  readonly lkRoom: string;
  readonly devices: Device[];
  readonly users: string[];
  readonly inRoom: Set<string>;
}

export type Action = "join" | "refresh" | "leave";

export interface Base {
  readonly event_id: string;
  readonly room_id: string;
  readonly origin_server_ts: number;
}

const JWT = "https://rtc.example.org/livekit/jwt";
const FOCI = Object.freeze([Object.freeze({ type: "livekit", livekit_service_url: JWT })]);
const FOCUS_ACTIVE = Object.freeze({ type: "livekit", focus_selection: "oldest_membership" });
const APP = Object.freeze({ type: "m.call" });
const TRANSPORTS = Object.freeze({ published: FOCI, can_subscribe: Object.freeze(["livekit"]) });
const LATEST_TRANSPORTS = Object.freeze({
  published: Object.freeze([Object.freeze({ type: "m.livekit", url: "wss://sfu.example.org" })]),
  can_subscribe: Object.freeze(["m.livekit"]),
});
const STICKY = Object.freeze({ duration_ms: 3_600_000 });

function sessionEvent(dev: Device, action: Action, base: Base, random: () => number): unknown {
  const leave = action === "leave";
  const sender = leave && random() < 0.1 ? "@reconciler:example.org" : dev.user;
  const content = leave
    ? {}
    : {
        application: "m.call",
        call_id: "",
        device_id: dev.device,
        expires: dev.expires,
        foci_preferred: FOCI,
        focus_active: FOCUS_ACTIVE,
        membershipID: dev.memberId,
        scope: "m.room",
        ...(action === "refresh" ? { created_ts: dev.createdTs } : {}),
      };
  const stateKey = `_${dev.user}_${dev.device}_m.call`;
  return { ...base, type: "org.matrix.msc3401.call.member", sender, state_key: stateKey, content };
}

function stickyEvent(dev: Device, action: Action, base: Base): unknown {
  const content =
    action === "leave"
      ? { slot_id: "m.call#ROOM", msc4354_sticky_key: dev.memberId }
      : {
          application: APP,
          member: { device_id: dev.device, id: dev.memberId, user_id: dev.user },
          msc4354_sticky_key: dev.memberId,
          slot_id: "m.call#ROOM",
          transports: TRANSPORTS,
          versions: [],
        };
  return {
    ...base,
    type: "org.matrix.msc4143.rtc.member",
    sender: dev.user,
    content,
    msc4354_sticky: STICKY,
  };
}

function latestEvent(dev: Device, action: Action, base: Base): unknown {
  const member = { id: dev.memberId, membership: action === "leave" ? "leave" : "join" };
  const content =
    action === "leave"
      ? { slot_id: "m.call#ROOM", member, leave_reason: { code: "delayed_leave" }, sticky_key: dev.memberId }
      : {
          slot_id: "m.call#ROOM",
          member,
          application: APP,
          transports: LATEST_TRANSPORTS,
          sticky_key: dev.memberId,
        };
  return { ...base, type: "m.rtc.member", sender: dev.user, content, sticky: STICKY };
}

function seedEvent(dev: Device, action: Action, base: Base): unknown {
  const content =
    action === "leave"
      ? {}
      : {
          "m.application": "m.call",
          "m.call_id": "",
          device_id: dev.device,
          focus_active: FOCUS_ACTIVE,
          foci_preferred: FOCI,
        };
  return { ...base, type: "m.rtc.member", sender: dev.user, state_key: `${dev.user}_${dev.device}`, content };
}

/** MSC3401 and legacy arrays: the user's whole array is rewritten with the devices now in the call. */
function arrayEvent(room: RoomGen, dev: Device, base: Base): unknown {
  const mine = room.devices.filter((d) => d.user === dev.user && d.inCall);
  if (room.family === "msc3401") {
    const devices = mine.map((d) => ({
      device_id: d.device,
      session_id: `s${d.createdTs}`,
      expires_ts: d.createdTs + d.expires,
      feeds: [],
    }));
    const content = { "m.calls": devices.length === 0 ? [] : [{ "m.call_id": "", "m.devices": devices }] };
    return { ...base, type: "m.call.member", sender: dev.user, state_key: dev.user, content };
  }
  const memberships = mine.map((d) => ({
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: d.device,
    created_ts: d.createdTs,
    expires: d.expires,
    foci_active: FOCI,
    membershipID: `${d.device}${d.createdTs}`,
  }));
  const content = { memberships };
  return { ...base, type: "org.matrix.msc3401.call.member", sender: dev.user, state_key: dev.user, content };
}

/** The membership event a device's action produces in its room's format family. */
export function membershipEvent(
  room: RoomGen,
  dev: Device,
  action: Action,
  base: Base,
  random: () => number,
): unknown {
  switch (room.family) {
    case "session":
      return sessionEvent(dev, action, base, random);
    case "sticky":
      return stickyEvent(dev, action, base);
    case "latest":
      return latestEvent(dev, action, base);
    case "seed":
      return seedEvent(dev, action, base);
    case "msc3401":
    case "legacy":
      return arrayEvent(room, dev, base);
  }
}
