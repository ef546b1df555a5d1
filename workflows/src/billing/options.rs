//! Activity and child-workflow options shared by the billing workflows.

use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ChildWorkflowCancellationType, ChildWorkflowOptions, ChildWorkflowStartError,
    ParentClosePolicy, StartChildWorkflowExecutionFailedCause, WorkflowCancellationToken, WorkflowIdReusePolicy,
};

use crate::failures::{ACCOUNT_CLOSED, IDEMPOTENCY_CONFLICT, INVOICE_VOID, PAYMENT_DECLINED};
use crate::input::INVALID_INPUT;

/// Each attempt of a billing activity may take this long before Temporal retries it elsewhere
/// (this bounds how long a killed worker's activity stays stuck).
pub const START_TO_CLOSE: Duration = Duration::from_secs(30);

/// An effect activity (bill, charge, payment record, receipt, refund, void) heartbeats every
/// second while it runs (`punctual_activities::heartbeat`); one silent this long died with its
/// worker or lost the network, and Temporal gives the effect to another worker. This, not
/// [`START_TO_CLOSE`], bounds how long a killed worker holds a customer's payment.
pub const EFFECT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// Retries forever with capped backoff: every effect is idempotent, and a provider or database
/// outage must delay the run, not lose it. Business refusals are never retried.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(Duration::from_millis(500))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(20))
        .non_retryable_error_types([PAYMENT_DECLINED, ACCOUNT_CLOSED, INVOICE_VOID, IDEMPOTENCY_CONFLICT, INVALID_INPUT])
        .build()
}

/// Options for one billing activity whose activity ID is the business key.
pub fn activity(activity_id: String) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(START_TO_CLOSE).activity_id(activity_id).retry_policy(retry_policy()).build()
}

/// Options for one effect activity: [`activity`] plus [`EFFECT_HEARTBEAT_TIMEOUT`]. Only for
/// activities that heartbeat while they run: one that does not would be timed out after 5 s.
///
/// An effect is not cancelled with its workflow: a `temporal workflow cancel` of a saga cancelled
/// its refund and void the moment they were scheduled, leaving a paid invoice without its
/// receipt, or a charge with no refund, and nothing archived. A cancel request now lets the
/// workflow's effects run to their end (terminate is what stops a run outright).
pub fn effect(activity_id: String) -> ActivityOptions {
    let mut options = activity(activity_id);
    options.heartbeat_timeout = Some(EFFECT_HEARTBEAT_TIMEOUT);
    options.cancellation_token = Some(WorkflowCancellationToken::new());
    options
}

/// A bulk step works through a whole page (hundreds of customers, each a ledger transaction and
/// perhaps a provider call), so one attempt may take minutes; its heartbeat, not this, bounds
/// how long a dead worker holds the page.
pub const BULK_START_TO_CLOSE: Duration = Duration::from_secs(15 * 60);

/// Options for one bulk effect activity: [`effect`] with [`BULK_START_TO_CLOSE`].
pub fn bulk_effect(activity_id: String) -> ActivityOptions {
    let mut options = effect(activity_id);
    options.close_timeouts = ActivityCloseTimeouts::StartToClose(BULK_START_TO_CLOSE);
    options
}

/// Options for a child whose workflow ID is a business key: a completed child is never re-run
/// (Temporal rejects the start), a failed one may be.
///
/// The child outlives its parent: closing the parent (terminated, cancelled, timed out) neither
/// terminates nor cancels it. A batch or saga is shared by every run of its business key: a run
/// started under a mistyped workflow ID may be the one that started it, and the real run counts
/// it as its own (`already_done`). With Temporal's default, terminating the mistyped run took the
/// batch and its sagas down with it, half done, after the real run had already completed.
pub fn child(workflow_id: String) -> ChildWorkflowOptions {
    shared_child(workflow_id, WorkflowIdReusePolicy::AllowDuplicateFailedOnly)
}

fn shared_child(workflow_id: String, reuse: WorkflowIdReusePolicy) -> ChildWorkflowOptions {
    ChildWorkflowOptions::builder()
        .workflow_id(workflow_id)
        .id_reuse_policy(reuse)
        .parent_close_policy(ParentClosePolicy::Abandon)
        .cancel_type(ChildWorkflowCancellationType::Abandon)
        .build()
}

/// Options for a billing page (`BillingBatchWorkflow`, `BillingBulkBatchWorkflow`): like [`child`], except that
/// a *completed* page runs again when its date runs again. A page completes even when one of its
/// sagas was terminated by hand (terminate runs no code, so nothing records or retries it);
/// re-running the page is what reaches that saga again: every bill replays from the ledger,
/// every saga that completed is `already_done`, and the stopped one (or one that failed) runs
/// again under the same keys. A page still running under another run is not started a second
/// time: the start is refused and the re-run counts the page as `already_done`.
pub fn rerunnable_page(workflow_id: String) -> ChildWorkflowOptions {
    shared_child(workflow_id, WorkflowIdReusePolicy::AllowDuplicate)
}

/// Whether a child start failed only because its business key already ran (or is running) —
/// the one refusal that means "nothing to do"; any other start failure is a real error.
pub fn already_started(err: &ChildWorkflowStartError) -> bool {
    matches!(
        err,
        ChildWorkflowStartError::StartFailed { cause: StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists, .. }
    )
}
