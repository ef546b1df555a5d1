//! `punctual schedule audit`: no lost runs, accounted.
//!
//! For each job it computes the occurrences a date range should have — from the job's spec,
//! calendar, roll and DST policy, the same pure code the fire workflow runs, each date by the
//! timing the job had when it was due (see [`super::timings`]) — and compares them
//! with the occurrence ledger (`job_occurrences`, which outlives Temporal's retention):
//!
//! - `done`: committed; `late` when it committed after its SLA (`sla`) ran out;
//! - `skipped`: deliberately not run, with the recorded reason (holiday, DST gap, dependency);
//! - `running`: waiting or running now (`late` past its SLA);
//! - `failed`: gave up (re-run with `backfill --mode failed_only`);
//! - `PARTLY FAILED`: committed, but its job's workflow reported items failed (a billing run's
//!   customers whose payment failed); counted in `done` too, fails the audit, and
//!   `backfill --mode failed_only` runs it again;
//! - `missing`: due and no record at all — a lost run. `--repair` starts them (one whose run
//!   completed but whose row the ledger lost cannot be started again: the audit fails, saying so);
//! - `upcoming`: not due yet;
//! - `before`: due before punctual ran the job, so not punctual's to have run: fires before its
//!   schedule was created (Temporal never fires a schedule for earlier times) and before its first
//!   recorded occurrence. A team moving a job from crontab audits the month it moved without the
//!   old system's dates showing as lost, and `--repair` never bills them a second time. `--since`
//!   says when punctual took the job over where neither record reaches back (a new cluster and a
//!   new ledger); `backfill` runs such dates on purpose;
//! - `uncovered`: due on a date the job's calendar has no holiday data for; its fire failed
//!   rather than guess, and `--repair` does not start it either. Extend the calendar first;
//! - `unexpected`: recorded under a key the spec does not produce (a config change, a key typed by
//!   hand);
//! - `reruns`: keys whose occurrence workflow ran more than once (forced backfills). Effects
//!   are still once: the ledger replays them.
//!
//! Exits non-zero while anything is missing or failed, so it can gate a deploy or page someone.

use super::commands::{expected_in, load_jobs, start};
use super::server::{self, Existing};
use super::timings::{self, EarlierTiming};
use anyhow::{Context, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use punctual_activities::jobs::{first_recorded_at, rows_between};
use punctual_activities::ledger::Ledger;
use punctual_workflows::jobs::Job;
use punctual_workflows::jobs::plan::ExpectedFire;
use std::collections::BTreeMap;
use std::path::Path;
use temporalio_client::Client;

/// Counts per category for one job.
#[derive(Debug, Default)]
struct Tally {
    expected: usize,
    done: usize,
    late: usize,
    skipped: usize,
    running: usize,
    failed: usize,
    missing: usize,
    upcoming: usize,
    unexpected: usize,
    reruns: usize,
    before: usize,
    uncovered: usize,
    partly_failed: usize,
}

/// Since when a job's fires are punctual's to have run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owned {
    /// From this business date on (`--since`).
    FromDate(NaiveDate),
    /// From this moment on: the earlier of the schedule's creation and the first recorded occurrence.
    From(DateTime<Utc>),
    /// Neither exists: punctual never ran the job.
    Never,
}

impl Owned {
    fn covers(self, fire: &ExpectedFire) -> bool {
        match self {
            Owned::FromDate(date) => fire.occurrence.business_date >= date,
            Owned::From(at) => fire.at >= at,
            Owned::Never => false,
        }
    }

    fn describe(self) -> String {
        match self {
            Owned::FromDate(date) => format!("punctual's from {date} (--since)"),
            Owned::From(at) => format!("punctual's since {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
            Owned::Never => "never run by punctual: no schedule, no recorded occurrence".to_owned(),
        }
    }
}

/// Reads when punctual took `job` over: see [`Owned`].
async fn owned(ledger: &Ledger, job: &Job, since: Option<NaiveDate>, schedule: Option<&Existing>) -> anyhow::Result<Owned> {
    if let Some(date) = since {
        return Ok(Owned::FromDate(date));
    }
    let created =
        schedule.and_then(|s| s.raw.info.as_ref()?.create_time).and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos as u32));
    let first = first_recorded_at(ledger, job.name())
        .await
        .with_context(|| format!("reading job \"{}\"'s first occurrence", job.name()))?
        .map(|text| DateTime::parse_from_rfc3339(&text).map(|t| t.to_utc()))
        .transpose()
        .with_context(|| format!("job \"{}\"'s first occurrence has an unreadable created_at", job.name()))?;
    Ok(match (created, first) {
        (Some(a), Some(b)) => Owned::From(a.min(b)),
        (Some(at), None) | (None, Some(at)) => Owned::From(at),
        (None, None) => Owned::Never,
    })
}

/// The occurrences `range` should have, each fire judged by the timing in force when it was due
/// (see [`super::timings`]): today's timing for fires since it was applied, each earlier one for
/// its own period. A timing this punctual cannot read any more counts as today's.
///
/// A key both sides of a change plan, due after the change by the old timing and before it by
/// the new one (a daily job moved from 18:00 to 09:00 at noon), fired under neither: it is
/// expected too, by the new timing, so a date lost to the change shows as missing.
fn expected_by_timing(job: &Job, earlier: &[EarlierTiming], range: (NaiveDate, NaiveDate)) -> BTreeMap<String, ExpectedFire> {
    let periods = timings::periods(earlier, &job.spec);
    let planned: Vec<BTreeMap<String, ExpectedFire>> =
        periods.iter().map(|p| expected_in(&Job::resolve(p.job.clone()).unwrap_or_else(|_| job.clone()), range)).collect();
    let mut expected = BTreeMap::new();
    for (period, fires) in periods.iter().zip(&planned) {
        expected.extend(fires.iter().filter(|(_, fire)| period.holds(fire.at)).map(|(k, f)| (k.clone(), f.clone())));
    }
    for (i, period) in periods.iter().enumerate() {
        let (Some(change), Some(after)) = (period.until, planned.get(i + 1)) else { continue };
        for key in planned[i].iter().filter(|(_, old)| old.at >= change).map(|(key, _)| key) {
            if let Some(new) = after.get(key).filter(|new| new.at < change) {
                expected.entry(key.clone()).or_insert_with(|| new.clone());
            }
        }
    }
    expected
}

/// What an audit looks at: which jobs, which business dates.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Only this job; every job of the file when `None`.
    pub only: Option<&'a str>,
    /// First and last business date.
    pub range: (NaiveDate, NaiveDate),
    /// `--since`: when punctual took the jobs over, where its records do not say.
    pub since: Option<NaiveDate>,
}

/// Audits every job of `config` in `scope`; see the module documentation.
pub async fn audit(
    client: &Client,
    ledger: &Ledger,
    config: &Path,
    task_queue: &str,
    scope: Scope<'_>,
    repair: bool,
) -> anyhow::Result<()> {
    let Scope { only, range, since } = scope;
    let jobs = load_jobs(config)?;
    if let Some(name) = only
        && !jobs.iter().any(|j| j.name() == name)
    {
        bail!("no job \"{name}\" in {}", config.display());
    }
    let now = Utc::now();
    let (mut lost, mut failed, mut partly, mut rowless, mut uncovered) = (0, 0, 0, 0, 0);
    for job in jobs.iter().filter(|j| only.is_none_or(|n| n == j.name())) {
        let schedule = server::describe(client, job.name()).await?;
        let expected = expected_by_timing(job, schedule.as_ref().map_or(&[], |s| s.earlier.as_slice()), range);
        let rows: BTreeMap<_, _> = rows_between(ledger, job.name(), &range.0.to_string(), &range.1.to_string())
            .await?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        let owned = owned(ledger, job, since, schedule.as_ref()).await?;
        let mut t = Tally { expected: expected.len(), ..Tally::default() };
        crate::out!("{} ({}..{}, {}):", job.name(), range.0, range.1, owned.describe());
        for (key, fire) in &expected {
            let sla_end = (job.spec.sla_secs > 0).then(|| fire.at + Duration::seconds(job.spec.sla_secs as i64));
            let past_sla = |at: DateTime<Utc>| sla_end.is_some_and(|end| at > end);
            let line = match rows.get(key) {
                Some(row) => {
                    t.reruns += usize::from(row.runs > 1);
                    let updated = DateTime::parse_from_rfc3339(&row.updated_at).map(|t| t.to_utc()).unwrap_or(now);
                    let partly = row.failed_items.filter(|n| *n > 0);
                    match row.status.as_str() {
                        "committed" if partly.is_some() => {
                            t.done += 1;
                            t.partly_failed += 1;
                            t.late += usize::from(past_sla(updated));
                            let late = if past_sla(updated) { ", LATE" } else { "" };
                            format!("done{late}, PARTLY FAILED: {}", row.reason.clone().unwrap_or_default())
                        }
                        "committed" if past_sla(updated) => {
                            t.done += 1;
                            t.late += 1;
                            format!("done, LATE (committed {})", row.updated_at)
                        }
                        "committed" => {
                            t.done += 1;
                            "done".to_owned()
                        }
                        "skipped" => {
                            t.skipped += 1;
                            format!("skipped: {}", row.reason.clone().unwrap_or_default())
                        }
                        "failed" => {
                            t.failed += 1;
                            format!("FAILED: {}", row.reason.clone().unwrap_or_default())
                        }
                        other if past_sla(now) => {
                            t.running += 1;
                            t.late += 1;
                            format!("{other}, LATE")
                        }
                        other => {
                            t.running += 1;
                            other.to_owned()
                        }
                    }
                }
                None if fire.at > now => {
                    t.upcoming += 1;
                    "upcoming".to_owned()
                }
                None if !owned.covers(fire) => {
                    t.before += 1;
                    "before punctual ran this job: not audited (`backfill` runs it on purpose)".to_owned()
                }
                None if job.calendar.gap(fire.occurrence.effective_date).is_some() => {
                    // Not repaired: the plan for that date is a guess until the calendar has it.
                    t.uncovered += 1;
                    format!("NO CALENDAR DATA: {}", job.calendar.gap(fire.occurrence.effective_date).unwrap_or_default())
                }
                None if repair => {
                    t.missing += 1;
                    let outcome = start(client, Some(ledger), task_queue, job, fire, "repair", false).await?.outcome;
                    if outcome == "already_done" {
                        // Its run completed, yet the ledger has no row: repair cannot start it again
                        // and the row stays missing, so the audit must not pass.
                        rowless += 1;
                        "MISSING -> repair: already_done (its run completed; the ledger lost its row)".to_owned()
                    } else {
                        format!("MISSING -> repair: {outcome}")
                    }
                }
                None => {
                    t.missing += 1;
                    "MISSING".to_owned()
                }
            };
            crate::out!("  {key}  due {}  {line}", fire.at.with_timezone(&job.tz).format("%Y-%m-%d %H:%M %Z"));
        }
        for (key, row) in rows.iter().filter(|(k, _)| !expected.contains_key(*k)) {
            if row.status == "skipped" {
                t.skipped += 1;
                crate::out!("  {key}  skipped: {}", row.reason.clone().unwrap_or_default());
            } else {
                t.unexpected += 1;
                crate::out!("  {key}  unexpected key ({})", row.status);
            }
        }
        crate::out!(
            "  => expected={} done={} late={} skipped={} running={} failed={} missing={} upcoming={} unexpected={} reruns={} before={} uncovered={} partly_failed={}",
            t.expected,
            t.done,
            t.late,
            t.skipped,
            t.running,
            t.failed,
            t.missing,
            t.upcoming,
            t.unexpected,
            t.reruns,
            t.before,
            t.uncovered,
            t.partly_failed
        );
        if !repair {
            lost += t.missing;
        }
        uncovered += t.uncovered;
        failed += t.failed;
        partly += t.partly_failed;
    }
    if rowless > 0 {
        bail!(
            "{rowless} occurrence(s) completed in Temporal but have no job_occurrences row (the ledger lost it, or was \
             restored from an older backup): not run again; restore the rows, or check each run with `temporal workflow \
             describe --workflow-id KEY`"
        );
    }
    if uncovered > 0 {
        bail!(
            "{uncovered} occurrence(s) due on dates their calendar has no holiday data for (and {lost} missing, {failed} \
             failed): extend the calendar, deploy, then `--repair`"
        );
    }
    if lost + failed + partly > 0 {
        bail!(
            "{lost} missing, {failed} failed and {partly} partly failed occurrence(s): `--repair` starts the missing ones, \
             `backfill --mode failed_only` re-runs the failed and partly failed ones"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(at: &str) -> Job {
        let text = format!("[jobs.x]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = \"{at}\"\n");
        Job::resolve(crate::jobs::config::parse("t.toml", &text).unwrap().remove(0)).unwrap()
    }

    #[test]
    fn a_date_whose_fire_the_change_skipped_is_still_expected() {
        // At noon on the 20th the job moved from 18:00 to 09:00: the 20th fired under neither.
        let (old, new) = (daily("18:00"), daily("09:00"));
        let earlier = [EarlierTiming { until: "2026-11-20T12:00:00Z".parse().unwrap(), job: old.spec.clone() }];
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let expected = expected_by_timing(&new, &earlier, (day("2026-11-19"), day("2026-11-21")));
        let due: Vec<(String, String)> = expected.iter().map(|(k, f)| (k.clone(), f.at.format("%dT%H:%M").to_string())).collect();
        let want = [("x/2026-11-19", "19T18:00"), ("x/2026-11-20", "20T09:00"), ("x/2026-11-21", "21T09:00")];
        assert_eq!(due, want.map(|(k, t)| (k.to_owned(), t.to_owned())));
    }
}
