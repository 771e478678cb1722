// The service on the real stack: it starts against a real Synapse, receives a real js-sdk membership through a
// Synapse transaction, and real LiveKit webhooks (verified) through its webhook route; forged webhooks get 401.
import {
  legacyIdentity,
  livekitRoomName,
  MatrixHttp,
  registerUser,
  startLiveKitParticipant,
  startMatrixRtcClient,
  uniqueLocalpart,
} from "./harness";
import { useStack } from "./harness/use-stack";

const stack = useStack({ profile: "delayed-events" });

test("start-up: homeserver checked (versions, token, ping) and ready", () => {
  const checked = stack.reconciler.logs().find((l) => l.message === "homeserver checked");
  expect(checked).toMatchObject({ delayed_events: true });
  expect(typeof checked?.ping_ms).toBe("number");
});

test("a real js-sdk client's membership reaches the service through a real Synapse transaction", async () => {
  const alice = await registerUser(stack.synapse.baseUrl, {
    username: uniqueLocalpart("alice"),
    deviceId: "ALICEDEV",
  });
  const roomId = await MatrixHttp.of(alice).createRoom({ preset: "private_chat" });
  const client = startMatrixRtcClient({ ...alice, roomId, livekitServiceUrl: stack.serviceUrl });
  try {
    await client.waitFor("joined-call", 60_000);
    const stateKey = `_${alice.userId}_ALICEDEV_m.call`;
    const seen = await stack.reconciler.waitForLog(
      (l) =>
        l.message === "matrix event received" &&
        l.type === "org.matrix.msc3401.call.member" &&
        l.state_key === stateKey &&
        typeof l.content === "object" &&
        l.content !== null &&
        "application" in l.content,
      30_000,
    );
    expect(seen.room).toBe(roomId);
    expect(seen.sender).toBe(alice.userId);
    expect(seen.content).toMatchObject({
      application: "m.call",
      call_id: "",
      device_id: "ALICEDEV",
      scope: "m.room",
      membershipID: `${alice.userId}:ALICEDEV`,
      focus_active: { type: "livekit", focus_selection: "oldest_membership" },
      foci_preferred: [{ type: "livekit", livekit_service_url: stack.serviceUrl }],
    });
    await stack.reconciler.waitForLog(
      (l) => l.message === "membership joined" && l.user === alice.userId,
      30_000,
    );
  } finally {
    await client.terminate();
  }
});

test("LiveKit's participant_joined passes signature verification; after SIGKILL participant_left arrives within 45 s", async () => {
  const room = livekitRoomName(`!e2e-${uniqueLocalpart("room")}:localhost`);
  const identity = legacyIdentity(`@${uniqueLocalpart("bob")}:localhost`, "BOBDEV");
  const participant = await startLiveKitParticipant({ ...stack.livekit, room, identity });
  await participant.waitFor("connected", 30_000);
  await stack.reconciler.waitForLog(
    (l) => l.message === "LiveKit webhook" && l.event === "participant_joined" && l.identity === identity,
    30_000,
  );
  const killedAt = Date.now();
  await participant.kill();
  const left = await stack.reconciler.waitForLog(
    (l) => l.message === "LiveKit webhook" && l.event === "participant_left" && l.identity === identity,
    45_000,
  );
  const delayS = (Date.parse(left.time) - killedAt) / 1000;
  console.log(
    `SIGKILL → participant_left at the service: ${delayS.toFixed(1)} s (${String(left.disconnect_reason)})`,
  );
  expect(delayS).toBeLessThan(45);
  expect(left.disconnect_reason).toBe("CONNECTION_TIMEOUT");
});

test("a webhook with a bad signature sent to the same route is refused with 401", async () => {
  const genuine = stack.relay.received().find((w) => w.event === "participant_joined");
  expect(genuine).toBeDefined();
  const tampered = genuine!.body.replace(/"participant_joined"/, '"participant_left"');
  const forged = await fetch(stack.reconciler.webhookUrl, {
    method: "POST",
    headers: {
      "Content-Type": "application/webhook+json",
      Authorization: genuine!.headers.authorization ?? "",
    },
    body: tampered,
  });
  expect(forged.status).toBe(401);
  const unsigned = await fetch(stack.reconciler.webhookUrl, {
    method: "POST",
    headers: { "Content-Type": "application/webhook+json" },
    body: genuine!.body,
  });
  expect(unsigned.status).toBe(401);
  await stack.reconciler.waitForLog((l) => l.message === "webhook refused" && l.status === 401, 5_000);
});
