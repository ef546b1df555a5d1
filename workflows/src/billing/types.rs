//! Inputs and results of the billing activities and workflows: plain JSON objects.

use serde::{Deserialize, Serialize};

/// Input of `ListCustomersPage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCustomersInput {
    /// Only customers billed in this IANA time zone.
    pub timezone: String,
    /// Customers with ids strictly after this one (keyset pagination); `None` = from the start.
    pub after: Option<String>,
    /// Page size.
    pub limit: u32,
}

/// Result of `ListCustomersPage`: ids in ascending order; shorter than the limit on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPage {
    /// Customer ids, ascending.
    pub customer_ids: Vec<String>,
    /// The same customers as Temporal may show them (see [`CustomerPage::shown`]): keyed
    /// pseudonyms, one per id, when the worker has a pseudonym key; absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_refs: Vec<String>,
}

impl CustomerPage {
    /// How each customer is named where Temporal shows it in the clear — workflow and activity
    /// ids, search attributes: its pseudonym when the page carries one per id, else its id.
    /// Payloads (encrypted when a payload key is set) keep the real ids.
    pub fn shown(&self) -> Vec<String> {
        shown_list(&self.customer_ids, &self.customer_refs)
    }
}

/// `refs` when there is one per id, else `ids` (a page or batch from a worker without a
/// pseudonym key, or written before pseudonyms existed).
pub fn shown_list(ids: &[String], refs: &[String]) -> Vec<String> {
    if refs.len() == ids.len() { refs.to_vec() } else { ids.to_vec() }
}

fn or_id<'a>(shown: &'a str, id: &'a str) -> &'a str {
    if shown.is_empty() { id } else { shown }
}

/// Input of `GenerateBill`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateBillInput {
    /// Customer to bill.
    pub customer_id: String,
    /// Business date `YYYY-MM-DD` the bill is for.
    pub business_date: String,
}

/// Result of `GenerateBill`: the invoice, whether this call created it or replayed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    /// Invoice id (`INV-{customer}-{yyyymmdd}`).
    pub invoice_id: String,
    /// Customer billed.
    pub customer_id: String,
    /// Business date of the bill.
    pub business_date: String,
    /// Amount due in cents.
    pub amount_cents: i64,
    /// Provider payment method of the customer (Stripe-style test method names).
    pub payment_method: String,
    /// The customer's pseudonym, when the worker has a pseudonym key (see [`Bill::shown_customer`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub customer_ref: String,
    /// The invoice id spelt with the customer's pseudonym (see [`Bill::shown_invoice`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub invoice_ref: String,
}

impl Bill {
    /// The customer as Temporal shows it (`CustomerId` search attribute): its pseudonym when
    /// there is one, else its id.
    pub fn shown_customer(&self) -> &str {
        or_id(&self.customer_ref, &self.customer_id)
    }

    /// The invoice as Temporal shows it (saga workflow id, activity ids, `BusinessKey`): spelt
    /// with the customer's pseudonym when there is one, else the invoice id itself. The ledger
    /// and the provider always see the real invoice id, so turning pseudonyms on or off never
    /// lets an effect happen twice.
    pub fn shown_invoice(&self) -> &str {
        or_id(&self.invoice_ref, &self.invoice_id)
    }
}

/// Input of `PaymentSagaWorkflow` and `ChargeInvoice`: the bill to collect, as `GenerateBill`
/// returned it.
pub type PaymentInput = Bill;

/// Result of `ChargeInvoice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// Provider charge id (`ch_...`).
    pub charge_id: String,
}

/// Input of `RecordPayment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPaymentInput {
    /// Invoice paid.
    pub invoice_id: String,
    /// Customer who paid.
    pub customer_id: String,
    /// Provider charge id.
    pub charge_id: String,
    /// Amount in cents.
    pub amount_cents: i64,
}

/// Input of `SendReceipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptInput {
    /// Invoice paid.
    pub invoice_id: String,
    /// Customer to notify.
    pub customer_id: String,
    /// Amount in cents.
    pub amount_cents: i64,
}

/// Input of `RefundCharge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundInput {
    /// Invoice whose charge is refunded.
    pub invoice_id: String,
    /// Provider charge id.
    pub charge_id: String,
}

/// Input of `VoidInvoice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidInput {
    /// Invoice to void.
    pub invoice_id: String,
    /// Why (kept on the invoice row).
    pub reason: String,
}

/// Result of an effect activity: the business key, and whether it was replayed from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectReceipt {
    /// Ledger key of the effect.
    pub key: String,
    /// Provider/sink id of the effect, when it has one.
    pub external_id: Option<String>,
    /// True when an earlier attempt had already performed the effect.
    pub replayed: bool,
}

/// How a payment saga ended. Also the `RunOutcome` search attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Charged, recorded, receipt sent.
    Completed,
    /// A business refusal (decline, closed account) undone by compensations.
    Compensated,
    /// Something could not be completed nor fully compensated: needs a human.
    Failed,
}

impl Outcome {
    /// The search-attribute spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Compensated => "compensated",
            Outcome::Failed => "failed",
        }
    }
}

/// Result of `PaymentSagaWorkflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    /// Invoice collected (or not).
    pub invoice_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Provider charge id, if a charge was made.
    pub charge_id: Option<String>,
    /// Why it did not complete, if it did not.
    pub reason: Option<String>,
    /// Compensations that ran, in the order they ran.
    pub compensations: Vec<String>,
}

/// Counts of a batch or a whole billing run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingTotals {
    /// Customers processed.
    pub customers: u64,
    /// Sagas that completed.
    pub completed: u64,
    /// Sagas compensated (declines, closed accounts).
    pub compensated: u64,
    /// Sagas that failed.
    pub failed: u64,
    /// Sagas already run by an earlier run of the same business key (nothing redone).
    pub already_done: u64,
}

impl BillingTotals {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &BillingTotals) {
        self.customers += other.customers;
        self.completed += other.completed;
        self.compensated += other.compensated;
        self.failed += other.failed;
        self.already_done += other.already_done;
    }
}

/// Result of `BillingRunWorkflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRunSummary {
    /// `billing-run/{timezone}/{date}`.
    pub business_key: String,
    /// Business date billed.
    pub business_date: String,
    /// Time zone billed.
    pub timezone: String,
    /// Batches (pages) run.
    pub batches: u64,
    /// Totals over all batches.
    pub totals: BillingTotals,
}
