//! The one place that decides whether an activity failure is retried.
//!
//! Inside an activity, `?` on any error gives a *retryable* failure. That is right for outages
//! (database down, provider 5xx, a lost response): every effect is keyed, so a retry is safe.
//! It is wrong for anything that can never succeed, which must fail non-retryably with a type
//! name the workflow can branch on.

use crate::ledger::LedgerError;
use crate::outside::CallError;
use punctual_workflows::failures::IDEMPOTENCY_CONFLICT;
use temporalio_sdk::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

/// Failure type of a request the provider or the sink refused as such (a 4xx that is not a
/// conflict or a "not now").
pub const PROVIDER_REJECTED: &str = "ProviderRejected";

/// A non-retryable failure of type `kind`.
pub fn permanent(kind: &str, message: impl Into<String>) -> ActivityError {
    ActivityError::application(ApplicationFailure::builder(message.into()).type_name(kind.to_owned()).non_retryable(true).build())
}

/// A retryable failure: Temporal retries it with the workflow's backoff.
pub fn retryable(message: impl Into<String>) -> ActivityError {
    ActivityError::application(ApplicationFailure::new(message.into()))
}

/// Ledger errors: a conflicting reuse of a key is permanent, an unavailable database is not.
pub fn from_ledger(err: LedgerError) -> ActivityError {
    match err {
        LedgerError::Conflict { .. } => permanent(IDEMPOTENCY_CONFLICT, err.to_string()),
        err if err.is_retryable() => retryable(err.to_string()),
        err => permanent("LedgerError", err.to_string()),
    }
}

/// Outside-world errors: unknown outcomes are retried (same key), refusals are not.
pub fn from_call(err: CallError) -> ActivityError {
    match err {
        CallError::Transient { .. } => retryable(err.to_string()),
        ref conflict if conflict.is_idempotency_conflict() => permanent(IDEMPOTENCY_CONFLICT, err.to_string()),
        CallError::Rejected { .. } => permanent(PROVIDER_REJECTED, err.to_string()),
    }
}
