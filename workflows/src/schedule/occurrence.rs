//! The expected runs of a daily job: which business dates it serves and when each one fires.
//!
//! A run is identified by its *business date*, not by the UTC date Temporal reports: a job at
//! 00:30 Asia/Shanghai fires at 16:30 UTC the day before, and belongs to the Shanghai date. The
//! list [`occurrences`] returns is what a later audit compares with what actually ran, so it is
//! a pure function of the spec and the date range.
//!
//! One occurrence per *nominal* date: under `Following`/`Preceding` a weekend's dates roll onto
//! the same business day, each as its own occurrence with its own key (the Saturday's business is
//! still done, on Monday). Use `Roll::Skip` for a job that should simply not run on those days.

use super::calendar::BusinessCalendar;
use super::dst::{DstMissing, DstRepeated, resolve_local};
use super::roll::{Roll, roll};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// The business date an instant belongs to in `tz`: its local calendar date.
pub fn business_date_of(tz: Tz, nominal_utc: DateTime<Utc>) -> NaiveDate {
    nominal_utc.with_timezone(&tz).date_naive()
}

/// Business key of one occurrence of `job`: `{job}/{YYYY-MM-DD}` of its nominal date.
pub fn occurrence_key(job: &str, date: NaiveDate) -> String {
    format!("{job}/{}", date.format("%Y-%m-%d"))
}

/// A job that runs once per business date at a local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailySpec {
    /// Zone whose wall clock `time` is read in, and whose dates are the business dates.
    pub tz: Tz,
    /// Local time of day to fire.
    pub time: NaiveTime,
    /// Which dates are business days.
    pub calendar: BusinessCalendar,
    /// What to do with a date that is not a business day.
    pub roll: Roll,
    /// What to do when `time` happens twice that day.
    pub repeated: DstRepeated,
    /// What to do when `time` does not happen that day.
    pub missing: DstMissing,
}

/// One expected run (or expected non-run) of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The date the job is scheduled for; its business key's date.
    pub nominal_date: NaiveDate,
    /// The date it runs on after the holiday roll; `None` when skipped.
    pub effective_date: Option<NaiveDate>,
    /// When it fires, in order; empty when skipped.
    pub fire_times_utc: Vec<DateTime<Utc>>,
    /// Why it does not run, when `fire_times_utc` is empty.
    pub skipped_reason: Option<String>,
}

/// Occurrences of `spec` for every nominal date from `from` to `to`, both included, in date order.
pub fn occurrences(spec: &DailySpec, from: NaiveDate, to: NaiveDate) -> Vec<Occurrence> {
    let cal = &spec.calendar;
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|nominal_date| {
            let Some(effective) = roll(cal, nominal_date, spec.roll) else {
                let why = cal.non_business_reason(nominal_date).unwrap_or_else(|| "no business day to roll to".to_owned());
                return Occurrence {
                    nominal_date,
                    effective_date: None,
                    fire_times_utc: vec![],
                    skipped_reason: Some(format!(
                        "{nominal_date} is not a business day in calendar {} {} ({why}), roll {:?}",
                        cal.name, cal.version, spec.roll
                    )),
                };
            };
            let fire_times_utc = resolve_local(spec.tz, effective, spec.time, spec.repeated, spec.missing);
            let skipped_reason = fire_times_utc.is_empty().then(|| {
                format!(
                    "{} does not exist on {effective} in {} (DST gap) and the job skips missing times",
                    spec.time.format("%H:%M:%S"),
                    spec.tz
                )
            });
            Occurrence {
                nominal_date,
                effective_date: (!fire_times_utc.is_empty()).then_some(effective),
                fire_times_utc,
                skipped_reason,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::calendar::builtin;
    use crate::schedule::testgen::{any_date, any_zone};
    use chrono_tz::America::New_York;
    use chrono_tz::Asia::Shanghai;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn spec(tz: Tz, time: &str, cal: &str, roll: Roll) -> DailySpec {
        DailySpec {
            tz,
            time: NaiveTime::parse_from_str(time, "%H:%M").unwrap(),
            calendar: builtin(cal).unwrap(),
            roll,
            repeated: DstRepeated::First,
            missing: DstMissing::Shift,
        }
    }

    #[test]
    fn shanghai_half_past_midnight_belongs_to_the_shanghai_date() {
        let instant = utc("2026-11-23T16:30:00Z"); // 2026-11-24 00:30 in Shanghai
        assert_eq!(business_date_of(Shanghai, instant), d("2026-11-24"));
        assert_eq!(business_date_of(chrono_tz::UTC, instant), d("2026-11-23"));
        let occ = occurrences(&spec(Shanghai, "00:30", "cn", Roll::Skip), d("2026-11-24"), d("2026-11-24"));
        assert_eq!(occ[0].fire_times_utc, vec![instant]);
        assert_eq!(occurrence_key("billing-run/Asia/Shanghai", occ[0].nominal_date), "billing-run/Asia/Shanghai/2026-11-24");
    }

    #[test]
    fn golden_week_skip_and_following() {
        let skip = occurrences(&spec(Shanghai, "09:00", "cn", Roll::Skip), d("2026-09-30"), d("2026-10-10"));
        let runs: Vec<_> = skip.iter().filter_map(|o| o.effective_date).collect();
        assert_eq!(runs, vec![d("2026-09-30"), d("2026-10-08"), d("2026-10-09"), d("2026-10-10")]);
        assert_eq!(skip.len(), 11);
        assert_eq!(
            skip[1].skipped_reason.as_deref(),
            Some("2026-10-01 is not a business day in calendar cn 2026.1 (holiday: National Day (国庆节)), roll Skip")
        );
        assert!(skip[1].fire_times_utc.is_empty());
        assert_eq!(skip[0].fire_times_utc, vec![utc("2026-09-30T01:00:00Z")]);

        let following = occurrences(&spec(Shanghai, "09:00", "cn", Roll::Following), d("2026-10-01"), d("2026-10-01"));
        assert_eq!(following[0].effective_date, Some(d("2026-10-08")));
        assert_eq!(following[0].fire_times_utc, vec![utc("2026-10-08T01:00:00Z")]);
        assert_eq!(following[0].skipped_reason, None);
    }

    #[test]
    fn dst_gap_under_skip_is_reported() {
        let mut s = spec(New_York, "02:30", "us", Roll::Skip);
        s.missing = DstMissing::Skip;
        let occ = occurrences(&s, d("2026-03-08"), d("2026-03-09"));
        // 03-08 is a Sunday: skipped by the calendar before DST is considered.
        assert!(occ[0].skipped_reason.as_deref().unwrap().contains("(weekend: Sun)"));
        assert_eq!(occ[1].fire_times_utc, vec![utc("2026-03-09T06:30:00Z")]);

        let none = DailySpec { calendar: BusinessCalendar { weekend: vec![], ..s.calendar.clone() }, ..s };
        let occ = occurrences(&none, d("2026-03-08"), d("2026-03-08"));
        assert_eq!(occ[0].effective_date, None);
        assert_eq!(
            occ[0].skipped_reason.as_deref(),
            Some("02:30:00 does not exist on 2026-03-08 in America/New_York (DST gap) and the job skips missing times")
        );
    }

    proptest! {
        #[test]
        fn business_date_is_the_local_date(tz in any_zone(), secs in 1_577_836_800i64..2_082_758_400) {
            let instant = DateTime::from_timestamp(secs, 0).unwrap();
            prop_assert_eq!(business_date_of(tz, instant), instant.with_timezone(&tz).naive_local().date());
        }

        #[test]
        fn occurrences_cover_each_date_once(tz in any_zone(), from in any_date(), len in 0u64..40) {
            let to = from + chrono::Days::new(len);
            let s = DailySpec { tz, ..spec(tz, "01:30", "none", Roll::Skip) };
            let occ = occurrences(&s, from, to);
            prop_assert_eq!(occ.len() as u64, len + 1);
            for (o, day) in occ.iter().zip(from.iter_days()) {
                prop_assert_eq!(o.nominal_date, day);
                prop_assert_eq!(o.effective_date.is_some(), s.calendar.is_business_day(day));
                prop_assert_eq!(o.skipped_reason.is_some(), o.fire_times_utc.is_empty());
                for t in &o.fire_times_utc {
                    prop_assert_eq!(business_date_of(tz, *t), day);
                }
            }
        }
    }
}
