// The full mix of malformed events for the intake fuzz: call memberships, room events, junk messages and power
// levels, events without ids, and oversized events, each tagged with its type and how it must be counted.
import fc from "fast-check";
import { roomCreate, roomEncryption, roomMember, T0 } from "../../unit/domain/builders";
import { deep, noise, notObject, notString, notUserId, tooLong } from "./bad-values";
import { anyTemplate, callMembershipArb, type Malformed } from "./malformed-events";

type Json = Record<string, unknown>;

const roomEvent = (
  type: string,
  template: () => Json,
  breakers: readonly fc.Arbitrary<(e: Json) => void>[],
): fc.Arbitrary<Malformed> =>
  fc.oneof(...breakers).map((breakIt) => ({
    type,
    category: "room-invalid" as const,
    build: (i: number, room: string) => {
      const e = { ...template(), event_id: `$h${i}`, room_id: room, origin_server_ts: T0 + i };
      breakIt(e);
      return e;
    },
  }));

const setTop = (key: string, value: fc.Arbitrary<unknown>) =>
  value.map((v) => (e: Json) => {
    e[key] = v;
  });
const setContent = (key: string, value: fc.Arbitrary<unknown> | "delete") =>
  (value === "delete" ? fc.constant(undefined) : value).map((v) => (e: Json) => {
    const content: Json = { ...(e.content as Json) };
    if (value === "delete") Reflect.deleteProperty(content, key);
    else content[key] = v;
    e.content = content;
  });
const badString = fc.oneof(notString, fc.constant(""), tooLong);

const roomEvents = fc.oneof(
  roomEvent("m.room.member", () => ({ ...roomMember("@alice:example.org", "join") }), [
    setTop("state_key", fc.oneof(notString, fc.constantFrom("alice", "", "@alice"), tooLong)),
    setTop("content", notObject),
    setContent("membership", badString),
  ]),
  roomEvent("m.room.create", () => ({ ...roomCreate("12") }), [
    setTop("state_key", notString),
    setTop("content", notObject),
    setContent("room_version", badString),
  ]),
  roomEvent("m.room.encryption", () => ({ ...roomEncryption() }), [
    setTop("state_key", notString),
    setTop("content", notObject),
    setContent("algorithm", badString),
    setContent("algorithm", "delete"),
  ]),
);

const junkContent = fc.oneof(
  { weight: 8, arbitrary: notObject },
  { weight: 1, arbitrary: deep },
  { weight: 2, arbitrary: noise },
);
const sender = fc.oneof(fc.constantFrom("@alice:example.org", "@mallory:hostile.local"), notUserId);

const other = (type: string, content: fc.Arbitrary<unknown>, stateKey: fc.Arbitrary<unknown>) =>
  fc.record({ content, stateKey, sender }).map((o): Malformed => ({
    type,
    category: "other",
    build: (i, room) => ({
      type,
      event_id: `$h${i}`,
      room_id: room,
      origin_server_ts: T0 + i,
      sender: o.sender,
      content: o.content,
      ...(o.stateKey === undefined ? {} : { state_key: o.stateKey }),
    }),
  }));

const commandish = fc.record({
  body: fc.oneof(
    fc.constantFrom(
      "!rtc",
      "!rtc help",
      "!rtc status",
      "!rtc history 99999999999",
      "!rtc kick @alice:example.org",
    ),
    fc.string({ maxLength: 200 }).map((s) => `!rtc ${s}`),
  ),
  msgtype: fc.oneof(fc.constant("m.text"), notString),
  format: fc.oneof(fc.constant("org.matrix.custom.html"), notString),
  formatted_body: fc.oneof(fc.constant("<b>!rtc</b><script>x</script>"), notString),
});

const others = fc.oneof(
  other(
    "m.room.power_levels",
    fc.oneof(junkContent, fc.record({ users: junkContent, users_default: notString })),
    fc.oneof(fc.constant(""), notString),
  ),
  other(
    "m.room.message",
    fc.oneof(junkContent, fc.record({ body: notString }), commandish),
    fc.constant(undefined),
  ),
);

/** No usable event_id or room_id: refused before the journal. */
const dropped: fc.Arbitrary<Malformed> = fc
  .tuple(anyTemplate, fc.constantFrom("event_id", "room_id"), fc.option(notString, { nil: undefined }))
  .map(([t, key, value]) => ({
    type: t.type,
    category: "dropped" as const,
    build: (i: number, room: string) => {
      const e: Json = { ...t.make(), event_id: `$h${i}`, room_id: room };
      if (value === undefined) Reflect.deleteProperty(e, key);
      else e[key] = value;
      return e;
    },
  }));

/** Over the 64 KB an event may have. */
const oversized: fc.Arbitrary<Malformed> = fc
  .tuple(anyTemplate, fc.integer({ min: 66_000, max: 70_000 }))
  .map(([t, size]) => ({
    type: t.type,
    category: "oversized" as const,
    build: (i: number, room: string) => {
      const e: Json = { ...t.make(), event_id: `$h${i}`, room_id: room };
      e.content = { ...(e.content as Json), "x-pad": "x".repeat(size) };
      return e;
    },
  }));

export const malformedEventArb: fc.Arbitrary<Malformed> = fc.oneof(
  { weight: 350, arbitrary: callMembershipArb },
  { weight: 60, arbitrary: roomEvents },
  { weight: 40, arbitrary: others },
  { weight: 25, arbitrary: dropped },
  { weight: 1, arbitrary: oversized },
);
