// A real matrix-js-sdk 43 MatrixRTC client as a child process: joins a call with the SDK's session API, prints JSON lines, leaves on SIGTERM.
import type * as Sdk from "matrix-js-sdk";
import type { Logger } from "matrix-js-sdk/lib/logger.js";
import type * as Rtc from "matrix-js-sdk/lib/matrixrtc/index.js";
import type { ClientEvent, MatrixRtcClientOptions } from "../harness/client-options.js";

const opts = JSON.parse(process.argv[2] ?? "{}") as MatrixRtcClientOptions;
const stderr = (...parts: unknown[]): void => {
  process.stderr.write(`${parts.map((p) => (typeof p === "string" ? p : safeJson(p))).join(" ")}\n`);
};
// stdout carries only our JSON lines: route console (and so the SDK's global logger) to stderr before loading the SDK.
console.log = console.info = console.warn = console.error = stderr;
console.debug = console.trace = opts.verbose === true ? stderr : (): void => undefined;

function safeJson(value: unknown): string {
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function emit(event: string, data: Record<string, unknown> = {}): void {
  const line: ClientEvent = { event, t: Date.now(), ...data };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function makeLogger(prefix: string): Logger {
  const at =
    (level: string) =>
    (...msg: unknown[]): void => {
      stderr(`${new Date().toISOString()} ${level} [${prefix}]`, ...msg);
    };
  const quiet = opts.verbose === true ? at("DEBUG") : (): void => undefined;
  return {
    trace: quiet,
    debug: quiet,
    info: at("INFO"),
    warn: at("WARN"),
    error: at("ERROR"),
    getChild: (ns: string) => makeLogger(`${prefix}${ns}`),
  };
}

async function loginWithPassword(): Promise<string> {
  const res = await fetch(new URL("/_matrix/client/v3/login", opts.baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: opts.userId },
      password: opts.password,
      device_id: opts.deviceId,
    }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || body.access_token === undefined)
    throw new Error(`login failed: ${res.status} ${safeJson(body)}`);
  return body.access_token;
}

let leaving = false;
let leave: () => Promise<void> = () => Promise.resolve();
// Installed before anything else: a SIGTERM at any point is a clean exit (a leave once the session was joined).
process.on("SIGTERM", () => {
  if (leaving) return;
  leaving = true;
  void leave()
    .catch((err: unknown) => {
      emit("error", { message: `leave: ${safeJson(err)}` });
    })
    .finally(() => process.exit(0));
});

async function main(): Promise<void> {
  const sdk: typeof Sdk = await import("matrix-js-sdk");
  const rtc: typeof Rtc = await import("matrix-js-sdk/lib/matrixrtc/index.js");
  const accessToken = opts.accessToken ?? (await loginWithPassword());
  const client = sdk.createClient({
    baseUrl: opts.baseUrl,
    userId: opts.userId,
    deviceId: opts.deviceId,
    accessToken,
    logger: makeLogger("sdk"),
  });
  // Its own wasm crypto (keys in memory): in an encrypted room it then sends its sticky memberships encrypted.
  if (opts.crypto === true) await client.initRustCrypto({ useIndexedDB: false });
  leave = () => {
    client.stopClient();
    return Promise.resolve();
  };
  const prepared = new Promise<void>((resolve, reject) => {
    client.on(sdk.ClientEvent.Sync, (state) => {
      if (state === sdk.SyncState.Prepared) resolve();
      if (state === sdk.SyncState.Error) reject(new Error("sync failed"));
    });
  });
  await client.startClient({ initialSyncLimit: 1 });
  await prepared;
  emit("ready", { userId: opts.userId, deviceId: opts.deviceId });

  await client.joinRoom(opts.roomId);
  let room = client.getRoom(opts.roomId);
  for (let i = 0; room === null && i < 300; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    room = client.getRoom(opts.roomId);
  }
  if (room === null) throw new Error(`room ${opts.roomId} never appeared in sync`);
  emit("joined-room", { roomId: opts.roomId });

  const session = client.matrixRTC.getRoomSession(room);
  const memberId = opts.memberId ?? `${opts.userId}:${opts.deviceId}`;
  const sticky = opts.sticky === true;
  let joined = false;
  let own = false;
  session.on(rtc.MatrixRTCSessionEvent.MembershipsChanged, (_old, memberships) => {
    const mine = memberships.find((m) => m.userId === opts.userId && m.deviceId === opts.deviceId);
    emit("memberships", {
      count: memberships.length,
      own: mine !== undefined,
      members: memberships.map((m) => `${m.userId}|${m.deviceId}`),
    });
    if (mine !== undefined && !joined) {
      joined = true;
      emit("joined-call", {
        roomId: opts.roomId,
        userId: opts.userId,
        deviceId: opts.deviceId,
        memberId: mine.memberId,
        rtcBackendIdentity: mine.rtcBackendIdentity,
        eventId: mine.eventId,
        sticky,
      });
    } else if (mine === undefined && own) {
      emit("own-membership-lost");
    } else if (mine !== undefined && !own) {
      emit("own-membership-restored", { eventId: mine.eventId });
    }
    own = mine !== undefined;
  });
  session.on(rtc.MatrixRTCSessionEvent.MembershipManagerError, (error) => {
    emit("error", { message: `membership manager: ${safeJson(error)}` });
  });

  const transport = { type: "livekit", livekit_service_url: opts.livekitServiceUrl };
  const config: Rtc.JoinSessionConfig = { unstableSendStickyEvents: sticky };
  if (opts.delayedLeaveEventDelayMs !== undefined)
    config.delayedLeaveEventDelayMs = opts.delayedLeaveEventDelayMs;
  if (opts.delayedLeaveEventRestartMs !== undefined)
    config.delayedLeaveEventRestartMs = opts.delayedLeaveEventRestartMs;
  if (opts.membershipEventExpiryMs !== undefined)
    config.membershipEventExpiryMs = opts.membershipEventExpiryMs;
  leave = async () => {
    const ok = await session.leaveRoomSession(10_000);
    emit("left-call", { ok });
    await session.stop();
    client.stopClient();
  };
  // What the deprecated joinRoomSession(foci, multiSfu, config) does, with the same member id, minus the deprecation.
  session.joinRTCSession(
    { userId: opts.userId, deviceId: opts.deviceId, memberId },
    [transport],
    sticky ? transport : undefined,
    config,
  );
}

main().catch((err: unknown) => {
  emit("error", { message: safeJson(err) });
  process.exit(1);
});
