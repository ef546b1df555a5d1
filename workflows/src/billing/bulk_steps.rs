//! The bulk mode's steps over one page of customers, shared by the two workflows that bill in
//! bulk: `BillingBulkBatchWorkflow` (a page of a business date's run) and `FireBillingWorkflow`
//! with `"mode": "bulk"` (one schedule fire's period). Both must make the very same effects under
//! the very same keys, so the steps live once, here; see `bulk_batch` for why the mode exists.

use super::bulk_types::*;
use super::contracts::BulkBillingContract;
use super::options::bulk_effect;
use super::sagas::run_sagas;
use super::types::*;
use crate::failures::{ACCOUNT_CLOSED, INVOICE_VOID, PAYMENT_DECLINED};
use std::collections::{BTreeMap, BTreeSet};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// Bills `customer_ids` for `billed_for` (a business date, or a fire's period: the bills' and
/// invoices' key) with one activity per step: `GenerateBills` → `ChargeInvoices` →
/// `RecordPayments` → `SendReceipts`, each over the customers the step before did; then
/// `RefundCharges` → `VoidInvoices` for the declined and closed accounts; then one
/// `PaymentSagaWorkflow` (workflow ID `payment/{invoice}`) per invoice that failed otherwise.
/// Charges and sagas carry `payment_date` as the bill's business date. Customers whose bill could
/// not be made are counted failed.
pub async fn bill_in_bulk<W>(
    ctx: &WorkflowContext<W>,
    billed_for: &str,
    payment_date: &str,
    customer_ids: Vec<String>,
) -> WorkflowResult<BillingTotals> {
    let mut totals = BillingTotals { customers: customer_ids.len() as u64, ..Default::default() };

    let generate = GenerateBillsInput { business_date: billed_for.to_owned(), customer_ids };
    let bills = ctx.execute_activity(BulkBillingContract::generate_bills, generate, bulk_effect("generate-bills".into())).await?;
    log_refusals(ctx, "bill not generated", &bills.refused);
    totals.failed += bills.refused.len() as u64;
    // A fire's bills carry its period, but its charges and sagas carry the fire's business
    // date, exactly as the per-customer fire's do: the charge's ledger request is the bill's
    // business fields, the date among them, so any other date would make the two modes conflict on one invoice's key. For a
    // date's page the two dates are the same and nothing changes.
    let bills = Bulk {
        done: bills.done.into_iter().map(|b| PaymentInput { business_date: payment_date.to_owned(), ..b }).collect::<Vec<Bill>>(),
        refused: bills.refused,
    };
    // Every bill carries its customer's pseudonym when the worker has a key, so the bills
    // (not the batch input) name the sagas.
    let by_invoice: BTreeMap<&str, &Bill> = bills.done.iter().map(|b| (b.invoice_id.as_str(), b)).collect();

    let charge = ChargeInvoicesInput { bills: bills.done.clone() };
    let charges =
        ctx.execute_activity(BulkBillingContract::charge_invoices, charge, bulk_effect("charge-invoices".into())).await?;

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
    let mut for_sagas: BTreeSet<String> = compensation.elsewhere.iter().chain(&sent.refused).map(|r| r.id.clone()).collect();
    let (compensated, refused) = compensate(ctx, compensation).await?;
    totals.compensated += compensated;
    for_sagas.extend(refused);
    let to_collect: Vec<&Bill> = bills.done.iter().filter(|b| for_sagas.contains(&b.invoice_id)).collect();
    run_sagas(ctx, to_collect, &mut totals).await?;
    Ok(totals)
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
                // A voided invoice's charge was refunded when it was voided: both replay.
                Some(charge_id) if r.kind == ACCOUNT_CLOSED || r.kind == INVOICE_VOID => {
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
async fn compensate<W>(ctx: &WorkflowContext<W>, c: Compensation) -> WorkflowResult<(u64, Vec<String>)> {
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

fn log_refusals<W>(ctx: &WorkflowContext<W>, what: &str, refused: &[Refusal]) {
    if ctx.is_replaying() {
        return;
    }
    for refusal in refused {
        tracing::error!(id = %refusal.id, kind = %refusal.kind, error = %refusal.message, "{what}");
    }
}
