// fast-check generators of realistic call membership event streams for one room (all formats, churn, junk).
import fc from "fast-check";
import {
  ALICE,
  BOB,
  legacyArrayEvent,
  msc3401Event,
  roomMember,
  rtcLatestEvent,
  sessionJoin,
  sessionLeave,
  stickyJoin,
  stickyLeave,
  T0,
  type ClientEvent,
} from "./builders";

const USERS = [ALICE, BOB, "@carol:example.org"] as const;
const DEVICES = ["D1", "D2", "D_3"] as const;

const user = fc.constantFrom(...USERS);
const device = fc.constantFrom(...DEVICES);
const offset = fc.integer({ min: 0, max: 100_000 });

/** One event of any kind, at `T0 + offset` (streams are not required to be in timestamp order). */
export const roomEventArb: fc.Arbitrary<ClientEvent> = fc.oneof(
  fc
    .record({
      user,
      device,
      ts: offset,
      created: fc.option(offset, { nil: undefined }),
      foreign: fc.boolean(),
    })
    .map((o) =>
      sessionJoin({
        user: o.user,
        device: o.device,
        ts: T0 + o.ts,
        ...(o.created === undefined ? {} : { createdTs: T0 + o.created }),
      }),
    ),
  fc.record({ user, device, ts: offset, sender: fc.option(user, { nil: undefined }) }).map((o) =>
    sessionLeave({
      user: o.user,
      device: o.device,
      ts: T0 + o.ts,
      ...(o.sender === undefined ? {} : { sender: o.sender }),
    }),
  ),
  fc
    .record({ user, ts: offset, devices: fc.subarray([...DEVICES]), session: fc.constantFrom("a", "b") })
    .map((o) =>
      msc3401Event({
        user: o.user,
        ts: T0 + o.ts,
        calls: [
          {
            callId: "c",
            devices: o.devices.map((d) => ({
              deviceId: d,
              sessionId: `${o.session}${d}`,
              expiresTs: T0 + 1e6,
            })),
          },
        ],
      }),
    ),
  fc.record({ user, ts: offset, devices: fc.subarray([...DEVICES]) }).map((o) =>
    legacyArrayEvent({
      user: o.user,
      ts: T0 + o.ts,
      entries: o.devices.map((d) => ({ deviceId: d, expires: 3_600_000 })),
    }),
  ),
  fc
    .record({ user, device, ts: offset })
    .map((o) => stickyJoin({ user: o.user, device: o.device, ts: T0 + o.ts, durationMs: 3_600_000 })),
  fc
    .record({ user, device, ts: offset })
    .map((o) => stickyLeave({ user: o.user, device: o.device, ts: T0 + o.ts, durationMs: 3_600_000 })),
  fc
    .record({ user, device, ts: offset, membership: fc.constantFrom("join" as const, "leave" as const) })
    .map((o) =>
      rtcLatestEvent({
        user: o.user,
        device: o.device,
        ts: T0 + o.ts,
        membership: o.membership,
        leaveCode: "delayed_leave",
      }),
    ),
  fc
    .record({ user, ts: offset, membership: fc.constantFrom("join", "leave", "ban", "invite") })
    .map((o) => roomMember(o.user, o.membership, { ts: T0 + o.ts })),
  fc
    .record({ user, device, junk: fc.jsonValue() })
    .map((o) => ({ ...sessionLeave({ user: o.user, device: o.device }), content: { application: o.junk } })),
);

/** A stream of events where some events are repeated (redelivery), as appservice transactions can do. */
export const eventStreamArb: fc.Arbitrary<ClientEvent[]> = fc
  .array(fc.tuple(roomEventArb, fc.boolean()), { minLength: 1, maxLength: 40 })
  .map((pairs) => {
    const out: ClientEvent[] = [];
    for (const [event, repeatEarlier] of pairs) {
      const earlier = out[out.length >> 1];
      out.push(repeatEarlier && earlier !== undefined ? earlier : event);
    }
    return out;
  });
