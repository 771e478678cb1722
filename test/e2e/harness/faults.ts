// The fault matrix's common shape: a room with live members and one member whose app crashes (a real ghost),
// and the two assertions every fault case ends with: no live member cleared, every ghost cleared after recovery.
import { MatrixHttp } from "./matrix-http";
import {
  auditOf,
  CALL_MEMBER,
  isEmpty,
  joinCall,
  newRoom,
  newUser,
  waitForState,
  type InCall,
} from "./scenario";
import type { Stack } from "./stack";

export interface LiveAndGhost {
  readonly roomId: string;
  readonly live: readonly InCall[];
  readonly ghost: InCall;
  readonly api: MatrixHttp;
}

/** Three people in a call (js-sdk client + rtc-node participant each); the third will crash. */
export async function liveAndGhost(stack: Stack, name: string, reconnect = false): Promise<LiveAndGhost> {
  const [a, b, c] = [
    await newUser(stack, `${name}-a`, "LIVEA"),
    await newUser(stack, `${name}-b`, "LIVEB"),
    await newUser(stack, `${name}-c`, "GHOSTC"),
  ];
  const roomId = await newRoom(a);
  const api = MatrixHttp.of(a);
  for (const u of [b, c]) {
    await api.invite(roomId, u.userId);
    await MatrixHttp.of(u).join(roomId);
  }
  const live = [
    await joinCall(stack, a, roomId, { reconnect }),
    await joinCall(stack, b, roomId, { reconnect }),
  ];
  const ghost = await joinCall(stack, c, roomId);
  return { roomId, live, ghost, api };
}

export async function crash(call: InCall): Promise<number> {
  const at = Date.now();
  await Promise.all([call.client.kill(), call.participant?.kill()]);
  return at;
}

/** No live member was cleared: state still holds it, its client never lost its membership, no clear recorded. */
export async function expectLiveUntouched(stack: Stack, s: LiveAndGhost): Promise<void> {
  for (const call of s.live) {
    const content = await s.api.getStateEvent(s.roomId, CALL_MEMBER, call.stateKey);
    expect({ user: call.user.userId, cleared: isEmpty(content) }).toEqual({
      user: call.user.userId,
      cleared: false,
    });
    expect(call.client.events().filter((e) => e.event === "own-membership-lost")).toEqual([]);
  }
  const clearedLive = auditOf(stack, s.roomId).filter(
    (r) => r.action === "clear" && s.live.some((c) => c.user.userId === r.user_id),
  );
  expect(clearedLive).toEqual([]);
}

export async function expectGhostCleared(s: LiveAndGhost, timeoutMs: number): Promise<number> {
  return waitForState(s.api, s.roomId, CALL_MEMBER, s.ghost.stateKey, isEmpty, timeoutMs);
}

export async function endCall(s: LiveAndGhost): Promise<void> {
  await Promise.all(s.live.map(async (c) => Promise.all([c.participant?.terminate(), c.client.terminate()])));
}
