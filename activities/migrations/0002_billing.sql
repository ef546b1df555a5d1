-- Business tables of the billing job: customers, their invoices (bills) and payments.
--
-- Portable SQL (SQLite and PostgreSQL), timestamps TEXT RFC 3339 UTC. The unique constraints
-- are a second line of defence behind the ledger: even code that bypassed the ledger could not
-- create two invoices for a customer and date, or two payments for an invoice.

CREATE TABLE customers (
    id             TEXT   NOT NULL PRIMARY KEY,
    name           TEXT   NOT NULL,
    -- IANA zone the customer is billed in; billing runs are per zone.
    timezone       TEXT   NOT NULL,
    plan_cents     BIGINT NOT NULL CHECK (plan_cents > 0),
    -- Provider payment method (Stripe-style test method names in the sandbox).
    payment_method TEXT   NOT NULL,
    status         TEXT   NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed'))
);

CREATE INDEX customers_by_timezone ON customers (timezone, id);

CREATE TABLE invoices (
    id            TEXT   NOT NULL PRIMARY KEY,
    customer_id   TEXT   NOT NULL REFERENCES customers (id),
    business_date TEXT   NOT NULL,
    amount_cents  BIGINT NOT NULL CHECK (amount_cents > 0),
    status        TEXT   NOT NULL CHECK (status IN ('open', 'paid', 'void')),
    void_reason   TEXT,
    created_at    TEXT   NOT NULL,
    UNIQUE (customer_id, business_date)
);

CREATE TABLE payments (
    invoice_id   TEXT   NOT NULL PRIMARY KEY REFERENCES invoices (id),
    charge_id    TEXT   NOT NULL,
    amount_cents BIGINT NOT NULL,
    recorded_at  TEXT   NOT NULL
);
