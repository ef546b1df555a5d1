//! Effects at the payment provider: charges and refunds. Exactly once by passing the business
//! key as the provider's idempotency key; the ledger records intent before the call and the
//! outcome after it, so a replay never reaches the provider and the audit shows both.

use crate::failure;
use crate::ledger::{Caller, Claim, EntryStatus, Ledger, request_hash};
use crate::outside::{CallError, ChargeReply, ProviderClient, request_refused};
use punctual_workflows::billing::types::*;
use punctual_workflows::failures::{CHARGE_REFUSED, INVOICE_VOID, PAYMENT_DECLINED};
use punctual_workflows::input::INVALID_INPUT;
use punctual_workflows::keys;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use temporalio_sdk::activities::ActivityError;

/// A charge's recorded outcome: a decline is stored and replayed like a success.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(super) enum ChargeRecord {
    Charged {
        charge_id: String,
    },
    Declined {
        message: String,
    },
    /// The provider refused the request as such (400 or 422, not a conflict: an unknown payment
    /// method, say; see `outside::request_refused`). Nothing was charged, and the same key would get the same refusal, so it is
    /// an outcome like a decline: recorded, not left `claimed` for a person and the
    /// reconciliation to chase, and replayed without asking again.
    Rejected {
        status: u16,
        detail: String,
    },
}

impl ChargeRecord {
    /// The provider's answer as the ledger records it, or the error that leaves the key open:
    /// an outage (retried under the same key) or an idempotency conflict (a person's case).
    pub(super) fn from_answer(answer: Result<ChargeReply, CallError>) -> Result<Self, CallError> {
        match answer {
            Ok(reply) => Ok(reply.into()),
            Err(CallError::Rejected { status, detail, .. }) if request_refused(status, &detail) => {
                Ok(ChargeRecord::Rejected { status, detail })
            }
            Err(err) => Err(err),
        }
    }
}

impl From<ChargeReply> for ChargeRecord {
    fn from(reply: ChargeReply) -> Self {
        match reply {
            ChargeReply::Charged { charge_id } => ChargeRecord::Charged { charge_id },
            ChargeReply::Declined { message } => ChargeRecord::Declined { message },
        }
    }
}

impl ChargeRecord {
    /// The activity's answer: the charge, or the decline as a non-retryable `PaymentDeclined`.
    pub(super) fn into_charge(self, invoice: &str) -> Result<Charge, ActivityError> {
        match self {
            ChargeRecord::Charged { charge_id } => Ok(Charge { charge_id }),
            ChargeRecord::Declined { message } => {
                Err(failure::permanent(PAYMENT_DECLINED, format!("charge for {invoice} declined: {message}")))
            }
            ChargeRecord::Rejected { status, detail } => Err(failure::permanent(
                CHARGE_REFUSED,
                format!("payment provider rejected the charge for {invoice} ({status}): {detail}"),
            )),
        }
    }
}

/// The ledger request of a charge: the bill's business fields (invoice, customer, date, amount,
/// payment method), never the pseudonyms Temporal shows. Those depend on the worker's pseudonym
/// key: hashed in, a date billed before the key was set (or before it was rotated) conflicted on
/// its re-run, and a saga stopped between its charge and its record could never finish.
pub(super) fn charge_request(p: &PaymentInput) -> serde_json::Value {
    serde_json::to_value(business_fields(p)).expect("plain struct")
}

fn business_fields(p: &PaymentInput) -> PaymentInput {
    PaymentInput { customer_ref: String::new(), invoice_ref: String::new(), ..p.clone() }
}

/// The request `key` was claimed under: [`charge_request`], or — for a key claimed by a worker
/// that still hashed the pseudonyms in (rows before this change, written with the same key) —
/// the whole bill, so those replay instead of conflicting. Only bills that carry pseudonyms pay
/// for the extra read.
pub(super) async fn claimed_charge_request(
    ledger: &Ledger,
    key: &str,
    p: &PaymentInput,
) -> Result<serde_json::Value, ActivityError> {
    let request = charge_request(p);
    if p.customer_ref.is_empty() && p.invoice_ref.is_empty() {
        return Ok(request);
    }
    let whole = serde_json::to_value(p).expect("plain struct");
    let entry = ledger.entry(key).await.map_err(failure::from_ledger)?;
    Ok(if entry.is_some_and(|e| e.request_hash == request_hash(&whole)) { whole } else { request })
}

/// The ledger request of a refund.
pub(super) fn refund_request(input: &RefundInput) -> serde_json::Value {
    json!({ "invoice_id": input.invoice_id, "charge_id": input.charge_id })
}

/// Refuses to charge a bill that is not an invoice punctual issued: no invoice row under its ID,
/// or a row for another customer, date (the invoice's, or the date its period starts with) or
/// amount. `PaymentSagaWorkflow` takes its bill as input,
/// so a typo in `temporal workflow start` would otherwise move money (a charge, then its refund)
/// before anything noticed. Checked before the ledger claim, so a refusal leaves no claimed key.
pub(super) async fn check_issued(ledger: &Ledger, p: &PaymentInput) -> Result<InvoiceStatus, ActivityError> {
    let row = sqlx::query("SELECT customer_id, business_date, amount_cents, status FROM invoices WHERE id = $1")
        .bind(&p.invoice_id)
        .fetch_optional(ledger.pool())
        .await
        .map_err(|e| failure::retryable(format!("reading invoice: {e}")))?;
    let refuse = |message: String| Err(failure::permanent(INVALID_INPUT, message));
    let Some(row) = row else {
        return refuse(format!(
            "field `invoice_id` must name an invoice punctual issued, got `{}`: no such invoice (nothing charged)",
            p.invoice_id
        ));
    };
    let read = |e: sqlx::Error| failure::retryable(format!("reading invoice: {e}"));
    let customer: String = row.try_get("customer_id").map_err(read)?;
    let date: String = row.try_get("business_date").map_err(read)?;
    let amount: i64 = row.try_get("amount_cents").map_err(read)?;
    let status: String = row.try_get("status").map_err(read)?;
    let invoice = &p.invoice_id;
    if customer != p.customer_id {
        return refuse(format!(
            "field `customer_id` must be invoice {invoice}'s customer `{customer}`, got `{}` (nothing charged)",
            p.customer_id
        ));
    }
    // A fire's invoice carries its period (`2026-12-08T10:00:05`, or `2026-11-01/repeat` for the
    // second pass of a repeated hour), its saga the fire's date.
    let same_day = date == p.business_date
        || date.strip_prefix(p.business_date.as_str()).is_some_and(|rest| rest.starts_with('T') || rest.starts_with('/'));
    if !same_day {
        return refuse(format!(
            "field `business_date` must be invoice {invoice}'s date {date}, got {} (nothing charged)",
            p.business_date
        ));
    }
    if amount != p.amount_cents {
        return refuse(format!(
            "field `amount_cents` must be invoice {invoice}'s amount {amount}, got {} (nothing charged)",
            p.amount_cents
        ));
    }
    Ok(if status == "void" { InvoiceStatus::Void } else { InvoiceStatus::Payable })
}

/// Whether an issued invoice may still be charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InvoiceStatus {
    /// `open` or `paid` (a paid one's charge replays from the ledger).
    Payable,
    /// Voided by a compensation: never charged anew.
    Void,
}

/// `ChargeInvoice`: once per `charge/{invoice}`, for an invoice punctual issued ([`check_issued`]).
pub(super) async fn charge(
    ledger: &Ledger,
    provider: &ProviderClient,
    caller: &Caller,
    p: &PaymentInput,
) -> Result<Charge, ActivityError> {
    let status = check_issued(ledger, p).await?;
    let key = keys::charge(&p.invoice_id);
    // A voided bill is not charged anew: a saga that failed and compensated, run again by a
    // re-run of its date, would otherwise charge a bill that no longer exists and refund it.
    // A charge already made replays (its compensation then replays too).
    if status == InvoiceStatus::Void && !charge_recorded(ledger, &key).await? {
        return Err(voided(&p.invoice_id));
    }
    let record = match ledger
        .claim_external::<ChargeRecord>(&key, &claimed_charge_request(ledger, &key, p).await?, caller)
        .await
        .map_err(failure::from_ledger)?
    {
        Claim::Done(record) => {
            tracing::info!(business_key = %key, "charge already made: replaying the recorded outcome");
            record
        }
        Claim::Proceed { attempts, first_attempt } => {
            tracing::info!(business_key = %key, attempts, "charging");
            let record = charge_at_provider(provider, &key, p, first_attempt).await.map_err(failure::from_call)?;
            ledger.complete_external(&key, &record).await.map_err(failure::from_ledger)?;
            record
        }
    };
    record.into_charge(&p.invoice_id)
}

/// Charges `p` at the provider under `key` and returns what to record. A claim taken again (an
/// earlier attempt may have charged and lost the answer) first asks the provider for a charge of
/// the invoice: the provider forgets idempotency keys (Stripe after 24 hours), and a retry after
/// that — a 401 retried over a weekend, a re-run of a date days later — would charge a second
/// time under the same key. A charge found is recorded as made; one for another amount, or only
/// a refunded one, is a conflict for a person.
pub(super) async fn charge_at_provider(
    provider: &ProviderClient,
    key: &str,
    p: &PaymentInput,
    first_attempt: bool,
) -> Result<ChargeRecord, CallError> {
    let found = if first_attempt { vec![] } else { provider.charges_of(&p.invoice_id).await? };
    // A refunded charge (a person settled an earlier stray one) is not this bill's payment.
    let (refunded, held): (Vec<_>, Vec<_>) = found.into_iter().partition(|c| c.refunded);
    if let Some(found) = held.into_iter().next() {
        if found.amount_cents != p.amount_cents {
            return Err(conflict_found(format!(
                "the provider holds charge {} of {} cents for {}, this bill is {} cents",
                found.id, found.amount_cents, p.invoice_id, p.amount_cents
            )));
        }
        tracing::warn!(business_key = %key, charge_id = %found.id, "the provider already holds this invoice's charge: recorded, not made again");
        return Ok(ChargeRecord::Charged { charge_id: found.id });
    }
    if let Some(gone) = refunded.first() {
        // Charged once already and refunded since: charging again is for a person to decide.
        return Err(conflict_found(format!(
            "the provider holds charge {} for {}, refunded ({}): not charged again",
            gone.id,
            p.invoice_id,
            gone.refund_id.as_deref().unwrap_or("refund id unknown")
        )));
    }
    ChargeRecord::from_answer(provider.charge(key, p).await)
}

/// What the retry check found at the provider and will not settle by itself: an idempotency
/// conflict (the saga stops with nothing undone), in punctual's words, not the provider's.
fn conflict_found(detail: String) -> CallError {
    CallError::Rejected {
        service: "punctual's check of the provider's charges",
        status: 409,
        detail: format!("idempotency: {detail}"),
    }
}

/// Refunds `charge_id` under `key`. Like [`charge_at_provider`], a claim taken again first looks
/// for the refund at the provider, whose memory of the key may be gone.
pub(super) async fn refund_at_provider(
    provider: &ProviderClient,
    key: &str,
    input: &RefundInput,
    first_attempt: bool,
) -> Result<String, CallError> {
    if !first_attempt {
        let charges = provider.charges_of(&input.invoice_id).await?;
        let refunded = charges.into_iter().find(|c| c.id == input.charge_id && c.refunded).and_then(|c| c.refund_id);
        if let Some(refund_id) = refunded {
            tracing::warn!(business_key = %key, %refund_id, "the provider already holds this refund: recorded, not made again");
            return Ok(refund_id);
        }
    }
    provider.refund(key, &input.charge_id).await
}

/// The refusal to charge a voided bill.
pub(super) fn voided(invoice: &str) -> ActivityError {
    failure::permanent(
        INVOICE_VOID,
        format!("invoice {invoice} was voided: a voided bill is not charged (bill the customer anew)"),
    )
}

/// The invoices of `bills` that must not be charged: voided, with no charge or decline recorded
/// to replay. What [`charge`] refuses one by one, for a bulk step's page at once.
pub(super) async fn voided_uncharged(ledger: &Ledger, bills: &[PaymentInput]) -> Result<Vec<String>, ActivityError> {
    let ids: Vec<&str> = bills.iter().map(|b| b.invoice_id.as_str()).collect();
    let mut void = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id FROM invoices WHERE status = 'void' AND id IN ({})",
            crate::zone_names::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        void.extend(query.fetch_all(ledger.pool()).await.map_err(|e| failure::retryable(format!("reading invoices: {e}")))?);
    }
    let mut refused = Vec::new();
    for invoice in void {
        if !charge_recorded(ledger, &keys::charge(&invoice)).await? {
            refused.push(invoice);
        }
    }
    Ok(refused)
}

/// Whether `key` holds a provider's answer to replay for a voided bill: a charge or a decline. A
/// recorded refusal of the request is not one: replaying it would fail the saga again where the
/// bill's voiding already settled it (`InvoiceVoid`).
async fn charge_recorded(ledger: &Ledger, key: &str) -> Result<bool, ActivityError> {
    let entry = ledger.entry(key).await.map_err(failure::from_ledger)?;
    Ok(entry.is_some_and(|e| {
        e.status == EntryStatus::Done
            && !e.result.as_ref().is_some_and(|r| matches!(serde_json::from_value(r.clone()), Ok(ChargeRecord::Rejected { .. })))
    }))
}

/// `RefundCharge`: once per `refund/{invoice}`.
pub(super) async fn refund(
    ledger: &Ledger,
    provider: &ProviderClient,
    caller: &Caller,
    input: &RefundInput,
) -> Result<EffectReceipt, ActivityError> {
    let key = keys::refund(&input.invoice_id);
    let claim = ledger.claim_external::<String>(&key, &refund_request(input), caller).await.map_err(failure::from_ledger)?;
    let (refund_id, replayed) = match claim {
        Claim::Done(refund_id) => (refund_id, true),
        Claim::Proceed { first_attempt, .. } => {
            tracing::info!(business_key = %key, "refunding");
            let refund_id = refund_at_provider(provider, &key, input, first_attempt).await.map_err(failure::from_call)?;
            ledger.complete_external(&key, &refund_id).await.map_err(failure::from_ledger)?;
            (refund_id, false)
        }
    };
    Ok(EffectReceipt { key, external_id: Some(refund_id), replayed })
}
