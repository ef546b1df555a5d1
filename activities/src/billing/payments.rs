//! Effects at the payment provider: charges and refunds. Exactly once by passing the business
//! key as the provider's idempotency key; the ledger records intent before the call and the
//! outcome after it, so a replay never reaches the provider and the audit shows both.

use crate::failure;
use crate::ledger::{Caller, Claim, Ledger};
use crate::outside::{ChargeReply, ProviderClient};
use punctual_workflows::billing::types::*;
use punctual_workflows::failures::PAYMENT_DECLINED;
use punctual_workflows::keys;
use serde::{Deserialize, Serialize};
use serde_json::json;
use temporalio_sdk::activities::ActivityError;

/// A charge's recorded outcome: a decline is stored and replayed like a success.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(super) enum ChargeRecord {
    Charged { charge_id: String },
    Declined { message: String },
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
        }
    }
}

/// The ledger request of a charge: the whole bill.
pub(super) fn charge_request(p: &PaymentInput) -> serde_json::Value {
    serde_json::to_value(p).expect("plain struct")
}

/// The ledger request of a refund.
pub(super) fn refund_request(input: &RefundInput) -> serde_json::Value {
    json!({ "invoice_id": input.invoice_id, "charge_id": input.charge_id })
}

/// `ChargeInvoice`: once per `charge/{invoice}`.
pub(super) async fn charge(
    ledger: &Ledger,
    provider: &ProviderClient,
    caller: &Caller,
    p: &PaymentInput,
) -> Result<Charge, ActivityError> {
    let key = keys::charge(&p.invoice_id);
    let record =
        match ledger.claim_external::<ChargeRecord>(&key, &charge_request(p), caller).await.map_err(failure::from_ledger)? {
            Claim::Done(record) => {
                tracing::info!(business_key = %key, "charge already made: replaying the recorded outcome");
                record
            }
            Claim::Proceed { attempts, .. } => {
                tracing::info!(business_key = %key, attempts, "charging");
                let record = ChargeRecord::from(provider.charge(&key, p).await.map_err(failure::from_call)?);
                ledger.complete_external(&key, &record).await.map_err(failure::from_ledger)?;
                record
            }
        };
    record.into_charge(&p.invoice_id)
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
        Claim::Proceed { .. } => {
            tracing::info!(business_key = %key, "refunding");
            let refund_id = provider.refund(&key, &input.charge_id).await.map_err(failure::from_call)?;
            ledger.complete_external(&key, &refund_id).await.map_err(failure::from_ledger)?;
            (refund_id, false)
        }
    };
    Ok(EffectReceipt { key, external_id: Some(refund_id), replayed })
}
