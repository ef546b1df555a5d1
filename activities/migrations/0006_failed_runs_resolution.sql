-- A person can close a failed run that no run of its key will ever finish (an idempotency
-- conflict settled at the provider by hand, a job retired for good): `punctual failures resolve
-- KEY --note TEXT` marks the row resolved and keeps the note here as the audit trail. NULL when a
-- run resolved it (`resolved_by` names that run); cleared when the key fails again.

ALTER TABLE failed_runs ADD COLUMN resolution TEXT;
