// Webhook relay self-test (no servers): each mode forwards LiveKit's exact bytes and headers, or not, as set.
import { startWebhookRelay } from "./relay";
import { waitUntil } from "./ports";
import { startWebhookSink } from "./webhook-sink";

test("webhook relay: pass, drop, duplicate, reorder and delay forward the exact bytes and headers", async () => {
  const target = await startWebhookSink();
  const own = await startWebhookRelay();
  own.setTarget(target.url);
  const post = async (id: string): Promise<void> => {
    const body = JSON.stringify({ id, event: "participant_joined", participant: { identity: id } });
    const headers = { "content-type": "application/webhook+json", authorization: `jwt-${id}` };
    expect((await fetch(own.url, { method: "POST", headers, body })).status).toBe(200);
  };
  const ids = (): string[] => target.got().map((g) => (JSON.parse(g.body) as { id: string }).id);
  try {
    await post("p1");
    await waitUntil(() => ids().length === 1, 5_000);
    expect(target.got()[0]?.headers.authorization).toBe("jwt-p1");
    expect(target.got()[0]?.headers["content-type"]).toBe("application/webhook+json");
    own.setMode("drop");
    await post("d1");
    own.setMode("duplicate");
    await post("u1");
    await waitUntil(() => ids().length === 3, 5_000);
    own.setMode("reorder");
    await post("r1");
    await post("r2");
    await waitUntil(() => ids().length === 5, 5_000);
    own.setMode({ delayMs: 400 });
    await post("l1");
    await waitUntil(() => ids().length === 6, 5_000);
    expect(ids()).toEqual(["p1", "u1", "u1", "r2", "r1", "l1"]);
    const delayed = target.got()[5]!.receivedAt - own.received().find((w) => w.id === "l1")!.receivedAt;
    expect(delayed).toBeGreaterThanOrEqual(390);
    expect(own.received().map((w) => w.action)).toEqual([
      "forwarded",
      "dropped",
      "duplicated",
      "held",
      "forwarded",
      "delayed",
    ]);
    await expect(own.waitFor((w) => w.id === "nope", 100)).rejects.toThrow(/no matching webhook/);
  } finally {
    await own.close();
    await target.close();
  }
});
