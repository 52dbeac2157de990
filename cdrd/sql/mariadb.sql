-- sipserver CDR schema for MariaDB / MySQL (cdrd backend = mariadb).
-- Same logical schema as sqlite.sql and postgres.sql (DESIGN §6,
-- docs/cdr.md). Idempotent: safe to run on every start.
-- Times are DATETIME(3) holding UTC (cdrd sets time_zone = '+00:00').

CREATE TABLE IF NOT EXISTS cdr (
    uniqueid    VARCHAR(64)  NOT NULL PRIMARY KEY,
    start_time  DATETIME(3)  NOT NULL,
    answer_time DATETIME(3)  NULL,
    end_time    DATETIME(3)  NOT NULL,
    duration    INT          NOT NULL,
    billsec     INT          NOT NULL,
    src         VARCHAR(128) NOT NULL,
    dst         VARCHAR(128) NOT NULL,
    dialed      VARCHAR(128) NOT NULL,
    direction   VARCHAR(16)  NOT NULL,
    disposition VARCHAR(16)  NOT NULL,
    sip_code    SMALLINT     NOT NULL,
    cause       SMALLINT     NOT NULL,
    call_tag    SMALLINT     NOT NULL,
    released_by VARCHAR(8)   NOT NULL,
    fci         VARCHAR(512) NOT NULL,
    recording   VARCHAR(255) NOT NULL DEFAULT '',
    INDEX cdr_start_time (start_time),
    INDEX cdr_src (src, start_time),
    INDEX cdr_dst (dst, start_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Rows committed to cdr but not yet confirmed written to the CSV day file.
CREATE TABLE IF NOT EXISTS cdr_csv_pending (
    uniqueid    VARCHAR(64)  NOT NULL PRIMARY KEY
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
