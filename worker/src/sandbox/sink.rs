//! The notification sink: stands in for the e-mail/SMS gateway, so customer notifications are
//! effects that can be counted — a customer told twice is a bug the tests must see.

use super::{
    answer::Answer,
    exchange::{Operation, handle},
    request_log::Outcome,
    routes::{common_routes, ledger_view, serve},
};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use tokio::net::TcpListener;

/// Serves the notification sink on `listener` until `shutdown` resolves.
///
/// Its state lives in memory only: a restart forgets every delivery and idempotency key.
pub async fn serve_sink(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let routes = common_routes::<Deliveries, DeliveryFields>("/deliveries")
        .route("/deliveries", post(handle::<DeliveryRequest>))
        .route("/delivered", ledger_view(|deliveries: &Deliveries| deliveries.made.clone()));
    serve("sink", routes, listener, shutdown).await
}

/// The effects: the notifications actually delivered.
#[derive(Debug, Default)]
struct Deliveries {
    made: Vec<Delivery>,
}

#[derive(Debug, Clone, Serialize)]
struct Delivery {
    id: String,
    invoice_id: String,
    customer_id: String,
    channel: String,
    kind: String,
    message: String,
    idempotency_key: String,
}

/// The sink's request-log fields; null where they do not apply. The message text is left out.
#[derive(Debug, Clone, Default, Serialize)]
struct DeliveryFields {
    invoice_id: Option<String>,
    customer_id: Option<String>,
    channel: Option<String>,
    kind: Option<String>,
    delivery_id: Option<String>,
}

/// `POST /deliveries`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DeliveryRequest {
    invoice_id: String,
    customer_id: String,
    channel: String,
    kind: String,
    message: String,
}

impl Operation for DeliveryRequest {
    type Ledger = Deliveries;
    type Fields = DeliveryFields;
    const ENDPOINT: &'static str = "POST /deliveries";

    fn fields(&self) -> DeliveryFields {
        DeliveryFields {
            invoice_id: Some(self.invoice_id.clone()),
            customer_id: Some(self.customer_id.clone()),
            channel: Some(self.channel.clone()),
            kind: Some(self.kind.clone()),
            delivery_id: None,
        }
    }

    fn execute(&self, key: &str, deliveries: &mut Deliveries) -> Result<Answer<DeliveryFields>, Answer<DeliveryFields>> {
        let delivery = Delivery {
            id: format!("dl_{}", deliveries.made.len() + 1),
            invoice_id: self.invoice_id.clone(),
            customer_id: self.customer_id.clone(),
            channel: self.channel.clone(),
            kind: self.kind.clone(),
            message: self.message.clone(),
            idempotency_key: key.to_owned(),
        };
        let body = json!({
            "id": delivery.id,
            "object": "delivery",
            "invoice_id": delivery.invoice_id,
            "customer_id": delivery.customer_id,
            "channel": delivery.channel,
            "kind": delivery.kind,
            "message": delivery.message,
            "status": "delivered",
        });
        let fields = DeliveryFields { delivery_id: Some(delivery.id.clone()), ..self.fields() };
        deliveries.made.push(delivery);
        Ok(Answer::ok(body, Outcome::Delivered, fields))
    }
}
