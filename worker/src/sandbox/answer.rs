//! What a sandbox answers to one POST, and how that answer (or its loss) goes on the wire.
//!
//! An [`Answer`] is both the HTTP response and what the request log should say about it, so that a
//! replayed answer is logged exactly like the original.

use super::request_log::Outcome;
use axum::{
    Json,
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// Response header set on answers replayed for a repeated idempotency key, as Stripe does.
pub(crate) const REPLAYED_HEADER: &str = "idempotent-replayed";

/// One answer: status and JSON body for the caller, outcome and fields for the request log.
#[derive(Debug, Clone)]
pub(crate) struct Answer<F> {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) outcome: Outcome,
    pub(crate) fields: F,
}

impl<F> Answer<F> {
    /// A `200 OK` answer.
    pub(crate) fn ok(body: Value, outcome: Outcome, fields: F) -> Self {
        Self { status: StatusCode::OK, body, outcome, fields }
    }

    /// A Stripe-shaped error: `{"error": {"type", "code", "message"}}`.
    pub(crate) fn error(
        status: StatusCode,
        kind: &str,
        code: &str,
        message: impl Into<String>,
        outcome: Outcome,
        fields: F,
    ) -> Self {
        let body = json!({ "error": { "type": kind, "code": code, "message": message.into() } });
        Self { status, body, outcome, fields }
    }

    /// A `400 invalid_request_error`.
    pub(crate) fn invalid(code: &str, message: impl Into<String>, fields: F) -> Self {
        Self::error(StatusCode::BAD_REQUEST, "invalid_request_error", code, message, Outcome::Invalid, fields)
    }

    /// The HTTP response for this answer; `replayed` adds `Idempotent-Replayed: true`.
    pub(crate) fn into_response(self, replayed: bool) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if replayed {
            response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        }
        response
    }
}

/// A response that never reaches the caller: its body fails on the first poll, before hyper has
/// flushed the status line, so hyper aborts the connection and the client sees a transport error
/// (connection closed before a response), exactly like a crash or network cut after the commit.
pub(crate) fn lost_response() -> Response {
    let failure = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "sandbox fault injection: response dropped");
    let body = futures::stream::once(std::future::ready(Err::<Bytes, _>(failure)));
    Response::new(Body::from_stream(body))
}
