//! Effects at the notification sink: receipts. Exactly once by the sink's idempotency key.

use crate::failure;
use crate::ledger::{Caller, Claim, Ledger};
use crate::outside::SinkClient;
use punctual_workflows::billing::types::*;
use punctual_workflows::keys;
use serde_json::json;
use temporalio_sdk::activities::ActivityError;

/// `SendReceipt`: once per `notify/{invoice}/email`.
pub(super) async fn send(
    ledger: &Ledger,
    sink: &SinkClient,
    caller: &Caller,
    input: &ReceiptInput,
) -> Result<EffectReceipt, ActivityError> {
    let key = receipt_key(input);
    let body = receipt_body(input);
    let (delivery_id, replayed) =
        match ledger.claim_external::<String>(&key, &body, caller).await.map_err(failure::from_ledger)? {
            Claim::Done(id) => (id, true),
            Claim::Proceed { .. } => {
                let id = sink.deliver(&key, &body).await.map_err(failure::from_call)?;
                ledger.complete_external(&key, &id).await.map_err(failure::from_ledger)?;
                (id, false)
            }
        };
    Ok(EffectReceipt { key, external_id: Some(delivery_id), replayed })
}

/// The ledger and sink key of a receipt.
pub(super) fn receipt_key(input: &ReceiptInput) -> String {
    keys::receipt(&input.invoice_id)
}

/// What the sink delivers for a receipt (also its ledger request).
pub(super) fn receipt_body(input: &ReceiptInput) -> serde_json::Value {
    json!({
        "invoice_id": input.invoice_id,
        "customer_id": input.customer_id,
        "channel": keys::RECEIPT_CHANNEL,
        "kind": "receipt",
        "message": format!("Payment of {} cents received for {}", input.amount_cents, input.invoice_id),
    })
}
