//! The processes a benchmark measures: its own in-memory dev server and `punctual worker`s.
//!
//! Both are real child processes, not in-process workers, so their CPU and memory can be read
//! from `/proc` apart from the driver's. Each is killed when its handle drops, so an aborted
//! benchmark leaves nothing running.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use temporalio_client::{Client, ClientOptions, ConnectionOptions};
use tokio::process::{Child, Command};

/// A free loopback port (bound, read, released: another process could take it in between, which
/// a benchmark can live with).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Dynamic config values for the dev servers the benchmark starts (`KEY=JSON;KEY=JSON`), in
/// place of [`SCHEDULER_TUNING`]; set it empty for the server's own defaults.
pub(crate) const DYNAMIC_CONFIG_ENV: &str = "PUNCTUAL_BENCH_DYNAMIC_CONFIG";

/// The server settings `make run` also starts its dev server with (`scripts/run.sh`): the
/// scheduler's start rate (30 a second per namespace by default, which makes 100 schedules due
/// in one second wait on timers) and its internal worker's pollers. Measured in BENCHMARKS.md
/// ("Schedule lag"): the scheduler's share of lag p99 15.4 s → 2.3 s.
pub(crate) const SCHEDULER_TUNING: [&str; 2] = [
    "worker.schedulerNamespaceStartWorkflowRPS=1000",
    r#"worker.perNamespaceWorkerOptions={"MaxConcurrentWorkflowTaskPollers":16,"MaxConcurrentActivityTaskPollers":8}"#,
];

/// `temporal server start-dev --headless` on a free port, in memory unless `db_file` is given.
pub(crate) struct DevServer {
    child: Child,
    /// `127.0.0.1:PORT` of the frontend.
    pub(crate) address: String,
}

impl DevServer {
    /// Starts the server with punctual's search attributes and waits until it answers.
    pub(crate) async fn start(temporal: &Path, search_attributes: &[String], log: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let mut command = Command::new(temporal);
        command.args(["server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", &port.to_string()]);
        for attribute in search_attributes {
            command.args(["--search-attribute", attribute]);
        }
        let tuning = std::env::var(DYNAMIC_CONFIG_ENV).unwrap_or_else(|_| SCHEDULER_TUNING.join(";"));
        for value in tuning.split(';').filter(|v| !v.trim().is_empty()) {
            command.args(["--dynamic-config-value", value.trim()]);
        }
        let child = spawn_logged(command, log)?;
        let server = Self { child, address };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.connect().await.is_err() {
            if Instant::now() > deadline {
                bail!("the dev server did not answer at {} within 60 s; see {}", server.address, log.display());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(server)
    }

    /// The server's process id, for `/proc`.
    pub(crate) fn pid(&self) -> String {
        self.child.id().map(|id| id.to_string()).unwrap_or_default()
    }

    /// A client of the `default` namespace.
    pub(crate) async fn connect(&self) -> anyhow::Result<Client> {
        let url: temporalio_client::Url = format!("http://{}", self.address).parse().context("server URL")?;
        Ok(Client::connect(
            ConnectionOptions::new(url).identity("punctual-bench".to_owned()).build(),
            ClientOptions::new("default").build(),
        )
        .await?)
    }
}

/// One `punctual worker` process polling a task queue of its own.
pub(crate) struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

/// How to start a worker: which binary, extra flags, extra environment.
#[derive(Debug, Clone)]
pub(crate) struct WorkerSpec {
    /// The `punctual` executable.
    pub(crate) binary: PathBuf,
    /// Flags after `punctual worker`.
    pub(crate) args: Vec<String>,
    /// Extra environment (`LD_PRELOAD=...`, `PUNCTUAL_*`).
    pub(crate) env: Vec<(String, String)>,
}

impl WorkerProcess {
    /// Starts `spec` against `server` on `task_queue` with a fresh SQLite ledger in `dir`, and
    /// waits for it to log that it polls.
    pub(crate) async fn start(spec: &WorkerSpec, server: &DevServer, task_queue: &str, dir: &Path) -> anyhow::Result<Self> {
        let log = dir.join(format!("worker-{task_queue}.log"));
        let mut command = Command::new(&spec.binary);
        command
            .arg("worker")
            .args(&spec.args)
            .env_remove("TEMPORAL_PROFILE")
            .env_remove("RUST_LOG")
            .env("TEMPORAL_ADDRESS", &server.address)
            .env("TEMPORAL_NAMESPACE", "default")
            .env("PUNCTUAL_TASK_QUEUE", task_queue)
            .env("PUNCTUAL_DATABASE_URL", format!("sqlite://{}", dir.join(format!("ledger-{task_queue}.db")).display()))
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let child = spawn_logged(command, &log).with_context(|| format!("starting {}", spec.binary.display()))?;
        let mut worker = Self { child, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::fs::read_to_string(&worker.log).is_ok_and(|text| text.contains("worker polling")) {
                return Ok(worker);
            }
            if let Some(status) = worker.child.try_wait()? {
                bail!("the worker exited ({status}) before polling; see {}", worker.log.display());
            }
            if Instant::now() > deadline {
                bail!("the worker did not poll within 60 s; see {}", worker.log.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The worker's process id, for `/proc`.
    pub(crate) fn pid(&self) -> String {
        self.child.id().map(|id| id.to_string()).unwrap_or_default()
    }

    /// SIGKILL: the worker dies with whatever it holds (tasks, sticky workflows, activities).
    pub(crate) async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// SIGTERM, then wait for the drain (SIGKILL after 10 s): the next variant must not share
    /// the CPUs with this one.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(id) = self.child.id() {
            Command::new("kill").args(["-TERM", &id.to_string()]).status().await?;
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// Spawns `command` with stdout and stderr appended to `log`, killed when dropped.
fn spawn_logged(mut command: Command, log: &Path) -> anyhow::Result<Child> {
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file).kill_on_drop(true);
    Ok(command.spawn()?)
}
