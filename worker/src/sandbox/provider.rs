//! The sandbox payment provider: a small Stripe look-alike whose charges and refunds are the money
//! effects punctual must make exactly once.
//!
//! `payment_method` works like Stripe's test payment methods: `pm_card_visa` and
//! `pm_card_mastercard` pay; `pm_card_chargeDeclined` and `pm_card_chargeDeclinedInsufficientFunds`
//! are declined (402 `card_error`, stored and replayed like any executed outcome).

use super::{
    answer::Answer,
    exchange::{Operation, Sandbox, handle},
    request_log::Outcome,
    routes::{common_routes, ledger_view, serve},
};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves the sandbox payment provider on `listener` until `shutdown` resolves.
///
/// Its state lives in memory only: a restart forgets every charge, refund and idempotency key.
pub async fn serve_provider(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let routes = common_routes::<Payments, PaymentFields>("/requests")
        .route("/charges", get(list_charges).post(handle::<ChargeRequest>))
        .route("/refunds", ledger_view(|payments: &Payments| payments.refunds.clone()).post(handle::<RefundRequest>));
    serve("provider", routes, listener, shutdown).await
}

/// `GET /charges`, or only one invoice's with `?invoice_id=` (Stripe lists charges filtered, or
/// searches them by metadata): how a retry finds a charge made under a key the provider forgot.
async fn list_charges(
    State(sandbox): State<Arc<Sandbox<Payments, PaymentFields>>>,
    Query(filter): Query<ChargeFilter>,
) -> Json<Vec<Charge>> {
    Json(sandbox.read_ledger(|payments| {
        payments.charges.iter().filter(|c| filter.invoice_id.as_ref().is_none_or(|id| *id == c.invoice_id)).cloned().collect()
    }))
}

/// The query of `GET /charges`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeFilter {
    invoice_id: Option<String>,
}

/// The effects: what the provider actually did.
#[derive(Debug, Default)]
struct Payments {
    charges: Vec<Charge>,
    refunds: Vec<Refund>,
}

#[derive(Debug, Clone, Serialize)]
struct Charge {
    id: String,
    invoice_id: String,
    customer_id: String,
    amount_cents: i64,
    idempotency_key: String,
    refunded: bool,
    refund_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Refund {
    id: String,
    charge_id: String,
    amount_cents: i64,
    idempotency_key: String,
}

/// The provider's request-log fields; null where they do not apply.
#[derive(Debug, Clone, Default, Serialize)]
struct PaymentFields {
    invoice_id: Option<String>,
    customer_id: Option<String>,
    charge_id: Option<String>,
    amount_cents: Option<i64>,
}

impl Charge {
    fn fields(&self) -> PaymentFields {
        PaymentFields {
            invoice_id: Some(self.invoice_id.clone()),
            customer_id: Some(self.customer_id.clone()),
            charge_id: Some(self.id.clone()),
            amount_cents: Some(self.amount_cents),
        }
    }
}

/// What a test payment method does.
enum TestCard {
    Pays,
    Declines { decline_code: &'static str },
}

fn test_card(payment_method: &str) -> Option<TestCard> {
    match payment_method {
        "pm_card_visa" | "pm_card_mastercard" => Some(TestCard::Pays),
        "pm_card_chargeDeclined" => Some(TestCard::Declines { decline_code: "generic_decline" }),
        "pm_card_chargeDeclinedInsufficientFunds" => Some(TestCard::Declines { decline_code: "insufficient_funds" }),
        _ => None,
    }
}

/// `POST /charges`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ChargeRequest {
    invoice_id: String,
    customer_id: String,
    amount_cents: i64,
    payment_method: String,
}

impl Operation for ChargeRequest {
    type Ledger = Payments;
    type Fields = PaymentFields;
    const ENDPOINT: &'static str = "POST /charges";

    fn fields(&self) -> PaymentFields {
        PaymentFields {
            invoice_id: Some(self.invoice_id.clone()),
            customer_id: Some(self.customer_id.clone()),
            charge_id: None,
            amount_cents: Some(self.amount_cents),
        }
    }

    fn execute(&self, key: &str, payments: &mut Payments) -> Result<Answer<PaymentFields>, Answer<PaymentFields>> {
        if self.amount_cents <= 0 {
            let message = "amount_cents must be a positive integer number of cents";
            return Err(Answer::invalid("parameter_invalid_integer", message, self.fields()));
        }
        let Some(card) = test_card(&self.payment_method) else {
            let message = format!("No such PaymentMethod: '{}'; use pm_card_visa or pm_card_chargeDeclined", self.payment_method);
            return Err(Answer::invalid("resource_missing", message, self.fields()));
        };
        if let TestCard::Declines { decline_code } = card {
            let mut declined = Answer::error(
                StatusCode::PAYMENT_REQUIRED,
                "card_error",
                "card_declined",
                "Your card was declined.",
                Outcome::Declined,
                self.fields(),
            );
            declined.body["error"]["decline_code"] = json!(decline_code);
            return Ok(declined);
        }
        let charge = Charge {
            id: format!("ch_{}", payments.charges.len() + 1),
            invoice_id: self.invoice_id.clone(),
            customer_id: self.customer_id.clone(),
            amount_cents: self.amount_cents,
            idempotency_key: key.to_owned(),
            refunded: false,
            refund_id: None,
        };
        let body = json!({
            "id": charge.id,
            "object": "charge",
            "invoice_id": charge.invoice_id,
            "customer_id": charge.customer_id,
            "amount_cents": charge.amount_cents,
            "status": "succeeded",
            "refunded": false,
        });
        let fields = charge.fields();
        payments.charges.push(charge);
        Ok(Answer::ok(body, Outcome::Succeeded, fields))
    }
}

/// `POST /refunds`: refunds a whole charge.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RefundRequest {
    charge_id: String,
}

impl Operation for RefundRequest {
    type Ledger = Payments;
    type Fields = PaymentFields;
    const ENDPOINT: &'static str = "POST /refunds";

    fn fields(&self) -> PaymentFields {
        PaymentFields { charge_id: Some(self.charge_id.clone()), ..PaymentFields::default() }
    }

    fn execute(&self, key: &str, payments: &mut Payments) -> Result<Answer<PaymentFields>, Answer<PaymentFields>> {
        let Some(charge) = payments.charges.iter_mut().find(|charge| charge.id == self.charge_id) else {
            return Err(Answer::error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "resource_missing",
                format!("No such charge: '{}'", self.charge_id),
                Outcome::NotFound,
                self.fields(),
            ));
        };
        if charge.refunded {
            return Ok(Answer::error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "charge_already_refunded",
                format!("Charge {} has already been refunded.", charge.id),
                Outcome::AlreadyRefunded,
                charge.fields(),
            ));
        }
        let refund = Refund {
            id: format!("re_{}", payments.refunds.len() + 1),
            charge_id: charge.id.clone(),
            amount_cents: charge.amount_cents,
            idempotency_key: key.to_owned(),
        };
        charge.refunded = true;
        charge.refund_id = Some(refund.id.clone());
        let body = json!({
            "id": refund.id,
            "object": "refund",
            "charge_id": refund.charge_id,
            "amount_cents": refund.amount_cents,
            "status": "succeeded",
        });
        let fields = charge.fields();
        payments.refunds.push(refund);
        Ok(Answer::ok(body, Outcome::Refunded, fields))
    }
}
