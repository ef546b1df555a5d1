//! How a run ended, handed to an activity: the one place a run's outcome leaves workflow code.
//!
//! Workflow code replays, so it can neither count a metric nor write an archive row itself; the
//! `RecordRunOutcome` activity does both (a counter per job and outcome, and the failed-run
//! archive). It runs as a *local* activity: no extra task round trip per saga, and no extra
//! `ActivityTaskScheduled` event in the history people read, only a marker. Its result is
//! recorded in that marker, so a replay never runs it again.

use crate::names;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;
use temporalio_sdk::{LocalActivityOptions, WorkflowCancellationToken, WorkflowContext, WorkflowResult, WorkflowTermination};

/// Input of `RecordRunOutcome`. The workflow and run ids come from the activity's own context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcomeRecord {
    /// `JobName` of the run (`billing-run`, `payment`, ...).
    pub job: String,
    /// Business key of the run; also its workflow ID when punctual started it.
    pub business_key: String,
    /// Workflow type, so a retry knows what to start again.
    pub workflow_type: String,
    /// `completed`, `compensated`, `failed`, `cancelled`.
    pub outcome: String,
    /// Why the run failed for good, when the run *itself* failed; such a run is archived. A run
    /// whose parts failed but which finished (a billing run with failed payments) has outcome
    /// `failed` and no error: its failed parts are archived under their own keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run's own input, so a retry can start it again under the same business key.
    pub input: serde_json::Value,
}

/// Result of `RecordRunOutcome`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRun {
    /// Whether the run went into the failed-run archive.
    pub archived: bool,
}

/// Contract of the run-outcome activity, implemented in `punctual_activities::runs`.
pub struct RunContract;

#[activity_definitions]
impl RunContract {
    /// `RecordRunOutcome`: counts the run by job and outcome; a failed run is also archived
    /// (upsert by business key: a retried key that fails again bumps its attempts).
    #[activity(name = names::RECORD_RUN_OUTCOME_ACTIVITY)]
    pub fn record_run_outcome(input: RunOutcomeRecord) -> Result<RecordedRun, ActivityError> {
        unimplemented!()
    }
}

/// How a workflow result reads as an outcome: `None` when the run did not end (continued as new,
/// evicted from the cache), else the outcome and the error of a failed run.
pub fn outcome_of<T>(
    result: &WorkflowResult<T>,
    ok_outcome: impl FnOnce(&T) -> &'static str,
) -> Option<(&'static str, Option<String>)> {
    match result {
        Ok(value) => Some((ok_outcome(value), None)),
        Err(WorkflowTermination::Failed(err)) => Some(("failed", Some(err.to_string()))),
        Err(WorkflowTermination::Cancelled { .. }) => Some(("cancelled", None)),
        Err(WorkflowTermination::ContinueAsNew(_) | WorkflowTermination::Evicted) => None,
    }
}

/// Records the outcome through the local activity, retried until the database takes it.
///
/// Never fails the run: if recording cannot finish (the workflow is being cancelled), that is
/// logged and the run's own result stands.
pub async fn record<W>(ctx: &WorkflowContext<W>, record: RunOutcomeRecord) {
    let retry = RetryPolicy::builder()
        .initial_interval(Duration::from_millis(500))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(20))
        .build();
    let options = LocalActivityOptions::builder()
        .activity_id(format!("outcome/{}", record.business_key))
        .start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(retry)
        // Recorded even when the run was asked to cancel: that is when a person needs it most.
        .cancellation_token(WorkflowCancellationToken::new())
        .build();
    let (key, outcome) = (record.business_key.clone(), record.outcome.clone());
    if let Err(err) = ctx.execute_local_activity(RunContract::record_run_outcome, record, options).await
        && !ctx.is_replaying()
    {
        tracing::error!(business_key = %key, outcome, error = %err, "run outcome not recorded");
    }
}
