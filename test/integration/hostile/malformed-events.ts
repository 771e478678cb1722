// Malformed events of every followed type, each made unusable on purpose and tagged with how it must be counted.
import fc from "fast-check";
import {
  ALICE,
  legacyArrayEvent,
  msc3401Event,
  rtcLatestEvent,
  rtcStateEvent,
  sessionJoin,
  stickyJoin,
  T0,
} from "../../unit/domain/builders";
import {
  badId,
  badOptionalId,
  badTs,
  deep,
  hugeArray,
  notArray,
  notObject,
  notString,
  notUserId,
  sometimesNoise,
  tooLong,
} from "./bad-values";

type Json = Record<string, unknown>;
/** Makes a (valid) event unusable; `i` is unique per event, for ids that must not collide. */
type Corruption = (e: Json, i: number) => void;

/**
 * - `invalid`: a call membership the parser must refuse (counted `invalid`, with reasons);
 * - `room-invalid`: an unusable m.room.member / create / encryption event;
 * - `dropped`: no usable event_id or room_id (refused at the door); `oversized`: over the 64 KB event limit;
 * - `other`: power levels and messages with junk (must merely not hurt).
 */
export type Category = "invalid" | "room-invalid" | "dropped" | "oversized" | "other";

export interface Malformed {
  readonly type: string;
  readonly category: Category;
  build(i: number, room: string): Json;
}

const MALLORY = "@mallory:example.org";

const isJson = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function setPath(e: Json, path: readonly string[], value: unknown): void {
  let at: unknown = e;
  for (const key of path.slice(0, -1)) {
    if (!isJson(at)) return;
    at = at[key];
  }
  if (isJson(at)) at[path.at(-1) ?? ""] = value;
}

const set = (path: readonly string[], value: fc.Arbitrary<unknown>): fc.Arbitrary<Corruption> =>
  value.map((v) => (e: Json) => {
    setPath(e, path, v);
  });
const remove = (...keys: string[]): fc.Arbitrary<Corruption> =>
  fc.constant((e: Json) => {
    for (const k of keys) Reflect.deleteProperty(e, k);
  });

const envelope: fc.Arbitrary<Corruption>[] = [
  set(["sender"], notUserId),
  set(["origin_server_ts"], badTs),
  fc.constantFrom("evil-", `$${"x".repeat(300)}`).map((prefix) => (e: Json, i: number) => {
    e.event_id = `${prefix}${i}`;
  }),
  fc.constantFrom("room", "!", "#alias:example.org", "x".repeat(300)).map((r) => (e: Json) => {
    e.room_id = r;
  }),
  set(["content"], notObject),
];
const stateKey = [set(["state_key"], fc.oneof(notString, tooLong))];
const wrongSender = set(["sender"], fc.constant(MALLORY));
const foci = (path: string[]) =>
  set(path, fc.oneof(notArray, hugeArray, fc.array(notObject, { minLength: 1, maxLength: 5 })));
const unsticky = remove("msc4354_sticky", "unsigned");
const sticky: fc.Arbitrary<Corruption>[] = [
  unsticky,
  set(["msc4354_sticky"], notObject),
  set(["msc4354_sticky", "duration_ms"], badTs),
  badTs.map((v) => (e: Json) => {
    Reflect.deleteProperty(e, "msc4354_sticky");
    e.unsigned = { msc4354_sticky_duration_ttl_ms: v };
  }),
];
const slotId = set(["content", "slot_id"], fc.oneof(badId, fc.constantFrom("m.call", "a#b#c", "other#ROOM")));
const application = [
  set(["content", "application"], notObject),
  set(["content", "application", "type"], fc.oneof(badId, fc.constant("m.call#x"))),
];

interface Format {
  readonly types: readonly string[];
  readonly template: (user: string, device: string) => Json;
  readonly corruptions: readonly fc.Arbitrary<Corruption>[];
}

const CALL_TYPES = ["org.matrix.msc3401.call.member", "m.call.member"];
const RTC_TYPES = ["org.matrix.msc4143.rtc.member", "m.rtc.member"];
const copy = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

const FORMATS: readonly Format[] = [
  {
    types: CALL_TYPES,
    template: (user, device) => copy(sessionJoin({ user, device })),
    corruptions: [
      ...envelope,
      ...stateKey,
      wrongSender,
      set(["content", "application"], badId),
      set(["content", "call_id"], badOptionalId),
      set(["content", "device_id"], badId),
      set(["content", "focus_active"], fc.oneof(notObject, deep, fc.constant({ type: 5 }))),
      fc.constant((e: Json) => {
        if (isJson(e.content)) Reflect.deleteProperty(e.content, "focus_active");
      }),
      foci(["content", "foci_preferred"]),
      set(["content", "created_ts"], badTs),
      set(["content", "expires"], badTs),
      set(["content", "membershipID"], badOptionalId),
      set(["content", "scope"], notString),
      set(["content", "m.call.intent"], notString),
    ],
  },
  {
    types: CALL_TYPES,
    template: (user, device) =>
      copy(
        msc3401Event({ user, calls: [{ callId: "c", devices: [{ deviceId: device, expiresTs: T0 * 2 }] }] }),
      ),
    corruptions: [
      ...envelope,
      ...stateKey,
      wrongSender,
      set(["content", "m.calls"], fc.oneof(notArray, hugeArray)),
    ],
  },
  {
    types: CALL_TYPES,
    template: (user, device) =>
      copy(legacyArrayEvent({ user, entries: [{ deviceId: device, expires: 3_600_000 }] })),
    corruptions: [
      ...envelope,
      ...stateKey,
      wrongSender,
      set(["content", "memberships"], fc.oneof(notArray, hugeArray)),
    ],
  },
  {
    types: RTC_TYPES,
    template: (user, device) => copy(rtcStateEvent({ user, device })),
    corruptions: [
      ...envelope,
      ...stateKey,
      wrongSender,
      set(["content", "m.application"], badId),
      set(["content", "m.call_id"], badOptionalId),
      set(["content", "device_id"], badId),
      set(["content", "focus_active"], fc.oneof(notObject, fc.constant({ type: [] }))),
      foci(["content", "foci_preferred"]),
      set(["content", "created_ts"], badTs),
    ],
  },
  {
    types: RTC_TYPES,
    template: (user, device) => copy(stickyJoin({ user, device, durationMs: 3_600_000 })),
    corruptions: [
      ...envelope,
      ...sticky,
      ...application,
      slotId,
      set(["content", "member"], notObject),
      set(["content", "member", "user_id"], fc.oneof(notUserId, fc.constant(MALLORY))),
      set(["content", "member", "device_id"], badId),
      set(["content", "member", "id"], badId),
      set(["content", "msc4354_sticky_key"], badId),
      set(["content", "transports"], notObject),
      foci(["content", "transports", "published"]),
      set(["content", "versions"], fc.oneof(notArray, fc.array(notString, { minLength: 1, maxLength: 3 }))),
    ],
  },
  {
    types: RTC_TYPES,
    template: (user, device) =>
      copy(rtcLatestEvent({ user, device, membership: "join", durationMs: 3_600_000 })),
    corruptions: [
      ...envelope,
      ...sticky,
      ...application,
      slotId,
      set(["content", "member", "id"], fc.oneof(badId, fc.constant("not-the-sticky-key"))),
      set(["content", "member", "membership"], fc.oneof(notString, fc.constantFrom("knock", "", "JOIN"))),
      set(["content", "member", "user_id"], fc.oneof(notUserId, fc.constant(MALLORY))),
      set(["content", "member", "device_id"], fc.oneof(notString, tooLong)),
      set(["content", "transports"], notObject),
      set(["content", "msc4354_sticky_key"], fc.constant("another-key")),
    ],
  },
];

const USERS = [ALICE, "@bob:example.org", "@carol:hostile.local"] as const;
const DEVICES = ["D1", "D2", "DEV_3"] as const;

/** A call membership of any format and type, with 1 to 3 corruptions that each make it unusable. */
export const callMembershipArb: fc.Arbitrary<Malformed> = fc.oneof(
  ...FORMATS.map((format) =>
    fc
      .record({
        type: fc.constantFrom(...format.types),
        user: fc.constantFrom(...USERS),
        device: fc.constantFrom(...DEVICES),
        corruptions: fc.array(fc.oneof(...format.corruptions), { minLength: 1, maxLength: 3 }),
        contentNoise: sometimesNoise,
        topNoise: sometimesNoise,
      })
      .map((o) => ({
        type: o.type,
        category: "invalid" as const,
        build: (i: number, room: string) => {
          const e = format.template(o.user, o.device);
          Object.assign(e, { type: o.type, event_id: `$h${i}`, room_id: room, origin_server_ts: T0 + i });
          if (o.contentNoise !== null && isJson(e.content)) Object.assign(e.content, o.contentNoise);
          if (o.topNoise !== null) Object.assign(e, o.topNoise);
          for (const corrupt of o.corruptions) corrupt(e, i);
          return e;
        },
      })),
  ),
);

/** A valid join of any format, for events that are then broken in ways that do not depend on the format. */
export const anyTemplate = fc
  .tuple(fc.constantFrom(...FORMATS), fc.constantFrom(...USERS), fc.constantFrom(...DEVICES))
  .chain(([format, user, device]) =>
    fc
      .constantFrom(...format.types)
      .map((type) => ({ type, make: () => ({ ...format.template(user, device), type }) })),
  );
