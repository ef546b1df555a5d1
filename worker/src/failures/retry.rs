//! `punctual failures retry KEY`: starts the failed key again, by the workflow type that failed,
//! with the same starter the key normally has — so the same ID rules keep it single:
//! conflict policy use-existing (joins a run that is already going) and reuse policy
//! allow-duplicate-failed-only (only a *failed* key may run again).

use crate::codec::{EncryptionCodec, KeyRing};
use crate::connect::TemporalTarget;
use crate::schedule::server;
use crate::start::{BillingRunArgs, Started, start_billing_run};
use anyhow::{Context, anyhow, bail};
use punctual_activities::jobs::start_occurrence;
use punctual_activities::ledger::Ledger;
use punctual_activities::runs::archive::{self, ArchivedRun};
use punctual_workflows::jobs::JobOccurrenceWorkflow;
use punctual_workflows::jobs::types::OccurrenceInput;
use punctual_workflows::{JsonInput, PaymentSagaWorkflow, names};
use std::time::Duration;
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::tonic::IntoRequest;
use temporalio_client::{
    Client, NamespacedClient, WorkflowGetResultOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::workflowservice::v1::GetWorkflowExecutionHistoryRequest;

/// What was started: the run, or nothing because the key already completed.
enum Retried {
    Started {
        run_id: String,
        result: Option<serde_json::Value>,
    },
    /// A run of the key finished (a saga completed or compensated, an occurrence committed, a
    /// billing run completed with no customer failed; one with failed customers is started
    /// again instead): the archived failure is settled, though no run resolved it (it finished
    /// before the failure was archived, e.g. the real run of a key whose mistyped twin failed
    /// later).
    AlreadyDone,
}

/// Starts `row`'s key again and marks it `retrying`; with `wait`, waits for its result.
pub(super) async fn retry(
    target: &TemporalTarget,
    client: &Client,
    ledger: &Ledger,
    task_queue: &str,
    row: &ArchivedRun,
    wait: bool,
    connect_timeout: Duration,
) -> anyhow::Result<()> {
    let key = &row.run.business_key;
    let retried = match row.run.workflow_type.as_str() {
        names::BILLING_RUN_WORKFLOW => billing_run(target, task_queue, row, wait, connect_timeout).await?,
        names::PAYMENT_SAGA_WORKFLOW => payment(client, task_queue, row, wait).await?,
        names::JOB_OCCURRENCE_WORKFLOW => occurrence(client, ledger, task_queue, row, wait).await?,
        other => bail!("{key} failed as a `{other}` run, which `punctual failures retry` does not know how to start"),
    };
    match retried {
        Retried::AlreadyDone => {
            let mut conn = ledger.pool().acquire().await.context("updating the failed-run archive")?;
            let note = "a run of the key had already finished (found by `punctual failures retry`)";
            archive::resolve_by_hand(&mut conn, key, note).await.context("updating the failed-run archive")?;
            crate::out!("{key} already completed under its business key: not started again; marked resolved");
        }
        Retried::Started { run_id, result } => {
            let mut conn = ledger.pool().acquire().await.context("updating the failed-run archive")?;
            archive::mark_retrying(&mut conn, key).await.context("updating the failed-run archive")?;
            crate::out!("retrying {key} (run {run_id})");
            if let Some(result) = result {
                crate::out!("{}", serde_json::to_string_pretty(&result)?);
            }
        }
    }
    Ok(())
}

/// A billing run: through `punctual billing-run`'s own starter.
async fn billing_run(
    target: &TemporalTarget,
    task_queue: &str,
    row: &ArchivedRun,
    wait: bool,
    connect_timeout: Duration,
) -> anyhow::Result<Retried> {
    let input = archived_input(row)?;
    let field = |name: &str| {
        input[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("archived input of {} has no `{name}`: {input}", row.run.business_key))
    };
    let args = BillingRunArgs {
        date: field("business_date")?,
        timezone: field("timezone")?,
        // A failed bulk run is retried in bulk (its archived input says so).
        bulk: input["mode"].as_str() == Some("bulk"),
        task_queue: task_queue.to_owned(),
        wait,
        connect_timeout,
        // It ran before: the date was accepted then.
        allow_future: true,
    };
    let (started, summary) = start_billing_run(target, &args).await?;
    Ok(match started {
        Started::Running { run_id, .. } | Started::Rerun { run_id, .. } => {
            Retried::Started { run_id, result: summary.map(serde_json::to_value).transpose()? }
        }
        Started::AlreadyCompleted { .. } => Retried::AlreadyDone,
    })
}

/// A payment saga: the archived bill under `payment/{invoice}`.
async fn payment(client: &Client, task_queue: &str, row: &ArchivedRun, wait: bool) -> anyhow::Result<Retried> {
    let key = &row.run.business_key;
    let options = WorkflowStartOptions::new(task_queue, key)
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicateFailedOnly)
        .build();
    let input = JsonInput::from(archived_input(row)?);
    let handle = match client.start_workflow(PaymentSagaWorkflow::run, input, options).await {
        Ok(handle) => handle,
        Err(WorkflowStartError::AlreadyStarted { .. }) => return Ok(Retried::AlreadyDone),
        Err(err) => bail!("starting {key}: {err}"),
    };
    let run_id = handle.info().run_id.clone().unwrap_or_default();
    let result = match wait {
        true => Some(serde_json::to_value(
            handle.get_result(WorkflowGetResultOptions::default()).await.with_context(|| format!("{key} (run {run_id})"))?,
        )?),
        false => None,
    };
    Ok(Retried::Started { run_id, result })
}

/// A job occurrence: the failed run's own input, with the job as its schedule carries it now
/// (so a fixed and re-applied jobs file is what runs), started like a fire starts it.
async fn occurrence(
    client: &Client,
    ledger: &Ledger,
    task_queue: &str,
    row: &ArchivedRun,
    wait: bool,
) -> anyhow::Result<Retried> {
    let key = &row.run.business_key;
    let mut input: OccurrenceInput = serde_json::from_value(started_input(client, &row.run.workflow_id, &row.run.run_id).await?)
        .with_context(|| format!("reading the input of {key}'s failed run {}", row.run.run_id))?;
    match server::describe(client, &input.job.name).await?.and_then(|s| s.spec) {
        Some(spec) if spec != input.job => {
            crate::out!("using job `{}` as its schedule carries it now (changed since the failed run)", spec.name);
            input.job = spec;
        }
        Some(_) => {}
        None => crate::out!("job `{}` has no schedule: using the job as the failed run had it", input.job.name),
    }
    input.trigger = "retry".to_owned();
    // A committed occurrence whose job failed items (a billing run's customers) is not done: it
    // runs again, forced, as `backfill --mode failed_only` runs it.
    let date = input.occurrence.business_date.to_string();
    let rows = punctual_activities::jobs::rows_between(ledger, &input.job.name, &date, &date).await?;
    input.force = rows.iter().any(|r| r.key == *key && r.status == "committed" && r.failed_items.is_some_and(|n| n > 0));
    let started =
        start_occurrence(client, Some(ledger), task_queue, &input).await.map_err(|e| anyhow!("starting {key}: {e:?}"))?;
    if started.outcome == "already_done" {
        return Ok(Retried::AlreadyDone);
    }
    let result = match wait {
        true => {
            let handle = client.get_workflow_handle::<JobOccurrenceWorkflow>(key.as_str());
            let done = handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .with_context(|| format!("{key} (run {})", started.run_id))?;
            Some(serde_json::to_value(done)?)
        }
        false => None,
    };
    Ok(Retried::Started { run_id: started.run_id, result })
}

fn archived_input(row: &ArchivedRun) -> anyhow::Result<serde_json::Value> {
    row.run.input.clone().ok_or_else(|| anyhow!("no input is archived for {}: start it by hand", row.run.business_key))
}

/// The input a run was started with, from the first event of its history.
async fn started_input(client: &Client, workflow_id: &str, run_id: &str) -> anyhow::Result<serde_json::Value> {
    let request = GetWorkflowExecutionHistoryRequest {
        namespace: client.namespace(),
        execution: Some(WorkflowExecution { workflow_id: workflow_id.to_owned(), run_id: run_id.to_owned() }),
        maximum_page_size: 1,
        ..Default::default()
    };
    let history = WorkflowService::get_workflow_execution_history(&mut client.clone(), request.into_request())
        .await
        .map_err(|status| {
            anyhow!(
                "reading the history of {workflow_id} (run {run_id}): {}; if Temporal no longer keeps it, \
                 start the date again with `punctual schedule backfill`",
                status.message()
            )
        })?
        .into_inner();
    let first = history.history.and_then(|h| h.events.into_iter().next()).and_then(|e| e.attributes);
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) = first else {
        bail!("the history of {workflow_id} (run {run_id}) does not start with its input");
    };
    let payload = started
        .input
        .and_then(|p| p.payloads.into_iter().next())
        .ok_or_else(|| anyhow!("{workflow_id} was started without input"))?;
    // Raw history, so the codec has not run: decrypt here (a plain payload passes through).
    let payload = EncryptionCodec::new(KeyRing::from_env()?)
        .decrypt(payload)
        .with_context(|| format!("the input of {workflow_id} (run {run_id})"))?;
    serde_json::from_slice(&payload.data).with_context(|| format!("the input of {workflow_id} (run {run_id}) is not JSON"))
}
