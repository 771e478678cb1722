// A typed minimal Matrix client-server API helper over fetch for e2e tests (users, rooms, state, messages, delayed events).
export interface MatrixSession {
  baseUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
}

export class MatrixHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what} -> HTTP ${status} ${errcode ?? ""} ${JSON.stringify(body)}`);
  }
}

type Query = Record<string, string | number | undefined>;
export type Json = Record<string, unknown>;

export interface CreateRoomOptions {
  room_version?: string;
  preset?: "private_chat" | "public_chat" | "trusted_private_chat";
  name?: string;
  invite?: string[];
  power_level_content_override?: Json;
  initial_state?: { type: string; state_key: string; content: Json }[];
  creation_content?: Json;
}

export interface DelayedEvent {
  delay_id: string;
  room_id: string;
  type: string;
  state_key?: string;
  delay: number;
  running_since: number;
  content: Json;
}

export interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  state_key?: string;
  origin_server_ts: number;
  content: Json;
  unsigned?: Json;
}

const enc = encodeURIComponent;
const MSC4140 = "/_matrix/client/unstable/org.matrix.msc4140";

/** Calls the client-server API with one access token; `asUser()` gives an appservice-masquerading view. */
export class MatrixHttp {
  constructor(
    readonly baseUrl: string,
    readonly accessToken: string,
    readonly masqueradeAs?: string,
  ) {}

  static of(session: MatrixSession): MatrixHttp {
    return new MatrixHttp(session.baseUrl, session.accessToken);
  }

  /** Same token (an appservice's as_token), every request with `?user_id=<userId>`. */
  asUser(userId: string): MatrixHttp {
    return new MatrixHttp(this.baseUrl, this.accessToken, userId);
  }

  async request<T>(method: string, path: string, body?: unknown, query: Query = {}): Promise<T> {
    return call<T>(
      this.baseUrl,
      method,
      path,
      body,
      { ...query, user_id: this.masqueradeAs },
      this.accessToken,
    );
  }

  async createRoom(opts: CreateRoomOptions = {}): Promise<string> {
    const res = await this.request<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", opts);
    return res.room_id;
  }
  async invite(roomId: string, userId: string): Promise<void> {
    await this.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: userId });
  }
  async join(roomIdOrAlias: string): Promise<string> {
    return (
      await this.request<{ room_id: string }>("POST", `/_matrix/client/v3/join/${enc(roomIdOrAlias)}`, {})
    ).room_id;
  }
  async leave(roomId: string): Promise<void> {
    await this.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
  }
  async getState(roomId: string): Promise<RoomEvent[]> {
    return this.request<RoomEvent[]>("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state`);
  }
  /** One state event's content, or undefined when absent (404). */
  async getStateEvent(roomId: string, type: string, stateKey: string): Promise<Json | undefined> {
    try {
      return await this.request<Json>(
        "GET",
        `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`,
      );
    } catch (err) {
      if (err instanceof MatrixHttpError && err.status === 404) return undefined;
      throw err;
    }
  }
  /** With `delayMs`, schedules it (MSC4140) and returns `{delay_id}`; otherwise `{event_id}`. */
  async putState(
    roomId: string,
    type: string,
    stateKey: string,
    content: Json,
    opts: { delayMs?: number } = {},
  ): Promise<{ event_id?: string; delay_id?: string }> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`;
    return this.request("PUT", path, content, { "org.matrix.msc4140.delay": opts.delayMs });
  }
  async sendEvent(roomId: string, type: string, content: Json): Promise<string> {
    const txn = `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${txn}`;
    return (await this.request<{ event_id: string }>("PUT", path, content)).event_id;
  }
  async sendMessage(roomId: string, body: string): Promise<string> {
    return this.sendEvent(roomId, "m.room.message", { msgtype: "m.text", body });
  }
  /** `/messages`, newest first by default. */
  async messages(
    roomId: string,
    opts: { dir?: "b" | "f"; limit?: number; from?: string } = {},
  ): Promise<RoomEvent[]> {
    const query = { dir: opts.dir ?? "b", limit: opts.limit ?? 50, from: opts.from };
    const res = await this.request<{ chunk: RoomEvent[] }>(
      "GET",
      `/_matrix/client/v3/rooms/${enc(roomId)}/messages`,
      undefined,
      query,
    );
    return res.chunk;
  }
  async delayedEvents(): Promise<DelayedEvent[]> {
    return (await this.request<{ delayed_events: DelayedEvent[] }>("GET", `${MSC4140}/delayed_events`))
      .delayed_events;
  }
  async updateDelayedEvent(delayId: string, action: "send" | "cancel" | "restart"): Promise<void> {
    await this.request("POST", `${MSC4140}/delayed_events/${enc(delayId)}/${action}`, {});
  }
}

export async function call<T>(
  baseUrl: string,
  method: string,
  path: string,
  body: unknown,
  query: Query,
  accessToken?: string,
): Promise<T> {
  const url = new URL(path, baseUrl);
  for (const [key, value] of Object.entries(query))
    if (value !== undefined) url.searchParams.set(key, String(value));
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (accessToken !== undefined) headers["authorization"] = `Bearer ${accessToken}`;
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(30_000) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  const text = await res.text();
  const parsed: unknown = text.length > 0 ? JSON.parse(text) : {};
  if (!res.ok) {
    const errcode = (parsed as { errcode?: string }).errcode;
    throw new MatrixHttpError(res.status, errcode, parsed, `${method} ${path}`);
  }
  return parsed as T;
}
