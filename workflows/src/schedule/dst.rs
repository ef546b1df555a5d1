//! Per-job policies for local times that daylight-saving time makes missing or repeated.
//!
//! Temporal Schedules match wall-clock fields literally: a job at 02:30 America/New_York does not
//! fire on the spring-forward day (02:00..03:00 does not exist) and a job at 01:30 fires twice on
//! the fall-back day (01:00..02:00 happens twice). For a billing run that is a missed bill or a
//! doubled one. punctual resolves each local fire time itself with an explicit policy per job.
//!
//! **Missing times (`DstMissing::Shift`)**: the local time is read with the UTC offset in force
//! *before* the gap, which moves it later by the length of the gap: 02:30 in New York on
//! 2026-03-08 fires at 03:30 EDT (07:30 UTC); 02:15 at Lord Howe (a 30-minute gap) fires at 02:45.
//! This is what `java.time.ZonedDateTime.of`, JavaScript Temporal's `"compatible"`
//! disambiguation and Python's PEP 495 (`fold=0`) do, so a job keeps its distance from jobs
//! scheduled around it (01:59, 02:30 and 03:00 jobs still run in that order: 01:59, 03:00, 03:30)
//! and a reader of another system's logs finds the same instant. The alternative, "the first
//! valid instant after the gap" (03:00), would fire every job in the gap at the same instant.
//!
//! **Repeated times (`DstRepeated`)**: `First` is the earlier instant (still on the summer
//! offset), `Last` the later one, `Both` fires at each (for jobs that must see both hours, such
//! as an hourly meter read); the default `First` makes a daily job run once.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// What to do when the local time occurs twice (the fall-back hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DstRepeated {
    /// Fire at the earlier instant only.
    #[default]
    First,
    /// Fire at the later instant only.
    Last,
    /// Fire at both instants.
    Both,
}

/// What to do when the local time does not occur (the spring-forward gap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DstMissing {
    /// Fire later by the length of the gap (read the time with the offset before the gap).
    #[default]
    Shift,
    /// Do not fire that day.
    Skip,
}

/// The instants, in order, at which a job set for local `time` on `date` in `tz` fires: one for
/// an ordinary time; one or two for a repeated time (per `repeated`); one or none for a missing
/// time (per `missing`).
pub fn resolve_local(tz: Tz, date: NaiveDate, time: NaiveTime, repeated: DstRepeated, missing: DstMissing) -> Vec<DateTime<Utc>> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => vec![t.to_utc()],
        LocalResult::Ambiguous(a, b) => {
            let (first, last) = if a <= b { (a, b) } else { (b, a) };
            match repeated {
                DstRepeated::First => vec![first.to_utc()],
                DstRepeated::Last => vec![last.to_utc()],
                DstRepeated::Both => vec![first.to_utc(), last.to_utc()],
            }
        }
        LocalResult::None => match missing {
            DstMissing::Skip => vec![],
            DstMissing::Shift => offset_before_gap(tz, local).map(|offset| (local - offset).and_utc()).into_iter().collect(),
        },
    }
}

/// The UTC offset in force just before the gap that swallows `local`: found by stepping back a
/// minute at a time to the last local time that exists (gaps are at most a few hours; a day of
/// stepping is the bound).
fn offset_before_gap(tz: Tz, local: chrono::NaiveDateTime) -> Option<Duration> {
    (1..=24 * 60).find_map(|minutes| {
        let earlier = local - Duration::minutes(minutes);
        tz.from_local_datetime(&earlier).latest().map(|t| Duration::seconds(i64::from(t.offset().fix().local_minus_utc())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::testgen::{any_date, any_time, any_zone, transition_days};
    use chrono_tz::America::New_York;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn ordinary_time_is_one_instant() {
        let got = resolve_local(New_York, d("2026-03-09"), t("02:30"), DstRepeated::Both, DstMissing::Skip);
        assert_eq!(got, vec![utc("2026-03-09T06:30:00Z")]);
    }

    #[test]
    fn spring_forward_gap_shifts_by_the_gap_or_skips() {
        let day = d("2026-03-08");
        let shift = resolve_local(New_York, day, t("02:30"), DstRepeated::First, DstMissing::Shift);
        assert_eq!(shift, vec![utc("2026-03-08T07:30:00Z")]);
        assert_eq!(shift[0].with_timezone(&New_York).to_rfc3339(), "2026-03-08T03:30:00-04:00");
        assert_eq!(resolve_local(New_York, day, t("02:30"), DstRepeated::First, DstMissing::Skip), Vec::<DateTime<Utc>>::new());
        // The edges: 02:00 is missing, 03:00 exists.
        assert_eq!(
            resolve_local(New_York, day, t("02:00"), DstRepeated::First, DstMissing::Shift),
            vec![utc("2026-03-08T07:00:00Z")]
        );
        assert_eq!(
            resolve_local(New_York, day, t("03:00"), DstRepeated::First, DstMissing::Skip),
            vec![utc("2026-03-08T07:00:00Z")]
        );
        // Lord Howe moves its clocks by 30 minutes (02:00 -> 02:30 on 2026-10-04).
        let lh = chrono_tz::Australia::Lord_Howe;
        let got = resolve_local(lh, d("2026-10-04"), t("02:15"), DstRepeated::First, DstMissing::Shift);
        assert_eq!(got[0].with_timezone(&lh).to_rfc3339(), "2026-10-04T02:45:00+11:00");
    }

    #[test]
    fn fall_back_repeated_hour() {
        let day = d("2026-11-01");
        let first = utc("2026-11-01T05:30:00Z"); // 01:30 EDT
        let last = utc("2026-11-01T06:30:00Z"); // 01:30 EST
        let at = |r| resolve_local(New_York, day, t("01:30"), r, DstMissing::Shift);
        assert_eq!(at(DstRepeated::First), vec![first]);
        assert_eq!(at(DstRepeated::Last), vec![last]);
        assert_eq!(at(DstRepeated::Both), vec![first, last]);
        assert_eq!(last - first, Duration::hours(1));
    }

    #[test]
    fn policy_serde_is_snake_case() {
        assert_eq!(serde_json::to_string(&DstRepeated::Both).unwrap(), "\"both\"");
        assert_eq!(serde_json::from_str::<DstMissing>("\"skip\"").unwrap(), DstMissing::Skip);
    }

    fn local_exists(tz: Tz, date: NaiveDate, time: NaiveTime) -> LocalResult<DateTime<Tz>> {
        tz.from_local_datetime(&date.and_time(time))
    }

    fn check(tz: Tz, date: NaiveDate, time: NaiveTime) -> Result<(), TestCaseError> {
        let kind = local_exists(tz, date, time);
        let first = resolve_local(tz, date, time, DstRepeated::First, DstMissing::Shift);
        prop_assert_eq!(first.len(), 1);
        let back = first[0].with_timezone(&tz).naive_local();
        prop_assert_eq!(back.date(), date, "{} {} {} -> {}", tz, date, time, first[0]);
        match kind {
            LocalResult::None => {
                prop_assert!(back.time() > time, "{tz} {date} {time} -> {back}");
                // Shifted by exactly the gap: `time` read with the offset in force 3 hours before
                // the result (before the transition: gaps are at most 2 hours).
                let before = tz.offset_from_utc_datetime(&(first[0] - Duration::hours(3)).naive_utc()).fix();
                let expected = date.and_time(time) - Duration::seconds(i64::from(before.local_minus_utc()));
                prop_assert_eq!(first[0], expected.and_utc());
            }
            _ => prop_assert_eq!(back.time(), time),
        }
        let both = resolve_local(tz, date, time, DstRepeated::Both, DstMissing::Shift);
        let ambiguous = matches!(kind, LocalResult::Ambiguous(..));
        prop_assert_eq!(both.len(), if ambiguous { 2 } else { 1 });
        if ambiguous {
            prop_assert!(both[0] < both[1]);
            let last = resolve_local(tz, date, time, DstRepeated::Last, DstMissing::Shift);
            prop_assert_eq!(&vec![both[0]], &first);
            prop_assert_eq!(&vec![both[1]], &last);
            for instant in &both {
                prop_assert_eq!(instant.with_timezone(&tz).naive_local(), date.and_time(time));
            }
        }
        let skip = resolve_local(tz, date, time, DstRepeated::First, DstMissing::Skip);
        prop_assert_eq!(skip.is_empty(), matches!(kind, LocalResult::None));
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn resolve_local_on_any_day(tz in any_zone(), date in any_date(), time in any_time()) {
            check(tz, date, time)?;
        }

        #[test]
        fn resolve_local_on_transition_days(tz in any_zone(), year in 2020i32..=2035, pick in any::<prop::sample::Index>(), time in any_time()) {
            let days = transition_days(tz, year);
            if !days.is_empty() {
                check(tz, days[pick.index(days.len())], time)?;
            }
        }
    }

    #[test]
    fn transition_days_are_found_and_hit_gaps_and_overlaps() {
        // Sanity for the property test's generator: it does reach both kinds of DST hour.
        let days = transition_days(New_York, 2026);
        assert_eq!(days, vec![d("2026-03-07"), d("2026-03-08"), d("2026-10-31"), d("2026-11-01")]);
    }
}
