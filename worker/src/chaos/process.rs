//! One child process of the run (the server, a sandbox, a worker): started, killed with SIGKILL,
//! stopped with SIGTERM, started again with the same command line, output appended to its log.
//!
//! Every child runs under `setpriv --pdeathsig KILL`, so it dies with the harness even when the
//! harness itself is killed: a chaos run must never leave servers or workers behind.

use anyhow::Context;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::{Child, Command};

/// How to start a process.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Executable.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

/// A child process that can be killed and started again.
#[derive(Debug)]
pub struct Process {
    name: String,
    spec: Spec,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    /// Starts `spec` as `name`, appending its stdout and stderr to `log`.
    pub fn start(name: &str, spec: Spec, log: &Path) -> anyhow::Result<Self> {
        let mut process = Self { name: name.to_owned(), spec, log: log.to_owned(), child: None };
        process.restart()?;
        Ok(process)
    }

    /// The name in the timeline (`worker-2`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether a process is running (as far as the harness knows).
    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process (again); a running one is left as it is.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let err = log.try_clone().with_context(|| format!("opening {}", self.log.display()))?;
        let mut command = Command::new("setpriv");
        // Only the spec's settings: an inherited PUNCTUAL_METRICS_ADDR or TEMPORAL_ADDRESS would
        // point every process at the same port or at another server.
        for (name, _) in std::env::vars() {
            if name.starts_with("PUNCTUAL_") || name.starts_with("TEMPORAL_") {
                command.env_remove(name);
            }
        }
        let child = command
            .args(["--pdeathsig", "KILL"])
            .arg(&self.spec.program)
            .args(&self.spec.args)
            .envs(self.spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} ({})", self.name, self.spec.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL, then reaps it. `setpriv` execs the program, so the pid is the program's.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// SIGTERM, waiting up to `grace` for it to exit, then SIGKILL.
    pub async fn terminate(&mut self, grace: Duration) {
        self.stop_with("TERM", grace).await;
    }

    /// Sends `signal` (`TERM`, `INT`...), waits up to `grace` for it to exit, then SIGKILL.
    pub async fn stop_with(&mut self, signal: &str, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().await;
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// If the process exited on its own since the last look, its status (and it counts as down).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok().flatten()?;
        self.child = None;
        Some(status)
    }
}
