-- Scheduled jobs: one row per occurrence (business key), whatever started it (a schedule fire,
-- a manual trigger, a backfill, a legacy cron run). It outlives Temporal's retention, so the
-- audit and the dependency checks read it rather than visibility alone.
--
-- Portable SQL (SQLite and PostgreSQL), timestamps TEXT RFC 3339 UTC with milliseconds.

CREATE TABLE job_occurrences (
    -- {job}/{business_date}, or {job}/{business_date}T{HH:MM} for jobs firing more than once a day.
    key            TEXT   NOT NULL PRIMARY KEY,
    job            TEXT   NOT NULL,
    -- Nominal business date (YYYY-MM-DD in the job's zone).
    business_date  TEXT   NOT NULL,
    -- The date it runs on after a holiday roll (NULL when skipped).
    effective_date TEXT,
    -- The fire's nominal time (UTC), when a fire started it.
    nominal_time   TEXT,
    -- waiting: for dependencies; running: its workflow runs; committed: done, effects made;
    -- failed: gave up (may be re-run under the same key); skipped: deliberately not run (reason).
    status         TEXT   NOT NULL CHECK (status IN ('waiting', 'running', 'committed', 'failed', 'skipped')),
    reason         TEXT,
    -- When the SLA check should call it late if it is not committed (NULL: no SLA).
    deadline_at    TEXT,
    -- The occurrence workflow's latest run.
    workflow_id    TEXT   NOT NULL,
    run_id         TEXT   NOT NULL,
    -- How many runs of the occurrence workflow have started under this key.
    runs           BIGINT NOT NULL CHECK (runs >= 1),
    -- When the SLA check alerted about it (at most once).
    alerted_at     TEXT,
    created_at     TEXT   NOT NULL,
    updated_at     TEXT   NOT NULL
);

CREATE INDEX job_occurrences_by_job_date ON job_occurrences (job, business_date);
CREATE INDEX job_occurrences_open ON job_occurrences (status, deadline_at);
