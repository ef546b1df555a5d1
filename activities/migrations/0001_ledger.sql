-- The idempotency ledger: one row per business key, recording the first outcome of an effect.
--
-- Portable SQL: the same file runs on SQLite and PostgreSQL (through sqlx::any).
-- Timestamps are TEXT, RFC 3339 UTC with milliseconds (2026-11-24T10:00:00.000Z): fixed width,
-- so text order is time order on both engines. Results are JSON text.
-- Rows are never deleted, and a row whose status is 'done' is never updated again.

CREATE TABLE ledger_entries (
    -- Readable business key: bill/C0042/2026-11, charge/INV-C0042-2026-11, ...
    key             TEXT    NOT NULL PRIMARY KEY,
    -- 'local': rows in this database, written in the ledger's own transaction.
    -- 'external': a call outside, intent recorded before it and outcome after.
    kind            TEXT    NOT NULL CHECK (kind IN ('local', 'external')),
    -- sha256 hex of the canonical JSON request the key was first used with.
    request_hash    TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('claimed', 'done')),
    -- JSON of the recorded outcome; set exactly when status = 'done'.
    result          TEXT,
    -- How many times the key was claimed (external effects; always 1 for local ones).
    attempts        BIGINT  NOT NULL CHECK (attempts >= 1),
    created_at      TEXT    NOT NULL,
    last_claimed_at TEXT    NOT NULL,
    completed_at    TEXT,
    -- The first claimant, for the audit.
    workflow_id     TEXT    NOT NULL,
    run_id          TEXT    NOT NULL,
    activity_type   TEXT    NOT NULL,
    -- Temporal attempt number of the latest claim.
    last_attempt    BIGINT  NOT NULL,
    CHECK ((status = 'done' AND result IS NOT NULL AND completed_at IS NOT NULL)
        OR (status = 'claimed' AND result IS NULL AND completed_at IS NULL))
);

-- Claims left without an outcome (a crash between an external call and its record) are what a
-- reconciler or a person looks at; keep finding them cheap.
CREATE INDEX ledger_entries_open_claims ON ledger_entries (last_claimed_at) WHERE status = 'claimed';
