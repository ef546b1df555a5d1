//! Stopping the schedule at the end of the window without dropping a fire that was already due.
//!
//! Temporal's scheduler acts on a due time a few seconds late when the machine is busy, and a
//! pause that reaches it first wins: the paused schedule never starts that fire (found by this
//! harness: the last fire before the pause went missing in every early run). So the harness
//! waits until the server reports the fire of the last due time started, then pauses, and the
//! verifier requires every fire up to that one.

use super::system::JOB;
use super::timeline::Timeline;
use super::tools::Tools;
use anyhow::{Context, bail};
use chrono::{DateTime, TimeZone, Utc};
use punctual_workflows::jobs::types::schedule_id;
use std::time::{Duration, Instant};

/// Bound on waiting for the scheduler to start a due fire; beyond it the fire counts as lost.
const DUE_FIRE_LIMIT: Duration = Duration::from_secs(60);

/// The nominal times of the schedule's recent actions, as `temporal schedule describe` lists them.
async fn recent_fires(tools: &Tools) -> anyhow::Result<Vec<DateTime<Utc>>> {
    let out = tools.temporal(&["schedule", "describe", "--schedule-id", &schedule_id(JOB), "-o", "json"]).await?;
    let value: serde_json::Value =
        serde_json::from_str(&out).with_context(|| format!("reading `temporal schedule describe`: {out}"))?;
    let actions = value["info"]["recentActions"].as_array().cloned().unwrap_or_default();
    Ok(actions
        .iter()
        .filter_map(|a| a["scheduleTime"].as_str())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
        .collect())
}

/// Waits for the fire of the last due `every`-second time, pauses the schedule, and returns
/// that time; fails if the server does not start it within [`DUE_FIRE_LIMIT`].
pub async fn stop_schedule(tools: &Tools, every: u64, timeline: &Timeline) -> anyhow::Result<DateTime<Utc>> {
    let step = every as i64;
    let due_secs = Utc::now().timestamp().div_euclid(step) * step;
    let due = Utc.timestamp_opt(due_secs, 0).single().context("a due time")?;
    let started = Instant::now();
    loop {
        // A describe may fail while the server is busy; the bound still holds.
        if recent_fires(tools).await.is_ok_and(|fires| fires.contains(&due)) {
            break;
        }
        if started.elapsed() > DUE_FIRE_LIMIT {
            bail!("the schedule did not start its fire due at {due} within {DUE_FIRE_LIMIT:?}: that fire is lost");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tools.schedule(&["pause", JOB, "--reason", "chaos run: window over"]).await?;
    timeline.note(format!(
        "schedule paused once its fire due at {} had started ({:.1}s later)",
        due.format("%H:%M:%SZ"),
        (Utc::now() - due).num_milliseconds() as f64 / 1000.0
    ));
    Ok(due)
}
