//! Failure types that cross the activity → workflow boundary, named once.

use temporalio_common::error::IncomingError;
use temporalio_sdk::{ActivityExecutionError, ChildWorkflowExecutionError};

/// The card was declined: a business outcome, never retried.
pub const PAYMENT_DECLINED: &str = "PaymentDeclined";
/// The customer's account is closed: payments cannot be recorded, never retried.
pub const ACCOUNT_CLOSED: &str = "AccountClosed";
/// The invoice was voided (its payment refused, its charge refunded): a voided bill is never
/// paid again, even if its account reopens. A business outcome, never retried.
pub const INVOICE_VOID: &str = "InvoiceVoid";
/// The same business key was used with different parameters: never retried.
pub const IDEMPOTENCY_CONFLICT: &str = "IdempotencyConflict";
/// The payment provider refused the charge request as such, in its own error shape (400 or 422:
/// an unknown payment method, say), and the refusal is recorded under the charge's key: nothing
/// was charged, and asking again would get the same answer. Unlike a refusal that is not the
/// provider's own answer (a wrong base URL's 404, a proxy's page: `ProviderRejected`), it is an
/// outcome the saga may compensate on.
pub const CHARGE_REFUSED: &str = "ChargeRefused";

/// The application failure type an activity failed with, if it was an application failure.
pub fn application_type(err: &ActivityExecutionError) -> Option<&str> {
    match err.cause()? {
        IncomingError::Application(app) => app.type_name(),
        _ => None,
    }
}

/// The most specific message of an activity failure, for reasons and logs.
pub fn message(err: &ActivityExecutionError) -> String {
    match err.cause() {
        Some(cause) => cause.failure().message.clone(),
        None => err.to_string(),
    }
}

/// The most specific message of a child workflow's failure: its cause (`field timezone must be
/// ...`), not the wrapper's "Child Workflow execution failed", so a reason says why.
pub fn child_message(err: &ChildWorkflowExecutionError) -> String {
    match err.cause() {
        Some(cause) => cause.failure().message.clone(),
        None => err.to_string(),
    }
}
