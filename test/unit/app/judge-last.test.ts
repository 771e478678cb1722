// Judge: a member's last verdict is kept as its kind and reason; a change is audited with the one before it.
import { ALICE, BOB, ROOM, sessionJoin } from "../domain/builders";
import { Harness } from "./harness";

describe("Judge: last verdicts", () => {
  test("each change is audited once with the verdict before it; the ghost count follows kinds", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE, BOB] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    await h.connect(ALICE, "DEVA", "PA_1");
    const key = h.member(ALICE, "DEVA").key;
    expect(h.judge.lastLabel(ROOM, key)).toBe("alive:connected");
    const rows = h.audit("verdict").filter((r) => r.memberKey === key);
    const labels = rows.map((r) => `${r.result ?? ""}:${r.reason ?? ""}`);
    expect(rows.map((r) => r.evidence?.previous)).toEqual([null, ...labels.slice(0, -1)]);
    // Judged again to the same verdict: nothing more recorded.
    h.judge.judgeRoom(h.state.room(ROOM)!, h.clock.now());
    expect(h.audit("verdict").filter((r) => r.memberKey === key)).toHaveLength(rows.length);
    expect(h.judge.ghostCount()).toBe(0);
    expect(h.judge.lastLabel(ROOM, "no such member")).toBeNull();
  });
});
