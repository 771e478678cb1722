// OurLeaves: a leave is ours only when it is the event we wrote (or, before the homeserver answered, created after we began).
import { OUR_LEAVE_WINDOW_MS, OurLeaves } from "../../../src/app/state/our-leaves";

const note = { reason: "left_sfu" as const, leftAt: 500 };

test("the event the homeserver returned is ours; any other leave is the client's", () => {
  const leaves = new OurLeaves();
  leaves.begin("K", note, 1_000);
  leaves.written("K", "$ours");
  expect(leaves.claim("K", "$client", 1_200)).toBeNull();
  expect(leaves.claim("K", "$ours", 1_300)).toEqual(note);
  expect(leaves.claim("K", "$ours", 1_300)).toBeNull();
});

test("while the write is in flight, a leave created before we began is the client's, one created after is ours", () => {
  const leaves = new OurLeaves();
  leaves.begin("K", note, 1_000);
  expect(leaves.claim("K", "$early", 999)).toBeNull();
  expect(leaves.claim("K", "$late", 1_000)).toEqual(note);
});

test("an abandoned write or an echo older than the window claims nothing", () => {
  const leaves = new OurLeaves();
  leaves.begin("K", note, 1_000);
  leaves.abandon("K");
  expect(leaves.claim("K", "$x", 1_100)).toBeNull();
  leaves.begin("K", note, 1_000);
  leaves.written("K", null);
  expect(leaves.claim("K", "$x", 1_001 + OUR_LEAVE_WINDOW_MS)).toBeNull();
  expect(leaves.claim("K", "$x", 1_100)).toBeNull();
});
