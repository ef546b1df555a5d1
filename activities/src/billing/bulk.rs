//! Implementations of the bulk billing contracts (`punctual_workflows::BulkBillingContract`).
//!
//! Each bulk activity makes a page's effects under the very keys, requests and SQL of the
//! single-customer activities (shared with `bills`, `payments`, `receipts`), so exactly-once per
//! customer is theirs and an effect made by either replays in the other. What a page shares is
//! the database transaction: local effects (bills, payment records, voids) commit in one
//! transaction per page, and external ones (charges, refunds, receipts) claim in one and record
//! in one, with the calls in between made a few at a time. On SQLite, where every commit waits
//! for the disk, that is the difference between ~20 and several hundred customers a second.
//!
//! A customer's permanent failure (decline, closed account, unknown customer, a conflicting
//! request) is returned as a [`Refusal`] for the workflow to compensate; an outage (database or
//! provider down, a lost response) fails the whole attempt retryably, after recording the calls
//! that did complete, and the retry replays every customer already done.

use super::{BillingActivities, bills, caller, counted, customers_named, payments, receipts};
use crate::failure;
use crate::heartbeat;
use crate::ledger::{Caller, Claim, Ledger, Once};
use crate::outside::CallError;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use punctual_workflows::billing::bulk_types::*;
use punctual_workflows::billing::types::*;
use punctual_workflows::{keys, names};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Provider and sink calls of a page made at once by default.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The bulk billing activities over the same ledger, provider, sink and pseudonyms as
/// [`BillingActivities`].
#[derive(Debug, Clone)]
pub struct BulkBillingActivities {
    billing: BillingActivities,
    concurrency: usize,
}

/// Most answers of a bulk external step held before they are recorded.
const RECORD_EVERY: usize = 100;
/// Longest an answer of a bulk external step waits to be recorded.
const RECORD_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// One item's outcome: its id (customer or invoice) and what the step made of it.
type Outcome<T> = (String, Result<T, ActivityError>);

impl BulkBillingActivities {
    /// Bulk activities over `billing`'s resources, making `concurrency` outside calls at once
    /// (at least one).
    pub fn new(billing: BillingActivities, concurrency: usize) -> Self {
        Self { billing, concurrency: concurrency.max(1) }
    }

    fn ledger(&self) -> &Ledger {
        &self.billing.ledger
    }

    /// An external effect for every item: claims all keys in one transaction, calls out for the
    /// keys not done yet (`concurrency` at a time), and records the answers as they come, a
    /// batch per transaction (see [`RECORD_EVERY`], [`RECORD_WITHIN`]).
    /// Returns, per item in order, the result and whether it was replayed from the ledger.
    async fn external<'a, I, R>(
        &self,
        who: &Caller,
        items: &'a [I],
        key_and_request: impl Fn(&I) -> (String, serde_json::Value),
        call: impl Fn(&'a I, String, bool) -> BoxFuture<'a, Result<R, CallError>>,
    ) -> Result<Vec<Result<(R, bool), ActivityError>>, ActivityError>
    where
        R: Serialize + DeserializeOwned + Clone,
    {
        let requests: Vec<(String, serde_json::Value)> = items.iter().map(key_and_request).collect();
        let claims = self.ledger().claim_external_batch::<R>(&requests, who).await.map_err(failure::from_ledger)?;
        let mut out: Vec<Option<Result<(R, bool), ActivityError>>> = Vec::with_capacity(items.len());
        let mut to_call = Vec::new();
        for (i, claim) in claims.into_iter().enumerate() {
            out.push(match claim {
                Ok(Claim::Done(result)) => Some(Ok((result, true))),
                Ok(Claim::Proceed { first_attempt, .. }) => {
                    to_call.push((i, first_attempt));
                    None
                }
                Err(err) => Some(Err(failure::from_ledger(err))),
            });
        }
        let call = &call;
        let mut answers = stream::iter(to_call.into_iter().map(|(i, first_attempt)| {
            let (item, key) = (&items[i], requests[i].0.clone());
            async move { (i, call(item, key, first_attempt).await) }
        }))
        .buffered(self.concurrency);
        // Answers are recorded as they come, in batches (every RECORD_EVERY answers, and at
        // least every RECORD_WITHIN): an attempt cut off mid-page (a deploy, a lost heartbeat,
        // the step's timeout) keeps what it made, and its retry replays that and calls only the
        // rest. Recording once at the end lost a whole page of answers to every cut, and a page
        // too slow to finish within one attempt could never finish at all.
        let mut pending: Vec<(usize, R)> = Vec::new();
        let mut outage = None;
        let mut flush_at = tokio::time::Instant::now() + RECORD_WITHIN;
        loop {
            let next = tokio::time::timeout_at(flush_at, answers.next()).await;
            let done = matches!(next, Ok(None));
            if let Ok(Some((i, answer))) = next {
                match answer {
                    Ok(result) => pending.push((i, result)),
                    Err(err @ CallError::Transient { .. }) => outage = outage.or(Some(err)),
                    Err(err) => out[i] = Some(Err(failure::from_call(err))),
                }
            }
            if done || pending.len() >= RECORD_EVERY || tokio::time::Instant::now() >= flush_at {
                let completed = std::mem::take(&mut pending);
                let records: Vec<(String, R)> = completed.iter().map(|(i, r)| (requests[*i].0.clone(), r.clone())).collect();
                if !records.is_empty() {
                    let recorded = self.ledger().complete_external_batch(&records).await.map_err(failure::from_ledger)?;
                    for ((i, result), record) in completed.into_iter().zip(recorded) {
                        out[i] = Some(record.map(|()| (result, false)).map_err(failure::from_ledger));
                    }
                }
                flush_at = tokio::time::Instant::now() + RECORD_WITHIN;
            }
            if done {
                break;
            }
        }
        if let Some(err) = outage {
            // The answers that came are recorded; the retry replays them and calls the rest.
            return Err(failure::from_call(err));
        }
        Ok(out.into_iter().map(|o| o.expect("every item answered")).collect())
    }
}

/// Sorts per-item outcomes into done and refused; a retryable one fails the whole step.
fn sorted<T>(outcomes: Vec<Outcome<T>>) -> Result<Bulk<T>, ActivityError> {
    let mut bulk = Bulk::default();
    for (id, outcome) in outcomes {
        match outcome {
            Ok(done) => bulk.done.push(done),
            Err(ActivityError::Application(app)) if app.is_non_retryable() => bulk.refused.push(Refusal {
                id,
                kind: app.type_name().unwrap_or_default().to_owned(),
                message: app.source_error().to_string(),
            }),
            Err(err) => return Err(err),
        }
    }
    Ok(bulk)
}

/// Keeps a key's own refusal from [`LocalBatch::once`](crate::ledger::LocalBatch::once) (it
/// becomes that customer's [`Refusal`]); anything retryable aborts the step.
fn refuse_on_err<R>(
    refused: &mut BTreeMap<String, Result<Once<R>, ActivityError>>,
    key: &str,
    made: Result<Result<bool, crate::ledger::LedgerError>, crate::ledger::LedgerError>,
) -> Result<(), ActivityError> {
    if let Err(refusal) = made.map_err(failure::from_ledger)? {
        refused.insert(key.to_owned(), Err(failure::from_ledger(refusal)));
    }
    Ok(())
}

/// Replayed results of a local batch, by key.
fn by_key<R>(
    replayed: Vec<(String, Result<Once<R>, crate::ledger::LedgerError>)>,
) -> BTreeMap<String, Result<Once<R>, ActivityError>> {
    replayed.into_iter().map(|(key, once)| (key, once.map_err(failure::from_ledger))).collect()
}

#[activities]
impl BulkBillingActivities {
    /// `GenerateBills`: every customer's invoice row and ledger row in one transaction.
    #[activity(name = names::GENERATE_BILLS_ACTIVITY)]
    pub async fn generate_bills(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: GenerateBillsInput,
    ) -> Result<Bulk<Bill>, ActivityError> {
        let who = caller(&ctx);
        let work = async {
            let date = &input.business_date;
            let mut conn =
                self.ledger().pool().acquire().await.map_err(|e| failure::retryable(format!("reading customers: {e}")))?;
            let mut wanted = Vec::with_capacity(input.customer_ids.len());
            for customer_id in &input.customer_ids {
                let ask = GenerateBillInput { customer_id: customer_id.clone(), business_date: date.clone() };
                let bill =
                    bills::bill_for(&mut conn, &ask).await.map_err(|e| failure::retryable(format!("reading customers: {e}")))?;
                wanted.push((ask, bill));
            }
            drop(conn);
            // A customer whose row is gone or unreadable now may have been billed already (the
            // row edited since, and the date run again): that bill replays, as `GenerateBill`
            // replays it, rather than the customer being refused.
            let mut made_before = BTreeMap::new();
            for (ask, bill) in &wanted {
                if matches!(bill, bills::Billable::Bill(_)) {
                    continue;
                }
                let key = keys::bill(&ask.customer_id, date);
                let entry = self.ledger().entry(&key).await.map_err(failure::from_ledger)?;
                if let Some(made) = entry
                    .filter(|e| e.status == crate::ledger::EntryStatus::Done)
                    .and_then(|e| serde_json::from_value::<Bill>(e.result?).ok())
                {
                    made_before.insert(key, made);
                }
            }
            let mut batch = self.ledger().local_batch("bills").await.map_err(failure::from_ledger)?;
            let mut refused = BTreeMap::new();
            for (ask, bill) in &wanted {
                let bills::Billable::Bill(bill) = bill else { continue };
                let key = keys::bill(&ask.customer_id, date);
                let bill = bill.clone();
                let made = batch
                    .once(&key, &bills::bill_request(ask), &who, move |conn| {
                        Box::pin(async move {
                            bills::insert_invoice(conn, &bill).await?;
                            Ok(bill)
                        })
                    })
                    .await;
                refuse_on_err(&mut refused, &key, made)?;
            }
            let mut replayed = by_key(batch.commit::<Bill>().await.map_err(failure::from_ledger)?);
            let outcomes = wanted.into_iter().map(|(ask, bill)| {
                let key = keys::bill(&ask.customer_id, date);
                let made = match (refused.remove(&key).or_else(|| replayed.remove(&key)), bill) {
                    (Some(once), _) => once.map(Once::into_inner),
                    (None, bills::Billable::Bill(bill)) => Ok(bill),
                    (None, _) if made_before.contains_key(&key) => Ok(made_before.remove(&key).expect("checked")),
                    (None, bills::Billable::Unknown) => {
                        Err(failure::permanent("UnknownCustomer", bills::unknown_customer(&ask.customer_id)))
                    }
                    (None, bills::Billable::Unreadable(why)) => {
                        Err(failure::permanent(bills::CUSTOMER_UNREADABLE, bills::unreadable_customer(&why)))
                    }
                };
                (ask.customer_id, made.map(|bill| customers_named(&self.billing.pseudonyms, bill)))
            });
            sorted(outcomes.collect())
        };
        heartbeat::while_running(&ctx, work).await
    }

    /// `ChargeInvoices`: claims in one transaction, charges at the provider, records in one.
    #[activity(name = names::CHARGE_INVOICES_ACTIVITY)]
    pub async fn charge_invoices(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ChargeInvoicesInput,
    ) -> Result<Bulk<ChargedInvoice>, ActivityError> {
        let who = caller(&ctx);
        let provider = &self.billing.provider;
        // A voided bill is never charged anew, as in `ChargeInvoice`: a page run again after its
        // saga voided a bill would otherwise charge it, and the compensation refund it.
        let voided = payments::voided_uncharged(self.ledger(), &input.bills).await?;
        let (refused, bills): (Vec<_>, Vec<_>) = input.bills.into_iter().partition(|b| voided.contains(&b.invoice_id));
        let mut requests = BTreeMap::new();
        for bill in &bills {
            let key = keys::charge(&bill.invoice_id);
            requests.insert(bill.invoice_id.clone(), payments::claimed_charge_request(self.ledger(), &key, bill).await?);
        }
        let work = self.external(
            &who,
            &bills,
            |bill| (keys::charge(&bill.invoice_id), requests[&bill.invoice_id].clone()),
            |bill, key, first| Box::pin(async move { payments::charge_at_provider(provider, &key, bill, first).await }),
        );
        let records = heartbeat::while_running(&ctx, work).await?;
        let outcomes = bills.into_iter().zip(records).map(|(bill, record)| {
            let charged = record.and_then(|(record, _)| record.into_charge(&bill.invoice_id));
            let invoice_id = bill.invoice_id;
            (invoice_id.clone(), charged.map(|charge| ChargedInvoice { invoice_id, charge }))
        });
        let refused = refused.into_iter().map(|bill| (bill.invoice_id.clone(), Err(payments::voided(&bill.invoice_id))));
        sorted(outcomes.chain(refused).collect())
    }

    /// `RecordPayments`: every payable invoice's payment and ledger row in one transaction.
    #[activity(name = names::RECORD_PAYMENTS_ACTIVITY)]
    pub async fn record_payments(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RecordPaymentsInput,
    ) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        let who = caller(&ctx);
        let work = async {
            let mut payable = Vec::with_capacity(input.payments.len());
            for payment in &input.payments {
                let key = keys::payment_record(&payment.invoice_id);
                payable.push(match bills::check_payable_unless_recorded(self.ledger(), payment, &key).await {
                    Err(ActivityError::Application(app)) if !app.is_non_retryable() => {
                        return Err(ActivityError::Application(app));
                    }
                    checked => checked,
                });
            }
            let mut batch = self.ledger().local_batch("payments").await.map_err(failure::from_ledger)?;
            let mut refused = BTreeMap::new();
            for (payment, _) in input.payments.iter().zip(&payable).filter(|(_, ok)| ok.is_ok()) {
                let key = keys::payment_record(&payment.invoice_id);
                let request = serde_json::to_value(payment).expect("plain struct");
                let payment = payment.clone();
                let made = batch
                    .once(&key, &request, &who, move |conn| {
                        Box::pin(async move {
                            bills::insert_payment(conn, &payment).await?;
                            Ok(payment.charge_id)
                        })
                    })
                    .await;
                refuse_on_err(&mut refused, &key, made)?;
            }
            let mut replayed = by_key(batch.commit::<String>().await.map_err(failure::from_ledger)?);
            let outcomes = input.payments.iter().zip(payable).map(|(payment, checked)| {
                let key = keys::payment_record(&payment.invoice_id);
                let once = checked.and_then(|()| match refused.remove(&key).or_else(|| replayed.remove(&key)) {
                    Some(once) => once,
                    None => Ok(Once::Performed(payment.charge_id.clone())),
                });
                let receipt = once.map(|once| bills::receipt(key, once, true));
                let invoice_id = payment.invoice_id.clone();
                (invoice_id.clone(), receipt.map(|receipt| InvoiceReceipt { invoice_id, receipt }))
            });
            sorted(outcomes.collect())
        };
        heartbeat::while_running(&ctx, work).await
    }

    /// `SendReceipts`: claims in one transaction, delivers to the sink, records in one.
    #[activity(name = names::SEND_RECEIPTS_ACTIVITY)]
    pub async fn send_receipts(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: SendReceiptsInput,
    ) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        let who = caller(&ctx);
        let sink = &self.billing.sink;
        let work = self.external(
            &who,
            &input.receipts,
            |r| (receipts::receipt_key(r), receipts::receipt_body(r)),
            |r, key, _| Box::pin(async move { sink.deliver(&key, &receipts::receipt_body(r)).await }),
        );
        let delivered = heartbeat::while_running(&ctx, work).await?;
        let outcomes = input.receipts.iter().zip(delivered).map(|(r, delivered)| {
            let receipt =
                delivered.map(|(id, replayed)| EffectReceipt { key: receipts::receipt_key(r), external_id: Some(id), replayed });
            (r.invoice_id.clone(), receipt.map(|receipt| InvoiceReceipt { invoice_id: r.invoice_id.clone(), receipt }))
        });
        sorted(outcomes.collect())
    }

    /// `RefundCharges` (compensation): claims in one transaction, refunds, records in one.
    #[activity(name = names::REFUND_CHARGES_ACTIVITY)]
    pub async fn refund_charges(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RefundChargesInput,
    ) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        let who = caller(&ctx);
        let provider = &self.billing.provider;
        let work = self.external(
            &who,
            &input.refunds,
            |r| (keys::refund(&r.invoice_id), payments::refund_request(r)),
            |r, key, first| Box::pin(async move { payments::refund_at_provider(provider, &key, r, first).await }),
        );
        let refunded = heartbeat::while_running(&ctx, work).await?;
        let outcomes = input.refunds.iter().zip(refunded).map(|(r, refunded)| {
            let receipt = refunded.map(|(id, replayed)| EffectReceipt {
                key: keys::refund(&r.invoice_id),
                external_id: Some(id),
                replayed,
            });
            let receipt = counted("refund", receipt);
            (r.invoice_id.clone(), receipt.map(|receipt| InvoiceReceipt { invoice_id: r.invoice_id.clone(), receipt }))
        });
        sorted(outcomes.collect())
    }

    /// `VoidInvoices` (compensation): every void and ledger row in one transaction.
    #[activity(name = names::VOID_INVOICES_ACTIVITY)]
    pub async fn void_invoices(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: VoidInvoicesInput,
    ) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        let who = caller(&ctx);
        let work = async {
            let mut batch = self.ledger().local_batch("voids").await.map_err(failure::from_ledger)?;
            let mut refused = BTreeMap::new();
            for void in &input.voids {
                let key = keys::void(&void.invoice_id);
                let v = void.clone();
                let made = batch
                    .once(&key, &bills::void_request(void), &who, move |conn| {
                        Box::pin(async move {
                            bills::void_rows(conn, &v).await?;
                            Ok(v.invoice_id)
                        })
                    })
                    .await;
                refuse_on_err(&mut refused, &key, made)?;
            }
            let mut replayed = by_key(batch.commit::<String>().await.map_err(failure::from_ledger)?);
            let outcomes = input.voids.iter().map(|void| {
                let key = keys::void(&void.invoice_id);
                let once = refused
                    .remove(&key)
                    .or_else(|| replayed.remove(&key))
                    .unwrap_or_else(|| Ok(Once::Performed(void.invoice_id.clone())));
                let receipt = counted("void", once.map(|once| bills::receipt(key, once, false)));
                (void.invoice_id.clone(), receipt.map(|receipt| InvoiceReceipt { invoice_id: void.invoice_id.clone(), receipt }))
            });
            sorted(outcomes.collect())
        };
        heartbeat::while_running(&ctx, work).await
    }
}
