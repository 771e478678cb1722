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

  readonly onEvent = (event: unknown): void => {
    const id = typeof event === "object" && event !== null && "event_id" in event ? event.event_id : null;
    this.pending.push(String(id));
  };

  readonly atomically = (run: () => void): boolean => {
    if (this.lockedTries > 0) {
      this.lockedTries--;
      return false;
    }
    this.pending = [];
    run();
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
