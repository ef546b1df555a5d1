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
use super::bulk_types::*;
use super::contracts::BulkBillingContract;
use super::options::bulk_effect;
use super::sagas::run_sagas;
use super::types::*;
use crate::failures::{ACCOUNT_CLOSED, PAYMENT_DECLINED};
use crate::input::JsonInput;
use crate::search::{self, job};
use crate::names;
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
/// customers the step before did; then `RefundCharges` → `VoidInvoices` for the declined and
/// closed accounts; then one `PaymentSagaWorkflow` (workflow ID `payment/{invoice}`) per invoice
/// that failed otherwise. Customers whose bill could not be made are counted failed, as in the
/// per-customer batch.
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

        let charged: BTreeMap<&str, &str> =
            charges.done.iter().map(|c| (c.invoice_id.as_str(), c.charge.charge_id.as_str())).collect();
        let compensation = Compensation::of(&charges.refused, &records.refused, &charged);
        let mut for_sagas: BTreeSet<String> =
            compensation.elsewhere.iter().chain(&sent.refused).map(|r| r.id.clone()).collect();
        let (compensated, refused) = compensate(ctx, compensation).await?;
        totals.compensated += compensated;
        for_sagas.extend(refused);
        let to_collect: Vec<&Bill> = bills.done.iter().filter(|b| for_sagas.contains(&b.invoice_id)).collect();
        run_sagas(ctx, to_collect, &mut totals).await?;
        Ok(totals)
    }
}

/// What the refusals of a page call for: the saga's compensations, sorted by step.
struct Compensation {
    /// Charges of closed accounts to refund first.
    refunds: Vec<RefundInput>,
    /// Invoices to void after, with the refusal as the reason: declined ones at once, closed
    /// accounts' once their refund is done.
    voids: Vec<VoidInput>,
    /// Refusals that are not business refusals: for a saga, and a person.
    elsewhere: Vec<Refusal>,
}

impl Compensation {
    fn of(charge_refusals: &[Refusal], record_refusals: &[Refusal], charged: &BTreeMap<&str, &str>) -> Self {
        let mut c = Compensation { refunds: Vec::new(), voids: Vec::new(), elsewhere: Vec::new() };
        for r in charge_refusals {
            if r.kind == PAYMENT_DECLINED {
                c.voids.push(VoidInput { invoice_id: r.id.clone(), reason: r.message.clone() });
            } else {
                c.elsewhere.push(r.clone());
            }
        }
        for r in record_refusals {
            match charged.get(r.id.as_str()) {
                Some(charge_id) if r.kind == ACCOUNT_CLOSED => {
                    c.refunds.push(RefundInput { invoice_id: r.id.clone(), charge_id: (*charge_id).to_owned() });
                    c.voids.push(VoidInput { invoice_id: r.id.clone(), reason: r.message.clone() });
                }
                _ => c.elsewhere.push(r.clone()),
            }
        }
        c
    }
}

/// Runs the compensations in the saga's order — every refund, then every void — and returns how
/// many invoices ended compensated, and the invoices whose compensation was refused (their void
/// is not attempted: a refund that cannot be made needs a person first).
async fn compensate(
    ctx: &WorkflowContext<BillingBulkBatchWorkflow>,
    c: Compensation,
) -> WorkflowResult<(u64, Vec<String>)> {
    let mut refused = Vec::new();
    if !c.refunds.is_empty() {
        let refunds = ctx
            .execute_activity(
                BulkBillingContract::refund_charges,
                RefundChargesInput { refunds: c.refunds },
                bulk_effect("refund-charges".into()),
            )
            .await?;
        log_refusals(ctx, "COMPENSATION FAILED: refund refused", &refunds.refused);
        refused.extend(refunds.refused.into_iter().map(|r| r.id));
    }
    let voids: Vec<VoidInput> = c.voids.into_iter().filter(|v| !refused.contains(&v.invoice_id)).collect();
    if voids.is_empty() {
        return Ok((0, refused));
    }
    let voided = ctx
        .execute_activity(BulkBillingContract::void_invoices, VoidInvoicesInput { voids }, bulk_effect("void-invoices".into()))
        .await?;
    log_refusals(ctx, "COMPENSATION FAILED: void refused", &voided.refused);
    refused.extend(voided.refused.into_iter().map(|r| r.id));
    Ok((voided.done.len() as u64, refused))
}

fn log_refusals(ctx: &WorkflowContext<BillingBulkBatchWorkflow>, what: &str, refused: &[Refusal]) {
    if ctx.is_replaying() {
        return;
    }
    for refusal in refused {
        tracing::error!(id = %refusal.id, kind = %refusal.kind, error = %refusal.message, "{what}");
    }
}
