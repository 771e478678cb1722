// Database failures around a webhook: while recording it, the route answers 500 in JSON and logs it, and LiveKit's
// retry after the database recovered is accepted and processed; while acting on it after the 200, it is logged.
// Either way the process carries on.
import Database from "better-sqlite3";
import { LIVEKIT, startHostileService, type HostileService } from "../../support/hostile-service";
import { webhookHeaders } from "../../support/livekit-webhook";
import { send } from "../../support/keepalive-http";
import { joinedBody, observe, outcomeDelta, post, STACK_FRAME } from "./webhook-harness";

let svc: HostileService;

beforeAll(async () => {
  svc = await startHostileService("webhook-faults");
});

afterAll(async () => {
  await svc.stop();
});

test("the dedupe table is unusable: 500, logged, the service lives; the retry afterwards is accepted", async () => {
  const { body, sid } = joinedBody();
  const headers = await webhookHeaders(body, LIVEKIT.apiKey, LIVEKIT.apiSecret);
  // Another connection takes the table away: the service's next write to it fails as a real database error would.
  const admin = new Database(svc.dbPath);
  admin.exec("ALTER TABLE webhooks_seen RENAME TO webhooks_seen_away");
  const before = await observe(svc);
  let failed;
  try {
    failed = await post(svc, body, headers);
  } finally {
    admin.exec("ALTER TABLE webhooks_seen_away RENAME TO webhooks_seen");
    admin.close();
  }
  expect({ status: failed.status, stackTrace: STACK_FRAME.test(failed.text) }).toEqual({
    status: 500,
    stackTrace: false,
  });
  expect(typeof (JSON.parse(failed.text) as { error?: unknown }).error).toBe("string");
  expect(svc.logged("webhook could not be recorded")).toEqual([expect.objectContaining({ level: "error" })]);
  const afterFailure = await observe(svc);
  expect(afterFailure.presence).toBe(before.presence);
  for (const path of ["/health", "/ready"]) {
    expect((await send(svc.agent, { method: "GET", url: `${svc.base}${path}` })).status).toBe(200);
  }

  const retried = await post(svc, body, headers);
  const after = await observe(svc);
  expect([retried.status, JSON.parse(retried.text)]).toEqual([200, {}]);
  expect(outcomeDelta(afterFailure, after)).toEqual({ accepted: 1 });
  expect(svc.query(`SELECT sid FROM sfu_presence WHERE sid = '${sid}'`)).toEqual([{ sid }]);
});

test("acting on an accepted webhook fails (the presence table is unusable): logged, the service lives", async () => {
  const { body } = joinedBody();
  const headers = await webhookHeaders(body, LIVEKIT.apiKey, LIVEKIT.apiSecret);
  const admin = new Database(svc.dbPath);
  admin.exec("ALTER TABLE sfu_presence RENAME TO sfu_presence_away");
  try {
    const res = await post(svc, body, headers);
    expect([res.status, JSON.parse(res.text)]).toEqual([200, {}]);
    // Processing runs after the answer.
    for (let i = 0; i < 50 && svc.logged("webhook could not be processed").length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
  } finally {
    admin.exec("ALTER TABLE sfu_presence_away RENAME TO sfu_presence");
    admin.close();
  }
  expect(svc.logged("webhook could not be processed")).toEqual([
    expect.objectContaining({ level: "error", event: "participant_joined" }),
  ]);
  for (const path of ["/health", "/ready"]) {
    expect((await send(svc.agent, { method: "GET", url: `${svc.base}${path}` })).status).toBe(200);
  }
});
