//! Running a worker until told to stop, then draining it.

use crate::metrics_server::Readiness;
use std::future::Future;
use temporalio_client::Client;
use temporalio_sdk::runtime::RuntimeOptions;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// Polls `options.task_queue` with `client` until `shutdown` resolves, then stops polling and
/// keeps driving the worker while in-flight tasks finish (bounded by the options' graceful
/// shutdown period). Returns once the worker has fully drained.
pub async fn run_worker(client: Client, options: WorkerOptions, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    run_worker_observed(client, options, RuntimeOptions::default(), Readiness::default(), shutdown).await
}

/// [`run_worker`] with the SDK runtime's options (where its metrics go) and a [`Readiness`]
/// that is true exactly while the worker polls: from the start of polling until shutdown starts.
pub async fn run_worker_observed(
    client: Client,
    options: WorkerOptions,
    runtime_options: RuntimeOptions,
    readiness: Readiness,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(runtime_options)?;
    let task_queue = options.task_queue.clone();
    let mut worker = Worker::new(&runtime, client, options)?;
    let stop = worker.shutdown_handle();
    tracing::info!(task_queue = %task_queue, "worker polling");
    readiness.set(true);

    let run = worker.run();
    tokio::pin!(run);
    tokio::select! {
        finished = &mut run => {
            readiness.set(false);
            finished?;
            tracing::warn!(task_queue = %task_queue, "worker stopped on its own");
            return Ok(());
        }
        () = shutdown => {
            tracing::info!(task_queue = %task_queue, "shutdown requested: no new tasks, draining in-flight work");
            readiness.set(false);
            stop();
        }
    }
    run.await?;
    tracing::info!(task_queue = %task_queue, "worker drained and stopped");
    Ok(())
}
