// The listener acknowledges a transaction only after its journal committed: a failed commit answers 500, and the
// homeserver's retry with the same id is handled in full, not taken for a duplicate (nothing lost).
import { generateRegistration } from "../../../src/adapters/matrix/registration";
import { AppserviceListener } from "../../../src/adapters/matrix/appservice";
import { captureLogger } from "../../support/capture-logger";
import { keepAliveAgent, send } from "../../support/keepalive-http";
import { freePort } from "../../support/net";
import { sessionJoin } from "../../unit/domain/builders";

/** A journal whose commit can be made to fail: events handed over inside a unit land only if it commits. */
class FlakyJournal {
  readonly committed: string[] = [];
  private pending: string[] = [];
  failingCommits = 0;
  /** How many more times the store cannot take the unit yet (its write lock is held elsewhere). */
  lockedTries = 0;
  /** While set, the store cannot take any unit. */
  locked = false;
  /** The first event id of each unit offered, in order, whether taken or not. */
  readonly offered: string[] = [];
  /** Transactions received (past the token check). */
  received = 0;

  readonly onEvent = (event: unknown): void => {
    const id = typeof event === "object" && event !== null && "event_id" in event ? event.event_id : null;
    this.pending.push(String(id));
  };

  readonly atomically = (run: () => void): boolean => {
    this.pending = [];
    run();
    this.offered.push(this.pending[0] ?? "");
    if (this.locked) return false;
    if (this.lockedTries > 0) {
      this.lockedTries--;
      return false;
    }
    if (this.failingCommits > 0) {
      this.failingCommits--;
      this.pending = [];
      throw new Error("disk I/O error during COMMIT");
    }
    this.committed.push(...this.pending);
    return true;
  };
}

const journal = new FlakyJournal();
const log = captureLogger("info");
const agent = keepAliveAgent(2);
const registration = generateRegistration({
  url: "http://127.0.0.1",
  localpart: "rtcbot",
  domain: "journal.local",
});
let listener: AppserviceListener;
let base = "";

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  listener = new AppserviceListener({
    registration,
    domain: "journal.local",
    bindAddress: "127.0.0.1",
    port,
    logger: log.logger,
    onEvent: journal.onEvent,
    atomically: journal.atomically,
    onTransaction: () => {
      journal.received++;
    },
    isReady: () => true,
  });
  await listener.start();
});

afterAll(async () => {
  agent.destroy();
  await listener.stop();
});

const put = (txnId: string, events: unknown[]) =>
  send(agent, {
    method: "PUT",
    url: `${base}/_matrix/app/v1/transactions/${txnId}`,
    headers: { Authorization: `Bearer ${registration.hs_token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ events }),
  });

test("a failed commit answers 500; the retry with the same id is handled and its events kept", async () => {
  const events = [1, 2, 3].map((k) =>
    sessionJoin({ user: "@alice:journal.local", device: `D${k}`, roomId: "!r:journal.local" }),
  );
  journal.failingCommits = 1;
  const failed = await put("t1", events);
  expect([failed.status, JSON.parse(failed.text)]).toEqual([
    500,
    expect.objectContaining({ errcode: "M_UNKNOWN" }),
  ]);
  expect(journal.committed).toEqual([]);
  expect(
    log
      .lines()
      .filter((l) => l.level === "error")
      .map((l) => l.message),
  ).toEqual(["transaction could not be journaled; the homeserver will retry it"]);

  const retried = await put("t1", events);
  expect(retried.status).toBe(200);
  expect(journal.committed).toEqual(events.map((e) => e.event_id));

  // Once acknowledged, a repeat of the same id (our 200 was lost) is acknowledged without handling it again.
  expect((await put("t1", events)).status).toBe(200);
  expect(journal.committed).toHaveLength(3);
});

test("while the store cannot take writes, the transaction is tried again a moment later and acknowledged once kept", async () => {
  const events = [sessionJoin({ user: "@bob:journal.local", device: "DB", roomId: "!r:journal.local" })];
  journal.lockedTries = 3;
  const answered = await put("t2", events);
  expect(answered.status).toBe(200);
  expect(journal.lockedTries).toBe(0);
  expect(journal.committed.filter((id) => id === events[0]?.event_id)).toHaveLength(1);
});

test("a transaction that arrives while another waits for the store waits behind it, and both are kept in order", async () => {
  const first = sessionJoin({ user: "@carol:journal.local", device: "DC", roomId: "!r:journal.local" });
  const second = sessionJoin({ user: "@dave:journal.local", device: "DD", roomId: "!r:journal.local" });
  journal.locked = true;
  journal.offered.length = 0;
  const received = journal.received;
  const answers = [put("t3", [first]), put("t4", [second])];
  while (journal.received < received + 2) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 20));
  // Only the first was offered to the store, again and again: the second waits behind it.
  expect(new Set(journal.offered)).toEqual(new Set([first.event_id]));
  journal.locked = false;
  expect((await Promise.all(answers)).map((r) => r.status)).toEqual([200, 200]);
  const kept = journal.committed.filter((id) => id === first.event_id || id === second.event_id);
  expect(kept).toEqual([first.event_id, second.event_id]);
});

test("a transaction the store cannot take for 5 s gets a 500, and the one waiting behind it goes ahead", async () => {
  const stuck = sessionJoin({ user: "@erin:journal.local", device: "DE", roomId: "!r:journal.local" });
  const behind = sessionJoin({ user: "@frank:journal.local", device: "DF", roomId: "!r:journal.local" });
  journal.locked = true;
  const first = put("t5", [stuck]);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const second = put("t6", [behind]);
  const answer = await first;
  // Unlocked only once the first gave up: the second, 1 s younger, is still within its 5 s.
  journal.locked = false;
  expect([answer.status, JSON.parse(answer.text)]).toEqual([
    500,
    expect.objectContaining({ errcode: "M_UNKNOWN" }),
  ]);
  expect((await second).status).toBe(200);
  expect(journal.committed).toContain(behind.event_id);
  expect(journal.committed).not.toContain(stuck.event_id);
}, 15_000);
