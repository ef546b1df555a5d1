//! `BillingBulkBatchWorkflow`: bills a large page of customers with one activity per step,
//! compensating business refusals in bulk too, and starts a payment saga only for what needs a
//! person.
//!
//! Why: on a small machine the Temporal server costs tens of milliseconds of CPU per workflow, so
//! a saga per customer caps a run near 10 customers a second (10,000 customers took 27 minutes).
//! Here the page's four steps are four activities whatever the page size; inside each, every
//! customer's effect is still its own ledger key, transaction and provider idempotency key — the
//! very keys the per-customer activities use — so exactly-once per customer is unchanged, and a
//! bulk run and a per-customer run of one business key can never both make an effect.
//!
//! Compensation is the saga's, in bulk: a declined charge voids its invoice; a closed account's
//! charge is refunded, then its invoice voided (`RefundCharges` before `VoidInvoices`), each
//! under the saga's own keys (`refund/{invoice}`, `void/{invoice}`) and with the refusal's
//! message as the void reason. (A saga per refused customer was tried first: at ~10 % refusals
//! those sagas alone held each page for 8 of its 23 seconds.)
//!
//! What a customer gives up against the per-customer mode: no workflow of their own, so no
//! `CustomerId` search attribute; the ledger, the invoice row (status, void reason) and the
//! reconciliation report are the record. Anything that is not a clean business refusal — a
//! permanent error at any step, a compensation refused — is handed to the very
//! `PaymentSagaWorkflow` of the per-customer mode, which replays the done steps from the ledger,
//! meets the same failure, compensates what it can and ends `failed` in the failed-run archive
//! with its search attributes, for a person to settle.

use super::batch::BatchInput;
use super::bulk_steps::bill_in_bulk;
use super::types::BillingTotals;
use crate::input::JsonInput;
use crate::names;
use crate::search::{self, job};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// Most customers one bulk batch takes. Its history holds each step's page as one payload (about
/// 300 bytes a customer), so this keeps every payload well under Temporal's 2 MB limit.
pub const MAX_BULK_BATCH: usize = 1_000;

/// `BillingBulkBatchWorkflow` — workflow ID `billing-batch/{timezone}/{date}/{first customer}`
/// (the per-customer batch's: one page is billed by one mode only); input [`BatchInput`] with
/// up to [`MAX_BULK_BATCH`] customers; result [`BillingTotals`].
///
/// The page is billed by [`bill_in_bulk`] for the batch's business date.
#[workflow]
#[derive(Default)]
pub struct BillingBulkBatchWorkflow;

#[workflow_methods]
impl BillingBulkBatchWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::BILLING_BULK_BATCH_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<BillingTotals> {
        let batch = BatchInput::with_at_most(&input, MAX_BULK_BATCH)?;
        let date = batch.business_date.clone();
        ctx.upsert_search_attributes([
            search::BUSINESS_KEY.value_set(ctx.workflow_id().to_owned()),
            search::BUSINESS_DATE.value_set(date.clone()),
            search::JOB_NAME.value_set(job::BILLING_BATCH.to_owned()),
        ]);
        bill_in_bulk(ctx, &date, &date, batch.customer_ids).await
    }
}
