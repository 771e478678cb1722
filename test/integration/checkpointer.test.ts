// Background checkpoints: a worker copies the write-ahead log into the database file; stopped, it leaves the log to close.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BACKSTOP_PAGES, checkpointInBackground } from "../../src/adapters/sqlite/checkpointer";
import { SqliteStore } from "../../src/adapters/sqlite/store";

const dir = mkdtempSync(join(tmpdir(), "rtc-checkpoint-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

test("a worker copies committed pages into the database file; once stopped, closing removes the log", async () => {
  const path = join(dir, "state.db");
  const { store } = SqliteStore.open(path);
  const errors: unknown[] = [];
  const stop = checkpointInBackground(store.db, path, (err) => errors.push(err));
  // The service's own connection checkpoints only as a backstop.
  expect(store.db.pragma("wal_autocheckpoint", { simple: true })).toBe(BACKSTOP_PAGES);
  const before = statSync(path).size;
  store.transaction(() => {
    for (let i = 0; i < 500; i++)
      store.appendInbox(
        `$e${i}`,
        "!r:x",
        i,
        JSON.stringify({ event_id: `$e${i}`, padding: "x".repeat(500) }),
      );
  });
  // Committed, so in the log; the database file grows only when the worker checkpoints.
  for (let waited = 0; statSync(path).size === before && waited < 10_000; waited += 50) await sleep(50);
  expect(statSync(path).size).toBeGreaterThan(before);
  await stop();
  store.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
  expect(errors).toEqual([]);
  // Everything committed is there.
  const reopened = SqliteStore.open(path).store;
  expect(reopened.pendingInbox(1000)).toHaveLength(500);
  reopened.close();
});
