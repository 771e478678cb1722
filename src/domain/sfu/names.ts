// Caches members' LiveKit names (an MSC4195 hash costs ~0.5 µs): per call for rooms, per member session for identities.
import { KEY_SEP } from "../membership/keys";
import { sameTransports } from "../membership/changes";
import type { RtcMember, Transport } from "../membership/model";
import {
  callRoomCandidates,
  participantIdentities,
  type CallPeers,
  sfuTransportFor,
  type SfuTarget,
} from "./mapping";

/** The LiveKit room names and participant identities a member may appear under. */
export interface SfuNames {
  readonly rooms: readonly string[];
  readonly identities: readonly string[];
}

interface CallEntry {
  readonly key: string;
  readonly rooms: readonly string[];
  refs: number;
}

/** A member's names (the entry is its own `SfuNames`) and what they were computed from. */
interface MemberEntry extends SfuNames {
  readonly userId: string;
  readonly sessionId: string | null;
  readonly memberId: string | null;
  readonly slotId: string;
  /** Own transports (each interned, so compared by identity): their aliases are among the room names. */
  readonly transports: RtcMember["transports"];
  readonly call: CallEntry;
}

/** The room names plus the transport's `livekit_alias` when it has one they lack (a new list only then). */
function withAlias(rooms: readonly string[], transport: Transport): readonly string[] {
  const alias = transport.livekitAlias;
  return alias === null || rooms.includes(alias) ? rooms : rooms.concat([alias]);
}

/**
 * A deterministic memo of `livekitRoomCandidates` / `participantIdentities`: room names are shared by all
 * members of a call, identities are kept per member key until its user, session, member id or transports
 * change. Callers `forget` a member key when it leaves, which also releases its call's names once unused.
 */
export class SfuNameCache {
  private readonly members = new Map<string, MemberEntry>();
  private readonly calls = new Map<string, CallEntry>();

  get size(): number {
    return this.members.size;
  }

  namesOf(member: RtcMember): SfuNames {
    return this.entryOf(member);
  }

  /**
   * `sfuTargetFor` with cached names: the transport is chosen afresh (the oldest member may have changed).
   * `peers` are only asked when the member's focus selection needs the other members.
   */
  targetOf(member: RtcMember, peers: CallPeers): SfuTarget | null {
    const transport = sfuTransportFor(member, peers);
    if (transport === null) return null;
    const entry = this.entryOf(member);
    return { transport, rooms: withAlias(entry.rooms, transport), identities: entry.identities };
  }

  /** The member's cache entry, computed when missing or when its user, session, member id or transports changed. */
  private entryOf(member: RtcMember): MemberEntry {
    const cached = this.members.get(member.key);
    if (
      cached !== undefined &&
      cached.userId === member.userId &&
      cached.sessionId === member.sessionId &&
      cached.memberId === member.memberId &&
      cached.slotId === member.slotId &&
      sameTransports(cached.transports, member.transports)
    ) {
      return cached;
    }
    if (cached !== undefined) this.release(cached.call);
    const callKey = [member.roomId, member.slotId, member.callId].join(KEY_SEP);
    let call = this.calls.get(callKey);
    if (call === undefined) {
      call = {
        key: callKey,
        rooms: callRoomCandidates(member.roomId, member.slotId, member.callId),
        refs: 0,
      };
      this.calls.set(callKey, call);
    }
    call.refs++;
    let rooms = call.rooms;
    for (const own of member.transports) rooms = withAlias(rooms, own);
    const entry: MemberEntry = {
      userId: member.userId,
      sessionId: member.sessionId,
      memberId: member.memberId,
      slotId: member.slotId,
      transports: member.transports,
      call,
      rooms,
      identities: participantIdentities(member),
    };
    this.members.set(member.key, entry);
    return entry;
  }

  forget(memberKey: string): void {
    const cached = this.members.get(memberKey);
    if (cached === undefined) return;
    this.members.delete(memberKey);
    this.release(cached.call);
  }

  private release(call: CallEntry): void {
    if (--call.refs <= 0) this.calls.delete(call.key);
  }
}
