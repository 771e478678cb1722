// fast-check arbitraries of bad JSON values: wrong types, malformed ids, absurd timestamps, huge arrays, deep nesting.
import fc from "fast-check";

/** A JSON object nested `depth` levels deep (`{"a":{"a":…}}`), or arrays (`[[…]]`). */
export function nested(depth: number, arrays: boolean): unknown {
  let value: unknown = arrays ? [] : {};
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
  return value;
}

/** Nesting deep enough to be hostile yet within what a homeserver can carry (Python's JSON stops near 1000). */
export const deep = fc.tuple(fc.integer({ min: 20, max: 900 }), fc.boolean()).map(([d, a]) => nested(d, a));

/** More than the parser's 64-entry lists, mostly small enough to stay under the 64 KB event limit. */
export const hugeArray = fc.oneof(
  fc.integer({ min: 65, max: 5_000 }).map((n) => new Array<number>(n).fill(0)),
  fc.integer({ min: 65, max: 500 }).map((n) => Array.from({ length: n }, () => ({ type: "livekit" }))),
);

const smallJson = fc.jsonValue({ maxDepth: 2 });

/** Cheap values weigh 4 each, the costly huge and deep ones 1: 100k events must be generated in seconds. */
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

export const notString = fc.oneof(
  w(4, fc.integer()),
  w(4, fc.double({ noNaN: true, noDefaultInfinity: true })),
  w(4, fc.boolean()),
  w(4, fc.constant(null)),
  w(4, fc.array(smallJson, { maxLength: 4 })),
  w(4, fc.dictionary(fc.string({ maxLength: 8 }), smallJson, { maxKeys: 4 })),
  w(1, deep),
  w(1, hugeArray),
);

export const notObject = fc.oneof(
  w(4, fc.string({ maxLength: 40 })),
  w(4, fc.integer()),
  w(4, fc.boolean()),
  w(4, fc.constant(null)),
  w(4, fc.array(smallJson, { maxLength: 4 })),
  w(1, hugeArray),
);

export const notArray = fc.oneof(
  w(4, fc.string({ maxLength: 40 })),
  w(4, fc.integer()),
  w(4, fc.boolean()),
  w(4, fc.constant(null)),
  w(4, fc.dictionary(fc.string({ maxLength: 8 }), smallJson, { maxKeys: 4 })),
  w(
    1,
    deep.filter((v) => !Array.isArray(v)),
  ),
);

/** Longer than the 255 characters Matrix allows an identifier. */
export const tooLong = fc.integer({ min: 256, max: 2_000 }).map((n) => "x".repeat(n));

/** A required identifier that is unusable: wrong type, empty, or too long. */
export const badId = fc.oneof(notString, fc.constant(""), tooLong);

/** An identifier that may be empty (call ids) but is still unusable. */
export const badOptionalId = fc.oneof(notString, tooLong);

/** Not a Matrix user id (strings too), for senders and `member.user_id`. */
export const notUserId = fc.oneof(
  notString,
  fc.constantFrom("alice", "@alice", "alice:example.org", "@:example.org", "@alice:", "", "@"),
  fc.integer({ min: 250, max: 1_000 }).map((n) => `@${"a".repeat(n)}:example.org`),
);

/** Timestamps that are negative, past what a Date can hold, NaN-like strings, or not numbers at all. */
export const badTs = fc.oneof(
  fc.constantFrom(-1, -0.5, -1e15, 1e300, 8_640_000_000_000_001, Number.MAX_VALUE, -Number.MAX_VALUE),
  fc.constantFrom("NaN", "Infinity", "-Infinity", "1700000000000", "", "0x10"),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
  fc.constant(null),
  fc.boolean(),
  fc.constant({}),
  fc.constant([]),
);

/** Unknown keys with junk values: must cost little and change nothing. */
export const noise = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 30 }).map((k) => `x-${k}`),
  fc.oneof(w(12, fc.jsonValue({ maxDepth: 2 })), w(1, deep), w(1, hugeArray)),
  { maxKeys: 20 },
);

/** Noise on one event in eight. */
export const sometimesNoise = fc.oneof(w(7, fc.constant(null)), w(1, noise));
