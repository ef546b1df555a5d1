-- A committed occurrence whose job finished with some of its items failed: a billing run that
-- completed with customers whose payment failed (every one of them, when the provider's URL was
-- wrong). The occurrence is committed (its dependents run; the reconciliation flags those
-- invoices), but `schedule audit` reports it as partly failed and exits non-zero, and
-- `schedule backfill --mode failed_only` runs it again. NULL: none failed, or not counted.
--
-- Portable SQL (SQLite and PostgreSQL).

ALTER TABLE job_occurrences ADD COLUMN failed_items BIGINT;
