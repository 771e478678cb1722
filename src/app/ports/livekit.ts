// The LiveKit port: what the app asks of an SFU deployment (by name), whatever client library answers.

/** LiveKit's participant states (livekit_models.proto): only "active" means media is connected. */
export type ParticipantState = "joining" | "joined" | "active" | "disconnected";

export interface SfuParticipant {
  readonly identity: string;
  readonly sid: string;
  readonly state: ParticipantState;
  /** When LiveKit says it joined (ms), if known. */
  readonly joinedAt: number | null;
}

/** A LiveKit API call failed or timed out: the deployment's view is unavailable, never "everyone left". */
export class SfuUnavailableError extends Error {
  constructor(
    readonly deployment: string,
    readonly operation: string,
    readonly reason: string,
  ) {
    super(`LiveKit deployment ${deployment}: ${operation} failed: ${reason}`);
    this.name = "SfuUnavailableError";
  }
}

export interface LiveKitPort {
  /** Names of the rooms the deployment has now. */
  listRooms(deployment: string): Promise<readonly string[]>;
  /** Participants of one room; an absent room has none. */
  listParticipants(deployment: string, room: string): Promise<readonly SfuParticipant[]>;
  /** Removes a participant; "absent" when it was not there. */
  removeParticipant(deployment: string, room: string, identity: string): Promise<"removed" | "absent">;
}
