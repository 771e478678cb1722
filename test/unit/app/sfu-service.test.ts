// SfuService: presence from webhooks and polls (only ACTIVE counts), unavailable deployments, confirmAbsent, URLs.
import { SqliteStore } from "../../../src/adapters/sqlite/store";
import type { ParticipantState } from "../../../src/app/ports/livekit";
import { DeploymentDirectory, normaliseServiceUrl } from "../../../src/app/sfu/deployments";
import { SfuService, type SfuWebhookSignal } from "../../../src/app/sfu/sfu-service";
import { RoomCallState } from "../../../src/domain/membership/room-state";
import type { RtcMember } from "../../../src/domain/membership/model";
import { hashedTuple } from "../../../src/domain/sfu/hash";
import {
  ALICE,
  CALL_MEMBER,
  type ClientEvent,
  JWT_URL,
  legacyArrayEvent,
  livekitFocus,
  msc3401Event,
  ROOM,
  sessionJoin,
  T0,
} from "../domain/builders";
import { FakeClock } from "./fakes/clock";
import { FakeLiveKit } from "./fakes/livekit";
import { RecordingLogger, RecordingMetrics } from "./fakes/recorders";
import { identityOf, LK_ROOM } from "./harness";

const ID = identityOf(ALICE, "DEVA");

function setup() {
  const clock = new FakeClock(T0);
  const livekit = new FakeLiveKit();
  const { store } = SqliteStore.open(":memory:");
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const directory = new DeploymentDirectory([
    { name: "main", serviceUrls: [JWT_URL] },
    { name: "second", serviceUrls: ["https://sfu2.example.org/jwt/"] },
  ]);
  const sfu = new SfuService({
    directory,
    livekit,
    store,
    clock,
    logger,
    metrics,
    options: { staleAfterMs: 120_000, retentionMs: 600_000 },
  });
  return { clock, livekit, store, logger, metrics, sfu, directory };
}

function memberOf(event: ClientEvent): RtcMember {
  const room = new RoomCallState(ROOM, { roomVersion: "12" });
  room.apply(event, { receivedAt: T0 });
  const [m] = room.members();
  if (!m) throw new Error("no member");
  return m;
}

const alice = (url = JWT_URL) =>
  memberOf(sessionJoin({ user: ALICE, device: "DEVA", foci: [livekitFocus(url)] }));
type Env = ReturnType<typeof setup>;
const viewOf = (env: Env, m: RtcMember = alice()) => env.sfu.viewOf(m, [m], env.clock.now()).view;
const presence = (env: Env) => {
  const v = viewOf(env);
  return v.kind === "observed" ? v.presence.kind : v.kind;
};
const hook = (env: Env, event: string, sid: string, over: Partial<SfuWebhookSignal> = {}): string | null =>
  env.sfu.onWebhook({
    id: `${event}-${sid}`,
    deployment: "main",
    event,
    room: LK_ROOM,
    identity: ID,
    sid,
    disconnectReason: null,
    receivedAt: env.clock.now(),
    ...over,
  });

describe("SfuService presence", () => {
  test("nothing is known before the first poll: the view is unavailable, never absence", () => {
    expect(viewOf(setup())).toEqual({ kind: "unavailable", reason: "not polled yet" });
  });

  test.each<[ParticipantState, string]>([
    ["active", "connected"],
    ["joining", "never-seen"],
    ["joined", "never-seen"],
    ["disconnected", "gone"],
  ])("a poll listing the participant as %s gives %s", async (state, expected) => {
    const env = setup();
    env.livekit.connect("main", LK_ROOM, ID, "PA_1", state);
    await env.sfu.pollAll();
    expect(presence(env)).toBe(expected);
    const rows = env.store.db.prepare("SELECT sid FROM sfu_presence").all();
    expect(rows).toHaveLength(state === "active" ? 1 : 0);
  });

  test("webhooks connect and disconnect a participant; the interval is opened and closed", async () => {
    const env = setup();
    await env.sfu.pollAll();
    expect(presence(env)).toBe("never-seen");
    expect(hook(env, "participant_joined", "PA_1")).toBe(LK_ROOM);
    expect(presence(env)).toBe("connected");
    env.clock.advance(1_000);
    hook(env, "participant_left", "PA_1", { disconnectReason: "CLIENT_INITIATED" });
    const v = viewOf(env);
    expect(v.kind === "observed" ? v.presence : null).toMatchObject({
      kind: "gone",
      since: T0 + 1_000,
      reason: "CLIENT_INITIATED",
    });
    expect(env.store.db.prepare("SELECT left_at, reason FROM sfu_presence WHERE sid = 'PA_1'").get()).toEqual(
      {
        left_at: T0 + 1_000,
        reason: "CLIENT_INITIATED",
      },
    );
  });

  test("a webhook of an unknown deployment or without a room changes nothing", async () => {
    const env = setup();
    await env.sfu.pollAll();
    expect(hook(env, "participant_joined", "PA_1", { deployment: "elsewhere" })).toBeNull();
    expect(hook(env, "participant_joined", "PA_1", { room: null })).toBeNull();
    expect(presence(env)).toBe("never-seen");
  });

  test("a room that vanished from listRooms ends its participants", async () => {
    const env = setup();
    env.livekit.connect("main", LK_ROOM, ID, "PA_1");
    await env.sfu.pollAll();
    env.livekit.disconnect("main", LK_ROOM, ID);
    env.clock.advance(2_000);
    await env.sfu.pollAll();
    expect(presence(env)).toBe("gone");
  });

  test("a failing poll makes the deployment unavailable (logged once), a good one brings it back", async () => {
    const env = setup();
    await env.sfu.pollAll();
    env.livekit.down.add("main");
    await env.sfu.pollAll();
    await env.sfu.pollAll();
    expect(viewOf(env)).toEqual({ kind: "unavailable", reason: "connection refused" });
    expect(env.metrics.of("livekitApiError")).toEqual([
      ["main", "listRooms"],
      ["main", "listRooms"],
    ]);
    expect(env.logger.find("LiveKit deployment unavailable", "warn")).toHaveLength(1);
    expect(env.sfu.status("second")?.available).toBe(true);
    env.livekit.down.delete("main");
    await env.sfu.pollAll();
    expect(presence(env)).toBe("never-seen");
    expect(env.logger.find("LiveKit deployment reachable").map((l) => l.fields.deployment)).toEqual([
      "main",
      "second",
      "main",
    ]);
  });

  test("the first good poll after start is no SFU comeback; one after an outage is", async () => {
    const env = setup();
    env.clock.advance(1_000);
    await env.sfu.pollAll();
    expect(viewOf(env)).toMatchObject({ kind: "observed", trackingSince: T0 + 1_000, resumedAt: null });
    env.livekit.down.add("main");
    env.clock.advance(1_000);
    await env.sfu.pollAll();
    env.livekit.down.delete("main");
    env.clock.advance(1_000);
    await env.sfu.pollAll();
    expect(viewOf(env)).toMatchObject({ kind: "observed", resumedAt: T0 + 3_000 });
  });

  test("after a restart, participants that left before it are known gone since they left, once polled", async () => {
    const env = setup();
    await env.sfu.pollAll();
    hook(env, "participant_joined", "PA_1");
    env.clock.advance(1_000);
    hook(env, "participant_left", "PA_1", { disconnectReason: "CONNECTION_TIMEOUT" });
    env.clock.advance(30_000);
    const again = new SfuService({ ...env, options: { staleAfterMs: 120_000, retentionMs: 600_000 } });
    expect(again.restore()).toBe(1);
    const m = alice();
    expect(again.viewOf(m, [m], env.clock.now()).view.kind).toBe("unavailable");
    await again.pollAll();
    expect(again.viewOf(m, [m], env.clock.now()).view).toMatchObject({
      kind: "observed",
      presence: { kind: "gone", since: T0 + 1_000, sid: "PA_1", reason: "CONNECTION_TIMEOUT" },
      resumedAt: null,
    });
  });

  test("a restart long after a participant left (past the retention) restores nothing", () => {
    const env = setup();
    hook(env, "participant_joined", "PA_1");
    hook(env, "participant_left", "PA_1");
    env.clock.advance(600_001);
    const again = new SfuService({ ...env, options: { staleAfterMs: 120_000, retentionMs: 600_000 } });
    expect(again.restore()).toBe(0);
  });

  test("one participant gone in a poll is a leave; two or more at once, and half of all, is an SFU incident", async () => {
    const env = setup();
    const ids = ["@a:x:D", "@b:x:D", "@c:x:D"];
    ids.forEach((id, i) => {
      env.livekit.connect("main", LK_ROOM, id, `PA_${i}`);
    });
    await env.sfu.pollAll();
    env.livekit.disconnect("main", LK_ROOM, "@a:x:D");
    env.clock.advance(3_000);
    await env.sfu.pollAll();
    expect(viewOf(env)).toMatchObject({ kind: "observed", resumedAt: null });
    env.livekit.disconnect("main", LK_ROOM, "@b:x:D");
    env.livekit.disconnect("main", LK_ROOM, "@c:x:D");
    env.clock.advance(3_000);
    await env.sfu.pollAll();
    expect(viewOf(env)).toMatchObject({ kind: "observed", resumedAt: T0 + 6_000 });
    const warned = env.logger.find(
      "LiveKit deployment lost most participants at once; giving clients time to reconnect",
      "warn",
    );
    expect(warned.map((l) => l.fields)).toEqual([expect.objectContaining({ lost: 2, before: 2 })]);
  });

  test("without a good poll for longer than staleAfterMs the view is stale", async () => {
    const env = setup();
    await env.sfu.pollAll();
    env.clock.advance(120_001);
    expect(viewOf(env)).toEqual({ kind: "stale", lastOkAt: T0 });
  });
});

describe("SfuService.targetOf", () => {
  test("a membership rewritten in another format under the same key is looked for under that format's identities", () => {
    const env = setup();
    // Format A, then format B, on the same state key, device and call: one member key, and neither names a
    // session or member id. Only B's clients connect under the hashed identity.
    const a = msc3401Event({
      user: ALICE,
      type: CALL_MEMBER,
      calls: [
        { callId: "", devices: [{ deviceId: "DEVA", expiresTs: T0 + 3_600_000, foci: [livekitFocus()] }] },
      ],
    });
    const devices = (a.content as { "m.calls": { "m.devices": Record<string, unknown>[] }[] })[
      "m.calls"
    ][0]?.["m.devices"];
    for (const d of devices ?? []) delete d.session_id;
    const b = legacyArrayEvent({ user: ALICE, entries: [{ deviceId: "DEVA", foci: [livekitFocus()] }] });
    for (const m of (b.content as { memberships: Record<string, unknown>[] }).memberships)
      delete m.membershipID;
    const [first, second] = [memberOf(a), memberOf(b)];
    expect(second.key).toBe(first.key);
    expect([first.source.format, second.source.format]).toEqual(["msc3401", "legacy-array"]);
    const hashed = hashedTuple([ALICE, "DEVA", `${ALICE}:DEVA`]);
    const identities = (m: RtcMember) => {
      const target = env.sfu.targetOf(m, [m]);
      return typeof target === "string" ? [] : target.identities;
    };
    expect(identities(first)).not.toContain(hashed);
    expect(identities(second)).toContain(hashed);
  });
});

describe("SfuService.confirmAbsent", () => {
  const target = { deployment: "main", rooms: ["lk-a", "lk-b"], identities: ["id-1", "id-2"] };

  test("present for a participant with one of the identities that is not disconnected", async () => {
    const env = setup();
    env.livekit.connect("main", "lk-b", "id-2", "P2", "disconnected");
    env.livekit.connect("main", "lk-b", "someone-else", "P3");
    expect(await env.sfu.confirmAbsent(target)).toBe("absent");
    // A device reconnecting (after a timeout, say) is JOINING under a new sid: present, not a ghost.
    env.livekit.connect("main", "lk-b", "id-2", "P2", "joining");
    expect(await env.sfu.confirmAbsent(target)).toBe("present");
    env.livekit.connect("main", "lk-b", "id-2", "P2", "active");
    expect(await env.sfu.confirmAbsent(target)).toBe("present");
    expect(env.livekit.calls.filter((c) => c.method === "listParticipants").map((c) => c.room)).toEqual([
      "lk-a",
      "lk-b",
      "lk-a",
      "lk-b",
      "lk-a",
      "lk-b",
    ]);
  });

  test("unavailable when the API fails, and counted", async () => {
    const env = setup();
    env.livekit.down.add("main");
    expect(await env.sfu.confirmAbsent(target)).toBe("unavailable");
    expect(env.metrics.of("livekitApiError")).toEqual([["main", "listParticipants"]]);
  });
});

describe("Deployments by service URL", () => {
  test("a membership's JWT service URL maps to our deployment whatever its case or trailing slash", async () => {
    const env = setup();
    await env.sfu.pollAll();
    expect(env.sfu.targetOf(alice("HTTPS://RTC.EXAMPLE.ORG/livekit/jwt/"), [])).toMatchObject({
      deployment: "main",
    });
    expect(env.sfu.targetOf(alice("https://sfu2.example.org/jwt"), [])).toMatchObject({
      deployment: "second",
    });
    expect(viewOf(env, alice("https://elsewhere.example.net/jwt"))).toEqual({ kind: "not-ours" });
    const noSfu = memberOf(sessionJoin({ user: ALICE, device: "DEVA", foci: [] }));
    expect(viewOf(env, noSfu)).toEqual({ kind: "none" });
  });

  test("normaliseServiceUrl folds scheme and host case and trailing slashes, but keeps the path's case", () => {
    expect(normaliseServiceUrl("HTTPS://RTC.Example.ORG/livekit/jwt//")).toBe(
      "https://rtc.example.org/livekit/jwt",
    );
    expect(normaliseServiceUrl("https://rtc.example.org/LiveKit/JWT")).toBe(
      "https://rtc.example.org/LiveKit/JWT",
    );
  });

  test("removeParticipants counts what it removed and survives API failures", async () => {
    const env = setup();
    env.livekit.connect("main", "lk-a", "id-1", "P1");
    expect(
      await env.sfu.removeParticipants({ deployment: "main", rooms: ["lk-a"], identities: ["id-1", "id-2"] }),
    ).toBe(1);
    env.livekit.down.add("main");
    expect(
      await env.sfu.removeParticipants({ deployment: "main", rooms: ["lk-a"], identities: ["id-1"] }),
    ).toBe(0);
    expect(env.logger.find("could not remove a participant", "warn")).toHaveLength(1);
  });
});
