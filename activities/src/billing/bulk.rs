//! Implementations of the bulk billing contracts (`punctual_workflows::BulkBillingContract`).
//!
//! Each bulk activity runs the per-customer effect function of the same step — the same ledger
//! key, transaction and provider idempotency key — for every customer of a page, a few at a time,
//! heartbeating throughout. So exactly-once per customer is the per-customer activities' own,
//! and only the Temporal cost is shared: one activity task per step per page instead of one per
//! customer.
//!
//! A customer's permanent failure (decline, closed account, idempotency conflict) is returned as
//! a [`Refusal`] for the workflow to compensate; any retryable failure (database or provider
//! down, a lost response) fails the whole attempt retryably, and the retry replays every customer
//! already done from the ledger.

use super::{BillingActivities, bills, caller, customers_named, payments, receipts};
use crate::heartbeat;
use futures::stream::{self, StreamExt};
use punctual_workflows::billing::bulk_types::*;
use punctual_workflows::billing::types::*;
use punctual_workflows::names;
use std::future::Future;
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Customers of a page worked on at once by default. Measured on SQLite, where every ledger
/// write takes the file's write lock, so more only queue; provider and sink calls overlap.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The bulk billing activities over the same ledger, provider, sink and pseudonyms as
/// [`BillingActivities`].
#[derive(Debug, Clone)]
pub struct BulkBillingActivities {
    billing: BillingActivities,
    concurrency: usize,
}

impl BulkBillingActivities {
    /// Bulk activities over `billing`'s resources, working on `concurrency` customers at once
    /// (at least one).
    pub fn new(billing: BillingActivities, concurrency: usize) -> Self {
        Self { billing, concurrency: concurrency.max(1) }
    }

    /// Runs `step` for every item, `concurrency` at a time, keeping input order; sorts the
    /// outcomes into done and refused, or fails retryably if any item met an outage.
    async fn each<I, T, F, Fut>(&self, items: Vec<I>, id: fn(&I) -> String, step: F) -> Result<Bulk<T>, ActivityError>
    where
        F: Fn(I) -> Fut,
        Fut: Future<Output = Result<T, ActivityError>>,
    {
        let total = items.len();
        let outcomes: Vec<(String, Result<T, ActivityError>)> = stream::iter(items.into_iter().map(|item| {
            let id = id(&item);
            let done = step(item);
            async move { (id, done.await) }
        }))
        .buffered(self.concurrency)
        .collect()
        .await;
        let mut bulk = Bulk::default();
        let mut outages = Vec::new();
        for (id, outcome) in outcomes {
            match outcome {
                Ok(done) => bulk.done.push(done),
                Err(ActivityError::Application(app)) if app.is_non_retryable() => bulk.refused.push(Refusal {
                    id,
                    kind: app.type_name().unwrap_or_default().to_owned(),
                    message: app.source_error().to_string(),
                }),
                Err(err) => outages.push((id, err)),
            }
        }
        match outages.into_iter().next() {
            None => Ok(bulk),
            Some((first, err)) => Err(crate::failure::retryable(format!(
                "{} of {total} not done yet (retried; the done ones replay): first `{first}`: {}",
                total - bulk.done.len() - bulk.refused.len(),
                describe(&err),
            ))),
        }
    }
}

fn describe(err: &ActivityError) -> String {
    match err {
        ActivityError::Application(app) => app.source_error().to_string(),
        other => format!("{other:?}"),
    }
}

#[activities]
impl BulkBillingActivities {
    /// `GenerateBills`.
    #[activity(name = names::GENERATE_BILLS_ACTIVITY)]
    pub async fn generate_bills(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: GenerateBillsInput,
    ) -> Result<Bulk<Bill>, ActivityError> {
        let (b, who) = (&self.billing, caller(&ctx));
        let date = input.business_date;
        let work = self.each(input.customer_ids, String::clone, |customer_id| {
            let input = GenerateBillInput { customer_id, business_date: date.clone() };
            let who = &who;
            async move { bills::generate(&b.ledger, who, &input).await.map(|bill| customers_named(&b.pseudonyms, bill)) }
        });
        heartbeat::while_running(&ctx, work).await
    }

    /// `ChargeInvoices`.
    #[activity(name = names::CHARGE_INVOICES_ACTIVITY)]
    pub async fn charge_invoices(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ChargeInvoicesInput,
    ) -> Result<Bulk<ChargedInvoice>, ActivityError> {
        let (b, who) = (&self.billing, caller(&ctx));
        let work = self.each(input.bills, |bill| bill.invoice_id.clone(), |bill| {
            let who = &who;
            async move {
                let charge = payments::charge(&b.ledger, &b.provider, who, &bill).await?;
                Ok(ChargedInvoice { invoice_id: bill.invoice_id, charge })
            }
        });
        heartbeat::while_running(&ctx, work).await
    }

    /// `RecordPayments`.
    #[activity(name = names::RECORD_PAYMENTS_ACTIVITY)]
    pub async fn record_payments(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RecordPaymentsInput,
    ) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        let (b, who) = (&self.billing, caller(&ctx));
        let work = self.each(input.payments, |p| p.invoice_id.clone(), |payment| {
            let who = &who;
            async move {
                let receipt = bills::record_payment(&b.ledger, who, &payment).await?;
                Ok(InvoiceReceipt { invoice_id: payment.invoice_id, receipt })
            }
        });
        heartbeat::while_running(&ctx, work).await
    }

    /// `SendReceipts`.
    #[activity(name = names::SEND_RECEIPTS_ACTIVITY)]
    pub async fn send_receipts(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: SendReceiptsInput,
    ) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        let (b, who) = (&self.billing, caller(&ctx));
        let work = self.each(input.receipts, |r| r.invoice_id.clone(), |receipt| {
            let who = &who;
            async move {
                let sent = receipts::send(&b.ledger, &b.sink, who, &receipt).await?;
                Ok(InvoiceReceipt { invoice_id: receipt.invoice_id, receipt: sent })
            }
        });
        heartbeat::while_running(&ctx, work).await
    }
}
