-- Which ledger this is: one row with an id drawn at random when the ledger is first opened by a
-- worker. Every worker of a task queue must share one ledger: two ledgers split the books, and an
-- effect recorded in one is performed again by a worker of the other. The worker records this id
-- in Temporal for its task queue (a never-firing schedule `punctual.ledger/{task_queue}`) and
-- refuses to poll when the queue is already served by another ledger. A copy or a restored backup
-- keeps the id: it is the same books.
--
-- Portable SQL (SQLite and PostgreSQL), timestamps TEXT RFC 3339 UTC with milliseconds.

CREATE TABLE ledger_identity (
    -- Always 1: the table holds one row.
    singleton  BIGINT NOT NULL PRIMARY KEY CHECK (singleton = 1),
    ledger_id  TEXT   NOT NULL,
    created_at TEXT   NOT NULL
);
