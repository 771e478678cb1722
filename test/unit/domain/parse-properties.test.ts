// Property tests: parsing never throws, on arbitrary JSON and on mutations of valid events of every format.
import fc from "fast-check";
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import type { ParseResult } from "../../../src/domain/membership/parse/result";
import {
  ALICE,
  ctxAt,
  legacyArrayEvent,
  msc3401Event,
  rtcLatestEvent,
  rtcStateEvent,
  sessionJoin,
  stickyJoin,
  stickyLeave,
  T0,
  type ClientEvent,
} from "./builders";

const valid: readonly ClientEvent[] = [
  sessionJoin({ user: ALICE, device: "DEVA", createdTs: T0 - 5 }),
  msc3401Event({
    user: ALICE,
    calls: [
      {
        callId: "c",
        devices: [
          { deviceId: "D1", expiresTs: T0 },
          { deviceId: "D2", expiresTs: T0 },
        ],
      },
    ],
  }),
  legacyArrayEvent({
    user: ALICE,
    entries: [
      { deviceId: "D1", expires: 10 },
      { deviceId: "D2", expiresTs: T0 },
    ],
  }),
  rtcStateEvent({ user: ALICE, device: "DEVA" }),
  stickyJoin({ user: ALICE, device: "DEVC", durationMs: 60_000 }),
  stickyLeave({ user: ALICE, device: "DEVC" }),
  rtcLatestEvent({ user: ALICE, device: "X", membership: "join" }),
  rtcLatestEvent({ user: ALICE, device: "X", membership: "leave", leaveCode: "leave" }),
];

/** Structural sanity of any result: members belong to the slot, reasons are non-empty strings. */
function wellFormed(result: ParseResult): boolean {
  switch (result.kind) {
    case "not-membership":
    case "unreadable":
      return true;
    case "invalid":
      // "event: unreadable" would mean the parser threw and only the safety net caught it.
      return (
        result.reasons.length > 0 &&
        !result.reasons.includes("event: unreadable") &&
        result.reasons.every((r) => typeof r === "string" && r.length > 0)
      );
    case "slot":
      return result.members.every(
        (m) =>
          m.slotKey === result.slot.key &&
          m.roomId === result.slot.roomId &&
          m.userId === result.slot.sender &&
          m.key.startsWith(`${m.roomId}\u0000${m.slotKey}\u0000`) &&
          Number.isFinite(m.createdTs) &&
          (m.expiresAt === null || Number.isFinite(m.expiresAt)),
      );
  }
}

/** Every path (list of keys/indices) inside a JSON value. */
function paths(value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [[...prefix]];
  if (Array.isArray(value)) (value as unknown[]).forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

/** A copy of `root` with the value at `path` replaced, or deleted when `remove`. */
function mutate(
  root: unknown,
  path: readonly (string | number)[],
  replacement: unknown,
  remove: boolean,
): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(root)) {
    const copy: unknown[] = (root as unknown[]).slice();
    if (remove && rest.length === 0) copy.splice(Number(head), 1);
    else copy[Number(head)] = mutate(copy[Number(head)], rest, replacement, remove);
    return copy;
  }
  if (typeof root === "object" && root !== null) {
    const copy: Record<string, unknown> = { ...(root as Record<string, unknown>) };
    const key = String(head);
    if (remove && rest.length === 0) Reflect.deleteProperty(copy, key);
    else copy[key] = mutate(copy[key], rest, replacement, remove);
    return copy;
  }
  return root;
}

const contexts = fc.record({
  receivedAt: fc.oneof(fc.constant(T0), fc.integer({ min: -1e15, max: 1e16 }), fc.double()),
  roomVersion: fc.oneof(
    fc.constant(null),
    fc.constantFrom("1", "10", "12", "org.matrix.msc3757.11", "org.matrix.msc3779.1"),
  ),
});

describe("parseMembershipEvent never throws", () => {
  test("on arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), contexts, (event, ctx) => wellFormed(parseMembershipEvent(event, ctx))),
      { numRuns: 2000 },
    );
  });

  test("on arbitrary JS values shaped like membership events", () => {
    const shaped = fc.record({
      type: fc.constantFrom(
        "m.call.member",
        "org.matrix.msc3401.call.member",
        "m.rtc.member",
        "org.matrix.msc4143.rtc.member",
        "m.room.encrypted",
      ),
      event_id: fc.anything(),
      room_id: fc.anything(),
      sender: fc.oneof(fc.constant(ALICE), fc.anything()),
      origin_server_ts: fc.oneof(fc.double(), fc.integer(), fc.anything()),
      state_key: fc.option(fc.oneof(fc.string(), fc.constant(`_${ALICE}_D`), fc.anything()), {
        nil: undefined,
      }),
      content: fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true }),
      unsigned: fc.anything(),
      msc4354_sticky: fc.anything(),
    });
    fc.assert(
      fc.property(shaped, contexts, (event, ctx) => wellFormed(parseMembershipEvent(event, ctx))),
      { numRuns: 2000 },
    );
  });

  test("on mutated valid events of every format", () => {
    const mutation = fc
      .constantFrom(...valid)
      .chain((event) =>
        fc.tuple(
          fc.constant(event),
          fc.constantFrom(...paths(event)),
          fc.oneof(fc.jsonValue(), fc.constantFrom(null, "", -1, 1e300, [], {}, "#", ALICE)),
          fc.boolean(),
        ),
      );
    fc.assert(
      fc.property(mutation, contexts, ([event, path, replacement, remove], ctx) => {
        const mutated = mutate(event, path, replacement, remove);
        const first = parseMembershipEvent(mutated, ctx);
        expect(parseMembershipEvent(mutated, ctx)).toEqual(first);
        return wellFormed(first);
      }),
      { numRuns: 3000 },
    );
  });

  test("the valid seeds themselves parse to slots", () => {
    for (const event of valid) expect(parseMembershipEvent(event, ctxAt()).kind).toBe("slot");
  });
});
