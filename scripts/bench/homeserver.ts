// Homeserver-shaped benchmark: what a big homeserver sends an appservice registered for every room (members coming
// and going, messages, room state: 100k rooms without calls, 10k with) through the real listener, in transactions
// of 100, sent by a child process. Prints `BENCH <name> <value> <unit>` lines: the service's memory and disk after
// the stream, and the rate it took it at. The homeserver is a stand-in: start-up checks, and room state reads.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger } from "../../src/adapters/logging/winston-logger";
import { generateRegistration } from "../../src/adapters/matrix/registration";
import { validateConfig } from "../../src/config/load";
import { Service } from "../../src/main/service";
import { closeServer, freePort, listenOnLoopback } from "../../test/support/net";
import { releasedRssBytes, settledHeapBytes } from "./memory";
import { bench } from "./report";

const QUIET_ROOMS = Number(process.env.BENCH_QUIET_ROOMS ?? 100_000);
const CALL_ROOMS = Number(process.env.BENCH_CALL_ROOMS ?? 10_000);
const TXN_SIZE = 100;
const DOMAIN = "bench.local";
const USERS = 200_000;
const CALL_MEMBER = "org.matrix.msc3401.call.member";
/** Every this many rooms, one has a call (10k among 110k). */
const CALL_EVERY =
  CALL_ROOMS === 0
    ? Number.POSITIVE_INFINITY
    : Math.max(1, Math.round((QUIET_ROOMS + CALL_ROOMS) / CALL_ROOMS));

type Event = Record<string, unknown>;

const user = (room: number, k: number) => `@u${(room * 7 + k * 13_001) % USERS}:${DOMAIN}`;

function base(roomId: string, id: string, type: string, sender: string, ts: number, content: Event): Event {
  return { event_id: id, type, room_id: roomId, sender, origin_server_ts: ts, content, unsigned: { age: 5 } };
}

const state = (e: Event, stateKey: string): Event => ({ ...e, state_key: stateKey });

/** Format C (js-sdk session) membership of `sender`'s device, or its leave (`{}`). */
function callMember(roomId: string, id: string, sender: string, ts: number, join: boolean): Event {
  const device = "DEVICE";
  const content = join
    ? {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: device,
        expires: 14_400_000,
        membershipID: `${sender}:${device}`,
        focus_active: { type: "livekit", focus_selection: "oldest_membership" },
        foci_preferred: [{ type: "livekit", livekit_service_url: `https://rtc.${DOMAIN}/livekit/jwt` }],
      }
    : {};
  return state(base(roomId, id, CALL_MEMBER, sender, ts, content), `_${sender}_${device}_m.call`);
}

/**
 * Event `k` of room `index`'s timeline, or null past its end. A room without a call: its creation, power levels,
 * three joins, chat, an encrypted message, a name and a leave (10 events). A room with a call: the same start,
 * then two members join the call, one leaves it again, and more chat (12 events).
 */
function roomEvent(index: number, k: number, t0: number): Event | null {
  const call = index % CALL_EVERY === CALL_EVERY - 1;
  const roomId = `!${call ? "call" : "quiet"}${index}:${DOMAIN}`;
  const id = `$r${index}_${k}`;
  const ts = t0 + k;
  const owner = user(index, 0);
  const member = (who: string, membership: string) =>
    state(base(roomId, id, "m.room.member", who, ts, { membership, displayname: who.slice(1, 8) }), who);
  const message = (who: string) =>
    base(roomId, id, "m.room.message", who, ts, { msgtype: "m.text", body: `hello from ${who} (${k})` });
  switch (k) {
    case 0:
      return state(base(roomId, id, "m.room.create", owner, ts, { room_version: "10", creator: owner }), "");
    case 1:
      return state(base(roomId, id, "m.room.power_levels", owner, ts, { users: { [owner]: 100 } }), "");
    case 2:
    case 3:
    case 4:
      return member(user(index, k - 2), "join");
    case 5:
      return message(user(index, 1));
    case 6:
      return call ? callMember(roomId, id, user(index, 0), ts, true) : message(owner);
    case 7:
      return call
        ? callMember(roomId, id, user(index, 1), ts, true)
        : base(roomId, id, "m.room.encrypted", owner, ts, {
            algorithm: "m.megolm.v1.aes-sha2",
            ciphertext: "x",
          });
    case 8:
      return call
        ? callMember(roomId, id, user(index, 1), ts, false)
        : state(base(roomId, id, "m.room.name", owner, ts, { name: `Room ${index}` }), "");
    case 9:
      return member(user(index, 2), "leave");
    case 10:
      return call ? message(user(index, 0)) : null;
    case 11:
      return call ? member(user(index, 1), "leave") : null;
    default:
      return null;
  }
}

const TIMELINE_MAX = 12;

/** The room's state as a read returns it once events up to `round` happened: the latest of each (type, state key). */
function roomState(index: number, round: number, t0: number): Event[] {
  const latest = new Map<string, Event>();
  for (let k = 0; k <= Math.min(round, TIMELINE_MAX - 1); k++) {
    const e = roomEvent(index, k, t0);
    if (e !== null && typeof e.state_key === "string") latest.set(`${String(e.type)}\u0000${e.state_key}`, e);
  }
  return [...latest.values()];
}

/** Round `k` of the stream: event `k` of every room (rooms are interleaved, each room's events in order). */
function* round(k: number, rooms: number, t0: number): Generator<Event> {
  for (let index = 0; index < rooms; index++) {
    const e = roomEvent(index, k, t0);
    if (e !== null) yield e;
  }
}

const ROOM_STATE = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/state$/;
const PING = /^\/_matrix\/client\/v1\/appservice\/[^/]+\/ping$/;

/** The stand-in homeserver: start-up checks, and room state, readable by the rooms' members but not the bot. */
async function standIn(o: {
  asToken: string;
  hsToken: string;
  bot: string;
  appservice: string;
  t0: number;
  /** The round being sent: a read knows the room as of its end, never older than what was sent. */
  round: () => number;
}) {
  let reads = 0;
  const forbidden = [403, { errcode: "M_FORBIDDEN", error: "not in the room" }] as const;
  const answer = async (req: IncomingMessage): Promise<readonly [number, unknown]> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (path === "/_matrix/client/versions") return [200, { versions: ["v1.11"] }];
    if (req.headers.authorization !== `Bearer ${o.asToken}`)
      return [401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" }];
    const as = url.searchParams.get("user_id") ?? o.bot;
    if (path === "/_matrix/client/v3/account/whoami") return [200, { user_id: as }];
    if (path === "/_matrix/client/v3/joined_rooms") return [200, { joined_rooms: [] }];
    if (PING.test(path)) {
      const pinged = await fetch(`${o.appservice}/_matrix/app/v1/ping`, {
        method: "POST",
        headers: { Authorization: `Bearer ${o.hsToken}`, "Content-Type": "application/json" },
        body: "{}",
      });
      return [pinged.ok ? 200 : 502, { duration_ms: 1 }];
    }
    const room = ROOM_STATE.exec(path)?.[1];
    const index = Number(/^!(?:call|quiet)(\d+):/.exec(decodeURIComponent(room ?? ""))?.[1]);
    if (!Number.isInteger(index) || as === o.bot) return forbidden;
    reads++;
    return [200, roomState(index, o.round(), o.t0)];
  };
  const server = createServer((req, res: ServerResponse) => {
    void answer(req).then(([status, body]) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  const url = await listenOnLoopback(server);
  return { url, reads: () => reads, close: () => closeServer(server) };
}

interface StreamOrder {
  readonly appservice: string;
  readonly hsToken: string;
  readonly t0: number;
}

/**
 * The homeserver's side, in a child process (its own garbage stays out of the service's memory figures): sends
 * the stream round by round as transactions of 100, one after the other as Synapse does, telling the parent
 * (`startRound`) before each round so that room state reads answer as of it. Returns how many events it sent.
 */
async function sendStream(o: StreamOrder, startRound: (k: number) => Promise<void>): Promise<number> {
  const put = async (events: readonly string[], txn: string) => {
    const res = await fetch(`${o.appservice}/_matrix/app/v1/transactions/${txn}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${o.hsToken}`, "Content-Type": "application/json" },
      body: `{"events":[${events.join(",")}]}`,
    });
    if (res.status !== 200) throw new Error(`transaction ${txn}: ${res.status}`);
  };
  let events = 0;
  let batch: string[] = [];
  let txn = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await put(batch, `hs${txn++}`);
    events += batch.length;
    batch = [];
  };
  for (let k = 0; k < TIMELINE_MAX; k++) {
    await flush();
    await startRound(k);
    for (const event of round(k, QUIET_ROOMS + CALL_ROOMS, o.t0)) {
      batch.push(JSON.stringify(event));
      if (batch.length >= TXN_SIZE) await flush();
    }
  }
  await flush();
  return events;
}

type FromChild = { readonly round: number } | { readonly sent: number };

/** Runs `sendStream` in a child process, following its rounds; resolves with how many events it sent. */
function streamFromChild(order: StreamOrder, onRound: (k: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ["--send-stream"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (message: FromChild) => {
      if ("sent" in message) {
        resolve(message.sent);
        return;
      }
      onRound(message.round);
      child.send({ go: message.round });
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`the stream sender exited with ${String(code)}`));
    });
    child.send(order);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rtc-bench-hs-"));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const appservice = `http://127.0.0.1:${port}`;
  const registration = generateRegistration({ url: appservice, localpart: "rtcbot", domain: DOMAIN });
  const t0 = Date.now();
  let sending = 0;
  const homeserver = await standIn({
    asToken: registration.as_token,
    hsToken: registration.hs_token,
    bot: `@rtcbot:${DOMAIN}`,
    appservice,
    t0,
    round: () => sending,
  });
  const dbPath = join(dir, "bench.db");
  const config = validateConfig(
    {
      homeserver: { url: homeserver.url, domain: DOMAIN },
      appservice: { port },
      metrics: { port: metricsPort },
      database: { path: dbPath },
      reconciliation: { dry_run: false },
      logging: { level: "info" },
      schedules: { sweep: "0 0 1 1 *", poll: "0 0 1 1 *", resync: "0 0 1 1 *" },
    },
    "bench.yaml",
    dir,
  );
  const sink = new Writable({
    write: (_c, _e, done) => {
      done();
    },
  });
  const service = new Service({
    config,
    registration,
    logger: createLogger({ level: "info", format: "json", stream: sink }),
  });
  await service.start();
  settledHeapBytes();
  const rssBefore = releasedRssBytes();

  const started = performance.now();
  const events = await streamFromChild({ appservice, hsToken: registration.hs_token, t0 }, (k) => {
    sending = k;
  });
  await service.app.intake.settled();
  await service.app.resync.settled();
  await service.app.reconciler.settled();
  const seconds = (performance.now() - started) / 1000;
  bench("ingest_homeserver_events_per_s", events / seconds, "events/s");

  const heap = settledHeapBytes();
  const burst = process.memoryUsage().rss;
  const rss = releasedRssBytes();
  bench("rss_mb_homeserver", rss / 1_048_576, "MB");
  bench("rss_mb_homeserver_burst", burst / 1_048_576, "MB");
  bench("rss_mb_homeserver_growth", (rss - rssBefore) / 1_048_576, "MB");
  bench("heap_mb_homeserver", heap / 1_048_576, "MB");
  bench("homeserver_events", events, "count");
  bench("followed_rooms_homeserver", service.app.state.roomCount, "count");
  bench("state_reads_homeserver", homeserver.reads(), "count");
  const row = (sql: string) => (service.store.db.prepare(sql).get() as { n: number }).n;
  bench("journaled_events_homeserver", row("SELECT count(*) AS n FROM inbox"), "count");
  bench("stored_slots_homeserver", row("SELECT count(*) AS n FROM slots"), "count");
  // Nobody in the stream is a ghost: a verdict saying otherwise would be a wrong reading of the stream.
  bench("ghost_verdicts_homeserver", row("SELECT count(*) AS n FROM audit WHERE result = 'ghost'"), "count");
  service.store.db.pragma("wal_checkpoint(TRUNCATE)");
  bench("db_mb_homeserver", statSync(dbPath).size / 1_048_576, "MB");

  await service.stop();
  await homeserver.close();
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv.includes("--send-stream")) {
  const acks = new Map<number, () => void>();
  const startRound = (k: number) =>
    new Promise<void>((resolve) => {
      acks.set(k, resolve);
      process.send?.({ round: k });
    });
  process.on("message", (message: StreamOrder | { go: number }) => {
    if ("go" in message) {
      acks.get(message.go)?.();
      return;
    }
    sendStream(message, startRound).then(
      (sent) => {
        process.send?.({ sent }, () => {
          process.exit(0);
        });
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
