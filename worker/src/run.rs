//! Running a worker until told to stop, then draining it.

use std::future::Future;
use temporalio_client::Client;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// Polls `options.task_queue` with `client` until `shutdown` resolves, then stops polling and
/// keeps driving the worker while in-flight tasks finish (bounded by the options' graceful
/// shutdown period). Returns once the worker has fully drained.
pub async fn run_worker(
    client: Client,
    options: WorkerOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let task_queue = options.task_queue.clone();
    let mut worker = Worker::new(&runtime, client, options)?;
    let stop = worker.shutdown_handle();
    tracing::info!(task_queue = %task_queue, "worker polling");

    let run = worker.run();
    tokio::pin!(run);
    tokio::select! {
        finished = &mut run => {
            finished?;
            tracing::warn!(task_queue = %task_queue, "worker stopped on its own");
            return Ok(());
        }
        () = shutdown => {
            tracing::info!(task_queue = %task_queue, "shutdown requested: no new tasks, draining in-flight work");
            stop();
        }
    }
    run.await?;
    tracing::info!(task_queue = %task_queue, "worker drained and stopped");
    Ok(())
}
