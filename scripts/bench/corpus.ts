// Generates the benchmark corpus: ≥ 1M membership events over ≥ 50k rooms, every format, with realistic churn.
import { hashedTuple } from "../../src/domain/sfu/hash";
import type { SfuSignal } from "../../src/domain/sfu/presence";
import {
  identityOf,
  membershipEvent,
  rng,
  type Action,
  type Base,
  type Device,
  type Family,
  type RoomGen,
} from "./corpus-events";

export type { Family } from "./corpus-events";

/** One batch of the corpus: events with their room and receive instant, plus the webhook signals they imply. */
export interface Chunk {
  readonly roomOf: Int32Array;
  readonly receivedAt: Float64Array;
  readonly events: unknown[];
  readonly signals: SfuSignal[];
}

/** Share of rooms per format family: mostly current js-sdk (state and sticky), some of every older format. */
const FAMILIES: readonly (readonly [Family, number])[] = [
  ["session", 0.5],
  ["sticky", 0.2],
  ["latest", 0.1],
  ["seed", 0.05],
  ["msc3401", 0.075],
  ["legacy", 0.075],
];
const START = 1_763_000_000_000;
/** ms between events: 1M events span ~5.5 h, past several expiries and sticky lapses. */
const STEP = 20;
/** Share of rooms with a call in progress at any time. */
const ACTIVE_SHARE = 0.1;

function familyOf(x: number): Family {
  let rest = x;
  for (const [family, weight] of FAMILIES) {
    if (rest < weight) return family;
    rest -= weight;
  }
  return "session";
}

/**
 * The corpus, produced in chunks: each chunk is generated and delivered as JSON (untimed) before it is
 * processed (timed), so events are fresh objects like an appservice transaction's and the resident corpus never
 * dwarfs the state being measured. Rooms are drawn uniformly, so calls interleave.
 * Mix per event: 3 % messages, 2 % room membership changes, 0.5 % junk, the rest joins / refreshes (70 % of
 * actions on a device already in the call) / leaves, of which 10 % of per-device leaves are a bot's clear.
 */
export class CorpusGenerator {
  readonly rooms: readonly RoomGen[];
  readonly byFamily: Readonly<Record<Family, number>>;
  private readonly random: () => number;
  private readonly targetActive: number;
  /** Rooms with a call in progress (a list to pick from, a set to test). */
  private readonly active: number[] = [];
  private readonly activeSet = new Set<number>();
  private readonly touched = new Set<number>();
  /** A shuffled round of all rooms: new calls start in its next idle room. */
  private readonly order: number[];
  private cursor = 0;
  private wideCursor = 0;
  private next = 0;
  private sid = 0;

  constructor(roomCount: number, seed = 42) {
    this.random = rng(seed);
    const rooms: RoomGen[] = [];
    const byFamily: Record<Family, number> = {
      session: 0,
      sticky: 0,
      latest: 0,
      seed: 0,
      msc3401: 0,
      legacy: 0,
    };
    for (let r = 0; r < roomCount; r++) {
      const family = familyOf(this.random());
      const server = `hs${r % 97}.example.org`;
      const userCount = 2 + Math.floor(this.random() * 5);
      const users = Array.from({ length: userCount }, (_, u) => `@u${u}_${r}:${server}`);
      const devices: Device[] = [];
      for (const user of users) {
        const n = this.random() < 0.2 ? 2 : 1;
        for (let d = 0; d < n; d++) {
          devices.push({
            user,
            device: `DEV${d}X${r}`,
            inCall: false,
            crashed: false,
            sid: null,
            identity: "",
            createdTs: 0,
            memberId: "",
            expires: 0,
          });
        }
      }
      const roomId = `!r${r}x${seed}:${server}`;
      const lkRoom = hashedTuple([roomId, "m.call#ROOM"]);
      rooms.push({ roomId, family, active: false, lkRoom, devices, users, inRoom: new Set(users) });
      byFamily[family]++;
    }
    this.rooms = rooms;
    this.byFamily = byFamily;
    this.targetActive = Math.max(1, Math.round(roomCount * ACTIVE_SHARE));
    this.order = rooms.map((_, r) => r);
    for (let k = this.order.length - 1; k > 0; k--) {
      const j = Math.floor(this.random() * (k + 1));
      const swap = this.order[k] as number;
      this.order[k] = this.order[j] as number;
      this.order[j] = swap;
    }
  }

  get startAt(): number {
    return START;
  }

  /** The instant after the last generated event. */
  get nowAt(): number {
    return START + this.next * STEP;
  }

  chunk(count: number): Chunk {
    const events = new Array<unknown>(count);
    const roomOf = new Int32Array(count);
    const receivedAt = new Float64Array(count);
    const signals: SfuSignal[] = [];
    for (let k = 0; k < count; k++) {
      const i = this.next++;
      const ts = START + i * STEP;
      receivedAt[k] = ts + 30;
      const [r, event] = this.event(i, ts, signals);
      roomOf[k] = r;
      events[k] = event;
    }
    // Like an appservice transaction: the events arrive as JSON and are parsed into fresh objects and strings.
    const delivered = JSON.parse(JSON.stringify(events)) as unknown[];
    return { roomOf, receivedAt, events: delivered, signals };
  }

  /** How many rooms have a call in progress now. */
  get activeRooms(): number {
    return this.active.length;
  }

  /** How many distinct rooms have received an event. */
  get touchedRooms(): number {
    return this.touched.size;
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)] as T;
  }

  private message(room: RoomGen, base: Base): unknown {
    const content = { msgtype: "m.text", body: "hi" };
    return { ...base, type: "m.room.message", sender: this.pick(room.users), content };
  }

  /**
   * Mix: 4 % messages, 2 % room membership changes (half in rooms with a call), 0.5 % junk on a membership
   * key — going round all rooms — and 93.5 % membership events of calls. Calls are episodic: about ACTIVE_SHARE
   * of the rooms have one in progress; a new call starts (in the next room of a shuffled round, so every room
   * gets calls) whenever fewer are running. In a call, a device not in it joins (40 %), one in it refreshes
   * (50 %), leaves (49 %) or crashes (1 %: its membership stays as a ghost, LiveKit reports it gone ~19 s
   * later, until the user restarts that client). A call ends when every live device has left.
   */
  private event(i: number, ts: number, signals: SfuSignal[]): [number, unknown] {
    const x = this.random();
    if (x < 0.065) {
      // Room-wide events go round the rooms (in a shuffled order), so that every room receives events.
      let r: number;
      if (x < 0.06 && x >= 0.05 && this.active.length > 0) r = this.pick(this.active);
      else {
        r = this.order[this.wideCursor] as number;
        this.wideCursor = (this.wideCursor + 1) % this.order.length;
      }
      const room = this.rooms[r] as RoomGen;
      this.touched.add(r);
      const base: Base = { event_id: `$e${i}`, room_id: room.roomId, origin_server_ts: ts };
      if (x < 0.04) return [r, this.message(room, base)];
      if (x < 0.06) {
        const user = this.pick(room.users);
        const membership = room.inRoom.has(user) ? "leave" : "join";
        if (membership === "join") room.inRoom.add(user);
        else room.inRoom.delete(user);
        return [
          r,
          { ...base, type: "m.room.member", sender: user, state_key: user, content: { membership } },
        ];
      }
      const dev = this.pick(room.devices);
      const stateKey = `_${dev.user}_${dev.device}_m.call`;
      const content = { application: 7, junk: [1, 2] };
      return [
        r,
        { ...base, type: "org.matrix.msc3401.call.member", sender: dev.user, state_key: stateKey, content },
      ];
    }
    for (;;) {
      const r = this.active.length < this.targetActive ? this.nextIdleRoom() : this.pick(this.active);
      const room = this.rooms[r] as RoomGen;
      const base: Base = { event_id: `$e${i}`, room_id: room.roomId, origin_server_ts: ts };
      const event = this.membership(room, i, ts, base, signals);
      if (event !== null) {
        this.touched.add(r);
        if (room.active && !this.activeSet.has(r)) {
          this.activeSet.add(r);
          this.active.push(r);
        } else if (!room.active && this.activeSet.has(r)) {
          this.activeSet.delete(r);
          const at = this.active.indexOf(r);
          this.active[at] = this.active[this.active.length - 1] as number;
          this.active.pop();
        }
        return [r, event];
      }
    }
  }

  /** The next room of the shuffled round that has no call in progress. */
  private nextIdleRoom(): number {
    for (;;) {
      const r = this.order[this.cursor] as number;
      this.cursor = (this.cursor + 1) % this.order.length;
      if (!this.activeSet.has(r)) return r;
    }
  }

  private membership(room: RoomGen, i: number, ts: number, base: Base, signals: SfuSignal[]): unknown {
    const dev = this.pick(room.devices);
    if (dev.crashed) {
      // The user restarts the crashed client now and then: it joins again and replaces its ghost.
      if (this.random() >= 0.2) return null;
      dev.crashed = false;
      dev.inCall = false;
    }
    let action: Action;
    if (!room.active || !dev.inCall) {
      if (room.active && this.random() >= 0.4) return null;
      action = "join";
    } else {
      const y = this.random();
      if (y < 0.01) {
        dev.crashed = true;
        this.disconnect(room, dev, ts + 19_300, "CONNECTION_TIMEOUT", signals);
        room.active = room.devices.some((d) => d.inCall && !d.crashed);
        return null;
      }
      action = y < 0.5 ? "leave" : "refresh";
    }
    if (action === "join") this.join(room, dev, i, ts, signals);
    else if (action === "leave") {
      dev.inCall = false;
      this.disconnect(room, dev, ts - 200, "CLIENT_INITIATED", signals);
    } else dev.expires += 3_600_000;
    room.active = room.devices.some((d) => d.inCall && !d.crashed);
    return membershipEvent(room, dev, action, base, this.random);
  }

  /** A join; 90 % of joins also connect to the SFU (a LiveKit `participant_joined` half a second later). */
  private join(room: RoomGen, dev: Device, i: number, ts: number, signals: SfuSignal[]): void {
    dev.inCall = true;
    dev.createdTs = ts;
    dev.expires = 14_400_000;
    dev.memberId = room.family === "latest" ? `m${i}` : `${dev.user}:${dev.device}`;
    if (this.random() >= 0.9) return;
    const identity = identityOf(room, dev);
    const sid = `PA_${this.sid++}`;
    dev.sid = sid;
    dev.identity = identity;
    signals.push({ kind: "joined", room: room.lkRoom, identity, sid, at: ts + 500, eventId: `wh-${sid}` });
  }

  /** The LiveKit `participant_left` of a connected device (a crash is reported ~19 s later, CONNECTION_TIMEOUT). */
  private disconnect(room: RoomGen, dev: Device, at: number, reason: string, signals: SfuSignal[]): void {
    if (dev.sid === null) return;
    const identity = dev.identity;
    signals.push({
      kind: "left",
      room: room.lkRoom,
      identity,
      sid: dev.sid,
      at,
      eventId: `wl-${dev.sid}`,
      reason,
    });
    dev.sid = null;
  }
}
