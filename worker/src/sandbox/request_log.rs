//! Every request a sandbox received, duplicates and failures included, as the outside world saw it.
//!
//! The effect lists (`/charges`, `/delivered`) say what happened; this log says what was *asked*
//! and what the caller got back, so a verifier can tell a retry that was replayed from one that
//! executed twice.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// A charge was made.
    Succeeded,
    /// The payment method declined the charge; nothing was charged.
    Declined,
    /// A refund was made.
    Refunded,
    /// The charge had already been refunded under another key; nothing was refunded.
    AlreadyRefunded,
    /// A notification was delivered.
    Delivered,
    /// A `fail_next` fault answered 503 before anything was looked at or committed.
    #[serde(rename = "injected_5xx")]
    Injected5xx,
    /// A `rate_limit_next` fault answered 429 before anything was looked at or committed.
    RateLimited,
    /// A `drop_next` fault: the request was processed (and whatever it did is committed) but the
    /// connection was aborted instead of answering.
    CommittedResponseDropped,
    /// The idempotency key was first used with other parameters.
    IdempotencyConflict,
    /// The request was malformed (missing key, bad body, unknown payment method...).
    Invalid,
    /// The request named something that does not exist.
    NotFound,
}

/// One line of the log; `F` holds the service's own fields (invoice, charge, channel...).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LogEntry<F> {
    /// `"POST /charges"` and the like.
    pub(crate) endpoint: &'static str,
    /// The `Idempotency-Key` header, if one was sent.
    pub(crate) idempotency_key: Option<String>,
    #[serde(flatten)]
    pub(crate) fields: F,
    /// When the request arrived (before any injected latency).
    pub(crate) received_at: DateTime<Utc>,
    pub(crate) outcome: Outcome,
    /// Whether the answer was a stored one, replayed for a repeated idempotency key.
    pub(crate) replay: bool,
    /// HTTP status sent back; `None` when the response was dropped.
    pub(crate) status: Option<u16>,
}

/// An entry with its 1-based position in the order the server processed requests.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Numbered<F> {
    seq: u64,
    #[serde(flatten)]
    entry: LogEntry<F>,
}

/// The log itself, append-only, in processing order.
#[derive(Debug)]
pub(crate) struct RequestLog<F> {
    entries: Vec<Numbered<F>>,
}

impl<F> Default for RequestLog<F> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<F> RequestLog<F> {
    /// Appends `entry`, giving it the next sequence number.
    pub(crate) fn record(&mut self, entry: LogEntry<F>) {
        let seq = self.entries.len() as u64 + 1;
        self.entries.push(Numbered { seq, entry });
    }

    /// Every entry so far, oldest first.
    pub(crate) fn entries(&self) -> &[Numbered<F>] {
        &self.entries
    }
}
