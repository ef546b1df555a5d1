//! What the job workflows ask of Temporal's client.
//!
//! A workflow can start a child, but a child start cannot *join* an execution that is already
//! running under the same ID; the client's start with conflict policy use-existing can. So the
//! fire starts each occurrence through this activity. Retrying it is safe: a second start under
//! the same business key joins the first run or finds it completed.

use crate::failure::{permanent, retryable};
use crate::ledger::Ledger;
use punctual_workflows::input::to_input;
use punctual_workflows::jobs::JobOccurrenceWorkflow;
use punctual_workflows::jobs::types::{OccurrenceInput, PauseRequest, StartedOccurrence, schedule_id};
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::schedules::{PauseScheduleOptions, ScheduleError};
use temporalio_client::{Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions};
use temporalio_sdk::activities::ActivityError;

/// Starts (or joins) `JobOccurrenceWorkflow` under the occurrence's business key.
///
/// Reuse policy: a *failed* key may run again (a later fire or a retry heals it); a completed
/// key (one Temporal still holds, or one the ledger records as committed) is never started again
/// unless `force` (a forced backfill), and even then its effects are replayed by the ledger, not
/// repeated.
pub async fn start_occurrence(
    client: &Client,
    ledger: Option<&Ledger>,
    task_queue: &str,
    input: &OccurrenceInput,
) -> Result<StartedOccurrence, ActivityError> {
    let key = &input.occurrence.key;
    // The ledger first: Temporal forgets a closed run after the namespace's retention, and its
    // workflow-ID reuse policy then lets the key start again. The ledger's committed row does not
    // expire, so a late fire, a trigger or a repair of an old date runs nothing twice.
    if let Some(ledger) = ledger.filter(|_| !input.force)
        && committed(ledger, key).await?
    {
        tracing::info!(key = %key, trigger = %input.trigger, "occurrence committed in the ledger: not started again");
        return Ok(StartedOccurrence { outcome: "already_done".to_owned(), run_id: String::new() });
    }
    let reuse = if input.force { WorkflowIdReusePolicy::AllowDuplicate } else { WorkflowIdReusePolicy::AllowDuplicateFailedOnly };
    let options = WorkflowStartOptions::new(task_queue, key)
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(reuse)
        .build();
    match client.start_workflow(JobOccurrenceWorkflow::run, to_input(input), options).await {
        Ok(handle) => {
            let run_id = handle.info().run_id.clone().unwrap_or_default();
            tracing::info!(key = %key, run_id = %run_id, trigger = %input.trigger, "occurrence started or joined");
            Ok(StartedOccurrence { outcome: "started".to_owned(), run_id })
        }
        Err(WorkflowStartError::AlreadyStarted { .. }) => {
            tracing::info!(key = %key, trigger = %input.trigger, "occurrence already completed: not started again");
            Ok(StartedOccurrence { outcome: "already_done".to_owned(), run_id: String::new() })
        }
        Err(err) => Err(retryable(format!("starting occurrence `{key}`: {err}"))),
    }
}

/// Pauses the job's schedule with `reason` as its note.
pub(crate) async fn pause_schedule(client: &Client, input: &PauseRequest) -> Result<(), ActivityError> {
    let handle = client.get_schedule_handle(schedule_id(&input.job));
    match handle.pause(Some(input.reason.clone()), PauseScheduleOptions::default()).await {
        Ok(()) => {
            tracing::error!(job = %input.job, reason = %input.reason, "schedule paused after repeated failures");
            Ok(())
        }
        Err(ScheduleError::Rpc(status)) if status.code() == temporalio_client::tonic::Code::NotFound => Err(permanent(
            "ScheduleNotFound",
            format!("schedule {} does not exist (started outside a schedule?): not paused", schedule_id(&input.job)),
        )),
        Err(err) => Err(retryable(format!("pausing schedule {}: {err}", schedule_id(&input.job)))),
    }
}

/// Whether the ledger records `key` as committed.
async fn committed(ledger: &Ledger, key: &str) -> Result<bool, ActivityError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM job_occurrences WHERE key = $1")
        .bind(key)
        .fetch_optional(ledger.pool())
        .await
        .map_err(|e| retryable(format!("reading occurrence `{key}`: {e}")))?;
    Ok(status.as_deref() == Some("committed"))
}
