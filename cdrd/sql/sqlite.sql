-- sipserver CDR schema for SQLite (cdrd backend = sqlite).
-- Same logical schema as postgres.sql and mariadb.sql (DESIGN §6,
-- docs/cdr.md). cdrd runs this at start-up; every statement is idempotent.
-- Times are ISO 8601 UTC text with milliseconds (2026-11-26T14:30:00.123Z),
-- which sorts and compares correctly as text.

CREATE TABLE IF NOT EXISTS cdr (
    uniqueid    TEXT    NOT NULL PRIMARY KEY,
    start_time  TEXT    NOT NULL,
    answer_time TEXT,
    end_time    TEXT    NOT NULL,
    duration    INTEGER NOT NULL,
    billsec     INTEGER NOT NULL,
    src         TEXT    NOT NULL,
    dst         TEXT    NOT NULL,
    dialed      TEXT    NOT NULL,
    direction   TEXT    NOT NULL,
    disposition TEXT    NOT NULL,
    sip_code    INTEGER NOT NULL,
    cause       INTEGER NOT NULL,
    call_tag    INTEGER NOT NULL,
    released_by TEXT    NOT NULL,
    fci         TEXT    NOT NULL,
    recording   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS cdr_start_time ON cdr (start_time);
CREATE INDEX IF NOT EXISTS cdr_src ON cdr (src, start_time);
CREATE INDEX IF NOT EXISTS cdr_dst ON cdr (dst, start_time);

-- Rows committed to cdr but not yet confirmed written to the CSV day file.
-- cdrd fills it in the same transaction as the insert and empties it once
-- the CSV line is flushed, so a crash in between is repaired at start-up.
CREATE TABLE IF NOT EXISTS cdr_csv_pending (
    uniqueid    TEXT    NOT NULL PRIMARY KEY
);
