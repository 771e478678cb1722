// The Matrix port over the client-server API: room state, masqueraded writes, delayed events (MSC4140), notices.
import { randomBytes } from "node:crypto";
import type { Logger } from "../../app/ports/logger";
import {
  type Actor,
  type DelayedEvent,
  type MatrixPort,
  MatrixRequestError,
  type StateEventSnapshot,
} from "../../app/ports/matrix";
import { MatrixHttp, MatrixHttpError, MatrixUnreachableError, type RequestOptions, seg } from "./http";
import { MasqueradeRefusedError, mayMasquerade, resolvesElsewhere } from "./masquerade";

const DELAYED = "/_matrix/client/unstable/org.matrix.msc4140/delayed_events";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface HomeserverDeps {
  readonly http: MatrixHttp;
  readonly botUserId: string;
  /** Told every request as a user that the service refused to send (see masquerade.ts). */
  readonly logger: Logger;
}

/** The only place a request is made as a user (`?user_id=`): each one is checked against what masquerade.ts allows. */
export class Homeserver implements MatrixPort {
  private readonly http: MatrixHttp;
  readonly botUserId: string;
  private readonly logger: Logger;

  constructor(deps: HomeserverDeps) {
    this.http = deps.http;
    this.botUserId = deps.botUserId;
    this.logger = deps.logger;
  }

  private async req<T>(
    method: string,
    path: string,
    as: Actor,
    opts: Omit<RequestOptions, "asUser"> = {},
  ): Promise<T> {
    if (as.kind === "user" && !mayMasquerade({ method, path, query: opts.query ?? {} })) {
      const refused = new MasqueradeRefusedError(method, path, as.userId);
      this.logger.error("refused a request as a user", { method, path, user: as.userId });
      throw refused;
    }
    if (resolvesElsewhere(path))
      throw new MatrixRequestError(`refused: a path segment of "." or ".." in ${method} ${path}`, 0, null);
    try {
      return await this.http.request<T>(method, path, {
        ...opts,
        asUser: as.kind === "user" ? as.userId : undefined,
      });
    } catch (err) {
      if (err instanceof MatrixHttpError) throw new MatrixRequestError(err.message, err.status, err.errcode);
      if (err instanceof MatrixUnreachableError) throw new MatrixRequestError(err.message, 0, null);
      throw err;
    }
  }

  async roomState(roomId: string, as: Actor): Promise<readonly unknown[]> {
    const state = await this.req<unknown>("GET", `/_matrix/client/v3/rooms/${seg(roomId)}/state`, as);
    if (!Array.isArray(state)) throw new MatrixRequestError(`state of ${roomId} is not an array`, 200, null);
    return state as unknown[];
  }

  async stateEvent(
    roomId: string,
    type: string,
    stateKey: string,
    as: Actor,
  ): Promise<StateEventSnapshot | null> {
    try {
      const event = await this.req<unknown>(
        "GET",
        `/_matrix/client/v3/rooms/${seg(roomId)}/state/${seg(type)}/${seg(stateKey)}`,
        as,
        { query: { format: "event" } },
      );
      if (!isRecord(event)) return null;
      // Servers that ignore format=event return the content itself.
      const content = isRecord(event.content) && typeof event.event_id === "string" ? event.content : event;
      return { eventId: typeof event.event_id === "string" ? event.event_id : null, content, raw: event };
    } catch (err) {
      if (err instanceof MatrixRequestError && err.status === 404) return null;
      throw err;
    }
  }

  async putState(
    roomId: string,
    type: string,
    stateKey: string,
    content: object,
    as: Actor,
  ): Promise<string> {
    const res = await this.req<{ event_id?: unknown }>(
      "PUT",
      `/_matrix/client/v3/rooms/${seg(roomId)}/state/${seg(type)}/${seg(stateKey)}`,
      as,
      { body: content },
    );
    return typeof res.event_id === "string" ? res.event_id : "";
  }

  async sendEvent(
    roomId: string,
    type: string,
    content: object,
    as: Actor,
    stickyDurationMs?: number,
  ): Promise<string> {
    const txn = `rtcrec.${Date.now()}.${randomBytes(4).toString("hex")}`;
    const query: Record<string, string> =
      stickyDurationMs === undefined
        ? {}
        : { "org.matrix.msc4354.sticky_duration_ms": String(stickyDurationMs) };
    const res = await this.req<{ event_id?: unknown }>(
      "PUT",
      `/_matrix/client/v3/rooms/${seg(roomId)}/send/${seg(type)}/${seg(txn)}`,
      as,
      { body: content, query },
    );
    return typeof res.event_id === "string" ? res.event_id : "";
  }

  async delayedEvents(userId: string): Promise<readonly DelayedEvent[] | null> {
    let res: unknown;
    try {
      res = await this.req<unknown>("GET", DELAYED, { kind: "user", userId });
    } catch (err) {
      // 404/400 M_UNRECOGNIZED: the homeserver has no delayed events.
      if (err instanceof MatrixRequestError && (err.status === 404 || err.errcode === "M_UNRECOGNIZED"))
        return null;
      throw err;
    }
    const list = isRecord(res) && Array.isArray(res.delayed_events) ? res.delayed_events : [];
    return list.filter(isRecord).flatMap((e): DelayedEvent[] => {
      if (typeof e.delay_id !== "string" || typeof e.room_id !== "string" || typeof e.type !== "string")
        return [];
      return [
        {
          delayId: e.delay_id,
          roomId: e.room_id,
          type: e.type,
          stateKey: typeof e.state_key === "string" ? e.state_key : null,
          delayMs: typeof e.delay === "number" ? e.delay : 0,
          content: isRecord(e.content) ? e.content : {},
        },
      ];
    });
  }

  async delayedEventAction(delayId: string, action: "send" | "cancel", userId: string): Promise<void> {
    await this.req("POST", `${DELAYED}/${seg(delayId)}/${action}`, { kind: "user", userId }, { body: {} });
  }

  async joinedRooms(): Promise<readonly string[]> {
    const res = await this.req<{ joined_rooms?: unknown }>("GET", "/_matrix/client/v3/joined_rooms", {
      kind: "bot",
    });
    return Array.isArray(res.joined_rooms) ? res.joined_rooms.filter((r) => typeof r === "string") : [];
  }

  async resolveAlias(alias: string): Promise<string | null> {
    let res: unknown;
    try {
      res = await this.req<unknown>("GET", `/_matrix/client/v3/directory/room/${seg(alias)}`, {
        kind: "bot",
      });
    } catch (err) {
      if (err instanceof MatrixRequestError && err.status === 404) return null;
      throw err;
    }
    if (!isRecord(res) || typeof res.room_id !== "string")
      throw new MatrixRequestError(`the directory entry of ${alias} has no room id`, 200, null);
    return res.room_id;
  }

  async join(roomId: string): Promise<void> {
    await this.req("POST", `/_matrix/client/v3/join/${seg(roomId)}`, { kind: "bot" }, { body: {} });
  }

  async leave(roomId: string): Promise<void> {
    await this.req("POST", `/_matrix/client/v3/rooms/${seg(roomId)}/leave`, { kind: "bot" }, { body: {} });
  }

  async sendNotice(roomId: string, text: string, html: string): Promise<void> {
    await this.sendEvent(
      roomId,
      "m.room.message",
      { msgtype: "m.notice", body: text, format: "org.matrix.custom.html", formatted_body: html },
      { kind: "bot" },
    );
  }
}
