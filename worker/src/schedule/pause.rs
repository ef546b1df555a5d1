//! `punctual schedule pause`: stop the fires to come without losing one already due.
//!
//! The server's scheduler starts a fire at its nominal time plus the job's jitter, and on a busy
//! machine seconds later still. A pause that reaches the scheduler before it starts a fire wins:
//! that fire never starts, although its time passed before anyone asked to pause (server 1.32,
//! checked with `temporal schedule toggle --pause` 3 s after the nominal time of three schedules
//! with 50 s of jitter: none of the three fired). That is a lost run, the thing punctual exists
//! to prevent, and `schedule audit` would only report it later as `missing`.
//!
//! So once the scheduler holds the pause, this starts every occurrence due before the command
//! ran that the scheduler did not start. It starts them through the same business-keyed start
//! as `audit --repair`: an occurrence the scheduler did start, or starts at the same moment, is
//! joined or found done, never run twice.

use super::commands::{scheduled_here, start};
use super::server;
use anyhow::{Context, bail};
use chrono::{DateTime, Days, Duration, Utc};
use punctual_workflows::jobs::Job;
use punctual_workflows::jobs::plan::{ExpectedFire, expected_between};
use punctual_workflows::jobs::types::{fire_workflow_id, schedule_id};
use std::collections::BTreeSet;
use temporalio_client::Client;
use temporalio_client::schedules::PauseScheduleOptions;

/// How late past its nominal time (and jitter) the scheduler may start a fire. Fires older
/// than this that never started are not this pause's doing: `schedule audit` finds them.
/// Measured lags: well under a second when idle, 2-10 s on a loaded 2-core machine.
const SCHEDULER_LAG: Duration = Duration::seconds(60);

/// How long to wait for the scheduler to report the pause before giving up on the catch-up.
const CONFIRM_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Pauses `name`'s schedule, then starts the occurrences due before the pause that the scheduler
/// never started (see the module documentation).
pub async fn pause(client: &Client, task_queue: &str, name: &str, reason: &str) -> anyhow::Result<()> {
    let (job, before) = scheduled_here(client, name, task_queue).await?;
    let asked = Utc::now();
    client
        .get_schedule_handle(schedule_id(name))
        .pause(Some(reason.to_owned()), PauseScheduleOptions::default())
        .await
        .with_context(|| format!("pausing job \"{name}\""))?;
    crate::out!("paused {} ({reason})", schedule_id(name));
    if before.paused {
        // Nothing was due while it was paused already: only the note changed.
        return Ok(());
    }
    let held = confirmed(client, name).await?;
    let started = started_nominal_times(name, &held.raw);
    let queue = if before.task_queue.is_empty() { task_queue } else { &before.task_queue };
    let due = owed(&job, asked, &started);
    let mut done_before = 0;
    for fire in &due {
        // No ledger here (a pause is a server command): these fires fell due in the last minute,
        // long inside any retention, so Temporal itself still refuses a completed key.
        let occurrence = start(client, None, queue, &job, fire, "pause", false).await?;
        done_before += usize::from(occurrence.outcome == "already_done");
        crate::out!(
            "{}: due {} before the pause, not started by the scheduler: {}",
            fire.occurrence.key,
            fire.at.to_rfc3339(),
            occurrence.outcome
        );
    }
    // Another start (a trigger, a backfill) may have run one of them already: found, not doubled.
    crate::out!(
        "{} occurrence(s) due before the pause were not started by the scheduler: {} started now (or joined a run \
         still going), {done_before} already done",
        due.len(),
        due.len() - done_before
    );
    Ok(())
}

/// The schedule as the scheduler describes it once it holds the pause: from then on it starts
/// nothing, and every fire it did start is in its recent actions.
async fn confirmed(client: &Client, name: &str) -> anyhow::Result<server::Existing> {
    let deadline = tokio::time::Instant::now() + CONFIRM_WITHIN;
    loop {
        // A describe queries the scheduler itself, which a busy server can answer late or not at
        // all for a moment: the pause is already sent, so that is retried, not reported.
        let last_error = match server::describe(client, name).await {
            Ok(Some(now)) if now.paused => return Ok(now),
            Ok(Some(_)) => None,
            Ok(None) => bail!("the schedule of job \"{name}\" vanished while it was being paused"),
            Err(e) => Some(e),
        };
        if tokio::time::Instant::now() >= deadline {
            let why = last_error.map_or("it still reports itself running".to_owned(), |e| e.to_string());
            bail!(
                "paused job \"{name}\", but its scheduler did not confirm the pause within {}s ({why}): an occurrence \
                 due before the pause may not have started; check with `punctual schedule audit --job {name}`",
                CONFIRM_WITHIN.as_secs()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Nominal times of the fires the scheduler started, read from their workflow IDs
/// (`{job}/fire-{nominal time}`): the actions' own `schedule_time` includes the jitter.
fn started_nominal_times(
    name: &str,
    described: &temporalio_common::protos::temporal::api::workflowservice::v1::DescribeScheduleResponse,
) -> BTreeSet<DateTime<Utc>> {
    let prefix = format!("{}-", fire_workflow_id(name));
    described
        .info
        .iter()
        .flat_map(|info| &info.recent_actions)
        .filter_map(|action| action.start_workflow_result.as_ref()?.workflow_id.strip_prefix(&prefix))
        .filter_map(|nominal| DateTime::parse_from_rfc3339(nominal).ok())
        .map(|t| t.to_utc())
        .collect()
}

/// The fires of `job` that were due when the pause was `asked` for and that the scheduler has
/// not started: nominal time at or before `asked`, after the newest fire it started, and recent
/// enough (jitter plus [`SCHEDULER_LAG`]) that the pause can have been what stopped them.
fn owed(job: &Job, asked: DateTime<Utc>, started: &BTreeSet<DateTime<Utc>>) -> Vec<ExpectedFire> {
    let reach = Duration::seconds(job.spec.jitter_secs as i64) + SCHEDULER_LAG;
    let since = started.last().copied().into_iter().chain([asked - reach]).max().unwrap_or(asked - reach);
    let local = |t: DateTime<Utc>| t.with_timezone(&job.tz).date_naive();
    let (from, to) = (local(since) - Days::new(1), local(asked) + Days::new(1));
    expected_between(job, from, to).into_iter().filter(|f| f.at > since && f.at <= asked && !started.contains(&f.at)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An hourly job firing at ten past, as a jobs file states it.
    fn hourly_at_minute_ten(jitter_secs: u64) -> Job {
        let text = format!(
            "[jobs.hourly]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\nevery = \"3600s\"\nphase = \"600s\"\njitter = \"{jitter_secs}s\"\n"
        );
        let spec = crate::jobs::config::parse("t.toml", &text).expect("valid jobs file").remove(0);
        Job::resolve(spec).expect("valid job")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").to_utc()
    }

    fn nominal(fires: &[ExpectedFire]) -> Vec<DateTime<Utc>> {
        fires.iter().map(|f| f.at).collect()
    }

    #[test]
    fn a_fire_due_just_before_the_pause_and_not_started_is_owed() {
        let job = hourly_at_minute_ten(0);
        let started = BTreeSet::from([at("2026-11-28T09:10:00Z")]);
        assert_eq!(nominal(&owed(&job, at("2026-11-28T10:10:03Z"), &started)), vec![at("2026-11-28T10:10:00Z")]);
    }

    #[test]
    fn a_fire_the_scheduler_started_is_not_owed() {
        let job = hourly_at_minute_ten(0);
        let started = BTreeSet::from([at("2026-11-28T09:10:00Z"), at("2026-11-28T10:10:00Z")]);
        assert_eq!(owed(&job, at("2026-11-28T10:10:03Z"), &started).len(), 0);
    }

    #[test]
    fn a_fire_after_the_pause_is_not_owed() {
        let job = hourly_at_minute_ten(0);
        assert_eq!(owed(&job, at("2026-11-28T10:09:59Z"), &BTreeSet::new()).len(), 0);
    }

    #[test]
    fn only_fires_the_pause_can_have_stopped_are_owed() {
        // Longer ago than the scheduler's lag: not this pause's doing (audit reports it).
        let job = hourly_at_minute_ten(0);
        assert_eq!(owed(&job, at("2026-11-28T10:11:01Z"), &BTreeSet::new()).len(), 0);
        assert_eq!(nominal(&owed(&job, at("2026-11-28T10:10:59Z"), &BTreeSet::new())), vec![at("2026-11-28T10:10:00Z")]);
        // Jitter widens the reach by itself: the scheduler would start that fire up to 30 min late.
        let jittered = hourly_at_minute_ten(1800);
        assert_eq!(nominal(&owed(&jittered, at("2026-11-28T10:39:00Z"), &BTreeSet::new())), vec![at("2026-11-28T10:10:00Z")]);
    }
}
