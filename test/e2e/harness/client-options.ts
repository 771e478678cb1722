// Options and JSON-lines events shared by the child-process clients (matrix-rtc-client.mts, livekit-participant.mts) and the harness.

/** Passed as one JSON argument to `dist/test/e2e/clients/matrix-rtc-client.mjs`. */
export interface MatrixRtcClientOptions {
  baseUrl: string;
  userId: string;
  deviceId: string;
  /** Either an access token for (userId, deviceId) or a password to log in with. */
  accessToken?: string;
  password?: string;
  roomId: string;
  /** Written into the membership's transport (`{type: "livekit", livekit_service_url}`). */
  livekitServiceUrl: string;
  /** Sticky events (MSC4354, `org.matrix.msc4143.rtc.member`) instead of state events. */
  sticky?: boolean;
  /** Start the client's own crypto (wasm, in memory), as Element does: memberships in encrypted rooms go encrypted. */
  crypto?: boolean;
  delayedLeaveEventDelayMs?: number;
  delayedLeaveEventRestartMs?: number;
  membershipEventExpiryMs?: number;
  /** Default `${userId}:${deviceId}`, as the SDK's joinRoomSession uses. */
  memberId?: string;
  /** Also print the SDK's debug lines on stderr (always goes to the log file, never stdout). */
  verbose?: boolean;
}

/** Passed as one JSON argument to `dist/test/e2e/clients/livekit-participant.mjs`. */
export interface LiveKitParticipantOptions {
  wsUrl: string;
  token: string;
  /** Join again when the server drops the connection (e.g. an SFU restart), as call apps do. */
  reconnect?: boolean;
}

/** One JSON line on a client's stdout. Every line has `event` and `t` (Date.now()). */
export interface ClientEvent {
  event: string;
  t: number;
  [key: string]: unknown;
}
