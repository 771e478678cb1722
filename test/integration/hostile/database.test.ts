// The real CLI on hostile database files: a newer schema or a damaged file is refused with a clear message and a
// non-zero exit, and the file (and its directory) is left byte for byte as it was.
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { stringify } from "yaml";
import { generateRegistration, registrationToYaml } from "../../../src/adapters/matrix/registration";
import { SCHEMA_VERSION } from "../../../src/adapters/sqlite/database";
import { SqliteStore } from "../../../src/adapters/sqlite/store";
import { freePort } from "../../support/net";
import { runCli, startCli } from "../../support/run-cli";
import { startFakeHomeserver, type FakeHomeserver } from "../../support/fake-homeserver";

jest.setTimeout(60_000);

const root = mkdtempSync(join(tmpdir(), "rtc-hostile-db-"));
const regFile = join(root, "registration.yaml");
let homeserver: FakeHomeserver;
let base = "";
let n = 0;

/** A directory of its own per case, with a config pointing at `db` in it. */
async function caseDir(): Promise<{ dir: string; db: string; config: string }> {
  const dir = mkdtempSync(join(root, `case${++n}-`));
  const db = join(dir, "reconciler.db");
  const config = join(dir, "config.yaml");
  const port = Number(new URL(base).port);
  writeFileSync(
    config,
    stringify({
      homeserver: { url: homeserver.url, domain: "db.local", startup_timeout: "3s" },
      appservice: { port },
      metrics: { port: await freePort() },
      database: { path: db },
      logging: { level: "info" },
    }),
  );
  return { dir, db, config };
}

/** A current-schema database holding some history, in rollback-journal mode so the file is all there is. */
function writeDatabase(path: string): void {
  const { store } = SqliteStore.open(path);
  store.transaction(() => {
    for (let i = 0; i < 400; i++) {
      store.appendInbox(
        `$e${i}`,
        "!r:db.local",
        i,
        JSON.stringify({ event_id: `$e${i}`, type: "m.room.message", padding: "x".repeat(200) }),
      );
      store.audit({ at: i, action: "command", roomId: "!r:db.local", reason: "status", result: "ok" });
    }
  });
  store.close();
  const db = new Database(path);
  db.pragma("journal_mode = DELETE");
  db.close();
}

/** Every file of a directory with a hash of its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (name === "config.yaml") continue;
    out[name] = createHash("sha256")
      .update(readFileSync(join(dir, name)))
      .digest("hex");
  }
  return out;
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const registration = generateRegistration({ url: base, localpart: "rtcbot", domain: "db.local" });
  writeFileSync(regFile, registrationToYaml(registration));
  homeserver = await startFakeHomeserver({
    asToken: registration.as_token,
    hsToken: registration.hs_token,
    botUserId: "@rtcbot:db.local",
    appserviceUrl: base,
  });
});

afterAll(async () => {
  await homeserver.close();
  rmSync(root, { recursive: true, force: true });
});

test("control: the same setup with a good database starts, answers /ready, and stops on SIGTERM", async () => {
  const { db, config } = await caseDir();
  writeDatabase(db);
  const run = startCli(["-c", config, "-f", regFile], 30_000);
  let ready = false;
  for (let i = 0; i < 150 && !ready && run.child.exitCode === null; i++) {
    ready = await fetch(`${base}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  run.child.kill("SIGTERM");
  const result = await run.done;
  expect({ ready, code: result.code }).toEqual({ ready: true, code: 0 });
});

test("a database written by a newer schema version: refused naming both versions, exit 1, file untouched", async () => {
  const { dir, db, config } = await caseDir();
  writeDatabase(db);
  const newer = new Database(db);
  newer.exec("CREATE TABLE from_the_future (x TEXT); INSERT INTO from_the_future VALUES ('keep me');");
  newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  newer.close();
  const before = snapshot(dir);
  const asked = homeserver.requests.length;
  const result = await runCli(["-c", config, "-f", regFile]);
  const output = result.stdout + result.stderr;
  expect({ code: result.code, timedOut: result.timedOut }).toEqual({ code: 1, timedOut: false });
  expect(output).toContain(
    `the database has schema version ${SCHEMA_VERSION + 1}, newer than this release understands (${SCHEMA_VERSION})`,
  );
  expect(output).not.toContain("appservice listener started");
  expect(snapshot(dir)).toEqual(before);
  expect(homeserver.requests.slice(asked)).toEqual([]);
});

test("a newer release's database in WAL mode, killed before a checkpoint: refused, .db and -wal untouched", async () => {
  const { dir, db, config } = await caseDir();
  // What a newer release leaves when it is killed: its last writes still in the -wal file.
  const source = join(root, `wal-source-${n}.db`);
  writeDatabase(source);
  const writer = new Database(source);
  writer.pragma("journal_mode = WAL");
  writer.pragma("wal_autocheckpoint = 0");
  writer.exec("CREATE TABLE from_the_future (x TEXT); INSERT INTO from_the_future VALUES ('keep me');");
  writer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  copyFileSync(source, db);
  copyFileSync(`${source}-wal`, `${db}-wal`);
  writer.close();
  const before = snapshot(dir);
  const result = await runCli(["-c", config, "-f", regFile]);
  expect({ code: result.code, timedOut: result.timedOut }).toEqual({ code: 1, timedOut: false });
  expect(result.stdout + result.stderr).toContain(
    `schema version ${SCHEMA_VERSION + 1}, newer than this release`,
  );
  expect(snapshot(dir)).toEqual(before);
});

const damaged: [string, (path: string) => void][] = [
  [
    "a text file",
    (p) => {
      writeFileSync(p, "this is not a database, it is a shopping list\n".repeat(300));
    },
  ],
  [
    "an SQLite header followed by garbage",
    (p) => {
      writeFileSync(p, Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(16_368, 0xa5)]));
    },
  ],
  [
    "a real database whose table pages were overwritten",
    (p) => {
      writeDatabase(p);
      const db = new Database(p, { readonly: true });
      const pages = db.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'table'").all() as {
        rootpage: number;
      }[];
      const size = db.pragma("page_size", { simple: true }) as number;
      db.close();
      const bytes = readFileSync(p);
      for (const { rootpage } of pages) bytes.fill(0x5a, (rootpage - 1) * size + 8, rootpage * size);
      writeFileSync(p, bytes);
    },
  ],
  [
    "a real database cut in half",
    (p) => {
      writeDatabase(p);
      truncateSync(p, Math.floor(readFileSync(p).length / 2));
    },
  ],
];

test.each(damaged)("%s: refused with a clear error, exit 1, nothing overwritten", async (_name, damage) => {
  const { dir, db, config } = await caseDir();
  damage(db);
  const before = snapshot(dir);
  const result = await runCli(["-c", config, "-f", regFile]);
  const output = result.stdout + result.stderr;
  expect({ code: result.code, timedOut: result.timedOut }).toEqual({ code: 1, timedOut: false });
  expect(output).toContain(`cannot open the database ${db}`);
  expect(output).toContain("left untouched");
  expect(output).not.toContain("appservice listener started");
  expect(snapshot(dir)).toEqual(before);
});
