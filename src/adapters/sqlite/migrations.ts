// Ordered schema migrations; PRAGMA user_version is the number applied. Append only: never edit a shipped step.

/** Each entry moves the schema from version i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  // 1: everything the first release keeps.
  `
  CREATE TABLE inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    event_json TEXT NOT NULL,
    processed_at INTEGER
  );
  CREATE INDEX inbox_pending ON inbox (processed_at, seq);

  CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    room_version TEXT,
    encrypted INTEGER NOT NULL DEFAULT 0,
    first_seen_at INTEGER NOT NULL,
    last_event_at INTEGER NOT NULL,
    unreadable_sticky INTEGER NOT NULL DEFAULT 0
  );

  -- The event currently holding each membership slot, so state survives a restart exactly.
  CREATE TABLE slots (
    room_id TEXT NOT NULL,
    slot_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_json TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, slot_key)
  );

  -- Current memberships (one row per device membership), with when this service first saw each.
  CREATE TABLE memberships (
    member_key TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    application TEXT NOT NULL,
    call_id TEXT NOT NULL,
    format TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    expires_at INTEGER,
    first_seen_at INTEGER NOT NULL
  );
  CREATE INDEX memberships_room ON memberships (room_id);

  CREATE TABLE call_sessions (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    application TEXT NOT NULL,
    call_id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    peak_concurrency INTEGER NOT NULL,
    distinct_participants INTEGER NOT NULL,
    end_reason TEXT,
    kind TEXT
  );
  CREATE INDEX call_sessions_room ON call_sessions (room_id, started_at);

  CREATE TABLE user_sessions (
    id TEXT PRIMARY KEY,
    call_session_id TEXT,
    member_key TEXT NOT NULL,
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    application TEXT NOT NULL,
    call_id TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    joined_received_at INTEGER NOT NULL,
    left_at INTEGER,
    left_received_at INTEGER,
    leave_reason TEXT,
    join_event_id TEXT NOT NULL,
    leave_event_id TEXT,
    joined_before_tracking INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX user_sessions_room ON user_sessions (room_id, joined_at);
  CREATE INDEX user_sessions_call ON user_sessions (call_session_id);
  CREATE INDEX user_sessions_open ON user_sessions (left_at);

  CREATE TABLE sfu_presence (
    deployment TEXT NOT NULL,
    sid TEXT NOT NULL,
    livekit_room TEXT NOT NULL,
    identity TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    left_at INTEGER,
    reason TEXT,
    PRIMARY KEY (deployment, sid)
  );
  CREATE INDEX sfu_presence_open ON sfu_presence (left_at);

  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    room_id TEXT,
    user_id TEXT,
    device_id TEXT,
    member_key TEXT,
    reason TEXT,
    method TEXT,
    result TEXT,
    actor TEXT,
    evidence_json TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX audit_at ON audit (at);
  CREATE INDEX audit_room ON audit (room_id, at);

  CREATE TABLE webhooks_seen (
    id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );

  CREATE TABLE backoff (
    device_key TEXT PRIMARY KEY,
    false_positives INTEGER NOT NULL,
    until INTEGER NOT NULL
  );

  -- Totals kept after history is pruned: one row per day and counter.
  CREATE TABLE daily_totals (
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (day, name)
  );
  `,
  // 2: indexes no query reads, dropped: every row written paid for them (user sessions are read by call or open,
  // never by room; audit rows are read by time and pruned by time, never by room).
  `
  DROP INDEX user_sessions_room;
  DROP INDEX audit_room;
  `,
  // 3: no row per membership: the instant a member was first seen is its open user session's joined_received_at,
  // written anyway; two B-tree inserts (the row and its room index) per join were spent on a copy of it.
  `
  DROP TABLE memberships;
  `,
  // 4: the journal's progress is one cursor, not a mark on each entry. Entries are processed in order, so "processed
  // through seq N" says the same; marking each entry rewrote its page (and an index) again after the journal had
  // just written it, about a tenth of the pages a membership event cost. `processed_at` stays, unused: dropping the
  // column would rewrite the whole journal during the upgrade. The mark (`marked_through` as of `marked_at`) is what
  // pruning goes by (Store.prune); here, the entries processed a day before the last one was.
  `
  CREATE TABLE inbox_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    processed_through INTEGER NOT NULL,
    marked_through INTEGER NOT NULL,
    marked_at INTEGER NOT NULL
  );
  INSERT INTO inbox_cursor (id, processed_through, marked_through, marked_at) VALUES (
    1,
    COALESCE((SELECT MIN(seq) - 1 FROM inbox WHERE processed_at IS NULL), (SELECT MAX(seq) FROM inbox), 0),
    COALESCE(
      (SELECT MAX(seq) FROM inbox WHERE processed_at < (SELECT MAX(processed_at) FROM inbox) - 86400000),
      0
    ),
    0
  );
  DROP INDEX inbox_pending;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
