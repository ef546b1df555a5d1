//! From a fire's nominal time to the occurrences it serves — the heart of "one occurrence per
//! business key".
//!
//! Temporal fires a schedule at wall-clock matches in the job's zone (plus the extra DST-shift
//! entries `punctual schedule apply` adds). Every fire, whether from the schedule, a manual
//! trigger, a backfill or a legacy cron run, is mapped here to business keys:
//!
//! - [`expected_fires`] lists, for one local date, the instants the job should fire and the
//!   occurrence each one serves (after holiday rolls and the DST policy);
//! - [`classify`] matches a nominal instant against them. An exact match serves its occurrences
//!   (several when a roll collapses holidays onto one business day). Anything else — a manual
//!   trigger at an arbitrary time, the second 01:30 of a fall-back day under `first` — maps to
//!   the latest expected occurrence of that business date, so it *joins* that occurrence instead
//!   of creating a new one. A date with nothing to run yields a visible reason (holiday skip,
//!   rolled elsewhere, not a day the job runs).
//!
//! Pure: the same nominal instant gives the same answer on every worker and every replay.

use super::job::Job;
use crate::schedule::{DstRepeated, resolve_local, roll};
use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// How far a holiday roll may move a date when looking for the nominal dates served on a day.
const ROLL_SEARCH_DAYS: u64 = 40;

/// One occurrence a fire serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedOccurrence {
    /// Business key, the occurrence workflow's ID.
    pub key: String,
    /// The date the occurrence is for.
    pub business_date: NaiveDate,
    /// The date it runs on (differs after a holiday roll).
    pub effective_date: NaiveDate,
    /// The local time slot it belongs to.
    pub slot: NaiveTime,
    /// The instant it is due.
    pub due: DateTime<Utc>,
}

/// What one fire does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FirePlan {
    /// Start (or join) these occurrences; `exact` is false when the fire matched no expected
    /// instant and joined the business date's latest occurrence instead.
    Run {
        /// The occurrences, in due order.
        occurrences: Vec<PlannedOccurrence>,
        /// Whether the nominal time was one of the expected instants.
        exact: bool,
        /// The fire is the server's literal match of a wall time that happens twice (fall back),
        /// at an instant other than the one the DST policy picked: start each occurrence at its
        /// own due instant, waiting if it is still ahead.
        #[serde(default)]
        repeated_wall_time: bool,
    },
    /// Nothing runs for this business date, deliberately; recorded with the reason.
    Skip {
        /// Key recorded as skipped.
        key: String,
        /// The business date.
        business_date: NaiveDate,
        /// `skipped_holiday`, `skipped_dst` or `rolled`.
        outcome: String,
        /// Why, for people.
        reason: String,
    },
    /// The date is not one the job serves (e.g. not the last business day): nothing to record.
    NotDue {
        /// Why.
        reason: String,
    },
}

/// One expected fire: its instant and the occurrence it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFire {
    /// When Temporal should fire (nominal, before jitter).
    pub at: DateTime<Utc>,
    /// The occurrence it serves.
    pub occurrence: PlannedOccurrence,
}

/// Nominal dates whose occurrence runs on `day` (the date itself and holidays rolled onto it).
pub fn nominal_dates_on(job: &Job, day: NaiveDate) -> Vec<NaiveDate> {
    if !job.rolls() {
        let ok = job.serves(day) && job.calendar.is_business_day(day);
        return if ok { vec![day] } else { vec![] };
    }
    let from = day.checked_sub_days(Days::new(ROLL_SEARCH_DAYS)).unwrap_or(day);
    from.iter_days()
        .take(2 * ROLL_SEARCH_DAYS as usize + 1)
        .filter(|d| job.serves(*d) && roll(&job.calendar, *d, job.spec.roll) == Some(day))
        .collect()
}

/// The fires due on local date `day`, in time order.
pub fn expected_fires(job: &Job, day: NaiveDate) -> Vec<ExpectedFire> {
    if let Some(secs) = job.every() {
        return every_fires(job, day, secs, job.phase());
    }
    let mut fires = Vec::new();
    for date in nominal_dates_on(job, day) {
        for slot in job.slots(date) {
            let instants = resolve_local(job.tz, day, slot, job.spec.dst_repeated, job.spec.dst_missing);
            let both = job.spec.dst_repeated == DstRepeated::Both;
            for (i, at) in instants.iter().enumerate() {
                let occurrence = PlannedOccurrence {
                    key: job.key(date, slot, both && i == 1),
                    business_date: date,
                    effective_date: day,
                    slot,
                    due: *at,
                };
                fires.push(ExpectedFire { at: *at, occurrence });
            }
        }
    }
    fires.sort_by(|a, b| (a.at, &a.occurrence.key).cmp(&(b.at, &b.occurrence.key)));
    fires
}

/// Local midnight of `day` in the job's zone, as an instant (the first instant of the day when a
/// DST gap swallows midnight).
fn day_start(job: &Job, day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::MIN);
    job.tz
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.to_utc())
        .unwrap_or_else(|| resolve_local(job.tz, day, NaiveTime::MIN, DstRepeated::First, crate::schedule::DstMissing::Shift)[0])
}

/// The occurrence an `every` job's fire at instant `at` serves. Keys name the local time, and a
/// fall-back night shows one local hour twice: the later instant's key ends in `/repeat`, or the
/// two fires of, say, 01:00 EDT and 01:00 EST would share one key and the second would be lost.
fn every_occurrence(job: &Job, at: DateTime<Utc>) -> PlannedOccurrence {
    let local = at.with_timezone(&job.tz).naive_local();
    let repeat = matches!(job.tz.from_local_datetime(&local), LocalResult::Ambiguous(first, _) if first.to_utc() != at);
    PlannedOccurrence {
        key: job.key(local.date(), local.time(), repeat),
        business_date: local.date(),
        effective_date: local.date(),
        slot: local.time(),
        due: at,
    }
}

/// Multiples of `secs` since the epoch, plus `phase` seconds, that fall on local date `day` (none
/// on a non-business day).
fn every_fires(job: &Job, day: NaiveDate, secs: u64, phase: u64) -> Vec<ExpectedFire> {
    if !job.calendar.is_business_day(day) {
        return vec![];
    }
    let (start, end) = (day_start(job, day), day.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, |d| day_start(job, d)));
    let (step, phase) = (secs as i64, phase as i64);
    let since = start.timestamp() - phase;
    let first = since.div_euclid(step) * step + if since.rem_euclid(step) == 0 { 0 } else { step } + phase;
    (first..end.timestamp())
        .step_by(secs as usize)
        .filter_map(|t| DateTime::from_timestamp(t, 0))
        .map(|at| ExpectedFire { at, occurrence: every_occurrence(job, at) })
        .collect()
}

/// Expected fires of every local date from `from` to `to`, both included.
pub fn expected_between(job: &Job, from: NaiveDate, to: NaiveDate) -> Vec<ExpectedFire> {
    from.iter_days().take_while(|d| *d <= to).flat_map(|d| expected_fires(job, d)).collect()
}

/// What a fire at `nominal` does (see the module documentation).
pub fn classify(job: &Job, nominal: DateTime<Utc>) -> FirePlan {
    let local_day = nominal.with_timezone(&job.tz).date_naive();
    if let Some(secs) = job.every() {
        let (step, phase) = (secs as i64, job.phase() as i64);
        let slot = (nominal.timestamp() - phase).div_euclid(step) * step + phase;
        let exact = slot == nominal.timestamp() && nominal.timestamp_subsec_nanos() == 0;
        let at = DateTime::from_timestamp(slot, 0).unwrap_or(nominal);
        let day = at.with_timezone(&job.tz).date_naive();
        if !job.calendar.is_business_day(day) {
            return nothing_today(job, day);
        }
        return FirePlan::Run { occurrences: vec![every_occurrence(job, at)], exact, repeated_wall_time: false };
    }
    // A DST shift can move a slot just past midnight, so the day before is checked too.
    let around: Vec<ExpectedFire> = [local_day.pred_opt(), Some(local_day), local_day.succ_opt()]
        .into_iter()
        .flatten()
        .flat_map(|d| expected_fires(job, d))
        .collect();
    // A wall time that happens twice (fall back): Temporal matches it literally and may fire at
    // both instants, or at only one (both in New York, the later only in London, server 1.32).
    // Any such fire serves every occurrence of that slot, each started at the instant the DST
    // policy picked — so none is lost whichever instants the server chose.
    let wall = nominal.with_timezone(&job.tz).naive_local();
    if let LocalResult::Ambiguous(..) = job.tz.from_local_datetime(&wall) {
        let same_slot: Vec<PlannedOccurrence> = around
            .iter()
            .filter(|f| f.occurrence.effective_date == local_day && f.occurrence.slot == wall.time())
            .map(|f| f.occurrence.clone())
            .collect();
        if !same_slot.is_empty() {
            let exact = same_slot.iter().any(|o| o.due == nominal);
            return FirePlan::Run { occurrences: same_slot, exact, repeated_wall_time: true };
        }
    }
    let exact: Vec<PlannedOccurrence> = around.iter().filter(|f| f.at == nominal).map(|f| f.occurrence.clone()).collect();
    if !exact.is_empty() {
        return FirePlan::Run { occurrences: exact, exact: true, repeated_wall_time: false };
    }
    let today: Vec<&ExpectedFire> = around.iter().filter(|f| f.occurrence.effective_date == local_day).collect();
    let joined = today.iter().rev().find(|f| f.at <= nominal).or_else(|| today.first()).map(|f| f.occurrence.clone());
    if let Some(occurrence) = joined {
        // Every occurrence due at the same instant (a roll's collapsed dates) goes together.
        let occurrences = today.iter().filter(|f| f.at == occurrence.due).map(|f| f.occurrence.clone()).collect();
        return FirePlan::Run { occurrences, exact: false, repeated_wall_time: false };
    }
    nothing_today(job, local_day)
}

/// Why a business date has no fire: not served, skipped as a holiday, rolled, or a DST gap.
fn nothing_today(job: &Job, day: NaiveDate) -> FirePlan {
    if !job.serves(day) {
        return FirePlan::NotDue { reason: format!("{day} is not a date job {} runs on", job.name()) };
    }
    let slot = job.slots(day).first().copied().unwrap_or(NaiveTime::MIN);
    let key = job.key(day, slot, false);
    let cal = &job.calendar;
    if let Some(why) = cal.non_business_reason(day) {
        let rolled = if job.rolls() { roll(cal, day, job.spec.roll) } else { None };
        return match rolled {
            Some(to) => FirePlan::Skip {
                key,
                business_date: day,
                outcome: "rolled".to_owned(),
                reason: format!("{day} is not a business day in calendar {} {} ({why}): runs on {to}", cal.name, cal.version),
            },
            None => FirePlan::Skip {
                key,
                business_date: day,
                outcome: "skipped_holiday".to_owned(),
                reason: format!(
                    "{day} is not a business day in calendar {} {} ({why}), roll {:?}",
                    cal.name, cal.version, job.spec.roll
                ),
            },
        };
    }
    FirePlan::Skip {
        key,
        business_date: day,
        outcome: "skipped_dst".to_owned(),
        reason: format!(
            "{} does not exist on {day} in {} (DST gap) and the job skips missing times",
            slot.format("%H:%M"),
            job.tz
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::spec::{DayRule, JobSpec, Timing};
    use crate::schedule::{DstMissing, Roll};

    fn spec(name: &str, tz: &str, timing: Timing, calendar: &str, roll: Roll) -> JobSpec {
        JobSpec {
            name: name.to_owned(),
            workflow: "BillingRunWorkflow".to_owned(),
            input: Default::default(),
            timezone: tz.to_owned(),
            timing,
            day_rule: DayRule::EveryDay,
            calendar: calendar.to_owned(),
            roll,
            dst_repeated: DstRepeated::First,
            dst_missing: DstMissing::Shift,
            overlap: Default::default(),
            catchup_window_secs: 3600,
            missed: Default::default(),
            jitter_secs: 0,
            pause_after_failures: 0,
            depends_on: vec![],
            dependency_deadline_secs: 0,
            on_dependency: Default::default(),
            sla_secs: 0,
        }
    }
    /// Every period a key can name passes the hand-start check of `FireBillingWorkflow`, which
    /// refuses any other spelling of it.
    #[test]
    fn the_period_of_every_key_is_one_fire_billing_accepts() {
        use crate::billing::fire::{check_period, check_repeat, period_of_key};
        // New York's fall-back day, so the repeated hour's keys are real ones.
        let date = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let once = Job::resolve(spec("bill", "America/New_York", daily("00:30"), "none", Roll::Skip)).unwrap();
        let every =
            Job::resolve(spec("tick", "America/New_York", Timing::Every { secs: 5, phase_secs: 0 }, "none", Roll::Skip)).unwrap();
        for (job, (h, m, s), repeat) in [
            (&once, (0, 30, 0), false),
            (&once, (1, 30, 0), true),
            (&every, (10, 0, 0), false),
            (&every, (10, 0, 5), false),
            (&every, (1, 0, 0), true),
        ] {
            let key = job.key(date, NaiveTime::from_hms_opt(h, m, s).unwrap(), repeat);
            let period = period_of_key(&key).unwrap();
            assert!(check_period(period, "2026-11-01").is_ok(), "{key}");
            assert!(check_repeat(period, "2026-11-01", job.tz).is_ok(), "{key}");
        }
    }

    /// A manual fire for a date runs the fire that serves it, on either side of it: under
    /// "following" the Monday after a weekend, under "preceding" the Friday before. It used to
    /// look forward only, and gave a Saturday under "preceding" its own noon: not due.
    #[test]
    fn a_manual_fire_finds_the_fire_that_serves_its_date_on_either_side() {
        use crate::jobs::fire::manual_fire_time;
        let saturday = d("2026-11-28");
        for (roll, serving) in [(Roll::Following, "2026-11-30"), (Roll::Preceding, "2026-11-27")] {
            let job = Job::resolve(spec("bill", "Asia/Shanghai", daily("00:30"), "none", roll)).unwrap();
            let fire = expected_fires(&job, d(serving)).into_iter().find(|f| f.occurrence.business_date == saturday);
            let fire = fire.unwrap_or_else(|| panic!("{roll:?}: no fire on {serving} serves {saturday}"));
            assert_eq!(manual_fire_time(&job, saturday), fire.at, "{roll:?}");
            assert_eq!(manual_fire_time(&job, d(serving)), fire.at, "{roll:?}: the serving day's own fire");
        }
        let skip = Job::resolve(spec("bill", "Asia/Shanghai", daily("00:30"), "none", Roll::Skip)).unwrap();
        assert_eq!(manual_fire_time(&skip, saturday), utc("2026-11-28T04:00:00Z"), "a date never served keeps its noon");
    }

    fn daily(at: &str) -> Timing {
        Timing::Daily { times: vec![NaiveTime::parse_from_str(at, "%H:%M").unwrap()] }
    }
    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn keys(plan: &FirePlan) -> Vec<String> {
        match plan {
            FirePlan::Run { occurrences, .. } => occurrences.iter().map(|o| o.key.clone()).collect(),
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn shanghai_half_past_midnight_is_the_shanghai_date() {
        let job = Job::resolve(spec("bill", "Asia/Shanghai", daily("00:30"), "none", Roll::Skip)).unwrap();
        let plan = classify(&job, utc("2026-11-23T16:30:00Z"));
        assert_eq!(keys(&plan), ["bill/2026-11-24"]);
        assert!(matches!(plan, FirePlan::Run { exact: true, .. }));
    }

    #[test]
    fn a_manual_trigger_joins_the_days_occurrence() {
        let job = Job::resolve(spec("bill", "Asia/Shanghai", daily("00:30"), "none", Roll::Skip)).unwrap();
        let plan = classify(&job, utc("2026-11-24T03:17:42Z"));
        assert_eq!(keys(&plan), ["bill/2026-11-24"]);
        assert!(matches!(plan, FirePlan::Run { exact: false, .. }));
    }

    #[test]
    fn a_repeated_fall_back_fire_serves_one_occurrence_at_the_policys_instant() {
        let job = Job::resolve(spec("meter", "America/New_York", daily("01:30"), "everyday", Roll::Skip)).unwrap();
        // 2026-11-01 01:30 happens at 05:30Z (EDT) and 06:30Z (EST); Temporal fires at both.
        let first = classify(&job, utc("2026-11-01T05:30:00Z"));
        let second = classify(&job, utc("2026-11-01T06:30:00Z"));
        assert_eq!(keys(&first), ["meter/2026-11-01"]);
        // The server's second match joins the same occurrence (already done by then).
        assert_eq!(keys(&second), ["meter/2026-11-01"]);
        assert!(matches!(second, FirePlan::Run { repeated_wall_time: true, .. }), "{second:?}");
        let mut last = job.spec.clone();
        last.dst_repeated = DstRepeated::Last;
        let last = Job::resolve(last).unwrap();
        // Under `last`, a match at the earlier instant starts the occurrence at the later one.
        let early = classify(&last, utc("2026-11-01T05:30:00Z"));
        let FirePlan::Run { occurrences, repeated_wall_time: true, .. } = &early else { panic!("{early:?}") };
        assert_eq!(occurrences[0].due, utc("2026-11-01T06:30:00Z"));
        assert_eq!(keys(&classify(&last, utc("2026-11-01T06:30:00Z"))), ["meter/2026-11-01"]);
    }

    #[test]
    fn both_gives_the_repeated_hour_its_own_key() {
        let mut s = spec("meter", "America/New_York", daily("01:30"), "everyday", Roll::Skip);
        s.dst_repeated = DstRepeated::Both;
        let job = Job::resolve(s).unwrap();
        // Each of the server's two fires serves both occurrences (each at its own instant), so a
        // server that fires only once still serves both.
        let both = ["meter/2026-11-01", "meter/2026-11-01/repeat"];
        assert_eq!(keys(&classify(&job, utc("2026-11-01T05:30:00Z"))), both);
        assert_eq!(keys(&classify(&job, utc("2026-11-01T06:30:00Z"))), both);
    }

    #[test]
    fn the_spring_forward_shift_fire_serves_the_missing_slot() {
        let job = Job::resolve(spec("bill", "America/New_York", daily("02:30"), "everyday", Roll::Skip)).unwrap();
        // 02:30 does not exist on 2026-03-08; shift reads it with EST: 07:30Z (03:30 EDT).
        let fires = expected_fires(&job, d("2026-03-08"));
        assert_eq!(fires.len(), 1);
        assert_eq!(fires[0].at, utc("2026-03-08T07:30:00Z"));
        assert_eq!(keys(&classify(&job, utc("2026-03-08T07:30:00Z"))), ["bill/2026-03-08"]);
    }

    #[test]
    fn golden_week_rolls_onto_the_next_business_day() {
        let job = Job::resolve(spec("bill", "Asia/Shanghai", daily("09:00"), "cn", Roll::Following)).unwrap();
        let holiday = classify(&job, utc("2026-10-01T01:00:00Z"));
        let FirePlan::Skip { outcome, reason, .. } = &holiday else { panic!("{holiday:?}") };
        assert_eq!(outcome, "rolled");
        assert!(reason.contains("runs on 2026-10-08"), "{reason}");
        let after = classify(&job, utc("2026-10-08T01:00:00Z"));
        let ks = keys(&after);
        assert_eq!(ks.first().map(String::as_str), Some("bill/2026-10-01"));
        assert_eq!(ks.last().map(String::as_str), Some("bill/2026-10-08"));
        assert_eq!(ks.len(), 8, "{ks:?}");
    }

    #[test]
    fn a_skipped_holiday_is_visible() {
        let job = Job::resolve(spec("bill", "Asia/Shanghai", daily("09:00"), "cn", Roll::Skip)).unwrap();
        let plan = classify(&job, utc("2026-10-01T01:00:00Z"));
        let FirePlan::Skip { key, outcome, reason, .. } = plan else { panic!() };
        assert_eq!(key, "bill/2026-10-01");
        assert_eq!(outcome, "skipped_holiday");
        assert!(reason.contains("National Day"), "{reason}");
    }

    #[test]
    fn an_every_job_keeps_both_fires_of_a_repeated_hour() {
        let job =
            Job::resolve(spec("tick", "America/New_York", Timing::Every { secs: 3600, phase_secs: 0 }, "everyday", Roll::Skip))
                .unwrap();
        // 2027-11-07 has 25 hours in New York: 25 fires, 25 keys.
        let day = expected_fires(&job, d("2027-11-07"));
        let keys_of_day: std::collections::BTreeSet<&str> = day.iter().map(|f| f.occurrence.key.as_str()).collect();
        assert_eq!((day.len(), keys_of_day.len()), (25, 25));
        // 01:00 EDT (05:00Z) and 01:00 EST (06:00Z).
        assert_eq!(keys(&classify(&job, utc("2027-11-07T05:00:00Z"))), ["tick/2027-11-07T01:00"]);
        assert_eq!(keys(&classify(&job, utc("2027-11-07T06:00:00Z"))), ["tick/2027-11-07T01:00/repeat"]);
        // Any other night: no `/repeat`.
        assert!(expected_fires(&job, d("2027-11-08")).iter().all(|f| !f.occurrence.key.ends_with("/repeat")));
    }

    #[test]
    fn every_jobs_key_each_fire_by_its_local_time() {
        let job = Job::resolve(spec("tick", "Asia/Shanghai", Timing::Every { secs: 5, phase_secs: 0 }, "everyday", Roll::Skip))
            .unwrap();
        assert_eq!(keys(&classify(&job, utc("2026-11-23T16:30:05Z"))), ["tick/2026-11-24T00:30:05"]);
        // A manual trigger between fires joins the fire before it.
        let plan = classify(&job, utc("2026-11-23T16:30:07Z"));
        assert_eq!(keys(&plan), ["tick/2026-11-24T00:30:05"]);
        assert!(matches!(plan, FirePlan::Run { exact: false, .. }));
        let day = expected_fires(&job, d("2026-11-24"));
        assert_eq!(day.len(), 86_400 / 5);
        assert_eq!(day[0].at, utc("2026-11-23T16:00:00Z"));
    }

    #[test]
    fn an_every_jobs_phase_moves_its_fires_and_keys() {
        let timing = Timing::Every { secs: 30, phase_secs: 7 };
        let job = Job::resolve(spec("tick", "Asia/Shanghai", timing, "everyday", Roll::Skip)).unwrap();
        let day = expected_fires(&job, d("2026-11-24"));
        assert_eq!(day.len(), 86_400 / 30);
        assert_eq!(day[0].at, utc("2026-11-23T16:00:07Z"));
        assert_eq!(day[0].occurrence.key, "tick/2026-11-24T00:00:07");
        for fire in &day[..50] {
            let plan = classify(&job, fire.at);
            assert!(matches!(plan, FirePlan::Run { exact: true, .. }), "{} not exact", fire.at);
            assert_eq!(keys(&plan), [fire.occurrence.key.as_str()]);
        }
        // Between phased fires, a manual trigger joins the fire before it; at the unphased
        // multiple, too (it is no fire of this job).
        assert_eq!(keys(&classify(&job, utc("2026-11-23T16:30:00Z"))), ["tick/2026-11-24T00:29:37"]);
        assert!(matches!(classify(&job, utc("2026-11-23T16:30:00Z")), FirePlan::Run { exact: false, .. }));
        let late = Timing::Every { secs: 30, phase_secs: 30 };
        assert_eq!(Job::resolve(spec("tick", "UTC", late, "everyday", Roll::Skip)).unwrap_err().field, "phase");
    }

    #[test]
    fn last_business_day_is_not_due_on_other_days() {
        let mut s = spec("close", "Asia/Shanghai", daily("18:00"), "cn", Roll::Skip);
        s.day_rule = DayRule::LastBusinessDay;
        let job = Job::resolve(s).unwrap();
        assert!(matches!(classify(&job, utc("2026-11-24T10:00:00Z")), FirePlan::NotDue { .. }));
        assert_eq!(keys(&classify(&job, utc("2026-11-30T10:00:00Z"))), ["close/2026-11-30"]);
    }

    use crate::schedule::testgen::{any_date, any_time, any_zone, transition_days};
    use chrono::Datelike;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// What a Temporal server may do with a daily wall-clock spec on `day`: fire at every instant
    /// the wall time `slot` happens (none in a gap, one, or two on fall back), or at only the
    /// first or only the last of two — plus punctual's dated entries for shifted fires.
    fn server_variants(job: &Job, day: NaiveDate, slot: NaiveTime) -> Vec<Vec<DateTime<Utc>>> {
        let literal: Vec<DateTime<Utc>> = match job.tz.from_local_datetime(&day.and_time(slot)) {
            chrono::LocalResult::Single(t) => vec![t.to_utc()],
            chrono::LocalResult::Ambiguous(a, b) => vec![a.to_utc().min(b.to_utc()), a.to_utc().max(b.to_utc())],
            chrono::LocalResult::None => vec![],
        };
        let shifted: Vec<DateTime<Utc>> = expected_fires(job, day)
            .into_iter()
            .filter(|f| f.at.with_timezone(&job.tz).time() != f.occurrence.slot)
            .map(|f| f.at)
            .collect();
        let with = |mut v: Vec<DateTime<Utc>>| {
            v.extend(shifted.iter().copied());
            v
        };
        let mut variants = vec![with(literal.clone())];
        if literal.len() == 2 {
            variants.push(with(vec![literal[0]]));
            variants.push(with(vec![literal[1]]));
        }
        variants
    }

    fn served(job: &Job, fires: &[DateTime<Utc>]) -> BTreeSet<String> {
        fires
            .iter()
            .flat_map(|t| match classify(job, *t) {
                FirePlan::Run { occurrences, .. } => occurrences.into_iter().map(|o| o.key).collect(),
                _ => vec![],
            })
            .collect()
    }

    proptest! {
        /// Whatever the server does around a DST transition — fire at both instants of a repeated
        /// wall time, or at only one of them, never at a missing one — the occurrences served
        /// are exactly the ones punctual expects for the day: none lost, none extra.
        #[test]
        fn every_server_behaviour_serves_exactly_the_expected_occurrences(
            tz in any_zone(),
            date in any_date(),
            pick in 0usize..4,
            time in any_time(),
            repeated in prop::sample::select(vec![DstRepeated::First, DstRepeated::Last, DstRepeated::Both]),
            missing in prop::sample::select(vec![DstMissing::Shift, DstMissing::Skip]),
        ) {
            let days = transition_days(tz, date.year());
            let day = if days.is_empty() { date } else { days[pick % days.len()] };
            let mut s = spec("job", tz.name(), Timing::Daily { times: vec![time] }, "everyday", Roll::Skip);
            s.dst_repeated = repeated;
            s.dst_missing = missing;
            let job = Job::resolve(s).unwrap();
            let expected: BTreeSet<String> = expected_fires(&job, day).into_iter().map(|f| f.occurrence.key).collect();
            for fires in server_variants(&job, day, time) {
                let got = served(&job, &fires);
                // A shifted fire can land on the next local date; judge the day by its keys.
                let got: BTreeSet<String> = got.into_iter().filter(|k| k.contains(&day.to_string())).collect();
                prop_assert_eq!(&got, &expected, "{} {} {:?} {:?} fires {:?}", tz, day, repeated, missing, fires);
            }
        }

        /// Every expected fire, classified at its own instant, serves its own occurrence.
        #[test]
        fn expected_fires_classify_to_themselves(tz in any_zone(), date in any_date(), time in any_time()) {
            let job = Job::resolve(spec("job", tz.name(), Timing::Daily { times: vec![time] }, "cn", Roll::Following)).unwrap();
            for f in expected_fires(&job, date) {
                let FirePlan::Run { occurrences, exact: true, .. } = classify(&job, f.at) else {
                    panic!("{} at {} not exact", f.occurrence.key, f.at);
                };
                prop_assert!(occurrences.iter().any(|o| o.key == f.occurrence.key));
            }
        }
    }
}
