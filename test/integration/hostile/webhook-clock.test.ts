// LiveKit's clock a little apart from ours: webhooks it signed are still accepted (within the tolerance).
import { LIVEKIT, startHostileService, type HostileService } from "../../support/hostile-service";
import { signWebhookAt, WEBHOOK_CONTENT_TYPE } from "../../support/livekit-webhook";
import { joinedBody, observe, post } from "./webhook-harness";

let svc: HostileService;

beforeAll(async () => {
  svc = await startHostileService("webhook-clock");
});

afterAll(async () => {
  await svc.stop();
});

test.each([
  ["30 s ahead", 30_000],
  ["30 s behind", -30_000],
])(
  "signed by a LiveKit whose clock is %s of ours: accepted (within the 60 s tolerance)",
  async (_n, skew) => {
    const { body, sid } = joinedBody();
    const token = signWebhookAt(body, LIVEKIT.apiKey, LIVEKIT.apiSecret, Date.now() + skew);
    const res = await post(svc, body, { "Content-Type": WEBHOOK_CONTENT_TYPE, Authorization: token });
    expect(res.status).toBe(200);
    await observe(svc);
    expect(svc.query(`SELECT sid FROM sfu_presence WHERE sid = '${sid}'`)).toHaveLength(1);
  },
);
