// Checkpoints the write-ahead log from a worker thread, so the event loop only appends to it.
import { openSync, statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { Db } from "./database";

/**
 * Pages the log may hold before the service's own connection checkpoints it anyway: a backstop for a worker
 * that fell behind or died. The worker keeps the log well under it.
 */
export const BACKSTOP_PAGES = 16_000;

/**
 * Pages past which the worker restarts the log. A log only starts again from its beginning once a checkpoint has
 * copied all of it while no write came in between, which never happens on its own while writes keep coming; the
 * RESTART mode takes the write lock for that moment. The service's frequent writers (the journal, the drain) try
 * again a moment later rather than wait (`Store.tryTransaction`).
 */
export const RESTART_PAGES = 8_000;

/**
 * How long a RESTART may wait, for the write lock and then (holding it) for readers of older pages to finish. A
 * reader that stays (an operator's `sqlite3` shell, a backup tool) makes it give up: it is tried again after a
 * back-off, from 1 s doubling to 30 s, so that such a reader never keeps the service's writers out for long.
 */
const RESTART_WAIT_MS = 50;
const RESTART_BACKOFF_MS = [1_000, 30_000] as const;

/**
 * Before a restart, the worker copies what the log gained during its last checkpoint (up to this many more passes)
 * until at most this many frames are left: the restart copies those holding the write lock, so writers wait for
 * them.
 */
const CATCH_UP = { passes: 4, frames: 200 } as const;

/** How often the worker copies what the log gained into the database file. */
const INTERVAL_MS = 100;

/**
 * The worker: its own connection to the file, a PASSIVE checkpoint (it never blocks the writer) every interval, and
 * a RESTART one when the log has grown past `RESTART_PAGES` (backing off after one that gave up). Run from source
 * rather than a file of its own, so that it needs no build step of its own under the tests.
 *
 * A checkpoint syncs the database file only when it copied the log to its end, so while writes keep coming the
 * pages the PASSIVE ones copy stay in the operating system's cache, unsynced, until the RESTART: measured, its sync
 * of up to 32 MB held the write lock for 15–40 ms. The worker syncs the file itself just before, without the lock
 * (`syncHandle`), and the restart's own sync finds little left (the lock is then held for about 5 ms). Should that
 * sync fail, the worker leaves it to the restart from then on. Each successful restart is reported ("restarted").
 */
const WORKER = `
const { fdatasyncSync } = require("node:fs");
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = " + workerData.restartWaitMs);
let file = workerData.syncFd;
const [firstBackoff, lastBackoff] = workerData.restartBackoffMs;
let backoff = firstBackoff;
let restartFrom = 0;
// The log's length when a restart last succeeded: it stays so until the next write starts the log over.
let restarted = -1;
const timer = setInterval(() => {
  let [{ log, checkpointed }] = db.pragma("wal_checkpoint(PASSIVE)");
  if (log < workerData.restartPages) {
    // The log started over (or never grew): whatever held an earlier restart back is gone.
    backoff = firstBackoff;
    restartFrom = 0;
    restarted = -1;
    return;
  }
  if (Date.now() < restartFrom || log === restarted) return;
  // The restart copies what is left while it holds the write lock: copy what came in meanwhile without it first.
  for (let pass = 0; pass < workerData.catchUp.passes && log - checkpointed > workerData.catchUp.frames; pass++)
    [{ log, checkpointed }] = db.pragma("wal_checkpoint(PASSIVE)");
  if (file !== null) {
    try {
      fdatasyncSync(file);
    } catch {
      file = null;
    }
  }
  const [{ busy, log: length }] = db.pragma("wal_checkpoint(RESTART)");
  if (busy === 0) {
    backoff = firstBackoff;
    restarted = length;
    parentPort.postMessage("restarted");
  } else {
    restartFrom = Date.now() + backoff;
    backoff = Math.min(backoff * 2, lastBackoff);
  }
}, workerData.intervalMs);
parentPort.once("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** One descriptor per database file (by device and inode), opened on first use. */
const syncHandles = new Map<string, number>();

/**
 * A descriptor of the database file at `path` for the worker to sync it through, or null if it cannot be opened.
 * Opened once per file and never closed while the process lives: closing any descriptor of a file drops every lock
 * this process holds on it, the service's own connection's included (SQLite's own layer defers such closes; a
 * descriptor of ours would not), and another process could then write to the database under its feet.
 */
function syncHandle(path: string): number | null {
  try {
    const { dev, ino } = statSync(path);
    const key = `${String(dev)}:${String(ino)}`;
    let fd = syncHandles.get(key);
    if (fd === undefined) syncHandles.set(key, (fd = openSync(path, "r")));
    return fd;
  } catch {
    return null;
  }
}

/**
 * Moves the checkpoints of the database at `path` (WAL mode, open as `db`) off the event loop: what a commit
 * appended to the log is copied into the database file by a worker thread on another core. Commits stay as durable
 * as before (they are in the log); the writer's own automatic checkpoint only comes back past `BACKSTOP_PAGES`.
 * Resolves `stop` once the worker closed its connection (before the database is closed, so the last connection
 * to close checkpoints what is left and removes the log). A worker that fails reports it to `onError`.
 * `restartPages` and `onRestart` (told of each restart of the log) are for tests.
 */
export function checkpointInBackground(
  db: Db,
  path: string,
  onError: (err: unknown) => void,
  { restartPages = RESTART_PAGES, onRestart }: { restartPages?: number; onRestart?: () => void } = {},
): () => Promise<void> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      path,
      driver: require.resolve("better-sqlite3"),
      intervalMs: INTERVAL_MS,
      restartPages,
      restartWaitMs: RESTART_WAIT_MS,
      restartBackoffMs: RESTART_BACKOFF_MS,
      catchUp: CATCH_UP,
      syncFd: syncHandle(path),
    },
  });
  worker.unref();
  worker.on("error", onError);
  if (onRestart !== undefined) worker.on("message", onRestart);
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const exited = new Promise<void>((resolve) => {
    worker.once("exit", () => {
      resolve();
    });
  });
  return async () => {
    // Held again while it stops: waiting for an unreferenced worker would not keep the process alive.
    worker.ref();
    worker.postMessage("stop");
    await exited;
  };
}
