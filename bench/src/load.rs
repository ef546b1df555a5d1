//! The `BenchWorkflow` load: N workflows, at most C in flight, each timed from its start request
//! to its result.
//!
//! This is the contract other SDKs' workers were measured with (500 workflows, 50 in flight,
//! 3 regular activities of 64 bytes), so the numbers compare across languages.

use anyhow::{Context, bail};
use punctual_workflows::{BenchWorkflow, JsonInput};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};

/// The shape of one load.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// Workflows started in all.
    pub(crate) workflows: u64,
    /// Workflows running at once.
    pub(crate) in_flight: u64,
    /// Activities per workflow.
    pub(crate) activities: u64,
    /// Bytes handed to each activity.
    pub(crate) payload_bytes: u64,
}

/// What one load measured from the outside.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Wall time from the first start to the last result.
    pub(crate) elapsed: Duration,
    /// Start-to-result latency of every workflow, sorted.
    pub(crate) latencies: Vec<Duration>,
    /// Start request and result of every workflow, in no particular order.
    pub(crate) spans: Vec<(Instant, Instant)>,
}

impl Outcome {
    /// Completed workflows per second.
    pub(crate) fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile (`p` in 0..=100) of the latencies.
    pub(crate) fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// Nearest-rank percentile of sorted `values`; zero when there are none.
pub(crate) fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Runs `load` on `task_queue`, with workflow IDs `{id_prefix}-{n}`; fails if any workflow does
/// not return `activities * payload_bytes`.
pub(crate) async fn run(client: &Client, task_queue: &str, id_prefix: &str, load: Load) -> anyhow::Result<Outcome> {
    run_counting(client, task_queue, id_prefix, load, Arc::new(AtomicU64::new(0))).await
}

/// [`run`], adding one to `completed` as each workflow returns (so another task can act at a
/// point of the load, as the recovery scenario's kill does).
pub(crate) async fn run_counting(
    client: &Client,
    task_queue: &str,
    id_prefix: &str,
    load: Load,
    completed: Arc<AtomicU64>,
) -> anyhow::Result<Outcome> {
    let next = Arc::new(AtomicU64::new(0));
    let input = JsonInput::from(json!({ "activities": load.activities, "payload_bytes": load.payload_bytes }));
    let expected = load.activities * load.payload_bytes;
    let started = Instant::now();
    let lanes = (0..load.in_flight.min(load.workflows)).map(|_| {
        let (client, next, input, completed) = (client.clone(), next.clone(), input.clone(), completed.clone());
        let (task_queue, id_prefix) = (task_queue.to_owned(), id_prefix.to_owned());
        tokio::spawn(async move {
            let mut spans = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= load.workflows {
                    return anyhow::Ok(spans);
                }
                let id = format!("{id_prefix}-{n}");
                let begin = Instant::now();
                let options = WorkflowStartOptions::new(&task_queue, &id).build();
                let handle = client
                    .start_workflow(BenchWorkflow::run, input.clone(), options)
                    .await
                    .with_context(|| format!("starting {id}"))?;
                let result =
                    handle.get_result(WorkflowGetResultOptions::default()).await.with_context(|| format!("result of {id}"))?;
                if result != expected {
                    bail!("{id} returned {result}, expected {expected}");
                }
                spans.push((begin, Instant::now()));
                completed.fetch_add(1, Ordering::Relaxed);
            }
        })
    });
    let lanes: Vec<_> = lanes.collect();
    let mut spans = Vec::with_capacity(load.workflows as usize);
    for lane in lanes {
        spans.extend(lane.await.context("load lane panicked")??);
    }
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = spans.iter().map(|(begin, end)| *end - *begin).collect();
    latencies.sort();
    Ok(Outcome { elapsed, latencies, spans })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&ms, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&ms, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&ms[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
