//! The command-line tools a person would use on the run's system, run as subprocesses: the
//! `punctual` binary itself (`schedule apply`, `trigger`, `pause`) and the `temporal` CLI.
//!
//! The harness drives the system through them rather than through library calls so that the
//! commands the README documents are the ones under fault.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;

/// Bound on one command; only a hung command hits it.
const COMMAND_LIMIT: Duration = Duration::from_secs(90);

/// Where the tools are and which server, queue and jobs file they work on.
#[derive(Debug, Clone)]
pub struct Tools {
    /// This `punctual` executable.
    pub punctual: PathBuf,
    /// The `temporal` CLI.
    pub temporal: PathBuf,
    /// Frontend address of the run's server.
    pub address: String,
    /// The run's jobs file.
    pub config: PathBuf,
    /// The run's task queue.
    pub task_queue: String,
}

impl Tools {
    /// `punctual schedule --config C --task-queue Q ARGS...`; standard output on success.
    pub async fn schedule(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = Command::new(&self.punctual);
        cmd.arg("schedule").arg("--config").arg(&self.config).args(["--task-queue", &self.task_queue]).args(args);
        cmd.env("TEMPORAL_ADDRESS", &self.address).env_remove("TEMPORAL_PROFILE").env_remove("TEMPORAL_NAMESPACE");
        run(cmd, &format!("punctual schedule {}", args.join(" "))).await
    }

    /// `temporal ARGS... --address A`; standard output on success.
    pub async fn temporal(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = Command::new(&self.temporal);
        cmd.args(args).args(["--address", &self.address]);
        run(cmd, &format!("temporal {}", args.join(" "))).await
    }
}

async fn run(mut cmd: Command, shown: &str) -> anyhow::Result<String> {
    cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(COMMAND_LIMIT, cmd.output())
        .await
        .with_context(|| format!("`{shown}` did not finish within {COMMAND_LIMIT:?}"))?
        .with_context(|| format!("running `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        bail!("`{shown}` failed ({}): {last}", out.status);
    }
    Ok(stdout)
}
