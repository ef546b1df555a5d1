//! Letting everything finish after the schedule stops: every required occurrence settled and no
//! workflow left running on the server, within the profile's bound — a run that does not drain
//! in time fails, whatever its counts.

use super::expected::Fires;
use super::inject::sleep_supervised;
use super::observe::occurrence_statuses;
use super::system::{JOB, System};
use super::timeline::Timeline;
use anyhow::Context;
use std::time::{Duration, Instant};

/// Pause between looks.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// How the drain ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drained {
    /// Everything settled after this long.
    Done(Duration),
    /// Still unsettled at the bound: what was left.
    TimedOut { unsettled: usize, running: u64 },
}

/// Waits until every required occurrence has a final status and nothing runs, or `limit`.
pub async fn drain(system: &mut System, fires: &Fires, limit: Duration, timeline: &Timeline) -> anyhow::Result<Drained> {
    let started = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let statuses = occurrence_statuses(&system.ledger, JOB).await?;
        let unsettled = fires
            .required
            .iter()
            .filter(|f| !matches!(statuses.get(&f.key).map(String::as_str), Some("committed" | "failed" | "skipped")))
            .count();
        // Asked only once the occurrences are settled: duplicates and sagas may still run.
        let running = if unsettled == 0 { running_workflows(system).await.unwrap_or(u64::MAX) } else { u64::MAX };
        if unsettled == 0 && running == 0 {
            return Ok(Drained::Done(started.elapsed()));
        }
        if started.elapsed() >= limit {
            return Ok(Drained::TimedOut { unsettled, running });
        }
        if last_report.elapsed() >= Duration::from_secs(15) {
            let running = if running == u64::MAX { "?".to_owned() } else { running.to_string() };
            timeline.note(format!("draining: {unsettled} occurrences unsettled, {running} workflows running"));
            last_report = Instant::now();
        }
        sleep_supervised(system, Instant::now() + LOOK_EVERY, timeline).await?;
    }
}

/// Workflows still running on the run's server (fires, occurrences, billing runs, sagas).
async fn running_workflows(system: &System) -> anyhow::Result<u64> {
    let out = system.tools.temporal(&["workflow", "count", "--query", "ExecutionStatus='Running'", "-o", "json"]).await?;
    let value: serde_json::Value =
        serde_json::from_str(&out).with_context(|| format!("reading `temporal workflow count`: {out}"))?;
    let count = &value["count"];
    count
        .as_u64()
        .or_else(|| count.as_str().and_then(|s| s.parse().ok()))
        .or_else(|| count.is_null().then_some(0))
        .with_context(|| format!("no count in `temporal workflow count`: {out}"))
}
