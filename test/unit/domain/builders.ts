// Typed test data builders for every call membership event shape and the room events around them.

/** A client-format event as an appservice receives it. */
export interface ClientEvent {
  readonly event_id: string;
  readonly type: string;
  readonly room_id: string;
  readonly sender: string;
  readonly origin_server_ts: number;
  readonly state_key?: string;
  readonly content: Record<string, unknown>;
  readonly unsigned?: Record<string, unknown>;
  readonly msc4354_sticky?: { readonly duration_ms: number };
}

export const ROOM = "!room:example.org";
export const ALICE = "@alice:example.org";
export const BOB = "@bob:example.org";
export const T0 = 1_750_000_000_000;
export const JWT_URL = "https://rtc.example.org/livekit/jwt";
export const CALL_MEMBER = "org.matrix.msc3401.call.member";
export const RTC_MEMBER = "org.matrix.msc4143.rtc.member";

let counter = 0;
/** A fresh, deterministic event id. */
export function nextEventId(): string {
  counter++;
  return `$ev${counter}:example.org`;
}

interface Envelope {
  readonly eventId?: string;
  readonly roomId?: string;
  readonly sender?: string;
  readonly ts?: number;
}

function envelope(type: string, user: string, opts: Envelope, content: Record<string, unknown>): ClientEvent {
  return {
    event_id: opts.eventId ?? nextEventId(),
    type,
    room_id: opts.roomId ?? ROOM,
    sender: opts.sender ?? user,
    origin_server_ts: opts.ts ?? T0,
    content,
  };
}

export interface LivekitFocus {
  readonly type: string;
  readonly livekit_service_url?: string;
  readonly livekit_alias?: string;
}

export function livekitFocus(url = JWT_URL, alias?: string): LivekitFocus {
  return alias === undefined
    ? { type: "livekit", livekit_service_url: url }
    : { type: "livekit", livekit_service_url: url, livekit_alias: alias };
}

export interface SessionOpts extends Envelope {
  readonly user: string;
  readonly device: string;
  readonly application?: string;
  readonly callId?: string;
  readonly createdTs?: number;
  readonly expires?: number;
  readonly focusSelection?: string;
  readonly foci?: readonly LivekitFocus[];
  /** `m.call` suffix on the key (js-sdk ≥ 38); default true. */
  readonly suffix?: boolean;
  /** MSC3757 key without the leading `_`. */
  readonly owned?: boolean;
  readonly membershipId?: string;
  readonly type?: string;
}

export function sessionKey(user: string, device: string, suffix = true, owned = false): string {
  return `${owned ? "" : "_"}${user}_${device}${suffix ? "_m.call" : ""}`;
}

/** Format C, exactly as js-sdk 43 writes it (created_ts only when given, i.e. on updates). */
export function sessionJoin(o: SessionOpts): ClientEvent {
  const content: Record<string, unknown> = {
    application: o.application ?? "m.call",
    call_id: o.callId ?? "",
    device_id: o.device,
    expires: o.expires ?? 14_400_000,
    foci_preferred: o.foci ?? [livekitFocus()],
    focus_active: { focus_selection: o.focusSelection ?? "oldest_membership", type: "livekit" },
    membershipID: o.membershipId ?? `${o.user}:${o.device}`,
    scope: "m.room",
  };
  if (o.createdTs !== undefined) content.created_ts = o.createdTs;
  return {
    ...envelope(o.type ?? CALL_MEMBER, o.user, o, content),
    state_key: sessionKey(o.user, o.device, o.suffix, o.owned),
  };
}

/** Format C leave: `{}` on the device key (possibly sent by someone else, e.g. a bot). */
export function sessionLeave(o: SessionOpts): ClientEvent {
  return {
    ...envelope(o.type ?? CALL_MEMBER, o.user, o, {}),
    state_key: sessionKey(o.user, o.device, o.suffix, o.owned),
  };
}

export interface Msc3401Device {
  readonly deviceId: string;
  readonly sessionId?: string;
  readonly expiresTs: number;
  readonly foci?: readonly LivekitFocus[];
}

/** Format A: `m.calls[].m.devices[]` on the user's own key. */
export function msc3401Event(
  o: Envelope & {
    readonly user: string;
    readonly calls: readonly { callId: string; devices: readonly Msc3401Device[] }[];
    readonly type?: string;
  },
): ClientEvent {
  const calls = o.calls.map((call) => ({
    "m.call_id": call.callId,
    "m.devices": call.devices.map((d) => ({
      device_id: d.deviceId,
      session_id: d.sessionId ?? `S-${d.deviceId}`,
      expires_ts: d.expiresTs,
      feeds: [{ purpose: "m.usermedia" }],
      ...(d.foci === undefined ? {} : { foci_active: d.foci }),
    })),
  }));
  return { ...envelope(o.type ?? "m.call.member", o.user, o, { "m.calls": calls }), state_key: o.user };
}

export interface LegacyEntry {
  readonly deviceId: string;
  readonly application?: string;
  readonly callId?: string;
  readonly createdTs?: number;
  readonly expires?: number;
  readonly expiresTs?: number;
  readonly membershipId?: string;
  readonly foci?: readonly LivekitFocus[];
}

/** Format B: `{memberships: [...]}` on the user's own key. */
export function legacyArrayEvent(
  o: Envelope & { readonly user: string; readonly entries: readonly LegacyEntry[] },
): ClientEvent {
  const memberships = o.entries.map((e) => ({
    application: e.application ?? "m.call",
    call_id: e.callId ?? "",
    device_id: e.deviceId,
    scope: "m.room",
    foci_active: e.foci ?? [livekitFocus(JWT_URL, ROOM)],
    membershipID: e.membershipId ?? `M-${e.deviceId}`,
    ...(e.createdTs === undefined ? {} : { created_ts: e.createdTs }),
    ...(e.expires === undefined ? {} : { expires: e.expires }),
    ...(e.expiresTs === undefined ? {} : { expires_ts: e.expiresTs }),
  }));
  return { ...envelope(CALL_MEMBER, o.user, o, { memberships }), state_key: o.user };
}

/** Format S: seed MSC4143 state (`m.application`, `m.call_id`), key `@user:hs_DEVICE`. */
export function rtcStateEvent(
  o: Envelope & {
    readonly user: string;
    readonly device: string;
    readonly type?: string;
    readonly stateKey?: string;
    readonly empty?: boolean;
  },
): ClientEvent {
  const content: Record<string, unknown> = o.empty
    ? {}
    : {
        "m.application": "m.call",
        "m.call_id": "",
        device_id: o.device,
        focus_active: { type: "livekit", focus_selection: "oldest_membership" },
        foci_preferred: [livekitFocus()],
      };
  return {
    ...envelope(o.type ?? "m.rtc.member", o.user, o, content),
    state_key: o.stateKey ?? `${o.user}_${o.device}`,
  };
}

export interface StickyOpts extends Envelope {
  readonly user: string;
  readonly device: string;
  readonly memberId?: string;
  readonly slotId?: string;
  /** Top-level `msc4354_sticky.duration_ms`; omitted when undefined. */
  readonly durationMs?: number;
  /** `unsigned.msc4354_sticky_duration_ttl_ms`; default 3 600 000. Null omits it. */
  readonly ttlMs?: number | null;
  readonly published?: readonly LivekitFocus[];
}

function sticky(o: StickyOpts, type: string, content: Record<string, unknown>): ClientEvent {
  const base = envelope(type, o.user, o, content);
  const ttl = o.ttlMs === undefined ? 3_600_000 : o.ttlMs;
  return {
    ...base,
    ...(ttl === null ? {} : { unsigned: { msc4354_sticky_duration_ttl_ms: ttl } }),
    ...(o.durationMs === undefined ? {} : { msc4354_sticky: { duration_ms: o.durationMs } }),
  };
}

/** Format D: sticky member as js-sdk 43 sends it. */
export function stickyJoin(o: StickyOpts): ClientEvent {
  const memberId = o.memberId ?? `${o.user}:${o.device}`;
  return sticky(o, RTC_MEMBER, {
    application: { type: "m.call" },
    member: { device_id: o.device, id: memberId, user_id: o.user },
    msc4354_sticky_key: memberId,
    slot_id: o.slotId ?? "m.call#ROOM",
    transports: { can_subscribe: ["livekit"], published: o.published ?? [livekitFocus()] },
    versions: [],
  });
}

/** Format D leave (js-sdk 43's delayed leave content). */
export function stickyLeave(o: StickyOpts): ClientEvent {
  const memberId = o.memberId ?? `${o.user}:${o.device}`;
  return sticky(o, RTC_MEMBER, { slot_id: o.slotId ?? "m.call#ROOM", msc4354_sticky_key: memberId });
}

/** Format E: latest MSC4143 text, `member.membership` join / leave. */
export function rtcLatestEvent(
  o: StickyOpts & { readonly membership: "join" | "leave"; readonly leaveCode?: string },
): ClientEvent {
  const memberId = o.memberId ?? `mid-${o.device}`;
  const content: Record<string, unknown> =
    o.membership === "join"
      ? {
          slot_id: o.slotId ?? "m.call#ROOM",
          member: { id: memberId, membership: "join" },
          application: { type: "m.call" },
          transports: {
            published: [{ type: "m.livekit", url: "wss://sfu.example.org" }],
            can_subscribe: ["m.livekit"],
          },
          sticky_key: memberId,
        }
      : {
          slot_id: o.slotId ?? "m.call#ROOM",
          member: { id: memberId, membership: "leave" },
          ...(o.leaveCode === undefined ? {} : { leave_reason: { code: o.leaveCode } }),
          sticky_key: memberId,
        };
  return sticky(
    { ...o, ttlMs: o.ttlMs ?? null, durationMs: o.durationMs ?? 3_600_000 },
    "m.rtc.member",
    content,
  );
}

export function roomMember(user: string, membership: string, o: Envelope = {}): ClientEvent {
  return { ...envelope("m.room.member", o.sender ?? user, o, { membership }), state_key: user };
}

export function roomCreate(version: string, o: Envelope = {}): ClientEvent {
  return { ...envelope("m.room.create", ALICE, o, { room_version: version }), state_key: "" };
}

export function roomEncryption(o: Envelope = {}): ClientEvent {
  return { ...envelope("m.room.encryption", ALICE, o, { algorithm: "m.megolm.v1.aes-sha2" }), state_key: "" };
}

/** The parse context most tests use. */
export function ctxAt(
  receivedAt = T0,
  roomVersion: string | null = "12",
): { receivedAt: number; roomVersion: string | null } {
  return { receivedAt, roomVersion };
}
