//! Implementations of the billing activity contracts (`punctual_workflows::BillingContract`).
//!
//! Each effect is made once through the ledger under the business key the workflow also uses as
//! the activity ID: bills, payments and voids are rows in our own database (exactly once by
//! transaction); charges, refunds and receipts are external calls that accept an idempotency key
//! (exactly once by passing the business key, with intent and outcome recorded in the ledger).

mod bills;
mod bulk;
mod customers;
mod payments;
mod receipts;

use crate::heartbeat;
use crate::ledger::{Caller, Ledger};
use crate::outside::{ProviderClient, SinkClient};
use crate::pseudonym::Pseudonyms;
use crate::reports::ReportActivities;
use punctual_workflows::billing::types::*;
use punctual_workflows::names;
use std::sync::Arc;

pub use bulk::{BulkBillingActivities, DEFAULT_CONCURRENCY as DEFAULT_BULK_CONCURRENCY};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// The billing activities with what they reach: the ledger database, the provider, the sink.
#[derive(Debug, Clone)]
pub struct BillingActivities {
    ledger: Ledger,
    provider: ProviderClient,
    sink: SinkClient,
    pseudonyms: Pseudonyms,
    bulk_concurrency: usize,
}

impl BillingActivities {
    /// Activities over `ledger` (which also holds customers and invoices), `provider` and `sink`.
    pub fn new(ledger: Ledger, provider: ProviderClient, sink: SinkClient) -> Self {
        Self { ledger, provider, sink, pseudonyms: Pseudonyms::none(), bulk_concurrency: bulk::DEFAULT_CONCURRENCY }
    }

    /// The same activities naming customers by `pseudonyms` wherever Temporal shows them (see
    /// [`crate::pseudonym`]).
    pub fn with_pseudonyms(self, pseudonyms: Pseudonyms) -> Self {
        Self { pseudonyms, ..self }
    }

    /// The ledger database these activities write (the job activities share it).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The same activities, whose bulk versions make `concurrency` provider or sink calls of a
    /// page at once (default [`DEFAULT_BULK_CONCURRENCY`]).
    pub fn with_bulk_concurrency(self, concurrency: usize) -> Self {
        Self { bulk_concurrency: concurrency.max(1), ..self }
    }

    /// The bulk billing activities (one activity per step for a page of customers) over the
    /// same resources.
    pub fn bulk(&self) -> BulkBillingActivities {
        BulkBillingActivities::new(self.clone(), self.bulk_concurrency)
    }

    /// The reporting activities over the same ledger, provider and sink, so a worker that
    /// serves billing serves its reports with no wiring of its own.
    pub fn reports(&self) -> ReportActivities {
        ReportActivities::new(self.ledger.clone(), self.provider.clone(), self.sink.clone())
    }
}

/// `bill` with its customer's pseudonym and the invoice id spelt with it, when there is a key.
/// Named after the ledger replied, so a bill made before pseudonyms (or under another key) is
/// shown under today's pseudonym: the ledger row itself never depends on it.
fn customers_named(pseudonyms: &Pseudonyms, mut bill: Bill) -> Bill {
    if let Some(customer_ref) = pseudonyms.of(&bill.customer_id) {
        bill.invoice_ref = punctual_workflows::keys::invoice_id(&customer_ref, &bill.business_date);
        bill.customer_ref = customer_ref;
    }
    bill
}

/// Who is performing an effect, recorded on its ledger row for the audit.
pub(crate) fn caller(ctx: &ActivityContext) -> Caller {
    let info = ctx.info();
    Caller {
        workflow_id: info.workflow_id.clone().unwrap_or_default(),
        run_id: info.workflow_run_id.clone().unwrap_or_default(),
        activity_type: info.activity_type.clone(),
        attempt: info.attempt,
    }
}

/// Counts a compensation step's attempt by how it ended; a failed one is also logged loudly,
/// since a saga that cannot undo itself leaves money or an invoice for a person to settle.
fn counted(step: &str, result: Result<EffectReceipt, ActivityError>) -> Result<EffectReceipt, ActivityError> {
    match &result {
        Ok(receipt) => crate::metrics::compensation(step, if receipt.replayed { "replayed" } else { "performed" }),
        Err(err) => {
            crate::metrics::compensation(step, "failed");
            tracing::error!(step, error = ?err, "COMPENSATION ATTEMPT FAILED");
        }
    }
    result
}

#[activities]
impl BillingActivities {
    /// `ListCustomersPage`.
    #[activity(name = names::LIST_CUSTOMERS_ACTIVITY)]
    pub async fn list_customers(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ListCustomersInput,
    ) -> Result<CustomerPage, ActivityError> {
        let mut page = customers::page(&self.ledger, &input).await?;
        page.customer_refs = page.customer_ids.iter().filter_map(|id| self.pseudonyms.of(id)).collect();
        Ok(page)
    }

    /// `GenerateBill`.
    #[activity(name = names::GENERATE_BILL_ACTIVITY)]
    pub async fn generate_bill(self: Arc<Self>, ctx: ActivityContext, input: GenerateBillInput) -> Result<Bill, ActivityError> {
        let bill = heartbeat::while_running(&ctx, bills::generate(&self.ledger, &caller(&ctx), &input)).await?;
        Ok(customers_named(&self.pseudonyms, bill))
    }

    /// `ChargeInvoice`.
    #[activity(name = names::CHARGE_INVOICE_ACTIVITY)]
    pub async fn charge_invoice(self: Arc<Self>, ctx: ActivityContext, input: PaymentInput) -> Result<Charge, ActivityError> {
        heartbeat::while_running(&ctx, payments::charge(&self.ledger, &self.provider, &caller(&ctx), &input)).await
    }

    /// `RecordPayment`.
    #[activity(name = names::RECORD_PAYMENT_ACTIVITY)]
    pub async fn record_payment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RecordPaymentInput,
    ) -> Result<EffectReceipt, ActivityError> {
        heartbeat::while_running(&ctx, bills::record_payment(&self.ledger, &caller(&ctx), &input)).await
    }

    /// `SendReceipt`.
    #[activity(name = names::SEND_RECEIPT_ACTIVITY)]
    pub async fn send_receipt(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ReceiptInput,
    ) -> Result<EffectReceipt, ActivityError> {
        heartbeat::while_running(&ctx, receipts::send(&self.ledger, &self.sink, &caller(&ctx), &input)).await
    }

    /// `RefundCharge`.
    #[activity(name = names::REFUND_CHARGE_ACTIVITY)]
    pub async fn refund_charge(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RefundInput,
    ) -> Result<EffectReceipt, ActivityError> {
        counted(
            "refund",
            heartbeat::while_running(&ctx, payments::refund(&self.ledger, &self.provider, &caller(&ctx), &input)).await,
        )
    }

    /// `VoidInvoice`.
    #[activity(name = names::VOID_INVOICE_ACTIVITY)]
    pub async fn void_invoice(self: Arc<Self>, ctx: ActivityContext, input: VoidInput) -> Result<EffectReceipt, ActivityError> {
        counted("void", heartbeat::while_running(&ctx, bills::void(&self.ledger, &caller(&ctx), &input)).await)
    }
}
