// Service benchmark (in-process, SQLite on disk): transaction latency and sustained ingest through the real HTTP
// listener against a journal-only floor measured in the same run, memory with 100k memberships over 50k rooms,
// a sweep with nothing due, the full re-check a poll triggers, and the longest event-loop block over the whole
// run. Prints `BENCH <name> <value> <unit>` lines.
// The homeserver is a stand-in answering start-up checks only.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Writable } from "node:stream";
import express from "express";
import { validateConfig } from "../../src/config/load";
import { mountAppserviceRoutes } from "../../src/adapters/http/appservice-routes";
import { createLogger } from "../../src/adapters/logging/winston-logger";
import { generateRegistration } from "../../src/adapters/matrix/registration";
import { SqliteStore } from "../../src/adapters/sqlite/store";
import { Service } from "../../src/main/service";
import { startFakeHomeserver } from "../../test/support/fake-homeserver";
import { closeServer, freePort, listenOnLoopback } from "../../test/support/net";
import { memberEvent, releasedRssBytes } from "./memory";
import { bench, percentile } from "./report";

const ROOMS = Number(process.env.BENCH_ROOMS ?? 50_000);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
const TXN_SIZE = 100;
const LATENCY_TXNS = 300;
/** The ingest phase: every membership not sent by the latency phase, in transactions of TXN_SIZE. */
const INGEST_EVENTS = MEMBERS - LATENCY_TXNS * TXN_SIZE;

type Put = (events: unknown[], txn: string) => Promise<void>;

function putter(base: string, hsToken: string): Put {
  return async (events, txn) => {
    const res = await fetch(`${base}/_matrix/app/v1/transactions/${txn}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${hsToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    });
    if (res.status !== 200) throw new Error(`transaction ${txn}: ${res.status}`);
    await res.arrayBuffer();
  };
}

/** Sends `count` memberships (from index `first`) in transactions of TXN_SIZE; `pause` runs every 20. */
async function ingest(put: Put, first: number, count: number, tag: string, pause: () => Promise<void>) {
  let next = first;
  for (let t = 0; next < first + count; t++) {
    const now = Date.now();
    const events = Array.from({ length: Math.min(TXN_SIZE, first + count - next) }, () =>
      memberEvent(next++, ROOMS, now, "bench.local"),
    );
    await put(events, `${tag}${t}`);
    if (t % 20 === 19) await pause();
  }
}

/**
 * The floor for durable ingest on this machine: the same listener routes (authentication, body reading, parsing)
 * journaling every event into the same schema, one SQLite transaction per request, and nothing else.
 */
async function floorEventsPerSecond(dir: string, hsToken: string): Promise<number> {
  const { store } = SqliteStore.open(join(dir, "floor.db"));
  const app = express();
  mountAppserviceRoutes(app, {
    hsToken,
    logger: createLogger({ level: "info", format: "json", stream: nullSink() }),
    onEvent: (event) => {
      const e = event as Record<string, unknown>;
      if (typeof e.event_id === "string" && typeof e.room_id === "string")
        store.appendInbox(e.event_id, e.room_id, Date.now(), JSON.stringify(event));
    },
    atomically: (run) => store.tryTransaction(run),
  });
  const server = createServer(app);
  const base = await listenOnLoopback(server);
  const started = performance.now();
  await ingest(putter(base, hsToken), 0, INGEST_EVENTS, "floor", () => Promise.resolve());
  const rate = INGEST_EVENTS / ((performance.now() - started) / 1000);
  await closeServer(server);
  store.close();
  return rate;
}

function nullSink(): Writable {
  return new Writable({
    write: (_c, _e, done) => {
      done();
    },
  });
}

/** Which tables are the journal, the current state and the history; each table is counted with its indexes. */
const DB_PARTS: Readonly<Record<string, readonly string[]>> = {
  journal: ["inbox"],
  state: ["rooms", "slots", "memberships"],
  history: ["user_sessions", "call_sessions", "audit"],
};

/** Megabytes of pages per part of the database (SQLite's dbstat), for sizing. */
function databaseParts(store: SqliteStore): Record<string, number> {
  const rows = store.db
    .prepare(
      `SELECT m.tbl_name AS tbl, SUM(s.pgsize) AS bytes FROM dbstat s JOIN sqlite_master m ON m.name = s.name
       GROUP BY m.tbl_name`,
    )
    .all() as { tbl: string; bytes: number }[];
  return Object.fromEntries(
    Object.entries(DB_PARTS).map(([part, tables]) => [
      part,
      rows.filter((r) => tables.includes(r.tbl)).reduce((n, r) => n + r.bytes, 0) / 1_048_576,
    ]),
  );
}

const gc = (): void => {
  (globalThis as { gc?: () => void }).gc?.();
};

async function main(): Promise<void> {
  // The longest the event loop was held, over the whole run except the benchmark's own forced collections.
  // (`reset()` would also drop the next block, so each excluded stretch starts a new monitor instead.)
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const monitor = () => {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    return h;
  };
  let loop = monitor();
  let worstMs = 0;
  const worst = async (): Promise<number> => {
    await sleep(30); // the monitor's timer runs once more, so a block just before now is counted
    worstMs = Math.max(worstMs, loop.max / 1e6);
    return worstMs;
  };
  /** Runs the benchmark's own work (a forced collection, a count) without counting the delay it causes. */
  const unmonitored = async <T>(fn: () => T): Promise<T> => {
    await worst();
    loop.disable();
    const out = fn();
    loop = monitor();
    await sleep(30); // a new monitor counts from its first tick on
    return out;
  };

  const dir = mkdtempSync(join(tmpdir(), "rtc-bench-"));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const registration = generateRegistration({ url: base, localpart: "rtcbot", domain: "bench.local" });

  const homeserver = await startFakeHomeserver({
    asToken: registration.as_token,
    hsToken: registration.hs_token,
    botUserId: "@rtcbot:bench.local",
    appserviceUrl: base,
  });
  const config = validateConfig(
    {
      homeserver: { url: homeserver.url, domain: "bench.local" },
      appservice: { port },
      metrics: { port: metricsPort },
      database: { path: join(dir, "bench.db") },
      reconciliation: { dry_run: false },
      logging: { level: "info" },
      // Only the benchmark drives sweeps.
      schedules: { sweep: "0 0 1 1 *", poll: "0 0 1 1 *", resync: "0 0 1 1 *" },
    },
    "bench.yaml",
    dir,
  );
  const service = new Service({
    config,
    registration,
    logger: createLogger({ level: "info", format: "json", stream: nullSink() }),
  });
  await service.start();
  const put = putter(base, registration.hs_token);
  await unmonitored(gc);
  const idle = process.memoryUsage();
  const heapBefore = idle.heapUsed;

  // 1. Latency: one transaction of 100 events, from request to every event handled.
  let next = 0;
  const latencies: number[] = [];
  for (let t = 0; t < LATENCY_TXNS; t++) {
    const now = Date.now();
    const events = Array.from({ length: TXN_SIZE }, () => memberEvent(next++, ROOMS, now, "bench.local"));
    const started = performance.now();
    await put(events, `lat${t}`);
    await service.app.intake.settled();
    latencies.push(performance.now() - started);
  }
  bench("txn100_p50_ms", percentile(latencies, 50), "ms");
  bench("txn100_p99_ms", percentile(latencies, 99), "ms");

  // 2. Sustained ingest until MEMBERS memberships are tracked (the floor is measured at the end, service stopped).
  const startedAt = performance.now();
  await ingest(put, next, INGEST_EVENTS, "ing", () => service.app.intake.settled());
  await service.app.intake.settled();
  const rate = INGEST_EVENTS / ((performance.now() - startedAt) / 1000);
  bench("ingest_events_per_s", rate, "events/s");

  // 3. Memory with everything tracked.
  const tracked = await unmonitored(() =>
    [...service.app.state.allRooms()].reduce((n, r) => n + r.allSlotMembers().length, 0),
  );
  await unmonitored(gc);
  const memory = process.memoryUsage();
  bench("tracked_memberships", tracked, "count");
  bench("rss_mb_idle", idle.rss / 1_048_576, "MB");
  bench("rss_mb_100k", memory.rss / 1_048_576, "MB");
  bench("heap_mb_100k", memory.heapUsed / 1_048_576, "MB");
  bench("bytes_per_member", Math.round((memory.heapUsed - heapBefore) / tracked), "bytes");
  // The same once V8 has given back what the burst made it keep (as `rss_mb_homeserver` is measured).
  bench("rss_mb_100k_released", (await unmonitored(releasedRssBytes)) / 1_048_576, "MB");
  // On disk: the database with its write-ahead log (the journal of these events included: it is kept a day).
  const dbBytes = ["", "-wal"].reduce((n, suffix) => {
    const path = `${config.database.path}${suffix}`;
    return n + (existsSync(path) ? statSync(path).size : 0);
  }, 0);
  bench("db_mb_100k", dbBytes / 1_048_576, "MB");
  for (const [part, mb] of Object.entries(await unmonitored(() => databaseParts(service.store)))) {
    bench(`db_${part}_mb_100k`, mb, "MB");
  }

  // 4. A sweep with nothing due (every membership expires in four hours), then the full re-check a poll triggers.
  // The median of a few sweeps: one figure is at the mercy of a collection that happens to fall inside it.
  const sweeps: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    service.app.reconciler.sweep();
    sweeps.push(performance.now() - t0);
    await sleep(5);
  }
  bench("sweep_ms_100k", percentile(sweeps, 50), "ms");
  bench("sweep_max_ms_100k", Math.max(...sweeps), "ms");
  const t1 = performance.now();
  await service.app.reconciler.recheckAll();
  bench("recheck_all_ms_100k", performance.now() - t1, "ms");
  bench("event_loop_max_block_ms", await worst(), "ms");
  loop.disable();

  await service.stop();
  await homeserver.close();

  // 5. The floor, last: run first, its garbage would count in the service's memory figures.
  const floor = await floorEventsPerSecond(dir, registration.hs_token);
  bench("ingest_floor_events_per_s", floor, "events/s");
  bench("ingest_to_floor_ratio", rate / floor, "ratio");
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
