//! `punctual failures`: the failed-run archive for on-call — what failed for good, and starting a
//! business key again once its cause is fixed.
//!
//! The rows are written by the worker's activities (`punctual_activities::runs::archive`); this
//! command only reads them, and starts runs under the *same* business key, so a retry can never
//! double an effect: completed steps are replayed by the ledger, completed children are not
//! started again.

mod retry;

use crate::connect::TemporalTarget;
use anyhow::Context;
use clap::{Args, Subcommand};
use punctual_activities::ledger::Ledger;
use punctual_activities::runs::archive::{self, ArchivedRun};
use punctual_workflows::names;
use std::time::Duration;

/// `punctual failures`.
#[derive(Debug, Args)]
pub struct FailuresArgs {
    /// Ledger database holding the archive. Never printed: it may hold a password.
    #[arg(
        long,
        global = true,
        env = "PUNCTUAL_DATABASE_URL",
        default_value = "sqlite://.data/ledger.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Task queue the workers poll (retries start there).
    #[arg(long, global = true, env = "PUNCTUAL_TASK_QUEUE", default_value = names::DEFAULT_TASK_QUEUE)]
    pub task_queue: String,

    /// How long to retry an unreachable server.
    #[arg(long, global = true, default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub connect_timeout: Duration,

    #[command(subcommand)]
    pub command: FailuresCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum FailuresCommand {
    /// Runs that failed for good and are not resolved yet (with --all, resolved ones too).
    List {
        /// Include keys a later run resolved.
        #[arg(long)]
        all: bool,
    },
    /// Start a failed business key again under the same key (nothing it already did is repeated).
    Retry {
        /// The business key, as `failures list` prints it (e.g. `payment/INV-C00023-20261124`).
        business_key: String,
        /// Wait for the run to finish and print its result; exit non-zero if it fails again.
        #[arg(long)]
        wait: bool,
    },
}

/// Runs one `punctual failures` subcommand.
pub async fn run(args: FailuresArgs) -> anyhow::Result<()> {
    let ledger = Ledger::connect(&args.database_url).await.context("opening the ledger (PUNCTUAL_DATABASE_URL)")?;
    match &args.command {
        FailuresCommand::List { all } => list(&ledger, *all).await,
        FailuresCommand::Retry { business_key, wait } => {
            let mut conn = ledger.pool().acquire().await.context("reading the failed-run archive")?;
            let Some(row) = archive::get(&mut conn, business_key).await.context("reading the failed-run archive")? else {
                anyhow::bail!("no failed run is archived under `{business_key}` (`punctual failures list` shows them)");
            };
            drop(conn);
            if row.status == "resolved" {
                println!(
                    "{business_key} was resolved by run {} at {}: not started again",
                    row.resolved_by.as_deref().unwrap_or("?"),
                    row.resolved_at.as_deref().unwrap_or("?")
                );
                return Ok(());
            }
            let target = TemporalTarget::from_env()?;
            let client = target.connect(args.connect_timeout).await?;
            retry::retry(&target, &client, &ledger, &args.task_queue, &row, *wait, args.connect_timeout).await
        }
    }
}

async fn list(ledger: &Ledger, all: bool) -> anyhow::Result<()> {
    let mut conn = ledger.pool().acquire().await.context("reading the failed-run archive")?;
    let rows = archive::list(&mut conn, all).await.context("reading the failed-run archive")?;
    if rows.is_empty() {
        println!("no {}failed runs", if all { "" } else { "unresolved " });
        return Ok(());
    }
    for row in &rows {
        println!("{}", line(row));
    }
    Ok(())
}

/// One archive row on one line: key, status, attempts, when, what, which run, why.
fn line(row: &ArchivedRun) -> String {
    let run = &row.run;
    format!(
        "{}  {}  attempts={}  last_failed={}  {} {} (run {})  error: {}",
        run.business_key,
        row.status,
        row.attempts,
        row.last_failed_at,
        run.job,
        run.workflow_type,
        run.run_id,
        run.error.replace('\n', " ")
    )
}
