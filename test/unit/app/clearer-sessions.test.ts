// Clearer and call history: how and when the session of a cleared member ends (reason, instant, clock skew).
import {
  ALICE,
  CALL_MEMBER,
  livekitFocus,
  ROOM,
  roomMember,
  sessionJoin,
  sessionKey,
  sessionLeave,
  T0,
} from "../domain/builders";
import { Harness } from "./harness";

function expiredAlice(): Harness {
  const h = new Harness();
  h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA", expires: 1_000 }));
  h.clock.advance(61_000);
  return h;
}

describe("sessions of cleared members", () => {
  test("an expired ghost's session ends at its expiry, not when the leave was written", async () => {
    const h = expiredAlice();
    await h.clearer.clear(h.judged(ALICE, "DEVA"));
    h.feed(...h.matrix.takeOutbox());
    expect(h.userSessions().map((s) => [s.leaveReason, s.leftAt])).toEqual([["expired", T0 + 1_000]]);
  });

  test("a left_sfu ghost's session ends when LiveKit lost it", async () => {
    const h = new Harness();
    await h.leftSfuAfterACall(ALICE, "DEVA");
    await h.clearer.clear(h.judged(ALICE, "DEVA"));
    h.feed(...h.matrix.takeOutbox());
    expect(h.userSessions().map((s) => [s.leaveReason, s.leftAt])).toEqual([["left_sfu", T0 + 61_000]]);
  });

  test("a fired delayed leave ends the session as delayed_leave_fired", async () => {
    const h = expiredAlice();
    const stateKey = sessionKey(ALICE, "DEVA");
    h.matrix.addDelayed(ALICE, {
      delayId: "d1",
      roomId: ROOM,
      type: CALL_MEMBER,
      stateKey,
      delayMs: 1,
      content: {},
    });
    await h.clearer.clear(h.judged(ALICE, "DEVA"));
    h.feed(...h.matrix.takeOutbox());
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["delayed_leave_fired"]);
  });

  test("clearing a not-joined ghost leaves no stale leave reason for the device's next session", async () => {
    const h = new Harness();
    h.feed(
      ...h.room({ users: [ALICE] }),
      sessionJoin({ user: ALICE, device: "DEVA" }),
      roomMember(ALICE, "leave"),
    );
    expect(await h.clearer.clear(h.judged(ALICE, "DEVA"))).toMatchObject({ result: "cleared" });
    h.feed(...h.matrix.takeOutbox());
    h.clock.advance(60_000);
    h.feed(roomMember(ALICE, "join"), sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 60_000 }));
    h.feed(sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 70_000 }));
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["left_room", "left"]);
  });

  test("with the homeserver's clock 10 min ahead, an expired ghost's 60 s session still lasts 60 s", async () => {
    const h = new Harness();
    const skew = 600_000;
    h.matrix.serverSkewMs = skew;
    h.serverClock.observe(T0 + skew, T0);
    const ts = T0 + skew;
    const foci = [livekitFocus("https://elsewhere.example.net/jwt")];
    await h.deliver(
      ...h.room({ users: [ALICE] }).map((e) => ({ ...e, origin_server_ts: ts })),
      sessionJoin({ user: ALICE, device: "DEVA", ts, expires: 60_000, foci }),
    );
    await h.advance(61_000);
    expect(h.audit("clear")).toHaveLength(1);
    await h.echo();
    const [session] = h.userSessions();
    expect(session).toMatchObject({ leaveReason: "expired", joinedAt: ts });
    expect((session?.leftAt ?? 0) - (session?.joinedAt ?? 0)).toBe(60_000);
  });
});

describe("our leave is tied to the event we wrote", () => {
  test("a client's own leave that lands before our echo keeps the client's reason; our echo changes nothing", async () => {
    const h = expiredAlice();
    await h.clearer.clear(h.judged(ALICE, "DEVA"));
    const echo = h.matrix.takeOutbox();
    h.feed(sessionLeave({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    h.feed(...echo);
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["left"]);
  });

  test("an echo that never comes leaves nothing for the member's next leave", async () => {
    const h = expiredAlice();
    await h.clearer.clear(h.judged(ALICE, "DEVA"));
    h.matrix.takeOutbox(); // the echo is lost
    h.feed(sessionJoin({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    h.clock.advance(1_000);
    h.feed(sessionLeave({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["replaced", "left"]);
  });
});
