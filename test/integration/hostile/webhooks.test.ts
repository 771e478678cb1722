// Hostile LiveKit webhooks against the real listener: each refusal's status, replay dedupe, and a 10k-request fuzz.
import fc from "fast-check";
import { mapLimit, send, type RawResponse } from "../../support/keepalive-http";
import {
  LIVEKIT,
  startHostileService,
  WEBHOOK_MAX_BODY,
  WEBHOOK_PATH,
  type HostileService,
} from "../../support/hostile-service";
import { signWebhookAt, WEBHOOK_CONTENT_TYPE, webhookHeaders } from "../../support/livekit-webhook";
import { total } from "../../support/prometheus-text";
import { statusBeforeBody } from "../../support/raw-http";
import {
  describeRequest,
  fire,
  isOwnRefusal,
  joinedBody,
  observe,
  outcomeDelta,
  post,
  STACK_FRAME,
  type Fired,
  type Observed,
} from "./webhook-harness";
import { hostileWebhookArb } from "./webhook-requests";

jest.setTimeout(120_000);

const FUZZ_REQUESTS = 10_000;
const FUZZ_CONCURRENCY = 8;

let svc: HostileService;
const signed = (body: string) => webhookHeaders(body, LIVEKIT.apiKey, LIVEKIT.apiSecret);

beforeAll(async () => {
  svc = await startHostileService("webhooks");
});

afterAll(async () => {
  await svc.stop();
});

describe("refused webhooks: right status, counted, logged, no state change", () => {
  const cases: [string, number, string, () => Promise<RawResponse>][] = [
    [
      "unsigned",
      401,
      "bad_signature",
      () => post(svc, joinedBody().body, { "Content-Type": WEBHOOK_CONTENT_TYPE }),
    ],
    [
      "signed with a key the service does not hold",
      401,
      "bad_signature",
      async () => {
        const { body } = joinedBody();
        return post(svc, body, await webhookHeaders(body, "someone-else", LIVEKIT.apiSecret));
      },
    ],
    [
      "the right key with a wrong secret",
      401,
      "bad_signature",
      async () => {
        const { body } = joinedBody();
        return post(svc, body, await webhookHeaders(body, LIVEKIT.apiKey, `${LIVEKIT.apiSecret}-not`));
      },
    ],
    [
      "a body tampered with after signing",
      401,
      "bad_signature",
      async () => {
        const { body } = joinedBody();
        return post(svc, body.replace("@alice:", "@mallory:"), await signed(body));
      },
    ],
    [
      "signed by a LiveKit whose clock is 2 minutes ahead (not valid yet, past the 60 s tolerance)",
      401,
      "bad_signature",
      () => {
        const { body } = joinedBody();
        const token = signWebhookAt(body, LIVEKIT.apiKey, LIVEKIT.apiSecret, Date.now() + 120_000);
        return post(svc, body, { "Content-Type": WEBHOOK_CONTENT_TYPE, Authorization: token });
      },
    ],
    [
      "signed 6 minutes ago (expired, past the 60 s tolerance)",
      401,
      "bad_signature",
      () => {
        const { body } = joinedBody();
        const token = signWebhookAt(body, LIVEKIT.apiKey, LIVEKIT.apiSecret, Date.now() - 360_000);
        return post(svc, body, { "Content-Type": WEBHOOK_CONTENT_TYPE, Authorization: token });
      },
    ],
    [
      "an oversized body, correctly signed",
      413,
      "too_large",
      async () => {
        const body = `{"pad":"${"x".repeat(WEBHOOK_MAX_BODY)}"}`;
        return post(svc, body, await signed(body));
      },
    ],
    [
      "a body that is not JSON, correctly signed",
      400,
      "bad_request",
      async () => {
        const body = "event=participant_joined&id=EV_form";
        return post(svc, body, await signed(body));
      },
    ],
    [
      "a genuine body and signature under the wrong content type",
      415,
      "bad_request",
      async () => {
        const { body } = joinedBody();
        return post(svc, body, { ...(await signed(body)), "Content-Type": "application/json" });
      },
    ],
    [
      "a genuine body and signature without a content type",
      415,
      "bad_request",
      async () => {
        const { body } = joinedBody();
        return post(svc, body, { Authorization: (await signed(body)).Authorization ?? "" });
      },
    ],
    [
      // Nothing parses a body before its route: no JSON parser answers this one with its own 400.
      "unparseable JSON sent as application/json",
      415,
      "bad_request",
      () => post(svc, "{not json", { "Content-Type": "application/json" }),
    ],
    [
      "a genuine body and signature in an unsupported content encoding",
      415,
      "bad_request",
      async () => {
        const { body } = joinedBody();
        return post(svc, body, { ...(await signed(body)), "Content-Encoding": "x-unknown" });
      },
    ],
  ];

  test.each(cases)("%s → %i %s", async (_name, status, outcome, request) => {
    const before = await observe(svc);
    const res = await request();
    const after = await observe(svc);
    expect({
      status: res.status,
      ownRefusal: isOwnRefusal(res.text),
      stackTrace: STACK_FRAME.test(res.text),
    }).toEqual({ status, ownRefusal: true, stackTrace: false });
    expect(outcomeDelta(before, after)).toEqual({ [outcome]: 1 });
    expect(after.refusedLines - before.refusedLines).toBe(1);
    expect(svc.logged("webhook refused").at(-1)).toMatchObject({ level: "warn", status });
    expect({ presence: after.presence, webhookLines: after.webhookLines }).toEqual({
      presence: before.presence,
      webhookLines: before.webhookLines,
    });
  });

  // Signed by the key holder, so the signature is fine; the body is what is wrong: 400, not "bad signature".
  test.each(["[]", '"participant_joined"', "42", "null", '{"id":5}', '{"id":"EV_x","event":{"a":1}}'])(
    "correctly signed JSON that is not a webhook event (%s) → 400 bad_request, nothing recorded",
    async (body) => {
      const before = await observe(svc);
      const res = await post(svc, body, await signed(body));
      const after = await observe(svc);
      expect({ status: res.status, outcomes: outcomeDelta(before, after) }).toEqual({
        status: 400,
        outcomes: { bad_request: 1 },
      });
      expect(after.presence).toBe(before.presence);
      expect(after.webhookLines).toBe(before.webhookLines);
    },
  );

  test("a correctly signed participant webhook without sid or identity records no participant", async () => {
    const body = JSON.stringify({
      id: "EV_no_participant",
      event: "participant_joined",
      room: { name: "lk-room" },
      participant: {},
    });
    const before = await observe(svc);
    await post(svc, body, await signed(body));
    const after = await observe(svc);
    expect(svc.query("SELECT sid, identity FROM sfu_presence WHERE sid = '' OR identity = ''")).toEqual([]);
    expect(after.presence).toBe(before.presence);
  });
});

describe("the headers are checked before the body is read", () => {
  const head = (headers: Record<string, string>) =>
    statusBeforeBody({
      method: "POST",
      url: `${svc.base}${WEBHOOK_PATH}`,
      headers: { "Content-Type": WEBHOOK_CONTENT_TYPE, ...headers },
      contentLength: WEBHOOK_MAX_BODY - 1,
    });

  test("without a token, or with one from a key the service does not hold: 401 before the body arrives", async () => {
    expect(await head({})).toBe(401);
    const { body } = joinedBody();
    const foreign = await webhookHeaders(body, "someone-else", LIVEKIT.apiSecret);
    expect(await head({ Authorization: foreign.Authorization ?? "" })).toBe(401);
  });

  test("with our (public) API key but a wrong signature: 401 before the body arrives", async () => {
    const { body } = joinedBody();
    const forged = await webhookHeaders(body, LIVEKIT.apiKey, "not-the-secret-not-the-secret-not-the-secret");
    expect(await head({ Authorization: forged.Authorization ?? "" })).toBe(401);
  });

  test("a body declared over the limit: 413 before it is read", async () => {
    const { body } = joinedBody();
    const status = await statusBeforeBody({
      method: "POST",
      url: `${svc.base}${WEBHOOK_PATH}`,
      headers: await signed(body),
      contentLength: WEBHOOK_MAX_BODY * 100,
    });
    expect(status).toBe(413);
  });
});

describe("replayed webhooks", () => {
  test("the same id is processed once: 200, then 200 duplicate with no second effect", async () => {
    const { body, sid } = joinedBody();
    const headers = await signed(body);
    const before = await observe(svc);
    const first = await post(svc, body, headers);
    expect([first.status, JSON.parse(first.text)]).toEqual([200, {}]);
    const processed = await observe(svc);
    expect(processed.webhookLines - before.webhookLines).toBe(1);
    const row = svc.query(`SELECT sid, identity, joined_at FROM sfu_presence WHERE sid = '${sid}'`);
    expect(row).toHaveLength(1);
    // The very same request again, then the same body under a freshly made token (as a retrying LiveKit would).
    const again = await post(svc, body, headers);
    const resigned = await post(svc, body, await signed(body));
    const after = await observe(svc);
    for (const res of [again, resigned]) {
      expect([res.status, JSON.parse(res.text)]).toEqual([200, { duplicate: true }]);
    }
    expect(outcomeDelta(before, after)).toEqual({ accepted: 1, duplicate: 2 });
    expect(after.webhookLines - before.webhookLines).toBe(1);
    expect(after.presence - before.presence).toBe(1);
    expect(svc.query(`SELECT sid, identity, joined_at FROM sfu_presence WHERE sid = '${sid}'`)).toEqual(row);
  });

  test("ten simultaneous copies of one webhook are accepted exactly once", async () => {
    const { body, sid } = joinedBody();
    const headers = await signed(body);
    const before = await observe(svc);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(svc, body, headers)));
    const after = await observe(svc);
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(answers.filter((a) => a.text === "{}")).toHaveLength(1);
    expect(outcomeDelta(before, after)).toEqual({ accepted: 1, duplicate: 9 });
    expect(after.webhookLines - before.webhookLines).toBe(1);
    expect(svc.query(`SELECT sid FROM sfu_presence WHERE sid = '${sid}'`)).toHaveLength(1);
  });
});

describe(`fuzz: ${FUZZ_REQUESTS} random webhook requests`, () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  let fired: Fired[] = [];
  let before: Observed;
  let after: Observed;

  beforeAll(async () => {
    before = await observe(svc);
    const requests = fc.sample(hostileWebhookArb, { numRuns: FUZZ_REQUESTS, seed });
    const started = performance.now();
    fired = await mapLimit(requests, FUZZ_CONCURRENCY, (r) => fire(svc, r));
    const seconds = (performance.now() - started) / 1000;
    after = await observe(svc);
    const statuses: Record<number, number> = {};
    for (const f of fired) statuses[f.status] = (statuses[f.status] ?? 0) + 1;
    console.log(
      `webhook fuzz (FUZZ_SEED=${seed}): ${fired.length} requests in ${seconds.toFixed(1)} s ` +
        `(${Math.round(fired.length / seconds)}/s), statuses ${JSON.stringify(statuses)}`,
    );
  });

  test("the service stays up: /health and /ready answer 200, no error logged", async () => {
    expect(fired).toHaveLength(FUZZ_REQUESTS);
    expect((await send(svc.agent, { method: "GET", url: `${svc.base}/health` })).status).toBe(200);
    expect((await send(svc.agent, { method: "GET", url: `${svc.base}/ready` })).status).toBe(200);
    expect(svc.log.lines().filter((l) => l.level === "error")).toEqual([]);
  });

  test("no 5xx, and nothing without a valid signature is accepted", () => {
    const wrong = fired.filter(
      (f) => ![200, 400, 401, 413, 415].includes(f.status) || (f.status === 200 && !f.validlySigned),
    );
    expect(wrong.slice(0, 5).map(describeRequest)).toEqual([]);
  });

  test("every refusal is the route's own: JSON, no stack trace, counted and logged once", () => {
    // One example per kind of foreign answer (e.g. Express's own HTML error page).
    const foreign = new Map<string, Fired>();
    for (const f of fired.filter((x) => x.status !== 200 && !isOwnRefusal(x.text))) {
      const kind = `${f.status} ${/<pre>([^:<]*)/.exec(f.text)?.[1] ?? f.text.slice(0, 40)}`;
      if (!foreign.has(kind)) foreign.set(kind, f);
    }
    expect([...foreign.values()].map(describeRequest)).toEqual([]);
    const counted = Object.values(outcomeDelta(before, after)).reduce((a, b) => a + b, 0);
    const refused = fired.filter((f) => f.status !== 200).length;
    expect({ counted, logged: after.refusedLines - before.refusedLines }).toEqual({
      counted: fired.length,
      logged: refused,
    });
  });

  test("no state change: no participant recorded, no membership, no session", () => {
    expect(after.presence).toBe(before.presence);
    expect(svc.query("SELECT member_key FROM user_sessions WHERE left_at IS NULL")).toEqual([]);
    expect(svc.query("SELECT * FROM user_sessions")).toEqual([]);
    expect(total(after.samples, "rtc_reconciler_tracked_members")).toBe(0);
  });
});
