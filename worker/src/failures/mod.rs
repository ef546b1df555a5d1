//! `punctual failures`: the failed-run archive for on-call — what failed for good, and starting a
//! business key again once its cause is fixed.
//!
//! The rows are written by the worker's activities (`punctual_activities::runs::archive`); this
//! command reads them, starts runs under the *same* business key, so a retry can never double an
//! effect (completed steps are replayed by the ledger, completed children are not started again),
//! and lets a person close a row no run will ever finish, with a note saying how.

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
    /// Mark a failed business key resolved by hand, when no run of it can ever finish (e.g. an
    /// idempotency conflict settled at the provider). Changes nothing else: no effect is made or
    /// undone. A later failure of the key opens it again.
    Resolve {
        /// The business key, as `failures list` prints it.
        business_key: String,
        /// What was done and by whom (kept in the archive as the audit trail; required).
        #[arg(long)]
        note: String,
    },
}

/// Runs one `punctual failures` subcommand.
pub async fn run(args: FailuresArgs) -> anyhow::Result<()> {
    let ledger = Ledger::open_existing(&args.database_url).await.context("opening the ledger (PUNCTUAL_DATABASE_URL)")?;
    match &args.command {
        FailuresCommand::List { all } => list(&ledger, *all).await,
        FailuresCommand::Retry { business_key, wait } => {
            let row = archived(&ledger, business_key).await?;
            if row.status == "resolved" {
                crate::out!("{business_key} was {}: not started again", resolved_how(&row));
                return Ok(());
            }
            let target = TemporalTarget::from_env()?;
            let client = target.connect(args.connect_timeout).await?;
            crate::ledger_fence::verify(&client, &args.task_queue, &ledger).await?;
            retry::retry(&target, &client, &ledger, &args.task_queue, &row, *wait, args.connect_timeout).await
        }
        FailuresCommand::Resolve { business_key, note } => resolve(&ledger, business_key, note).await,
    }
}

async fn resolve(ledger: &Ledger, business_key: &str, note: &str) -> anyhow::Result<()> {
    let note = note.trim();
    anyhow::ensure!(!note.is_empty(), "--note must say what was done (it is the archive's record of it)");
    let row = archived(ledger, business_key).await?;
    if row.status == "resolved" {
        crate::out!("{business_key} was already {}: nothing changed", resolved_how(&row));
        return Ok(());
    }
    if row.status == "retrying" {
        crate::out!(
            "note: a retry of {business_key} was started at {}; if it still runs and fails, the key opens again",
            row.retried_at.as_deref().unwrap_or("?")
        );
    }
    let mut conn = ledger.pool().acquire().await.context("updating the failed-run archive")?;
    if archive::resolve_by_hand(&mut conn, business_key, note).await.context("updating the failed-run archive")? {
        tracing::info!(business_key, "failed run resolved by hand");
        crate::out!("{business_key} resolved by hand: {note}");
    } else {
        // A run of the key finished between the read and the update.
        let row = archive::get(&mut conn, business_key).await.context("reading the failed-run archive")?;
        crate::out!("{business_key} was already {}: nothing changed", row.as_ref().map_or("resolved".to_owned(), resolved_how));
    }
    Ok(())
}

/// The archive row of `business_key`, or an error saying there is none.
async fn archived(ledger: &Ledger, business_key: &str) -> anyhow::Result<ArchivedRun> {
    let mut conn = ledger.pool().acquire().await.context("reading the failed-run archive")?;
    archive::get(&mut conn, business_key)
        .await
        .context("reading the failed-run archive")?
        .with_context(|| format!("no failed run is archived under `{business_key}` (`punctual failures list` shows them)"))
}

/// "resolved by run R at T" or "resolved by hand at T (note)".
fn resolved_how(row: &ArchivedRun) -> String {
    let at = row.resolved_at.as_deref().unwrap_or("?");
    match (&row.resolved_by, &row.resolution) {
        (Some(run), _) => format!("resolved by run {run} at {at}"),
        (None, Some(note)) => format!("resolved by hand at {at} ({note})"),
        (None, None) => format!("resolved at {at}"),
    }
}

async fn list(ledger: &Ledger, all: bool) -> anyhow::Result<()> {
    let mut conn = ledger.pool().acquire().await.context("reading the failed-run archive")?;
    let rows = archive::list(&mut conn, all).await.context("reading the failed-run archive")?;
    if rows.is_empty() {
        crate::out!("no {}failed runs", if all { "" } else { "unresolved " });
        return Ok(());
    }
    for row in &rows {
        crate::out!("{}", line(row));
    }
    Ok(())
}

/// One archive row on one line: key, status, attempts, when, what, which run, why, and for a
/// resolved row how it was resolved.
fn line(row: &ArchivedRun) -> String {
    let run = &row.run;
    let resolved = if row.status == "resolved" { format!("  [{}]", resolved_how(row)) } else { String::new() };
    format!(
        "{}  {}  attempts={}  last_failed={}  {} {} (run {})  error: {}{resolved}",
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
