//! `BillingBulkBatchWorkflow`: bills a large page of customers with one activity per step, and
//! starts a payment saga only for the customers whose payment did not go through.
//!
//! Why: on a small machine the Temporal server costs tens of milliseconds of CPU per workflow, so
//! a saga per customer caps a run near 10 customers a second (10,000 customers took 27 minutes).
//! Here the page's four steps are four activities whatever the page size; inside each, every
//! customer's effect is still its own ledger key, transaction and provider idempotency key — the
//! very keys the per-customer activities use — so exactly-once per customer is unchanged, and a
//! bulk run and a per-customer run of one business key can never both make an effect.
//!
//! What a customer loses against the per-customer mode: a customer whose payment completed has no
//! workflow of their own (no `CustomerId` search attribute; the ledger and the invoice are the
//! record). A customer whose payment was refused gets the very `PaymentSagaWorkflow` of the
//! per-customer mode, which replays the done steps from the ledger, refuses again at the same
//! step, and compensates in reverse with the same keys: its search attributes, outcome and
//! failed-run archive entry are the per-customer mode's.

use super::batch::BatchInput;
use super::bulk_types::*;
use super::contracts::BulkBillingContract;
use super::options::{already_started, bulk_effect, child};
use super::payment_saga::PaymentSagaWorkflow;
use super::types::*;
use crate::input::JsonInput;
use crate::join::join_in_order;
use crate::search::{self, job};
use crate::{keys, names};
use std::collections::{BTreeMap, BTreeSet};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// Most customers one bulk batch takes. Its history holds each step's page as one payload (about
/// 300 bytes a customer), so this keeps every payload well under Temporal's 2 MB limit.
pub const MAX_BULK_BATCH: usize = 1_000;

/// `BillingBulkBatchWorkflow` — workflow ID `billing-batch/{timezone}/{date}/{first customer}`
/// (the per-customer batch's: one page is billed by one mode only); input [`BatchInput`] with
/// up to [`MAX_BULK_BATCH`] customers; result [`BillingTotals`].
///
/// `GenerateBills` → `ChargeInvoices` → `RecordPayments` → `SendReceipts`, each over the
/// customers the step before did; then one `PaymentSagaWorkflow` (workflow ID
/// `payment/{invoice}`) per invoice refused at any step, which compensates it. Customers whose
/// bill could not be made are counted failed, as in the per-customer batch.
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
        let mut totals = BillingTotals { customers: batch.customer_ids.len() as u64, ..Default::default() };

        let generate = GenerateBillsInput { business_date: date, customer_ids: batch.customer_ids.clone() };
        let bills = ctx
            .execute_activity(BulkBillingContract::generate_bills, generate, bulk_effect("generate-bills".into()))
            .await?;
        log_refusals(ctx, "bill not generated", &bills.refused);
        totals.failed += bills.refused.len() as u64;
        // Every bill carries its customer's pseudonym when the worker has a key, so the bills
        // (not the batch input) name the sagas.
        let by_invoice: BTreeMap<&str, &Bill> = bills.done.iter().map(|b| (b.invoice_id.as_str(), b)).collect();

        let charge = ChargeInvoicesInput { bills: bills.done.clone() };
        let charges = ctx
            .execute_activity(BulkBillingContract::charge_invoices, charge, bulk_effect("charge-invoices".into()))
            .await?;

        let payments = charges
            .done
            .iter()
            .filter_map(|c| by_invoice.get(c.invoice_id.as_str()).map(|b| (b, c)))
            .map(|(b, c)| RecordPaymentInput {
                invoice_id: b.invoice_id.clone(),
                customer_id: b.customer_id.clone(),
                charge_id: c.charge.charge_id.clone(),
                amount_cents: b.amount_cents,
            })
            .collect::<Vec<_>>();
        let records = if payments.is_empty() {
            Bulk::default()
        } else {
            ctx.execute_activity(
                BulkBillingContract::record_payments,
                RecordPaymentsInput { payments },
                bulk_effect("record-payments".into()),
            )
            .await?
        };

        let receipts = records
            .done
            .iter()
            .filter_map(|r| by_invoice.get(r.invoice_id.as_str()))
            .map(|b| ReceiptInput {
                invoice_id: b.invoice_id.clone(),
                customer_id: b.customer_id.clone(),
                amount_cents: b.amount_cents,
            })
            .collect::<Vec<_>>();
        let sent = if receipts.is_empty() {
            Bulk::default()
        } else {
            ctx.execute_activity(
                BulkBillingContract::send_receipts,
                SendReceiptsInput { receipts },
                bulk_effect("send-receipts".into()),
            )
            .await?
        };
        totals.completed += sent.done.len() as u64;

        let refused: BTreeSet<&str> =
            [&charges.refused, &records.refused, &sent.refused].into_iter().flatten().map(|r| r.id.as_str()).collect();
        let to_collect: Vec<&Bill> = bills.done.iter().filter(|b| refused.contains(b.invoice_id.as_str())).collect();
        let outcomes = collect_with_sagas(ctx, &to_collect).await?;
        totals.add(&outcomes);
        Ok(totals)
    }
}

/// Starts one `PaymentSagaWorkflow` per refused bill and counts how they end; a saga that
/// already ran for the invoice (an earlier run of the business key) counts as already done.
async fn collect_with_sagas(
    ctx: &WorkflowContext<BillingBulkBatchWorkflow>,
    bills: &[&Bill],
) -> WorkflowResult<BillingTotals> {
    let mut totals = BillingTotals::default();
    let mut sagas = Vec::new();
    for bill in bills {
        let started = ctx
            .start_child_workflow(
                PaymentSagaWorkflow::run,
                crate::input::to_input(*bill),
                child(keys::payment_saga(bill.shown_invoice())),
            )
            .await;
        match started {
            Ok(started) => sagas.push(started),
            Err(err) if already_started(&err) => totals.already_done += 1,
            Err(err) => return Err(err.into()),
        }
    }
    for result in join_in_order(sagas.into_iter().map(|s| s.result())).await {
        match result {
            Ok(PaymentResult { outcome: Outcome::Completed, .. }) => totals.completed += 1,
            Ok(PaymentResult { outcome: Outcome::Compensated, .. }) => totals.compensated += 1,
            Ok(PaymentResult { outcome: Outcome::Failed, .. }) | Err(_) => totals.failed += 1,
        }
    }
    Ok(totals)
}

fn log_refusals(ctx: &WorkflowContext<BillingBulkBatchWorkflow>, what: &str, refused: &[Refusal]) {
    if ctx.is_replaying() {
        return;
    }
    for refusal in refused {
        tracing::error!(id = %refusal.id, kind = %refusal.kind, error = %refusal.message, "{what}");
    }
}
