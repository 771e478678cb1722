// Claims other senders make on a real Synapse + LiveKit: a far-future timestamp and a forged "older" membership
// must not get a live member cleared.
import {
  auditOf,
  CALL_MEMBER,
  eventually,
  isEmpty,
  joinCall,
  MatrixHttp,
  newRoom,
  newUser,
  rawMembershipEvent,
  sendRawMembership,
  sleep,
  type MatrixSession,
} from "./harness";
import { useStack } from "./harness/use-stack";

const CONNECT_GRACE_MS = 4_000;
const stack = useStack({
  profile: "no-delayed-events",
  config: { reconciliation: { connect_grace: `${CONNECT_GRACE_MS}ms` } },
});

async function joined(owner: MatrixSession, roomId: string, ...others: MatrixSession[]): Promise<void> {
  for (const other of others) {
    await MatrixHttp.of(owner).invite(roomId, other.userId);
    await MatrixHttp.of(other).join(roomId);
  }
}

const clearsOf = (roomId: string, userId: string) =>
  auditOf(stack, roomId).filter((a) => a.action === "clear" && a.user_id === userId);

test("a membership another user's server stamped 5 h ahead leaves a live, connected member alone", async () => {
  const [alice, mallory] = [
    await newUser(stack, "clock-alice", "ALICEDEV"),
    await newUser(stack, "clock-mal", "MALDEV"),
  ];
  const roomId = await newRoom(alice);
  await joined(alice, roomId, mallory);
  const call = await joinCall(stack, alice, roomId);
  try {
    await stack.reconciler.waitForLog(
      (l) => l.message === "verdict: alive" && l.user === alice.userId && l.reason === "connected",
      30_000,
    );
    // Timestamp massaging: the homeserver lets an appservice stamp an event as it likes, as a remote server with a
    // wrong clock stamps its own.
    const future = Date.now() + 5 * 3_600_000;
    const asMallory = new MatrixHttp(stack.synapse.baseUrl, stack.registration.asToken, mallory.userId);
    const membership = rawMembershipEvent({
      format: "session",
      userId: mallory.userId,
      deviceId: "MALDEV",
      focus: { type: "livekit", livekit_service_url: stack.serviceUrl },
    });
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${membership.type}`;
    const sent = await asMallory.request<{ event_id: string }>(
      "PUT",
      `${path}/${encodeURIComponent(membership.stateKey)}`,
      membership.content,
      { ts: String(future) },
    );
    await stack.reconciler.waitForLog(
      (l) => l.message === "matrix event received" && l.event_id === sent.event_id,
      30_000,
    );
    await sleep(6_000); // three sweeps
    const content = await MatrixHttp.of(alice).getStateEvent(roomId, CALL_MEMBER, call.stateKey);
    expect(isEmpty(content)).toBe(false);
    expect(clearsOf(roomId, alice.userId)).toEqual([]);
    expect(
      stack.reconciler.logs().some((l) => l.message === "verdict: ghost" && l.user === alice.userId),
    ).toBe(false);
  } finally {
    await Promise.all([call.client.terminate(), call.participant?.terminate()]);
  }
});

test("a forged older membership naming our SFU does not make a member whose call runs elsewhere a ghost", async () => {
  const [alice, bob, mallory] = [
    await newUser(stack, "sfu-alice", "ALICEDEV"),
    await newUser(stack, "sfu-bob", "BOBDEV"),
    await newUser(stack, "sfu-mal", "MALDEV"),
  ];
  const roomId = await newRoom(alice);
  await joined(alice, roomId, bob, mallory);
  const elsewhere = {
    type: "livekit" as const,
    livekit_service_url: "https://sfu.elsewhere.example/livekit/jwt",
  };
  const ours = { type: "livekit" as const, livekit_service_url: stack.serviceUrl };
  const now = Date.now();
  // Alice started the call on an SFU we hold no key for; Bob joined it (his client prefers ours, but follows the
  // oldest member's SFU).
  await sendRawMembership(MatrixHttp.of(alice), roomId, {
    format: "session",
    userId: alice.userId,
    deviceId: "ALICEDEV",
    focus: elsewhere,
    createdTs: now - 60_000,
  });
  const bobs = await sendRawMembership(MatrixHttp.of(bob), roomId, {
    format: "session",
    userId: bob.userId,
    deviceId: "BOBDEV",
    focus: ours,
    createdTs: now,
  });
  await stack.reconciler.waitForLog(
    (l) => l.message === "verdict: unknown" && l.user === bob.userId && l.reason === "sfu_not_ours",
    30_000,
  );
  await sleep(CONNECT_GRACE_MS + 1_000);
  // Mallory claims a membership created an hour ago, naming our SFU: by the oldest-membership rule alone, Bob
  // would now be judged on our SFU, where he never was.
  await sendRawMembership(MatrixHttp.of(mallory), roomId, {
    format: "session",
    userId: mallory.userId,
    deviceId: "MALDEV",
    focus: ours,
    createdTs: now - 3_600_000,
  });
  const contested = await eventually(
    async () => {
      await Promise.resolve();
      return auditOf(stack, roomId).find(
        (a) => a.action === "verdict" && a.user_id === bob.userId && a.reason === "sfu_contested",
      );
    },
    30_000,
    "Bob's verdict becomes unknown: sfu_contested",
  );
  expect(contested.result).toBe("unknown");
  await sleep(CONNECT_GRACE_MS + 2_000);
  const content = await MatrixHttp.of(bob).getStateEvent(roomId, CALL_MEMBER, bobs.stateKey);
  expect(isEmpty(content)).toBe(false);
  expect(clearsOf(roomId, bob.userId)).toEqual([]);
  expect(clearsOf(roomId, alice.userId)).toEqual([]);
});
