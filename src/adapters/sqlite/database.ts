// Opens the SQLite file (WAL), applies pending migrations in one transaction, and refuses unknown newer schemas.
import { closeSync, existsSync, fchmodSync, mkdirSync, openSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations";

export type Db = Database.Database;

/** The database cannot be used; the message says why and what to do. Nothing was written. */
export class DatabaseError extends Error {
  override name = "DatabaseError";
}

/** Applies migrations `from`..`to` (exclusive of `from`); exported for migration tests. */
export function migrate(db: Db, migrations: readonly string[] = MIGRATIONS): { from: number; to: number } {
  const from = db.pragma("user_version", { simple: true }) as number;
  if (from > migrations.length) {
    throw new DatabaseError(
      `the database has schema version ${from}, newer than this release understands (${migrations.length}): ` +
        "it was written by a newer matrix-rtc-reconciler. Run that version, or restore a backup made before the upgrade.",
    );
  }
  if (from === migrations.length) return { from, to: from };
  db.transaction(() => {
    for (let version = from; version < migrations.length; version++) {
      db.exec(migrations[version] ?? "");
    }
    db.pragma(`user_version = ${migrations.length}`);
  })();
  return { from, to: migrations.length };
}

/** Refuses an existing database file this release cannot use, only reading it; creates nothing when it is absent. */
export function checkExistingDatabase(path: string, migrations: readonly string[] = MIGRATIONS): void {
  if (path !== ":memory:" && existsSync(path)) precheck(path, migrations.length);
}

/** How long a statement waits for another connection's lock (the background checkpointer's) before failing. */
export const BUSY_TIMEOUT_MS = 5000;

/** Opens (creating when absent) and migrates the database at `path` (":memory:" for tests). */
export function openDatabase(
  path: string,
  migrations: readonly string[] = MIGRATIONS,
): { db: Db; from: number; to: number } {
  if (path !== ":memory:" && !existsSync(dirname(path)))
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (path !== ":memory:") {
    if (existsSync(path)) precheck(path, migrations.length);
    else createPrivate(path);
  }
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: false });
    // A file that is not a database, or is damaged, fails here before anything is written.
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok") throw new Error(`quick_check: ${String(check)}`);
  } catch (err) {
    throw unusable(path, err);
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const { from, to } = migrate(db, migrations);
    return { db, from, to };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Creates the empty database file readable by its owner only, whatever the umask. SQLite gives the -wal and -shm
 * files it creates later the mode of the database file, so they are private too. An empty file is an empty database.
 */
function createPrivate(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    if (err instanceof Error && "code" in err && err.code === "EEXIST") return;
    throw unusable(path, err);
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

function unusable(path: string, err: unknown): DatabaseError {
  return new DatabaseError(
    `cannot open the database ${path}: ${err instanceof Error ? err.message : String(err)}. ` +
      "The file was left untouched; restore it from a backup or move it away to start empty.",
  );
}

/**
 * Checks an existing file on a read-only connection first: a read-write connection to a newer release's WAL
 * database would fold its -wal file into it on close, so a refusal must happen before one is opened.
 */
function precheck(path: string, known: number): void {
  let version: number;
  let ro: Db | null = null;
  const shm = `${path}-shm`;
  const hadShm = existsSync(shm);
  try {
    ro = new Database(path, { readonly: true, fileMustExist: true });
    const check = ro.pragma("quick_check", { simple: true });
    if (check !== "ok") throw new Error(`quick_check: ${String(check)}`);
    version = ro.pragma("user_version", { simple: true }) as number;
  } catch (err) {
    throw unusable(path, err);
  } finally {
    ro?.close();
    // Reading a WAL database creates its shared-memory index; leave the folder as it was found.
    if (!hadShm && existsSync(shm)) rmSync(shm, { force: true });
  }
  if (version > known) {
    throw new DatabaseError(
      `the database has schema version ${version}, newer than this release understands (${known}): ` +
        "it was written by a newer matrix-rtc-reconciler. Run that version, or restore a backup made before the upgrade.",
    );
  }
}

export { SCHEMA_VERSION };
