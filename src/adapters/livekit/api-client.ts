// LiveKit server API (livekit-server-sdk RoomServiceClient) behind the LiveKit port, with timeouts and typed failures.
import { RoomServiceClient, ServerError } from "livekit-server-sdk";
import {
  type LiveKitPort,
  type ParticipantState,
  type SfuParticipant,
  SfuUnavailableError,
} from "../../app/ports/livekit";

export interface LiveKitDeploymentAccess {
  readonly name: string;
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

const STATES: readonly ParticipantState[] = ["joining", "joined", "active", "disconnected"];

/** LiveKit answered "no such room / participant" (Twirp not_found): an answer, not an outage. */
class NotFound extends Error {}

export class LiveKitApiClient implements LiveKitPort {
  private readonly clients = new Map<string, RoomServiceClient>();

  constructor(
    deployments: readonly LiveKitDeploymentAccess[],
    private readonly timeoutMs = 5000,
  ) {
    for (const d of deployments) {
      this.clients.set(
        d.name,
        new RoomServiceClient(d.apiUrl, d.apiKey, d.apiSecret, {
          requestTimeout: Math.ceil(timeoutMs / 1000),
        }),
      );
    }
  }

  private client(deployment: string): RoomServiceClient {
    const client = this.clients.get(deployment);
    if (!client) throw new SfuUnavailableError(deployment, "lookup", "no such deployment in the config");
    return client;
  }

  /** Runs a call with a hard deadline: a hanging server must not hang the service. */
  private async call<T>(
    deployment: string,
    operation: string,
    fn: (c: RoomServiceClient) => Promise<T>,
  ): Promise<T> {
    const client = this.client(deployment);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new SfuUnavailableError(deployment, operation, `no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([fn(client), deadline]);
    } catch (err) {
      if (err instanceof SfuUnavailableError) throw err;
      if (err instanceof ServerError && (err.status === 404 || err.code === "not_found"))
        throw new NotFound(err.message);
      throw new SfuUnavailableError(deployment, operation, err instanceof Error ? err.message : String(err));
    } finally {
      clearTimeout(timer);
    }
  }

  async listRooms(deployment: string): Promise<readonly string[]> {
    const rooms = await this.call(deployment, "listRooms", (c) => c.listRooms());
    return rooms.map((r) => r.name);
  }

  async listParticipants(deployment: string, room: string): Promise<readonly SfuParticipant[]> {
    try {
      const list = await this.call(deployment, "listParticipants", (c) => c.listParticipants(room));
      return list.map((p): SfuParticipant => ({
        identity: p.identity,
        sid: p.sid,
        state: STATES[p.state] ?? "disconnected",
        joinedAt: p.joinedAt > 0n ? Number(p.joinedAt) * 1000 : null,
      }));
    } catch (err) {
      if (err instanceof NotFound) return [];
      throw err;
    }
  }

  async removeParticipant(deployment: string, room: string, identity: string): Promise<"removed" | "absent"> {
    try {
      await this.call(deployment, "removeParticipant", (c) => c.removeParticipant(room, identity));
      return "removed";
    } catch (err) {
      if (err instanceof NotFound) return "absent";
      throw err;
    }
  }
}
