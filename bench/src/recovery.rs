//! The recovery scenario: three workers share a task queue under `BenchWorkflow` load; one is
//! SIGKILLed once a third of the load has completed and never comes back. How long do the
//! workflows it held take to finish on the other two?
//!
//! What the killed worker held, and what bounds each (Temporal's timeouts, not ours):
//! - workflows cached on it: their next workflow task goes to its sticky queue and moves to the
//!   shared queue after the sticky schedule-to-start timeout (the SDK's default, 10 s);
//! - a workflow task it had started: the workflow task timeout (10 s);
//! - an activity it had started: that activity's start-to-close timeout, 30 s in the
//!   `BenchWorkflow` contract (a heartbeat timeout would bound it sooner for long activities).
//!
//! The sum is the upper bound a workflow can be delayed; the table shows what happened.

use crate::load::{self, Load, Outcome};
use crate::processes::{DevServer, WorkerProcess, WorkerSpec};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use temporalio_client::Client;

/// What the scenario measured.
#[derive(Debug, Clone)]
pub(crate) struct RecoveryReport {
    /// The whole load.
    pub(crate) outcome: Outcome,
    /// Workflows in flight when the worker died, and for each how long after the kill it
    /// returned; sorted.
    pub(crate) after_kill: Vec<Duration>,
    /// Latencies of the workflows that started and ended before the kill (the normal case).
    pub(crate) before_kill: Vec<Duration>,
}

/// Runs the scenario: three workers, `load`, one SIGKILL.
pub(crate) async fn measure(
    server: &DevServer,
    client: &Client,
    spec: &WorkerSpec,
    load: Load,
    dir: &std::path::Path,
) -> anyhow::Result<RecoveryReport> {
    let task_queue = format!("recovery-{}", std::process::id());
    let mut workers = Vec::new();
    for n in 0..3 {
        eprintln!("recovery: starting worker {}", n + 1);
        workers.push(WorkerProcess::start(spec, server, &task_queue, dir).await?);
    }
    let victim = workers.remove(0);
    let completed = Arc::new(AtomicU64::new(0));
    let watcher = {
        let completed = completed.clone();
        let third = load.workflows / 3;
        tokio::spawn(async move {
            while completed.load(Ordering::Relaxed) < third {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let at = Instant::now();
            victim.kill().await.map(|()| at)
        })
    };
    let outcome = load::run_counting(client, &task_queue, &task_queue, load, completed).await?;
    let killed_at = watcher.await??;
    eprintln!("recovery: worker 1 SIGKILLed, load done");
    for worker in workers {
        worker.stop().await?;
    }
    let mut after_kill: Vec<Duration> = outcome
        .spans
        .iter()
        .filter(|(begin, end)| *begin < killed_at && *end > killed_at)
        .map(|(_, end)| *end - killed_at)
        .collect();
    after_kill.sort();
    let mut before_kill: Vec<Duration> =
        outcome.spans.iter().filter(|(_, end)| *end <= killed_at).map(|(begin, end)| *end - *begin).collect();
    before_kill.sort();
    Ok(RecoveryReport { outcome, after_kill, before_kill })
}
