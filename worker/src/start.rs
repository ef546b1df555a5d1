//! `punctual billing-run`: our own starter, which never starts a business key twice.
//!
//! The workflow ID is the business key `billing-run/{timezone}/{date}`. While a run of that key
//! is open, starting it again joins it (conflict policy use-existing); once one completed
//! cleanly, it is never started again (reuse policy allow-duplicate-failed-only: only a *failed*
//! key may run again). A run that completed with customers failed (a wrong provider URL fails
//! them all) is started again: that is how a date is finished once the cause is fixed, and every
//! effect it made replays from the ledger. Anyone else's start — `temporal workflow start` by
//! hand, another ID — is caught further down by the child workflow IDs and the ledger.
//!
//! A date after today in its zone is refused unless `--allow-future`: a mistyped year would
//! charge customers months early, and the date's own run would then find them done.

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
    /// Bill a date after today in its zone anyway (its customers are charged now).
    #[arg(long)]
    pub allow_future: bool,
}

/// What the starter did.
#[derive(Debug)]
pub enum Started {
    /// A new run started (or an open one was joined) under the business key.
    Running { workflow_id: String, run_id: String },
    /// The business key already completed: nothing was started.
    AlreadyCompleted { workflow_id: String },
    /// The key's last run completed with `failed` customers failed: started again.
    Rerun { workflow_id: String, run_id: String, failed: u64 },
}

/// Why the starter could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The date or time zone is unusable (named by the flag the user typed).
    #[error("{}", by_flag(.0))]
    Input(InputError),
    /// No server.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server refused or failed.
    #[error("starting {workflow_id}: {detail}")]
    Server { workflow_id: String, detail: String },
    /// The date has not begun in its zone.
    #[error(
        "--date {date} is after today ({today} in {timezone}): billed now, its customers would be charged early, and the \
         date's own run would find them done; pass --allow-future to bill it now anyway"
    )]
    Future { date: String, today: String, timezone: String },
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
    // `from_json` checked the zone; dates are YYYY-MM-DD, so text order is date order.
    let zone: chrono_tz::Tz = run.timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = chrono::Utc::now().with_timezone(&zone).date_naive().to_string();
    if run.business_date > today && !args.allow_future {
        return Err(StartError::Future { date: run.business_date, today, timezone: run.timezone });
    }
    let workflow_id = keys::billing_run(&run.timezone, &run.business_date);
    let client = target.connect(args.connect_timeout).await?;
    let start = |reuse| {
        let options = WorkflowStartOptions::new(&args.task_queue, &workflow_id)
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(reuse)
            .build();
        client.start_workflow(BillingRunWorkflow::run, input.clone(), options)
    };
    let server = |err: String| StartError::Server { workflow_id: workflow_id.clone(), detail: err };
    let (handle, again) = match start(WorkflowIdReusePolicy::AllowDuplicateFailedOnly).await {
        Ok(handle) => (handle, None),
        Err(WorkflowStartError::AlreadyStarted { .. }) => {
            // Reading the completed run's result goes through the same codec as everything
            // else: with encryption on, it needs the key that run was written with.
            let completed = client.get_workflow_handle::<BillingRunWorkflow>(workflow_id.as_str());
            let last = completed.get_result(WorkflowGetResultOptions::default()).await.map_err(|e| server(e.to_string()))?;
            if last.totals.failed == 0 {
                let summary = args.wait.then_some(last);
                return Ok((Started::AlreadyCompleted { workflow_id }, summary));
            }
            // Its customers that failed are finished by running the date again.
            let handle = start(WorkflowIdReusePolicy::AllowDuplicate).await.map_err(|e| server(e.to_string()))?;
            (handle, Some(last.totals.failed))
        }
        Err(err) => return Err(server(err.to_string())),
    };
    let run_id = handle.info().run_id.clone().unwrap_or_default();
    let started = match again {
        Some(failed) => Started::Rerun { workflow_id: workflow_id.clone(), run_id, failed },
        None => Started::Running { workflow_id: workflow_id.clone(), run_id },
    };
    if !args.wait {
        return Ok((started, None));
    }
    let summary = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .map_err(|err| StartError::Server { workflow_id, detail: err.to_string() })?;
    Ok((started, Some(summary)))
}

// Not `#[from]`: that makes the error its own source, and the message would be printed twice
// (once with the workflow's field names).
impl From<InputError> for StartError {
    fn from(error: InputError) -> Self {
        Self::Input(error)
    }
}

/// The input error as the command line says it: `--date`, not the workflow's `business_date`.
fn by_flag(error: &InputError) -> String {
    error.to_string().replace("field `business_date`", "--date").replace("field `timezone`", "--timezone")
}
