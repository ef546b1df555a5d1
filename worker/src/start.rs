//! `punctual billing-run`: our own starter, which never starts a business key twice.
//!
//! The workflow ID is the business key `billing-run/{timezone}/{date}`. While a run of that key
//! is open, starting it again joins it (conflict policy use-existing); once one completed, it is
//! never started again (reuse policy allow-duplicate-failed-only: only a *failed* key may run
//! again). Anyone else's start — `temporal workflow start` by hand, another ID — is caught
//! further down by the child workflow IDs and the ledger.

use crate::connect::{ConnectError, TemporalTarget};
use clap::Args;
use punctual_workflows::billing::run::BillingRunInput;
use punctual_workflows::billing::types::BillingRunSummary;
use punctual_workflows::input::InputError;
use punctual_workflows::{BillingRunWorkflow, JsonInput, keys, names};
use serde_json::json;
use std::time::Duration;
use temporalio_client::{
    WorkflowGetResultOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions, errors::WorkflowStartError,
};

/// Settings of `punctual billing-run`.
#[derive(Debug, Clone, Args)]
pub struct BillingRunArgs {
    /// Business date to bill, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// IANA time zone whose customers are billed.
    #[arg(long, default_value = "Asia/Shanghai")]
    pub timezone: String,
    /// Bulk mode (`"mode": "bulk"`): one activity per step for each page of 500 customers, a
    /// payment saga only for refused payments. Same keys and effects; for large runs.
    #[arg(long)]
    pub bulk: bool,
    /// Task queue the workers poll.
    #[arg(long, env = "PUNCTUAL_TASK_QUEUE", default_value = names::DEFAULT_TASK_QUEUE)]
    pub task_queue: String,
    /// Wait for the run to finish and print its summary (for a key that already completed,
    /// print that run's summary).
    #[arg(long)]
    pub wait: bool,
    /// How long to retry an unreachable server.
    #[arg(long, default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub connect_timeout: Duration,
}

/// What the starter did.
#[derive(Debug)]
pub enum Started {
    /// A new run started (or an open one was joined) under the business key.
    Running { workflow_id: String, run_id: String },
    /// The business key already completed: nothing was started.
    AlreadyCompleted { workflow_id: String },
}

/// Why the starter could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The date or time zone is unusable.
    #[error(transparent)]
    Input(#[from] InputError),
    /// No server.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server refused or failed.
    #[error("starting {workflow_id}: {detail}")]
    Server { workflow_id: String, detail: String },
}

/// Starts (or joins) the billing run of `args.date` in `args.timezone`.
pub async fn start_billing_run(
    target: &TemporalTarget,
    args: &BillingRunArgs,
) -> Result<(Started, Option<BillingRunSummary>), StartError> {
    let mut input = json!({ "business_date": args.date, "timezone": args.timezone });
    if args.bulk {
        input["mode"] = json!("bulk");
    }
    let input = JsonInput::from(input);
    let run = BillingRunInput::from_json(&input)?; // the worker would refuse it anyway; say so now
    let workflow_id = keys::billing_run(&run.timezone, &run.business_date);
    let client = target.connect(args.connect_timeout).await?;
    let options = WorkflowStartOptions::new(&args.task_queue, &workflow_id)
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicateFailedOnly)
        .build();
    let handle = match client.start_workflow(BillingRunWorkflow::run, input, options).await {
        Ok(handle) => handle,
        Err(WorkflowStartError::AlreadyStarted { .. }) => {
            // Reading the completed run's result goes through the same codec as everything
            // else: with encryption on, it needs the key that run was written with.
            let summary = if args.wait {
                let completed = client.get_workflow_handle::<BillingRunWorkflow>(workflow_id.as_str());
                let summary = completed
                    .get_result(WorkflowGetResultOptions::default())
                    .await
                    .map_err(|err| StartError::Server { workflow_id: workflow_id.clone(), detail: err.to_string() })?;
                Some(summary)
            } else {
                None
            };
            return Ok((Started::AlreadyCompleted { workflow_id }, summary));
        }
        Err(err) => return Err(StartError::Server { workflow_id, detail: err.to_string() }),
    };
    let started = Started::Running { workflow_id: workflow_id.clone(), run_id: handle.info().run_id.clone().unwrap_or_default() };
    if !args.wait {
        return Ok((started, None));
    }
    let summary = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .map_err(|err| StartError::Server { workflow_id, detail: err.to_string() })?;
    Ok((started, Some(summary)))
}
