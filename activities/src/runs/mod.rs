//! What happens when a run ends: `RecordRunOutcome` (contract in `punctual_workflows::runs`)
//! counts it, and archives it in `failed_runs` when it failed for good ([`archive`]).

pub mod archive;

use crate::failure::{from_ledger, retryable};
use crate::ledger::Ledger;
use archive::FailedRun;
use punctual_workflows::names;
use punctual_workflows::runs::{RecordedRun, RunOutcomeRecord};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// The run-outcome activity with the database the failed-run archive lives in.
#[derive(Debug, Clone)]
pub struct RunActivities {
    ledger: Ledger,
}

impl RunActivities {
    /// Activities over `ledger`.
    pub fn new(ledger: Ledger) -> Self {
        Self { ledger }
    }
}

/// Archives a run that failed for good (`error` set) or resolves the key's archived failure when
/// a run of it finished; logs a failure loudly, since it needs a person.
pub(crate) async fn settle(ledger: &Ledger, run: FailedRun, failed: bool) -> Result<bool, ActivityError> {
    let key = run.business_key.clone();
    let db = |e: sqlx::Error| retryable(format!("archiving the outcome of `{key}`: {e}"));
    let mut tx = ledger.begin_write(&run.business_key, "archiving").await.map_err(from_ledger)?;
    if failed {
        let attempts = archive::archive(&mut tx, &run).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        tracing::error!(
            business_key = %run.business_key,
            workflow_id = %run.workflow_id,
            run_id = %run.run_id,
            attempts,
            error = %run.error,
            "RUN FAILED FOR GOOD: archived; fix the cause, then `punctual failures retry {}`",
            run.business_key
        );
        return Ok(true);
    }
    let resolved = archive::resolve(&mut tx, &run.business_key, &run.run_id).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    if resolved {
        tracing::info!(business_key = %run.business_key, run_id = %run.run_id, "archived failure resolved by a later run");
    }
    Ok(false)
}

#[activities]
impl RunActivities {
    /// `RecordRunOutcome` (a local activity): counts the run by job and outcome; archives it when
    /// it failed for good; a run that finished resolves an earlier archived failure of its key.
    /// Idempotent: see [`archive`].
    #[activity(name = names::RECORD_RUN_OUTCOME_ACTIVITY)]
    pub async fn record_run_outcome(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RunOutcomeRecord,
    ) -> Result<RecordedRun, ActivityError> {
        let info = ctx.info();
        let failed = input.error.is_some();
        let run = FailedRun {
            business_key: input.business_key.clone(),
            job: input.job.clone(),
            workflow_type: input.workflow_type.clone(),
            workflow_id: info.workflow_id.clone().unwrap_or_default(),
            run_id: info.workflow_run_id.clone().unwrap_or_default(),
            error: input.error.clone().unwrap_or_default(),
            input: Some(input.input.clone()),
        };
        // A cancelled run neither failed for good nor finished: it leaves the archive alone. So
        // does a run that finished with some of its customers failed (`failed` without an error:
        // a billing run's totals): those are archived under their own keys, or not at all (a
        // bill that could not be made), and the run's key is not done until a run of it is clean.
        let partly_failed = input.outcome == "failed" && !failed;
        let archived =
            if input.outcome == "cancelled" || partly_failed { false } else { settle(&self.ledger, run, failed).await? };
        // Counted once the archive is written, so a retried write does not count twice.
        crate::metrics::run_finished(&input.job, &input.outcome);
        Ok(RecordedRun { archived })
    }
}
