//! Implementations of the job activity contracts (`punctual_workflows::jobs::JobContract`):
//! the occurrence ledger, and the two things a workflow asks of Temporal's client.

mod expected;
mod occurrences;
mod temporal;

pub use expected::job_spec_of;
pub use occurrences::{OccurrenceRow, first_recorded_at, rows_between};
pub use temporal::start_occurrence;

use crate::ledger::Ledger;
use punctual_workflows::jobs::types::*;
use punctual_workflows::names;
use std::sync::Arc;
use temporalio_client::Client;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// The job activities with what they reach: the ledger database and the Temporal server.
#[derive(Clone)]
pub struct JobActivities {
    ledger: Ledger,
    client: Client,
    task_queue: String,
}

impl std::fmt::Debug for JobActivities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobActivities").field("task_queue", &self.task_queue).finish_non_exhaustive()
    }
}

impl JobActivities {
    /// Activities over `ledger`, starting occurrences through `client` on `task_queue`.
    pub fn new(ledger: Ledger, client: Client, task_queue: impl Into<String>) -> Self {
        Self { ledger, client, task_queue: task_queue.into() }
    }
}

#[activities]
impl JobActivities {
    /// `RecordOccurrence`.
    #[activity(name = names::RECORD_OCCURRENCE_ACTIVITY)]
    pub async fn record_occurrence(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: OccurrenceRecord,
    ) -> Result<RecordedOccurrence, ActivityError> {
        occurrences::record(&self.ledger, &input).await
    }

    /// `OccurrenceStatus`.
    #[activity(name = names::OCCURRENCE_STATUS_ACTIVITY)]
    pub async fn occurrence_status(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: StatusQuery,
    ) -> Result<OccurrenceState, ActivityError> {
        let state = occurrences::status(&self.ledger, &input.key).await?;
        // A dependency's key with no row: skipped if its job's plan never makes it.
        if state.status.is_none()
            && let Some(dep) = &input.dependency
        {
            // A describe that fails answers "not started", as before: the wait's deadline and
            // `on_dependency` still apply, where a retried activity would hold them off.
            match expected::never_runs(&self.client, &dep.job, dep.date, &input.key).await {
                Ok(Some(reason)) => {
                    return Ok(OccurrenceState { status: Some("skipped".to_owned()), reason: Some(reason), run_id: None });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(job = %dep.job, error = %e, "describing a dependency's schedule failed: it counts as not started")
                }
            }
        }
        Ok(state)
    }

    /// `StartOccurrence`.
    #[activity(name = names::START_OCCURRENCE_ACTIVITY)]
    pub async fn start_occurrence(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: OccurrenceInput,
    ) -> Result<StartedOccurrence, ActivityError> {
        let started = temporal::start_occurrence(&self.client, Some(&self.ledger), &self.task_queue, &input).await?;
        // Lag only for fires a clock made: a manual run or a backfill is late on purpose. By the
        // server's clock, as the nominal time is: a worker's wrong clock is not the schedule's lag.
        if started.outcome == "started" && matches!(input.trigger.as_str(), "schedule" | "cron") {
            let lag = (crate::server_clock::server_now(&ctx) - input.occurrence.due).to_std().unwrap_or_default();
            crate::metrics::schedule_lag(&input.job.name, lag);
        }
        Ok(started)
    }

    /// `PauseJobSchedule`.
    #[activity(name = names::PAUSE_SCHEDULE_ACTIVITY)]
    pub async fn pause_schedule(self: Arc<Self>, _ctx: ActivityContext, input: PauseRequest) -> Result<(), ActivityError> {
        temporal::pause_schedule(&self.client, &input).await
    }
}
