//! `punctual codec-server`: Temporal's remote codec protocol over [`EncryptionCodec`], so the Web
//! UI (`temporal server start-dev --ui-codec-endpoint URL`, or the UI's "Codec Server" setting)
//! and the CLI (`temporal ... --codec-endpoint URL`) show encrypted payloads decrypted.
//!
//! - `POST /decode` and `POST /encode` take and return `{"payloads": [...]}` in the proto JSON
//!   form the UI and CLI send (`metadata` values and `data` in base64).
//! - Browsers call it cross-origin from the UI, so `OPTIONS` preflights are answered and
//!   `Access-Control-Allow-Origin` is echoed for the configured UI origins only.
//! - Anyone who can reach it reads every payload: it binds loopback by default and can require
//!   an `Authorization` header (the UI's "pass access token" and the CLI's `--codec-auth`).

use super::EncryptionCodec;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::sync::Arc;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use tokio::net::TcpListener;

/// What the server needs: the keys, who may call it, and from which UI origins.
#[derive(Clone)]
pub struct CodecServer {
    codec: EncryptionCodec,
    /// The exact `Authorization` header value required, if any.
    auth: Option<Arc<str>>,
    /// Origins allowed to call from a browser, e.g. `http://localhost:8233`.
    origins: Arc<[String]>,
}

#[derive(Clone, Copy)]
enum Direction {
    Decode,
    Encode,
}

impl CodecServer {
    /// A server over `codec`, requiring `auth` as the `Authorization` header when set.
    pub fn new(codec: EncryptionCodec, auth: Option<String>, origins: Vec<String>) -> Self {
        Self { codec, auth: auth.map(Into::into), origins: origins.into() }
    }

    /// The routes, for [`CodecServer::serve`] and for tests.
    pub fn router(self) -> Router {
        Router::new()
            .route("/decode", post(|s, h, b| handle(s, h, b, Direction::Decode)).options(preflight))
            .route("/encode", post(|s, h, b| handle(s, h, b, Direction::Encode)).options(preflight))
            .with_state(self)
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await
    }

    fn cors(&self, request: &HeaderMap) -> Vec<(header::HeaderName, HeaderValue)> {
        let Some(origin) = request.get(header::ORIGIN) else { return Vec::new() };
        if !self.origins.iter().any(|o| o.as_bytes() == origin.as_bytes()) {
            return Vec::new();
        }
        vec![
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()),
            (header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true")),
            (header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS")),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type, X-Namespace, Authorization")),
            (header::VARY, HeaderValue::from_static("Origin")),
        ]
    }

    fn authorized(&self, request: &HeaderMap) -> bool {
        match &self.auth {
            None => true,
            Some(want) => request.get(header::AUTHORIZATION).is_some_and(|got| got.as_bytes() == want.as_bytes()),
        }
    }
}

async fn preflight(State(server): State<CodecServer>, headers: HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().extend(server.cors(&headers));
    response
}

async fn handle(State(server): State<CodecServer>, headers: HeaderMap, body: Bytes, direction: Direction) -> Response {
    let cors = server.cors(&headers);
    let (status, answer) = if !server.authorized(&headers) {
        (StatusCode::UNAUTHORIZED, json!({ "error": "missing or wrong Authorization header (PUNCTUAL_CODEC_AUTH)" }))
    } else {
        match transform(&server.codec, &body, direction) {
            Ok(payloads) => (StatusCode::OK, json!({ "payloads": payloads })),
            Err(message) => {
                tracing::warn!(error = %message, "codec request refused");
                (StatusCode::BAD_REQUEST, json!({ "error": message }))
            }
        }
    };
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], answer.to_string()).into_response();
    response.headers_mut().extend(cors);
    response
}

/// Decodes or encodes every payload of a request body; the error names what is wrong.
fn transform(codec: &EncryptionCodec, body: &[u8], direction: Direction) -> Result<Vec<Value>, String> {
    let request: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let payloads = request.get("payloads").and_then(Value::as_array).ok_or("body must be {\"payloads\": [...]}")?;
    payloads
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let payload = from_json(value).map_err(|e| format!("payloads[{i}]: {e}"))?;
            let done = match direction {
                Direction::Decode => codec.decrypt(payload),
                Direction::Encode => codec.encrypt(payload),
            };
            done.map(|p| to_json(&p)).map_err(|e| format!("payloads[{i}]: {e}"))
        })
        .collect()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A payload from its proto JSON form.
fn from_json(value: &Value) -> Result<Payload, String> {
    let decode = |field: &str, text: &Value| {
        text.as_str().and_then(|t| b64().decode(t).ok()).ok_or_else(|| format!("`{field}` is not base64 text"))
    };
    let mut payload = Payload::default();
    if let Some(metadata) = value.get("metadata") {
        let metadata = metadata.as_object().ok_or("`metadata` is not an object")?;
        for (key, text) in metadata {
            payload.metadata.insert(key.clone(), decode(&format!("metadata.{key}"), text)?);
        }
    }
    if let Some(data) = value.get("data") {
        payload.data = decode("data", data)?;
    }
    Ok(payload)
}

/// A payload in its proto JSON form.
fn to_json(payload: &Payload) -> Value {
    let metadata: Map<String, Value> =
        payload.metadata.iter().map(|(k, v)| (k.clone(), Value::String(b64().encode(v)))).collect();
    json!({ "metadata": metadata, "data": b64().encode(&payload.data) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::KeyRing;

    fn codec() -> EncryptionCodec {
        EncryptionCodec::new(KeyRing::with_current("k1", [7; 32]).unwrap())
    }

    #[test]
    fn encode_then_decode_round_trips_the_json_form() {
        let plain = json!({ "metadata": { "encoding": b64().encode("json/plain") }, "data": b64().encode("{\"customer_id\":\"C00042\"}") });
        let body = json!({ "payloads": [plain.clone()] }).to_string();
        let sealed = transform(&codec(), body.as_bytes(), Direction::Encode).unwrap();
        assert_ne!(sealed[0], plain);
        assert!(!sealed[0].to_string().contains(&b64().encode("C00042")));
        let body = json!({ "payloads": sealed }).to_string();
        assert_eq!(transform(&codec(), body.as_bytes(), Direction::Decode).unwrap(), vec![plain]);
    }

    #[test]
    fn bad_requests_name_the_problem() {
        assert!(transform(&codec(), b"nope", Direction::Decode).unwrap_err().contains("not JSON"));
        assert!(transform(&codec(), b"{}", Direction::Decode).unwrap_err().contains("payloads"));
        let err = transform(&codec(), br#"{"payloads":[{"data":"%%"}]}"#, Direction::Decode).unwrap_err();
        assert!(err.contains("payloads[0]") && err.contains("data"), "{err}");
        let other = EncryptionCodec::new(KeyRing::with_current("k2", [8; 32]).unwrap());
        let sealed = transform(&other, br#"{"payloads":[{"data":"e30="}]}"#, Direction::Encode).unwrap();
        let err = transform(&codec(), json!({ "payloads": sealed }).to_string().as_bytes(), Direction::Decode).unwrap_err();
        assert!(err.contains("`k2`"), "{err}");
    }
}
