//! `punctual history export` and `punctual history replay`: check an upgrade against real
//! histories before it meets them.
//!
//! A worker upgraded while runs are open replays what the old code wrote; if the new code would
//! issue other commands, those runs stop making progress. Export the histories of open (or
//! typical) runs with the binary in production, replay them with the new one, and upgrade only if
//! every one replays. `tests/tests/replay.rs` does the same with histories kept in the repository.

use crate::connect::TemporalTarget;
use crate::registration;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use temporalio_client::{UntypedWorkflow, WorkflowFetchHistoryOptions, WorkflowHistory};
use temporalio_common::protos::temporal::api::history::v1::History;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// `punctual history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: HistoryCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Print a workflow's history (its latest run) as the JSON `history replay` reads.
    Export {
        /// Workflow id, e.g. billing-run/Asia/Shanghai/2026-11-24.
        workflow_id: String,
        /// How long to retry an unreachable server.
        #[arg(long, default_value = "10s", value_parser = crate::cli::parse_duration)]
        connect_timeout: Duration,
    },
    /// Replay exported histories on this binary's workflow code; fails naming each history that
    /// no longer replays.
    Replay {
        /// Files written by `history export`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a `punctual history` command.
pub async fn run(args: HistoryArgs) -> anyhow::Result<()> {
    match args.command {
        HistoryCommand::Export { workflow_id, connect_timeout } => {
            let client = TemporalTarget::from_env()?.connect(connect_timeout).await?;
            let handle = client.get_workflow_handle::<UntypedWorkflow>(workflow_id.clone());
            let events = handle
                .fetch_history(WorkflowFetchHistoryOptions::default())
                .into_events()
                .await
                .with_context(|| format!("reading the history of {workflow_id}"))?;
            crate::out!("{}", serde_json::to_string(&with_workflow_id(History { events }, &workflow_id))?);
            Ok(())
        }
        HistoryCommand::Replay { files } => replay(&files).await,
    }
}

/// The server leaves the started event's `workflow_id` empty; the replayer takes the id from it,
/// and punctual's workflows derive keys from their id, so it is filled in.
fn with_workflow_id(mut history: History, workflow_id: &str) -> History {
    if let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) =
        history.events.first_mut().and_then(|e| e.attributes.as_mut())
        && started.workflow_id.is_empty()
    {
        started.workflow_id = workflow_id.to_owned();
    }
    history
}

async fn replay(files: &[PathBuf]) -> anyhow::Result<()> {
    let replayer = registration::replayer()?;
    let mut failed = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let history = WorkflowHistory::from_json(&bytes)
            .with_context(|| format!("{} is not a history written by `punctual history export`", file.display()))?;
        let id = history.workflow_id().unwrap_or("?").to_owned();
        match replayer.replay_workflow(history).await {
            Ok(()) => crate::out!("ok       {} ({id})", file.display()),
            Err(err) => {
                crate::out!("FAILED   {} ({id}): {err}", file.display());
                failed.push(file.display().to_string());
            }
        }
    }
    if !failed.is_empty() {
        bail!("{} of {} histories do not replay on this binary: {}", failed.len(), files.len(), failed.join(", "));
    }
    Ok(())
}
