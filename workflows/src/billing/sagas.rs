//! One `PaymentSagaWorkflow` per bill, and the count of how they ended.
//!
//! Shared by the per-customer page (`BillingBatchWorkflow`), the billing job's fire
//! (`FireBillingWorkflow`) and the bulk page's fallback (`BillingBulkBatchWorkflow`), so all three
//! agree on what "already done" means: a saga whose workflow ID (the invoice's business key) was
//! already used. Each saga is started in the bills' order and awaited before the next start, and
//! the results are joined in the same order, so the commands, and so replay, do not depend on
//! which saga finishes first.

use super::options::{already_started, child};
use super::payment_saga::PaymentSagaWorkflow;
use super::types::{Bill, BillingTotals, Outcome, PaymentResult};
use crate::input::to_input;
use crate::join::join_in_order;
use crate::keys;
use std::borrow::Borrow;
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// Starts each bill's saga (or finds it already started) and adds how they ended to `totals`:
/// `completed`, `compensated`, `failed`, or `already_done` for a saga started before.
pub async fn run_sagas<W, B: Borrow<Bill>>(
    ctx: &WorkflowContext<W>,
    bills: impl IntoIterator<Item = B>,
    totals: &mut BillingTotals,
) -> WorkflowResult<()> {
    let mut sagas = Vec::new();
    for bill in bills {
        let bill = bill.borrow();
        match ctx
            .start_child_workflow(PaymentSagaWorkflow::run, to_input(bill), child(keys::payment_saga(bill.shown_invoice())))
            .await
        {
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
    Ok(())
}
