-- sipserver CDR schema for PostgreSQL (cdrd backend = postgresql).
-- Same logical schema as sqlite.sql and mariadb.sql (DESIGN §6,
-- docs/cdr.md). Idempotent: safe to run on every start.
-- Times are timestamptz with millisecond precision, always written in UTC.

CREATE TABLE IF NOT EXISTS cdr (
    uniqueid    VARCHAR(64)                 NOT NULL PRIMARY KEY,
    start_time  TIMESTAMP(3) WITH TIME ZONE NOT NULL,
    answer_time TIMESTAMP(3) WITH TIME ZONE,
    end_time    TIMESTAMP(3) WITH TIME ZONE NOT NULL,
    duration    INTEGER                     NOT NULL,
    billsec     INTEGER                     NOT NULL,
    src         VARCHAR(128)                NOT NULL,
    dst         VARCHAR(128)                NOT NULL,
    dialed      VARCHAR(128)                NOT NULL,
    direction   VARCHAR(16)                 NOT NULL,
    disposition VARCHAR(16)                 NOT NULL,
    sip_code    SMALLINT                    NOT NULL,
    cause       SMALLINT                    NOT NULL,
    call_tag    SMALLINT                    NOT NULL,
    released_by VARCHAR(8)                  NOT NULL,
    fci         VARCHAR(512)                NOT NULL,
    recording   VARCHAR(255)                NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS cdr_start_time ON cdr (start_time);
CREATE INDEX IF NOT EXISTS cdr_src ON cdr (src, start_time);
CREATE INDEX IF NOT EXISTS cdr_dst ON cdr (dst, start_time);

-- Rows committed to cdr but not yet confirmed written to the CSV day file.
CREATE TABLE IF NOT EXISTS cdr_csv_pending (
    uniqueid    VARCHAR(64)                 NOT NULL PRIMARY KEY
);
