// Self-test of the e2e harness (no reconciler): real Synapse transactions, real LiveKit webhooks through the relay, both Synapse profiles.
import { WebhookReceiver } from "livekit-server-sdk";
import {
  CALL_MEMBER_TYPE,
  DEFAULT_LIVEKIT_SERVICE_URL,
  killAllLeftovers,
  legacyIdentity,
  livekitRoomName,
  MatrixHttp,
  registerUser,
  sendRawMembership,
  startCapturingAppservice,
  startLiveKit,
  startLiveKitParticipant,
  startMatrixRtcClient,
  startSynapse,
  startWebhookRelay,
  stickyIdentity,
  uniqueLocalpart,
  startWebhookSink,
  waitUntil,
  writeRegistration,
  type CapturingAppservice,
  type LiveKitHandle,
  type MatrixSession,
  type SynapseHandle,
  type WebhookRelay,
  type WebhookSink,
} from "./harness";

let app: CapturingAppservice & { setHsToken(token: string): void };
let asToken: string;
let synapse: SynapseHandle;
let relay: WebhookRelay;
let livekit: LiveKitHandle;
let sink: WebhookSink;

beforeAll(async () => {
  app = await startCapturingAppservice();
  const registration = writeRegistration({ url: app.url });
  app.setHsToken(registration.hsToken);
  asToken = registration.asToken;
  relay = await startWebhookRelay();
  [synapse, livekit] = await Promise.all([
    startSynapse({ profile: "delayed-events", registrationFiles: [registration.file] }),
    startLiveKit({ webhookUrls: [relay.url] }),
  ]);
  sink = await startWebhookSink(new WebhookReceiver(livekit.apiKey, livekit.apiSecret));
  relay.setTarget(sink.url);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([synapse.stop(), livekit.stop()]);
  await Promise.allSettled([relay.close(), app.close(), sink.close()]);
  expect(killAllLeftovers()).toEqual([]);
}, 60_000);

async function freshUserAndRoom(device: string): Promise<{ user: MatrixSession; roomId: string }> {
  const user = await registerUser(synapse.baseUrl, { username: uniqueLocalpart("rtc"), deviceId: device });
  const roomId = await MatrixHttp.of(user).createRoom({ preset: "private_chat" });
  return { user, roomId };
}

test("a js-sdk client's state membership arrives in a real Synapse transaction, with a delayed leave", async () => {
  const { user, roomId } = await freshUserAndRoom("DEVSTATE");
  const client = startMatrixRtcClient({ ...user, roomId, livekitServiceUrl: DEFAULT_LIVEKIT_SERVICE_URL });
  try {
    const joined = await client.waitFor("joined-call", 60_000);
    expect(joined["rtcBackendIdentity"]).toBe(legacyIdentity(user.userId, user.deviceId));
    const stateKey = `_${user.userId}_${user.deviceId}_m.call`;
    const delivered = await app.waitForEvent(
      (e) => e.type === CALL_MEMBER_TYPE && e.state_key === stateKey,
      30_000,
    );
    expect(delivered.event.room_id).toBe(roomId);
    expect(delivered.event.sender).toBe(user.userId);
    expect(delivered.event["content"]).toMatchObject({
      application: "m.call",
      device_id: user.deviceId,
      membershipID: `${user.userId}:${user.deviceId}`,
      foci_preferred: [{ type: "livekit", livekit_service_url: DEFAULT_LIVEKIT_SERVICE_URL }],
    });
    const delayed = await new MatrixHttp(synapse.baseUrl, asToken).asUser(user.userId).delayedEvents();
    expect(delayed.some((d) => d.room_id === roomId && d.state_key === stateKey)).toBe(true);
    expect(await client.terminate()).toBe(0);
    await app.waitForEvent(
      (e) => e.state_key === stateKey && Object.keys(e["content"] as object).length === 0,
      30_000,
    );
  } finally {
    await client.kill();
  }
}, 120_000);

test("a js-sdk client in sticky mode sends an rtc.member timeline event; identities match the naming helpers", async () => {
  const { user, roomId } = await freshUserAndRoom("DEVSTICKY");
  const client = startMatrixRtcClient({
    ...user,
    roomId,
    livekitServiceUrl: DEFAULT_LIVEKIT_SERVICE_URL,
    sticky: true,
  });
  try {
    const joined = await client.waitFor("joined-call", 60_000);
    const memberId = `${user.userId}:${user.deviceId}`;
    expect(joined["rtcBackendIdentity"]).toBe(stickyIdentity(user.userId, user.deviceId, memberId));
    const delivered = await app.waitForEvent(
      (e) => e.type === "org.matrix.msc4143.rtc.member" && e.sender === user.userId && e.room_id === roomId,
      30_000,
    );
    expect(delivered.event["content"]).toMatchObject({ slot_id: "m.call#ROOM", member: { id: memberId } });
  } finally {
    await client.kill();
  }
}, 120_000);

test("naming helper matches the MSC4195 test vector", () => {
  expect(livekitRoomName("!roomid:example.com", "slot1234")).toBe(
    "O8437W3+jmzMVjoIP3tNwbm+XxHQk2iKpOA7aqw3qSc",
  );
});

test("rtc-node participant: participant_joined is relayed with a valid signature; SIGKILL brings participant_left within 45 s", async () => {
  const identity = legacyIdentity(`@${uniqueLocalpart("lk")}:localhost`, "DEVLK");
  const room = livekitRoomName(`!${uniqueLocalpart("room")}`);
  const participant = await startLiveKitParticipant({ ...livekit, room, identity });
  try {
    const connected = await participant.waitFor("connected", 30_000);
    expect(connected["identity"]).toBe(identity);
    const joined = await relay.waitFor(
      (w) => w.event === "participant_joined" && w.identity === identity,
      15_000,
    );
    await waitUntil(() => sink.got().some((g) => g.body === joined.body), 5_000);
    expect(sink.got().find((g) => g.body === joined.body)?.verified).toBe(true);
    const killedAt = Date.now();
    await participant.kill();
    const left = await relay.waitFor(
      (w) => w.event === "participant_left" && w.identity === identity && w.receivedAt >= killedAt,
      45_000,
    );
    const delayMs = left.receivedAt - killedAt;
    console.log(
      `SIGKILL -> participant_left: ${delayMs} ms (disconnectReason ${String(left.disconnectReason)})`,
    );
    expect(delayMs).toBeLessThan(45_000);
  } finally {
    await participant.kill();
  }
}, 120_000);

test("rtc-node participant: SIGTERM is a clean leave, participant_left at once", async () => {
  const identity = legacyIdentity(`@${uniqueLocalpart("lk")}:localhost`, "DEVLK");
  const participant = await startLiveKitParticipant({
    ...livekit,
    room: livekitRoomName(`!${uniqueLocalpart("r")}`),
    identity,
  });
  try {
    await participant.waitFor("connected", 30_000);
    await relay.waitFor((w) => w.event === "participant_joined" && w.identity === identity, 15_000);
    const stoppedAt = Date.now();
    expect(await participant.terminate()).toBe(0);
    const left = await relay.waitFor(
      (w) => w.event === "participant_left" && w.identity === identity,
      10_000,
    );
    console.log(
      `SIGTERM -> participant_left: ${left.receivedAt - stoppedAt} ms (disconnectReason ${String(left.disconnectReason)})`,
    );
  } finally {
    await participant.kill();
  }
}, 120_000);

test("both Synapse profiles start; only delayed-events advertises MSC4140", async () => {
  const other = await startSynapse({ profile: "no-delayed-events", registrationFiles: [] });
  try {
    const features = async (baseUrl: string): Promise<Record<string, boolean>> => {
      const res = await fetch(`${baseUrl}/_matrix/client/versions`);
      return ((await res.json()) as { unstable_features: Record<string, boolean> }).unstable_features;
    };
    const [withDelayed, without] = await Promise.all([features(synapse.baseUrl), features(other.baseUrl)]);
    expect(withDelayed["org.matrix.msc4140"]).toBe(true);
    expect(without["org.matrix.msc4140"] ?? false).toBe(false);
    for (const f of [withDelayed, without]) expect(f["org.matrix.msc4354"]).toBe(true);
  } finally {
    await other.stop();
  }
}, 120_000);

test("raw membership helpers write formats A, B, S and C as the user (appservice masquerade)", async () => {
  const { user, roomId } = await freshUserAndRoom("DEVRAW");
  const api = new MatrixHttp(synapse.baseUrl, asToken).asUser(user.userId);
  const focus = { type: "livekit" as const, livekit_service_url: DEFAULT_LIVEKIT_SERVICE_URL };
  const expiresTs = Date.now() + 3_600_000;
  const sent = [
    await sendRawMembership(api, roomId, {
      format: "msc3401",
      userId: user.userId,
      devices: [{ deviceId: "A1", expiresTs }],
    }),
    await sendRawMembership(api, roomId, {
      format: "legacy-array",
      userId: user.userId,
      eventType: "m.call.member",
      entries: [{ deviceId: "B1", expires: 3_600_000, createdTs: Date.now(), focus }],
    }),
    await sendRawMembership(api, roomId, {
      format: "seed-rtc-member",
      userId: user.userId,
      deviceId: "S1",
      focus,
    }),
    await sendRawMembership(api, roomId, { format: "session", userId: user.userId, deviceId: "C1", focus }),
  ];
  const owned = await MatrixHttp.of(user).createRoom({ room_version: "org.matrix.msc3757.11" });
  const ownedKey = `${user.userId}_S2`;
  const inOwned = await sendRawMembership(api, owned, {
    format: "seed-rtc-member",
    userId: user.userId,
    deviceId: "S2",
    focus,
    stateKey: ownedKey,
  });
  expect(await api.getStateEvent(owned, "m.rtc.member", ownedKey)).toEqual(inOwned.content);
  for (const ev of sent) {
    expect(ev.eventId).toMatch(/^\$/);
    expect(await api.getStateEvent(roomId, ev.type, ev.stateKey)).toEqual(ev.content);
    const delivered = await app.waitForEvent((e) => e.event_id === ev.eventId, 30_000);
    expect(delivered.event.sender).toBe(user.userId);
  }
}, 120_000);
