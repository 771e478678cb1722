// fast-check generators of hostile LiveKit webhook requests: random bodies, content types, encodings and tokens.
import fc from "fast-check";
import { LIVEKIT, WEBHOOK_MAX_BODY } from "../../support/hostile-service";

/** How the request's Authorization header is made. */
export type Signing =
  | { readonly kind: "header"; readonly value: string | null }
  | { readonly kind: "held" } // the service's key and secret: a valid signature over whatever the body is
  | { readonly kind: "wrong-secret" }
  | { readonly kind: "foreign-key"; readonly key: string };

export interface HostileWebhook {
  readonly body: string | Uint8Array;
  readonly contentType: string | null;
  readonly contentEncoding: string | null;
  readonly signing: Signing;
  readonly bearer: boolean;
}

/** Characters Node's HTTP client lets through in a header value. */
const headerChar = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constant("\t") },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
);
const headerString = fc.string({ unit: headerChar, maxLength: 300 });

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const base64urlJunk = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("base64url"));

/** Strings shaped like JWTs: base64url JSON header and claims (sometimes naming our key), junk signature. */
const jwtLike = fc
  .tuple(
    fc.record({
      alg: fc.constantFrom("HS256", "HS512", "none", "RS256", "ES256", ""),
      typ: fc.constantFrom("JWT", "jwt", "JOSE"),
    }),
    fc.record(
      {
        iss: fc.oneof(fc.constant(LIVEKIT.apiKey), fc.string(), fc.integer(), fc.constant(null)),
        sha256: fc.oneof(fc.base64String({ maxLength: 44 }), fc.jsonValue()),
        exp: fc.oneof(fc.integer(), fc.double(), fc.string()),
        nbf: fc.integer(),
        video: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
    base64urlJunk,
    fc.constantFrom(3, 2, 4),
  )
  .map(([header, claims, signature, parts]) =>
    [base64url(header), base64url(claims), signature, "x"].slice(0, parts).join("."),
  );

const signing: fc.Arbitrary<Signing> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "header" as const, value: null }) },
  { weight: 4, arbitrary: headerString.map((value) => ({ kind: "header" as const, value })) },
  { weight: 6, arbitrary: jwtLike.map((value) => ({ kind: "header" as const, value })) },
  { weight: 3, arbitrary: fc.constant({ kind: "held" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "wrong-secret" as const }) },
  {
    weight: 2,
    arbitrary: fc
      .string({ minLength: 1, maxLength: 20 })
      .map((key) => ({ kind: "foreign-key" as const, key })),
  },
);

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant("application/webhook+json") },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "application/webhook+json; charset=utf-8",
      "APPLICATION/WEBHOOK+JSON",
      "application/webhook+json;charset=utf-16",
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=xyz",
      "",
    ),
  },
  { weight: 2, arbitrary: headerString },
  { weight: 2, arbitrary: fc.constant(null) },
);

const contentEncoding = fc.oneof(
  { weight: 20, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom("gzip", "deflate", "br", "identity", "x-unknown", "gzip, gzip") },
  { weight: 1, arbitrary: headerString },
);

/** Webhook-shaped JSON with junk in every field (used unsigned or wrongly signed only). */
const shapedJson = fc
  .record(
    {
      event: fc.oneof(
        fc.constantFrom("participant_joined", "participant_left", "room_finished"),
        fc.jsonValue(),
      ),
      id: fc.jsonValue(),
      createdAt: fc.jsonValue(),
      room: fc.oneof(fc.jsonValue(), fc.record({ name: fc.jsonValue(), sid: fc.jsonValue() })),
      participant: fc.oneof(
        fc.jsonValue(),
        fc.record({ sid: fc.jsonValue(), identity: fc.jsonValue(), disconnectReason: fc.jsonValue() }),
      ),
    },
    { requiredKeys: [] },
  )
  .map((v) => JSON.stringify(v));

/** Bodies for any signing: random text, JSON, bytes, nothing, or too much. */
const garbageBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 400 }) },
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 5, arbitrary: fc.json({ maxDepth: 5 }) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 400 }) },
  { weight: 1, arbitrary: fc.constant("") },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: WEBHOOK_MAX_BODY - 16, max: WEBHOOK_MAX_BODY * 2 })
      .map((n) => `{"pad":"${"x".repeat(n)}"}`),
  },
);

export const hostileWebhookArb: fc.Arbitrary<HostileWebhook> = fc.oneof(
  fc.record({
    body: garbageBody,
    contentType,
    contentEncoding,
    signing,
    bearer: fc.boolean(),
  }),
  fc.record({
    body: shapedJson,
    contentType,
    contentEncoding,
    signing: signing.filter((s) => s.kind !== "held"),
    bearer: fc.boolean(),
  }),
);
