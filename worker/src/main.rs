//! `punctual`: parse flags, set up tracing, wire signals, and hand over to the library.

use anyhow::Context;
use clap::Parser;
use punctual_worker::{
    cli::{Cli, Command, WorkerArgs},
    connect::TemporalTarget,
    registration, run, shutdown, telemetry,
};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Worker(args) => worker(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, the whole cause chain, no backtrace: this is read by people.
            tracing::error!(error = %format!("{err:#}"), "punctual stopped");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let target = TemporalTarget::from_env()?;
    tracing::info!(address = %target.address(), namespace = %target.namespace(), "connecting to Temporal");
    let client = target.connect(args.connect_timeout).await?;
    let options = registration::worker_options(&args.task_queue, args.shutdown_grace)
        .context("registering workflows")?;
    run::run_worker(client, options, shutdown::signal()).await
}
