//! Implementation of `RunOutcomeRecord`'s contract (`punctual_workflows::runs::RunContract`):
//! what happens when a run ends.

use crate::ledger::Ledger;
use punctual_workflows::names;
use punctual_workflows::runs::{RecordedRun, RunOutcomeRecord};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// The run-outcome activity with the database the failed-run archive lives in.
#[derive(Debug, Clone)]
pub struct RunActivities {
    #[allow(dead_code)] // the failed-run archive writes here
    ledger: Ledger,
}

impl RunActivities {
    /// Activities over `ledger`.
    pub fn new(ledger: Ledger) -> Self {
        Self { ledger }
    }
}

#[activities]
impl RunActivities {
    /// `RecordRunOutcome` (a local activity): counts the run by job and outcome.
    #[activity(name = names::RECORD_RUN_OUTCOME_ACTIVITY)]
    pub async fn record_run_outcome(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RunOutcomeRecord,
    ) -> Result<RecordedRun, ActivityError> {
        crate::metrics::run_finished(&input.job, &input.outcome);
        Ok(RecordedRun { archived: false })
    }
}
