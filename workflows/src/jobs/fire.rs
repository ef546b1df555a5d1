//! `ScheduledJobWorkflow`: what a job's schedule starts on every fire.
//!
//! It learns the fire's *nominal* time — never the worker's clock, so a fire started late
//! (workers down, catch-up after an outage, a backfill) still works on the right business date:
//! - from a schedule: the `TemporalScheduledStartTime` search attribute, cross-checked against
//!   the `-{RFC 3339}` suffix the server appends to the workflow ID;
//! - from a legacy cron workflow (`temporal workflow start --cron ...`): the run's start time
//!   plus its first-task backoff (when the cron meant it to run);
//! - from a manual start with `business_date`: that date's first expected fire;
//! - otherwise (a plain `temporal workflow start`): the workflow's start time.
//!
//! A schedule's fire at an instant the job never fires at ("trigger now") counts as `manual`.
//!
//! Then [`classify`] maps it to business keys and each occurrence is started or joined through
//! `StartOccurrence`; the fire waits for them (so the schedule's overlap policy governs
//! occurrences of the job) and records skips visibly (`RunOutcome=skipped_holiday` ...).

use super::contracts::JobContract;
use super::job::Job;
use super::occurrence::{parse, rfc3339};
use super::plan::{FirePlan, classify, expected_fires};
use super::types::*;
use crate::billing::options::activity;
use crate::input::{INVALID_INPUT, InputError, JsonInput};
use crate::{names, search};
use chrono::{DateTime, NaiveDate, Utc};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowResult};

/// Failure type of a fire on a date its calendar has no holiday data for.
pub const CALENDAR_NOT_COVERED: &str = "CalendarNotCovered";

/// Patch marker of a fire refused by the calendar coverage check.
const CALENDAR_COVERAGE_CHECKED: &str = "calendar-coverage-checked";

/// Search attribute the server sets on scheduled runs: the nominal time, before jitter.
const SCHEDULED_START_TIME: &str = "TemporalScheduledStartTime";

/// Pause between checks on a started occurrence; doubles up to a minute.
const FIRST_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(60);

/// `ScheduledJobWorkflow` — workflow ID `{job}/fire-{nominal time}` when a schedule starts it;
/// input [`FireInput`]; result [`FireResult`].
#[workflow]
#[derive(Default)]
pub struct ScheduledJobWorkflow;

#[workflow_methods]
impl ScheduledJobWorkflow {
    /// Entry point; see the module documentation.
    #[run(name = names::SCHEDULED_JOB_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<FireResult> {
        let input: FireInput = parse(&input)?;
        // A job no fire can run (a zone or calendar this build does not know): `InvalidInput`,
        // like every other input the workflow refuses, never retried.
        let job = Job::resolve(input.job.clone()).map_err(|e| invalid_job(&e.to_string()))?;
        let (nominal, trigger) = nominal_time(ctx, &job, input.business_date.as_deref())?;
        ctx.upsert_search_attributes([search::JOB_NAME.value_set(job.name().to_owned())]);
        // Past the end of its calendar's holiday data the plan would be a guess (New Year's Day a
        // business day): the fire fails, non-retryably, naming the fix. The audit reports the
        // date, and a trigger of it after the calendar is extended runs it once. Asked only for
        // such a date, so other fires carry no marker.
        let day = nominal.with_timezone(&job.tz).date_naive();
        if let Some(gap) = job.calendar.gap(day)
            && ctx.patched(CALENDAR_COVERAGE_CHECKED)
        {
            if !ctx.is_replaying() {
                tracing::error!(job = job.name(), nominal = %rfc3339(nominal), %gap, "fire refused: calendar data missing");
            }
            ctx.upsert_search_attributes([search::RUN_OUTCOME.value_set("failed".to_owned())]);
            let message = format!(
                "job {}: {gap}, then run the date's occurrences: punctual schedule audit --job {} --from {day} --to {day} --repair",
                job.name(),
                job.name()
            );
            return Err(ApplicationFailure::builder(message)
                .type_name(CALENDAR_NOT_COVERED.to_owned())
                .non_retryable(true)
                .build()
                .into());
        }
        let plan = keys_as_recorded(ctx, &job, classify(&job, nominal));
        let trigger = triggered_by(trigger, &plan);
        if !ctx.is_replaying() {
            tracing::info!(job = job.name(), nominal = %rfc3339(nominal), trigger, ?plan, "fire classified");
        }
        let mut result = FireResult {
            job: job.name().to_owned(),
            nominal_time: rfc3339(nominal),
            trigger: trigger.to_owned(),
            outcome: "ran".to_owned(),
            reason: None,
            occurrences: vec![],
        };
        match plan {
            FirePlan::NotDue { reason } => {
                result.outcome = "not_due".to_owned();
                result.reason = Some(reason);
            }
            FirePlan::Skip { key, business_date, outcome, reason } => {
                let date = business_date.format("%Y-%m-%d").to_string();
                ctx.upsert_search_attributes([
                    search::BUSINESS_KEY.value_set(key.clone()),
                    search::BUSINESS_DATE.value_set(date.clone()),
                ]);
                if outcome != "rolled" {
                    // A rolled date is recorded by its occurrence, on the day it runs.
                    let record = OccurrenceRecord {
                        key: key.clone(),
                        job: job.name().to_owned(),
                        business_date: date,
                        effective_date: None,
                        nominal_time: Some(rfc3339(nominal)),
                        status: "skipped".to_owned(),
                        reason: Some(reason.clone()),
                        deadline_at: None,
                        workflow_id: ctx.workflow_id().to_owned(),
                        run_id: ctx.run_id().to_owned(),
                        failed_items: None,
                    };
                    ctx.execute_activity(JobContract::record_occurrence, record, activity(format!("record/{key}/skipped")))
                        .await?;
                }
                result.outcome = outcome;
                result.reason = Some(reason);
            }
            FirePlan::Run { occurrences, repeated_wall_time, .. } => {
                if let Some(first) = occurrences.first() {
                    ctx.upsert_search_attributes([
                        search::BUSINESS_KEY.value_set(first.key.clone()),
                        search::BUSINESS_DATE.value_set(first.business_date.format("%Y-%m-%d").to_string()),
                    ]);
                }
                for occurrence in occurrences {
                    if repeated_wall_time {
                        wait_until(ctx, occurrence.due).await;
                    }
                    let key = occurrence.key.clone();
                    let start = OccurrenceInput { job: job.spec.clone(), occurrence, trigger: trigger.to_owned(), force: false };
                    let started =
                        ctx.execute_activity(JobContract::start_occurrence, start, activity(format!("start/{key}"))).await?;
                    let outcome = if started.outcome == "already_done" {
                        OccurrenceResult { key: key.clone(), outcome: "already_done".to_owned(), reason: None, result: None }
                    } else {
                        wait_until_settled(ctx, &key, &started.run_id).await?
                    };
                    result.occurrences.push(outcome);
                }
                if result.occurrences.iter().any(|o| o.outcome == "failed") {
                    result.outcome = "failed".to_owned();
                }
            }
        }
        ctx.upsert_search_attributes([search::RUN_OUTCOME.value_set(result.outcome.clone())]);
        Ok(result)
    }
}

/// The nominal time of a manual fire for `date`: the first expected fire that serves `date`, so the
/// fire also runs whatever other dates the calendar rolls onto it (a Monday's fire under
/// `roll = "following"` serves the weekend before it too; a Friday's under `"preceding"` the
/// weekend after it). A date the job does not serve keeps its own noon, so the plan explains why.
/// `punctual schedule trigger --business-date` prints the keys of this fire from the same function.
pub fn manual_fire_time(job: &Job, date: NaiveDate) -> DateTime<Utc> {
    // Only a roll moves a date onto another day's fire; an `every` job's day holds up to 86,400
    // fires, so it is not searched for 40 days it cannot be in.
    let from = if job.rolls() { date.checked_sub_days(chrono::Days::new(MANUAL_SEARCH_DAYS)).unwrap_or(date) } else { date };
    serving_fire(job, date, from)
}

/// How far from the date a manual fire looks for the fire that serves it, either way: further
/// than any roll moves a date ([`ROLL_SEARCH_DAYS`](super::plan) is 40 as well).
const MANUAL_SEARCH_DAYS: u64 = 40;

/// [`manual_fire_time`] as it was before [`MANUAL_FIRE_LOOKS_BACK`]: it looked forward only, so a
/// date rolled back onto an earlier fire (`"preceding"`, `"modified_following"` at a month's end)
/// got its own noon, which the plan then showed as not due.
fn manual_fire_time_forward_only(job: &Job, date: NaiveDate) -> DateTime<Utc> {
    serving_fire(job, date, date)
}

fn serving_fire(job: &Job, date: NaiveDate, from: NaiveDate) -> DateTime<Utc> {
    let first = from
        .iter_days()
        .take_while(|d| (*d - date).num_days() <= MANUAL_SEARCH_DAYS as i64)
        .flat_map(|d| expected_fires(job, d))
        .find(|f| f.occurrence.business_date == date)
        .map(|f| f.at);
    first.unwrap_or_else(|| {
        date.and_hms_opt(12, 0, 0)
            .and_then(|t| t.and_local_timezone(job.tz).earliest())
            .map_or(DateTime::UNIX_EPOCH, |t| t.to_utc())
    })
}

/// Patch marker of a manual fire that found its date's fire before the date.
const MANUAL_FIRE_LOOKS_BACK: &str = "manual-fire-looks-back";

/// The fire's nominal time and where it came from.
fn nominal_time(
    ctx: &WorkflowContext<ScheduledJobWorkflow>,
    job: &Job,
    business_date: Option<&str>,
) -> Result<(DateTime<Utc>, &'static str), InputError> {
    if let Some(text) = business_date {
        let date: NaiveDate =
            text.parse().ok().filter(|d: &NaiveDate| d.format("%Y-%m-%d").to_string() == text).ok_or_else(|| {
                InputError::Invalid {
                    field: "business_date",
                    expected: "a date YYYY-MM-DD".to_owned(),
                    got: format!("\"{text}\""),
                }
            })?;
        let (now, before) = (manual_fire_time(job, date), manual_fire_time_forward_only(job, date));
        // Asked only where the two differ, so other fires' histories carry no marker.
        let nominal = if now == before || ctx.patched(MANUAL_FIRE_LOOKS_BACK) { now } else { before };
        return Ok((nominal, "manual"));
    }
    let info = ctx.info();
    let from_attribute = info.search_attributes().and_then(|sa| {
        let payload = sa.raw_payload(SCHEDULED_START_TIME)?;
        let text: String = serde_json::from_slice(&payload.data).ok()?;
        DateTime::parse_from_rfc3339(&text).ok().map(|t| t.to_utc())
    });
    if let Some(nominal) = from_attribute {
        let id = ctx.workflow_id();
        let suffix = id.strip_prefix(&format!("{}-", fire_workflow_id(job.name()))).unwrap_or(id);
        let id_time = DateTime::parse_from_rfc3339(suffix).ok().map(|t| t.to_utc());
        return match id_time {
            Some(t) if t.timestamp() == nominal.timestamp() => Ok((nominal, "schedule")),
            _ => Err(InputError::Invalid {
                field: SCHEDULED_START_TIME,
                expected: format!("the nominal time the workflow ID `{id}` ends with"),
                got: rfc3339(nominal),
            }),
        };
    }
    let start = info.start_time().map_or(DateTime::UNIX_EPOCH, DateTime::<Utc>::from);
    if info.cron_schedule().is_some() {
        let backoff = info.raw().cron_schedule_to_schedule_interval.and_then(|d| Duration::try_from(d).ok()).unwrap_or_default();
        let at = start + chrono::Duration::from_std(backoff).unwrap_or_default();
        // Cron runs are created at whole seconds; drop the sub-second creation latency.
        return Ok((DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at), "cron"));
    }
    Ok((start, "manual"))
}

/// Patch marker of the `/repeat` key of an `every` job's fire in a repeated local hour.
const EVERY_REPEAT_KEYS: &str = "every-repeat-keys";

/// `plan` with the keys this run used: an `every` fire in the second pass of a fall-back hour is
/// keyed `.../repeat` since this build (see `plan::every_occurrence`), where before it shared the
/// first pass's key. A fire that ran before the change replays with the key it used.
fn keys_as_recorded(ctx: &WorkflowContext<ScheduledJobWorkflow>, job: &Job, mut plan: FirePlan) -> FirePlan {
    if job.every().is_some()
        && let FirePlan::Run { occurrences, .. } = &mut plan
        && occurrences.iter().any(|o| o.key.ends_with("/repeat"))
        && !ctx.patched(EVERY_REPEAT_KEYS)
    {
        for occurrence in occurrences.iter_mut() {
            if let Some(key) = occurrence.key.strip_suffix("/repeat") {
                occurrence.key = key.to_owned();
            }
        }
    }
    plan
}

/// The non-retryable `InvalidInput` failure of a job that cannot be resolved.
fn invalid_job(message: &str) -> ApplicationFailure {
    ApplicationFailure::builder(message.to_owned()).type_name(INVALID_INPUT.to_owned()).non_retryable(true).build()
}

/// What started the fire, now that its plan is known. A schedule's fire at an instant the job
/// never fires at is someone's "trigger now" (`punctual schedule trigger`, `temporal schedule
/// trigger`, the Web UI's Trigger): the server gives it the same attribute as a fire of the
/// calendar, so only the plan tells them apart. It counts as `manual`, so its occurrences are
/// not recorded as schedule lag: late on purpose, not late because the fleet was.
fn triggered_by(trigger: &'static str, plan: &FirePlan) -> &'static str {
    match plan {
        FirePlan::Run { exact: false, repeated_wall_time: false, .. } if trigger == "schedule" => "manual",
        _ => trigger,
    }
}

/// Sleeps on a durable timer until `due` if it is still ahead (workflow time, not a clock).
async fn wait_until(ctx: &WorkflowContext<ScheduledJobWorkflow>, due: DateTime<Utc>) {
    let now = ctx.workflow_time().map_or(due, DateTime::<Utc>::from);
    if let Ok(ahead) = (due - now).to_std()
        && !ahead.is_zero()
    {
        ctx.timer(ahead).await;
    }
}

/// Waits, with backoff, until the occurrence's row is committed, failed or skipped.
/// Only the row written by `run_id` counts: a failed earlier run's row is not this run's result.
async fn wait_until_settled(
    ctx: &WorkflowContext<ScheduledJobWorkflow>,
    key: &str,
    run_id: &str,
) -> WorkflowResult<OccurrenceResult> {
    let mut pause = FIRST_POLL;
    for check in 1u32.. {
        let query = StatusQuery { key: key.to_owned(), dependency: None };
        let state =
            ctx.execute_activity(JobContract::occurrence_status, query, activity(format!("status/{key}/{check}"))).await?;
        let this_run = run_id.is_empty() || state.run_id.as_deref() == Some(run_id);
        if let (true, Some(status @ ("committed" | "failed" | "skipped"))) = (this_run, state.status.as_deref()) {
            return Ok(OccurrenceResult { key: key.to_owned(), outcome: status.to_owned(), reason: state.reason, result: None });
        }
        ctx.timer(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
    unreachable!("the loop only ends by returning")
}
