-- The failed-run archive: one row per business key whose run failed for good (retries
-- exhausted, a non-retryable error, a compensation that itself failed), so on-call finds what
-- needs a person without searching Temporal's visibility, and after its history is gone.
-- `punctual failures list` reads it; `punctual failures retry KEY` starts the key again.
--
-- Portable SQL (SQLite and PostgreSQL), timestamps TEXT RFC 3339 UTC with milliseconds.

CREATE TABLE failed_runs (
    -- billing-run/{tz}/{date}, payment/{invoice}, {job}/{date}: also the workflow ID.
    business_key    TEXT   NOT NULL PRIMARY KEY,
    -- JobName: billing-run, payment, or the scheduled job's name.
    job             TEXT   NOT NULL,
    -- Workflow type that failed, so a retry starts the same one.
    workflow_type   TEXT   NOT NULL,
    -- The latest failed run.
    workflow_id     TEXT   NOT NULL,
    run_id          TEXT   NOT NULL,
    -- Why it failed (the workflow's failure message).
    error           TEXT   NOT NULL,
    -- The failed run's input (JSON), when the workflow recorded it; a retry starts from it.
    input           TEXT,
    -- Failed runs of this key so far (a retry that fails again adds one).
    attempts        BIGINT NOT NULL CHECK (attempts >= 1),
    -- failed: needs a person; retrying: started again by `failures retry`, not finished yet;
    -- resolved: a later run of the key finished.
    status          TEXT   NOT NULL CHECK (status IN ('failed', 'retrying', 'resolved')),
    first_failed_at TEXT   NOT NULL,
    last_failed_at  TEXT   NOT NULL,
    retried_at      TEXT,
    resolved_at     TEXT,
    -- The run that resolved it.
    resolved_by     TEXT
);

CREATE INDEX failed_runs_by_status ON failed_runs (status, last_failed_at);
