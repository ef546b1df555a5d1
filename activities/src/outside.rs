//! HTTP clients for the outside world: the payment provider and the notification sink.
//!
//! Both accept an `Idempotency-Key` header (Stripe's contract): the business key is passed as
//! that key, so the provider itself collapses repeated attempts — including the worst case of a
//! charge committed whose response never reached us.

use punctual_workflows::billing::types::PaymentInput;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How long one HTTP call may take before the attempt is treated as lost (and retried).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call did not produce an answer we can act on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Transport error, timeout, 5xx: the outcome is unknown; retrying with the same key is safe.
    #[error("{service} unavailable: {detail}")]
    Transient { service: &'static str, detail: String },
    /// The service refused the request as such (4xx): retrying cannot help.
    #[error("{service} rejected the request ({status}): {detail}")]
    Rejected { service: &'static str, status: u16, detail: String },
}

impl CallError {
    /// Whether the service refused because the idempotency key was first used with other
    /// parameters: the key may already stand for an effect, which only a person can settle.
    pub fn is_idempotency_conflict(&self) -> bool {
        matches!(self, Self::Rejected { status, detail, .. } if idempotency_conflict(*status, detail))
    }
}

/// Whether a refusal with `status` and body `detail` is an idempotency conflict (see
/// [`CallError::is_idempotency_conflict`]).
pub fn idempotency_conflict(status: u16, detail: &str) -> bool {
    matches!(status, 400 | 409 | 422) && detail.contains("idempotency")
}

/// Whether an answer that is not a success means "not now" rather than "never": a server error;
/// 408 and 425 (the server gave up on or deferred the request); 429 (rate limited: Stripe asks
/// for a retry with backoff); 409 `idempotency_key_in_use` (an earlier attempt under the same key
/// is still being processed, as when our call timed out and the retry overtook it); 401 (the API
/// key expired or was rolled: a person fixes it and the retries go on, where a refusal would have
/// voided every bill of the run) and 403 (a key without a permission it needs: the same, and
/// a refused receipt would otherwise refund every paid bill of the run). A 401 or 403 that never
/// clears holds its step up, retried every 20 s at most, visible as failing attempts, until a
/// person acts: nothing is lost or undone meanwhile.
fn retry_later(status: StatusCode, body: &str) -> bool {
    status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::TOO_EARLY
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
        )
        || (status == StatusCode::CONFLICT && body.contains("idempotency_key_in_use"))
}

/// Whether a refusal says the request itself is wrong (400, 422, in the provider's own JSON error
/// shape `{"error": {"type": ...}}`): nothing was done, and the same request under the same key
/// will be refused the same way, so it may be recorded as the key's outcome. Other refusals (404
/// from a wrong base URL, a proxy's plain-text 400, a 3xx) say more about where the request went
/// than about the request, and leave the key open.
pub fn request_refused(status: u16, detail: &str) -> bool {
    let providers_error =
        serde_json::from_str::<Value>(detail).is_ok_and(|body| body["error"]["type"].as_str().is_some_and(|t| !t.is_empty()));
    matches!(status, 400 | 422) && providers_error && !idempotency_conflict(status, detail)
}

/// What the provider decided about a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeReply {
    /// The charge exists at the provider.
    Charged { charge_id: String },
    /// The card was declined (a stored, replayable business outcome).
    Declined { message: String },
}

/// One charge as the provider lists it (`GET /charges`), refund state included.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderCharge {
    /// Provider charge id (`ch_...`).
    pub id: String,
    /// Invoice the charge was made for.
    pub invoice_id: String,
    /// Customer charged.
    pub customer_id: String,
    /// Amount charged, in cents.
    pub amount_cents: i64,
    /// Whether the charge was refunded (in full).
    pub refunded: bool,
    /// The refund, if any.
    #[serde(default)]
    pub refund_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdReply {
    id: String,
}

/// A client for one idempotent JSON-over-HTTP service.
#[derive(Debug, Clone)]
struct Service {
    name: &'static str,
    http: reqwest::Client,
    base: String,
}

impl Service {
    fn new(name: &'static str, base: &str) -> Result<Self, CallError> {
        // No redirects: a 301/302 turns a POST into a GET, whose 200 (a list, no id) would pass
        // for an answer to the POST. A redirect is refused instead, naming where it pointed.
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CallError::Transient { service: name, detail: e.to_string() })?;
        Ok(Self { name, http, base: base.trim_end_matches('/').to_owned() })
    }

    /// POSTs `body` with `key` as Idempotency-Key; returns the status and parsed JSON body.
    async fn post(&self, path: &str, key: &str, body: &Value) -> Result<(StatusCode, Value), CallError> {
        let transient = |detail: String| CallError::Transient { service: self.name, detail };
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .map_err(|e| transient(format!("POST {path}: {e}")))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transient(format!("POST {path} body: {e}")))?;
        if retry_later(status, &text) {
            return Err(transient(format!("POST {path} answered {status}: {text}")));
        }
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, json))
    }

    /// GETs `path` and parses its JSON body as `T`. Reads are safe to repeat: no key needed.
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let transient = |detail: String| CallError::Transient { service: self.name, detail };
        let response =
            self.http.get(format!("{}{path}", self.base)).send().await.map_err(|e| transient(format!("GET {path}: {e}")))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transient(format!("GET {path} body: {e}")))?;
        if retry_later(status, &text) {
            return Err(transient(format!("GET {path} answered {status}: {text}")));
        }
        if !status.is_success() {
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Err(self.rejected(status, &body));
        }
        serde_json::from_str(&text).map_err(|e| transient(format!("GET {path} answered unreadable JSON ({e}): {text}")))
    }

    fn rejected(&self, status: StatusCode, body: &Value) -> CallError {
        CallError::Rejected { service: self.name, status: status.as_u16(), detail: body.to_string() }
    }
}

/// The payment provider (`PUNCTUAL_PROVIDER_URL`).
#[derive(Debug, Clone)]
pub struct ProviderClient(Service);

impl ProviderClient {
    /// A client for the provider at `base_url` (e.g. `http://127.0.0.1:8081`).
    pub fn new(base_url: &str) -> Result<Self, CallError> {
        Service::new("payment provider", base_url).map(Self)
    }

    /// Charges an invoice under idempotency key `key`.
    pub async fn charge(&self, key: &str, p: &PaymentInput) -> Result<ChargeReply, CallError> {
        let body = json!({
            "invoice_id": p.invoice_id,
            "customer_id": p.customer_id,
            "amount_cents": p.amount_cents,
            "payment_method": p.payment_method,
        });
        let (status, reply) = self.0.post("/charges", key, &body).await?;
        match status {
            StatusCode::OK | StatusCode::CREATED => Ok(ChargeReply::Charged { charge_id: id_of(&self.0, status, reply)? }),
            // Accepted but not done, or no body: whether a charge exists is unknown; asking again
            // under the same key gets the provider's final answer.
            status if status.is_success() => {
                Err(CallError::Transient { service: self.0.name, detail: format!("POST /charges answered {status}: {reply}") })
            }
            StatusCode::PAYMENT_REQUIRED => {
                Ok(ChargeReply::Declined { message: reply["error"]["message"].as_str().unwrap_or("card declined").to_owned() })
            }
            _ => Err(self.0.rejected(status, &reply)),
        }
    }

    /// The charges the provider holds for `invoice` (`GET /charges?invoice_id=`, Stripe's list
    /// filtered by the invoice): what an earlier attempt made, when its key is long forgotten.
    pub async fn charges_of(&self, invoice: &str) -> Result<Vec<ProviderCharge>, CallError> {
        let charges: Vec<ProviderCharge> = self.0.get(&format!("/charges?invoice_id={}", query_value(invoice))).await?;
        Ok(charges.into_iter().filter(|c| c.invoice_id == invoice).collect())
    }

    /// Every charge the provider holds, with its refund state (`GET /charges`).
    pub async fn charges(&self) -> Result<Vec<ProviderCharge>, CallError> {
        self.0.get("/charges").await
    }

    /// Refunds a charge under idempotency key `key`; returns the refund id.
    pub async fn refund(&self, key: &str, charge_id: &str) -> Result<String, CallError> {
        let (status, reply) = self.0.post("/refunds", key, &json!({ "charge_id": charge_id })).await?;
        if !status.is_success() {
            return Err(self.0.rejected(status, &reply));
        }
        id_of(&self.0, status, reply)
    }
}

/// `value` percent-encoded for a URL query: invoice ids of a fire's period hold `:` and `/`.
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The notification sink (`PUNCTUAL_NOTIFY_URL`).
#[derive(Debug, Clone)]
pub struct SinkClient(Service);

impl SinkClient {
    /// A client for the sink at `base_url` (e.g. `http://127.0.0.1:8082`).
    pub fn new(base_url: &str) -> Result<Self, CallError> {
        Service::new("notification sink", base_url).map(Self)
    }

    /// Delivers one notification under idempotency key `key`; returns the delivery id, or
    /// `accepted ({status})` from a sink that accepts without naming one (a 202 or 204, or an
    /// empty body: how many notification APIs say "queued"); another body without an id is
    /// refused. Asking again would get the same answer:
    /// taking it as a failure retried the receipt for ever, and held up a whole bulk page.
    pub async fn deliver(&self, key: &str, body: &Value) -> Result<String, CallError> {
        let (status, reply) = self.0.post("/deliveries", key, body).await?;
        if !status.is_success() {
            return Err(self.0.rejected(status, &reply));
        }
        let bodiless =
            matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) || reply.as_str().is_some_and(str::is_empty);
        match id_of(&self.0, status, reply) {
            Err(_) if bodiless => Ok(format!("accepted ({status})")),
            answer => answer,
        }
    }
}

/// The `id` of a success answer. One without is refused, not retried: under the same key the
/// provider replays the same answer, so a retry could never get an id. (A refused charge leaves
/// its key open and its saga stopped with nothing undone, for a person.)
fn id_of(service: &Service, status: StatusCode, reply: Value) -> Result<String, CallError> {
    serde_json::from_value::<IdReply>(reply.clone()).map(|r| r.id).map_err(|_| CallError::Rejected {
        service: service.name,
        status: status.as_u16(),
        detail: format!("answered {status} without an id: {reply}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_without_an_id_is_refused_not_retried() {
        let service = Service::new("payment provider", "http://127.0.0.1:9").unwrap();
        let answer = id_of(&service, StatusCode::OK, json!({"object": "charge"}));
        assert!(matches!(answer, Err(CallError::Rejected { status: 200, .. })), "{answer:?}");
        assert_eq!(id_of(&service, StatusCode::OK, json!({"id": "ch_1"})).unwrap(), "ch_1");
    }

    #[test]
    fn not_now_is_told_apart_from_never() {
        for status in [500, 502, 503, 408, 425, 429, 401, 403] {
            assert!(retry_later(StatusCode::from_u16(status).unwrap(), "{}"), "{status}");
        }
        let in_use = r#"{"error":{"type":"idempotency_error","code":"idempotency_key_in_use"}}"#;
        assert!(retry_later(StatusCode::CONFLICT, in_use));
        let reused = r#"{"error":{"type":"idempotency_error","code":"idempotency_key_reused"}}"#;
        for (status, body) in [(400, reused), (409, reused), (400, "{}"), (404, "{}"), (402, "{}"), (422, "{}")] {
            assert!(!retry_later(StatusCode::from_u16(status).unwrap(), body), "{status} {body}");
        }
        let conflict = CallError::Rejected { service: "payment provider", status: 400, detail: reused.to_owned() };
        assert!(conflict.is_idempotency_conflict());
        let refused =
            CallError::Rejected { service: "payment provider", status: 400, detail: "No such PaymentMethod".to_owned() };
        assert!(!refused.is_idempotency_conflict());
        let invalid = r#"{"error":{"type":"invalid_request_error","code":"resource_missing"}}"#;
        assert!(request_refused(400, invalid) && request_refused(422, invalid));
        let plain = "\"400 Bad Request: The plain HTTP request was sent to HTTPS port\"";
        for (status, body) in [(400, reused), (400, plain), (400, "{}"), (404, invalid), (403, invalid), (302, invalid)] {
            assert!(!request_refused(status, body), "{status} {body}");
        }
    }
}
