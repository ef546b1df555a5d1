//! Inputs and results of the bulk billing activities: one activity per step for a whole page of
//! customers, each customer's effect still keyed and made once on its own.
//!
//! A customer whose step was refused (a decline, a closed account, a permanent error) is listed
//! in `refused` with the failure's type and message, not failed as a whole: one customer must
//! not hold up or fail a page of hundreds. An outage (database or provider down) fails the whole
//! activity retryably; the retry replays every customer already done from the ledger.

use super::types::{Bill, Charge, EffectReceipt, ReceiptInput, RecordPaymentInput, RefundInput, VoidInput};
use serde::{Deserialize, Serialize};

/// Input of `GenerateBills`: one business date, a page of customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateBillsInput {
    /// Business date billed.
    pub business_date: String,
    /// Customers to bill, as the page listed them.
    pub customer_ids: Vec<String>,
}

/// Input of `ChargeInvoices`: the bills to charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeInvoicesInput {
    /// One per invoice, as `GenerateBills` returned them.
    pub bills: Vec<Bill>,
}

/// Input of `RecordPayments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPaymentsInput {
    /// One per charged invoice.
    pub payments: Vec<RecordPaymentInput>,
}

/// Input of `SendReceipts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceiptsInput {
    /// One per recorded payment.
    pub receipts: Vec<ReceiptInput>,
}

/// Input of `RefundCharges` (compensation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundChargesInput {
    /// One per charge to refund.
    pub refunds: Vec<RefundInput>,
}

/// Input of `VoidInvoices` (compensation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidInvoicesInput {
    /// One per invoice to void, with why.
    pub voids: Vec<VoidInput>,
}

/// One customer's step that did not succeed, and why: the failure's type (`PaymentDeclined`,
/// `AccountClosed`, `IdempotencyConflict`, ...) and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Whose step: the customer id (`GenerateBills`) or the invoice id (the later steps).
    pub id: String,
    /// The failure's type name, empty when it had none.
    pub kind: String,
    /// The failure's message.
    pub message: String,
}

/// Result of a bulk step: what was done, in input order, and what was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bulk<T> {
    /// One per customer or invoice the step was done for (now or by an earlier attempt).
    pub done: Vec<T>,
    /// One per customer or invoice it was refused for.
    #[serde(default)]
    pub refused: Vec<Refusal>,
}

impl<T> Default for Bulk<T> {
    fn default() -> Self {
        Self { done: Vec::new(), refused: Vec::new() }
    }
}

/// An invoice charged by `ChargeInvoices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargedInvoice {
    /// Invoice charged.
    pub invoice_id: String,
    /// Provider charge.
    #[serde(flatten)]
    pub charge: Charge,
}

/// The effect receipt of one invoice's step (`RecordPayments`, `SendReceipts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceReceipt {
    /// Invoice the step was for.
    pub invoice_id: String,
    /// The step's receipt: its ledger key, and whether an earlier attempt or run made it.
    #[serde(flatten)]
    pub receipt: EffectReceipt,
}
