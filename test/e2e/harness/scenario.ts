// Building blocks for reconciler scenarios: a user in a call (js-sdk client + rtc-node participant), state checks, audit reads.
import Database from "better-sqlite3";
import { startLiveKitParticipant, startMatrixRtcClient, type ClientHandle } from "./children";
import type { MatrixRtcClientOptions } from "./client-options";
import { MatrixHttp, type Json, type MatrixSession } from "./matrix-http";
import { registerUser, uniqueLocalpart } from "./matrix-users";
import { legacyIdentity, livekitRoomName, stickyIdentity } from "./naming";
import { eventually } from "./ports";
import type { Stack } from "./stack";

export const CALL_MEMBER = "org.matrix.msc3401.call.member";

export interface InCall {
  readonly user: MatrixSession;
  readonly roomId: string;
  readonly client: ClientHandle;
  readonly participant: ClientHandle | null;
  readonly stateKey: string;
  readonly identity: string;
}

export async function newUser(stack: Stack, name: string, device: string): Promise<MatrixSession> {
  return registerUser(stack.synapse.baseUrl, { username: uniqueLocalpart(name), deviceId: device });
}

/** A private room where, as in Element Call rooms, every member may send call memberships (power level 0). */
export async function newRoom(user: MatrixSession, extra: Record<string, unknown> = {}): Promise<string> {
  return MatrixHttp.of(user).createRoom({
    preset: "private_chat",
    power_level_content_override: { events: { [CALL_MEMBER]: 0, "org.matrix.msc4143.rtc.member": 0 } },
    ...extra,
  });
}

/** A user joins a call through the js-sdk session API and (unless `participant: false`) connects to LiveKit. */
export async function joinCall(
  stack: Stack,
  user: MatrixSession,
  roomId: string,
  opts: Partial<MatrixRtcClientOptions> & { participant?: boolean; reconnect?: boolean } = {},
): Promise<InCall> {
  const { participant: withParticipant = true, reconnect = false, ...clientOpts } = opts;
  const client = startMatrixRtcClient({
    ...user,
    roomId,
    livekitServiceUrl: stack.serviceUrl,
    ...clientOpts,
  });
  const joined = await client.waitFor("joined-call", 60_000);
  const identity =
    typeof joined.rtcBackendIdentity === "string"
      ? joined.rtcBackendIdentity
      : clientOpts.sticky
        ? stickyIdentity(user.userId, user.deviceId, `${user.userId}:${user.deviceId}`)
        : legacyIdentity(user.userId, user.deviceId);
  let participant: ClientHandle | null = null;
  if (withParticipant) {
    participant = await startLiveKitParticipant({
      ...stack.livekit,
      room: livekitRoomName(roomId),
      identity,
      reconnect,
    });
    await participant.waitFor("connected", 30_000);
  }
  return { user, roomId, client, participant, stateKey: `_${user.userId}_${user.deviceId}_m.call`, identity };
}

/** Waits until a state key's content satisfies `done`; returns when it did. */
export async function waitForState(
  api: MatrixHttp,
  roomId: string,
  type: string,
  stateKey: string,
  done: (content: Json | undefined) => boolean,
  timeoutMs: number,
): Promise<number> {
  return eventually(
    async () => (done(await api.getStateEvent(roomId, type, stateKey)) ? Date.now() : undefined),
    timeoutMs,
    `state ${type}/${stateKey}`,
  );
}

export const isEmpty = (c: Json | undefined): boolean => c !== undefined && Object.keys(c).length === 0;

export type AuditRecord = Record<string, unknown> & {
  action: string;
  reason: string | null;
  method: string | null;
  result: string | null;
};

/** The service's audit rows for a room (read-only, next to the running service). */
export function auditOf(stack: Stack, roomId: string): AuditRecord[] {
  const db = new Database(stack.reconciler.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT * FROM audit WHERE room_id = ? ORDER BY id").all(roomId) as AuditRecord[];
  } finally {
    db.close();
  }
}

/** Rows of any table, read-only. */
export function query<T>(stack: Stack, sql: string, ...params: unknown[]): T[] {
  const db = new Database(stack.reconciler.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Sends a command as `user` and returns the bot's first notice after it (text and HTML). */
export async function ask(
  stack: Stack,
  user: MatrixSession,
  roomId: string,
  body: string,
  timeoutMs = 30_000,
): Promise<{ text: string; html: string }> {
  const api = MatrixHttp.of(user);
  const sent = await api.sendMessage(roomId, body);
  return eventually(
    async () => {
      const events = await api.messages(roomId, { limit: 50 });
      const index = events.findIndex((e) => e.event_id === sent);
      // Newest first: replies to this command come before it in the list.
      const reply = events
        .slice(0, index < 0 ? events.length : index)
        .reverse()
        .find((e) => e.sender === stack.registration.botUserId && e.content.msgtype === "m.notice");
      if (!reply) return undefined;
      return { text: String(reply.content.body), html: String(reply.content.formatted_body) };
    },
    timeoutMs,
    `a reply to "${body}"`,
    300,
  );
}

/** Invites the bot and waits until it has joined. */
export async function inviteBot(stack: Stack, owner: MatrixSession, roomId: string): Promise<void> {
  const api = MatrixHttp.of(owner);
  await api.invite(roomId, stack.registration.botUserId);
  await eventually(
    async () =>
      (await api.getStateEvent(roomId, "m.room.member", stack.registration.botUserId))?.membership === "join"
        ? true
        : undefined,
    30_000,
    "the bot joined",
  );
}

/**
 * A room `owner` created (as Element Call rooms are: anyone may send call memberships), the others joined and the
 * bot in; `levels` set users' power levels.
 */
export async function commandRoom(
  stack: Stack,
  owner: MatrixSession,
  others: readonly MatrixSession[],
  levels: Record<string, number> = {},
  extra: Record<string, unknown> = {},
): Promise<string> {
  const overrides =
    Object.keys(levels).length === 0
      ? {}
      : {
          power_level_content_override: {
            events: { [CALL_MEMBER]: 0, "org.matrix.msc4143.rtc.member": 0 },
            users: levels,
          },
        };
  const roomId = await newRoom(owner, { ...overrides, ...extra });
  for (const u of others) {
    await MatrixHttp.of(owner).invite(roomId, u.userId);
    await MatrixHttp.of(u).join(roomId);
  }
  await inviteBot(stack, owner, roomId);
  return roomId;
}

/** Leave events (empty content) written for a state key since `since`. */
export async function leavesSince(api: MatrixHttp, roomId: string, stateKey: string, since: number) {
  const events = await api.messages(roomId, { limit: 100 });
  return events.filter(
    (e) =>
      e.type === CALL_MEMBER &&
      e.state_key === stateKey &&
      e.origin_server_ts >= since &&
      Object.keys(e.content).length === 0,
  );
}
