//! The run's own Temporal dev server, backed by a file so it can be stopped and started again with
//! its histories, schedules and task queues intact (what a real outage and recovery looks like).

use super::process::{Process, Spec};
use anyhow::{Context, bail};
use punctual_workflows::names::SEARCH_ATTRIBUTES;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::Command;

/// Bound on a start: only a server that never comes up stops the run.
const START_LIMIT: Duration = Duration::from_secs(90);
/// How long a stopping server may take to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// `temporal server start-dev --db-filename ...` on a fixed loopback port.
#[derive(Debug)]
pub struct DevServer {
    process: Process,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The `temporal` CLI.
    pub bin: PathBuf,
}

impl DevServer {
    /// Starts a server on `port` with its database at `db`, and waits until it answers.
    pub async fn start(bin: &Path, port: u16, db: &Path, log: &Path) -> anyhow::Result<Self> {
        let mut args: Vec<String> =
            ["server", "start-dev", "--headless", "--ip", "127.0.0.1", "--log-level", "warn"].map(str::to_owned).to_vec();
        args.extend(["--port".into(), port.to_string(), "--db-filename".into(), db.display().to_string()]);
        for (name, kind) in SEARCH_ATTRIBUTES {
            args.extend(["--search-attribute".into(), format!("{name}={kind}")]);
        }
        let spec = Spec { program: bin.to_owned(), args, env: vec![] };
        let process = Process::start("temporal", spec, log)?;
        let server = Self { process, address: format!("127.0.0.1:{port}"), bin: bin.to_owned() };
        server.wait_healthy().await?;
        Ok(server)
    }

    /// Stops the server (SIGTERM), keeping its database.
    pub async fn stop(&mut self) {
        self.process.terminate(STOP_GRACE).await;
    }

    /// Starts it again on the same port and database and waits until it answers.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        self.process.restart()?;
        self.wait_healthy().await
    }

    /// Whether it is meant to be running.
    pub fn is_up(&self) -> bool {
        self.process.is_up()
    }

    /// If it exited on its own, its status.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.process.exited()
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < START_LIMIT {
            let health = Command::new(&self.bin)
                .args(["operator", "cluster", "health", "--address", &self.address])
                .output()
                .await
                .with_context(|| format!("running {}", self.bin.display()))?;
            if health.status.success() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("the Temporal dev server on {} did not answer within {START_LIMIT:?}", self.address)
    }
}
