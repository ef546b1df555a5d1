-- Reconciliation reports: what ReconcilePayments found for one business date and time zone.
--
-- Portable SQL (SQLite and PostgreSQL), timestamps TEXT RFC 3339 UTC with milliseconds.
-- Written once per business key, in the ledger's transaction (ledger key = business_key), and
-- never updated: the first report of a date and zone is the record, a re-run replays it.

CREATE TABLE reconciliation_reports (
    -- reconcile/{timezone}/{business_date}
    business_key  TEXT   NOT NULL PRIMARY KEY,
    business_date TEXT   NOT NULL,
    timezone      TEXT   NOT NULL,
    -- Invoice rows of the zone's customers for the date.
    invoices      BIGINT NOT NULL CHECK (invoices >= 0),
    -- Provider charges for those invoices.
    charges       BIGINT NOT NULL CHECK (charges >= 0),
    -- Invoice rows with no mismatch.
    matched       BIGINT NOT NULL CHECK (matched >= 0),
    -- Rows in reconciliation_mismatches for this report.
    mismatches    BIGINT NOT NULL CHECK (mismatches >= 0),
    created_at    TEXT   NOT NULL,
    UNIQUE (timezone, business_date)
);

CREATE TABLE reconciliation_mismatches (
    business_key TEXT   NOT NULL REFERENCES reconciliation_reports (business_key),
    -- 1-based position in the report (ordered by invoice id, then kind).
    seq          BIGINT NOT NULL CHECK (seq >= 1),
    invoice_id   TEXT   NOT NULL,
    -- paid_without_charge, charge_without_payment, amount_mismatch, charge_on_void_invoice,
    -- duplicate_charge, payment_charge_unknown, open_charge_claim (MismatchKind in the
    -- workflows crate). No CHECK: a new kind must not need a table rebuild on SQLite.
    kind         TEXT   NOT NULL,
    detail       TEXT   NOT NULL,
    PRIMARY KEY (business_key, seq)
);

CREATE INDEX reconciliation_mismatches_by_invoice ON reconciliation_mismatches (invoice_id);
