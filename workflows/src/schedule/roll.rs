//! Holiday rolls and month rules that Temporal Schedules cannot express.
//!
//! A Temporal calendar spec matches fields literally: it has no "if the 25th is a holiday, pay on
//! the business day before", no "last business day of the month" and no "third Monday"
//! (temporalio/temporal#5811). These functions compute such dates from a [`BusinessCalendar`];
//! they are pure, so a workflow may call them and replay identically.
//!
//! Every search is bounded ([`MAX_SEARCH_DAYS`]): a calendar whose data made no day a business
//! day for that long yields `None` instead of looping.

use super::calendar::BusinessCalendar;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// How far `Following`/`Preceding` look for a business day before giving up.
pub const MAX_SEARCH_DAYS: u64 = 366;

/// What to do when a scheduled date is not a business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Roll {
    /// Do not run that date at all.
    #[default]
    Skip,
    /// Run on the next business day.
    Following,
    /// Run on the business day before.
    Preceding,
    /// Run on the next business day, unless that is in the next month: then the business day
    /// before (the usual rule for month-end payments).
    ModifiedFollowing,
}

/// The date a job scheduled for `date` runs on under `rule`; `None` = it does not run. A business
/// day is never moved. `ModifiedFollowing` gives `None` only when the month has no business day
/// on either side of `date`.
pub fn roll(cal: &BusinessCalendar, date: NaiveDate, rule: Roll) -> Option<NaiveDate> {
    if cal.is_business_day(date) {
        return Some(date);
    }
    match rule {
        Roll::Skip => None,
        Roll::Following => following(cal, date),
        Roll::Preceding => preceding(cal, date),
        Roll::ModifiedFollowing => following(cal, date)
            .filter(|d| same_month(*d, date))
            .or_else(|| preceding(cal, date).filter(|d| same_month(*d, date))),
    }
}

fn same_month(a: NaiveDate, b: NaiveDate) -> bool {
    a.year() == b.year() && a.month() == b.month()
}

fn following(cal: &BusinessCalendar, date: NaiveDate) -> Option<NaiveDate> {
    date.iter_days().take(MAX_SEARCH_DAYS as usize + 1).find(|d| cal.is_business_day(*d))
}

fn preceding(cal: &BusinessCalendar, date: NaiveDate) -> Option<NaiveDate> {
    (0..=MAX_SEARCH_DAYS).map_while(|back| date.checked_sub_days(Days::new(back))).find(|d| cal.is_business_day(*d))
}

/// The days of `year`-`month` in order (empty for an invalid month).
fn days_of_month(year: i32, month: u32) -> impl DoubleEndedIterator<Item = NaiveDate> {
    (1..=31).filter_map(move |day| NaiveDate::from_ymd_opt(year, month, day))
}

/// The last business day of the month (`None` if it has none, or `month` is not 1..=12).
pub fn last_business_day_of_month(cal: &BusinessCalendar, year: i32, month: u32) -> Option<NaiveDate> {
    nth_business_day_of_month(cal, year, month, -1)
}

/// The `n`th business day of the month counting from 1; negative `n` counts from the end
/// (`-1` = last). `None` for `n == 0`, when the month has fewer business days, or an invalid month.
pub fn nth_business_day_of_month(cal: &BusinessCalendar, year: i32, month: u32, n: i32) -> Option<NaiveDate> {
    let is_business = |d: &NaiveDate| cal.is_business_day(*d);
    match n {
        0 => None,
        1.. => days_of_month(year, month).filter(is_business).nth(n as usize - 1),
        _ => days_of_month(year, month).rev().filter(is_business).nth(n.unsigned_abs() as usize - 1),
    }
}

/// The `n`th `weekday` of the month (`3` = third Monday); negative `n` counts from the end
/// (`-1` = last). `None` for `n == 0`, when the month has no such day, or an invalid month.
/// Holidays play no part: roll the result if it must be a business day.
pub fn nth_weekday_of_month(year: i32, month: u32, weekday: Weekday, n: i32) -> Option<NaiveDate> {
    let is_weekday = |d: &NaiveDate| d.weekday() == weekday;
    match n {
        0 => None,
        1.. => days_of_month(year, month).filter(is_weekday).nth(n as usize - 1),
        _ => days_of_month(year, month).rev().filter(is_weekday).nth(n.unsigned_abs() as usize - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::calendar::builtin;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rolls_around_golden_week() {
        let cn = builtin("cn").unwrap();
        let national_day = d("2026-10-01");
        assert_eq!(roll(&cn, national_day, Roll::Skip), None);
        assert_eq!(roll(&cn, national_day, Roll::Following), Some(d("2026-10-08")));
        // 09-28..09-30 are Mon..Wed business days before the holiday.
        assert_eq!(roll(&cn, national_day, Roll::Preceding), Some(d("2026-09-30")));
        assert_eq!(roll(&cn, national_day, Roll::ModifiedFollowing), Some(d("2026-10-08")));
        // Mid-Autumn (09-25..27, Fri..Sun) rolls over the weekend to Monday 09-28.
        assert_eq!(roll(&cn, d("2026-09-26"), Roll::Following), Some(d("2026-09-28")));
        // The make-up Saturday 10-10 is a business day and does not move under any rule ...
        for rule in [Roll::Skip, Roll::Following, Roll::Preceding, Roll::ModifiedFollowing] {
            assert_eq!(roll(&cn, d("2026-10-10"), rule), Some(d("2026-10-10")), "{rule:?}");
        }
        // ... and the ordinary Sunday after it rolls to Monday, back to the make-up Saturday.
        assert_eq!(roll(&cn, d("2026-10-11"), Roll::Following), Some(d("2026-10-12")));
        assert_eq!(roll(&cn, d("2026-10-11"), Roll::Preceding), Some(d("2026-10-10")));
        // Spring Festival: Sunday 02-15 .. Monday 02-23, with Saturday 02-14 worked.
        assert_eq!(roll(&cn, d("2026-02-20"), Roll::Preceding), Some(d("2026-02-14")));
        assert_eq!(roll(&cn, d("2026-02-20"), Roll::Following), Some(d("2026-02-24")));
    }

    #[test]
    fn modified_following_stays_in_the_month() {
        let none = builtin("none").unwrap();
        // Saturday 2026-01-31: Following leaves January, so ModifiedFollowing goes back to Friday.
        assert_eq!(roll(&none, d("2026-01-31"), Roll::Following), Some(d("2026-02-02")));
        assert_eq!(roll(&none, d("2026-01-31"), Roll::ModifiedFollowing), Some(d("2026-01-30")));
    }

    #[test]
    fn last_business_day_of_a_month_ending_on_a_weekend() {
        let none = builtin("none").unwrap();
        // 2026-05-31 is a Sunday.
        assert_eq!(last_business_day_of_month(&none, 2026, 5), Some(d("2026-05-29")));
        // 2026-12-31 is a Thursday (no holiday in `none`).
        assert_eq!(last_business_day_of_month(&none, 2026, 12), Some(d("2026-12-31")));
        // China: 2026-01-31 is a Saturday; 2026-02-28 is a Saturday but a make-up working day.
        let cn = builtin("cn").unwrap();
        assert_eq!(last_business_day_of_month(&cn, 2026, 1), Some(d("2026-01-30")));
        assert_eq!(last_business_day_of_month(&cn, 2026, 2), Some(d("2026-02-28")));
        assert_eq!(last_business_day_of_month(&cn, 2026, 13), None);
    }

    #[test]
    fn nth_business_day() {
        let cn = builtin("cn").unwrap();
        // Jan 1..3 are holidays, Sunday Jan 4 is worked.
        assert_eq!(nth_business_day_of_month(&cn, 2026, 1, 1), Some(d("2026-01-04")));
        assert_eq!(nth_business_day_of_month(&cn, 2026, 1, 2), Some(d("2026-01-05")));
        // October: 1..7 off, 8 (Thu), 9 (Fri), 10 (make-up Sat), 12 (Mon).
        assert_eq!(nth_business_day_of_month(&cn, 2026, 10, 3), Some(d("2026-10-10")));
        assert_eq!(nth_business_day_of_month(&cn, 2026, 10, 4), Some(d("2026-10-12")));
        assert_eq!(nth_business_day_of_month(&cn, 2026, 10, -2), Some(d("2026-10-29")));
        assert_eq!(nth_business_day_of_month(&cn, 2026, 10, 0), None);
        assert_eq!(nth_business_day_of_month(&cn, 2026, 10, 30), None);
    }

    #[test]
    fn nth_weekday_matches_us_holiday_rules() {
        let us = builtin("us").unwrap();
        let mlk = nth_weekday_of_month(2026, 1, Weekday::Mon, 3).unwrap();
        let memorial = nth_weekday_of_month(2026, 5, Weekday::Mon, -1).unwrap();
        let thanksgiving = nth_weekday_of_month(2026, 11, Weekday::Thu, 4).unwrap();
        assert_eq!((mlk, memorial, thanksgiving), (d("2026-01-19"), d("2026-05-25"), d("2026-11-26")));
        for day in [mlk, memorial, thanksgiving] {
            assert!(us.holidays.contains(&day), "{day}");
        }
        // August 2026 has five Saturdays (1st .. 29th) and four Thursdays.
        assert_eq!(nth_weekday_of_month(2026, 8, Weekday::Sat, 5), Some(d("2026-08-29")));
        assert_eq!(nth_weekday_of_month(2026, 8, Weekday::Sat, -5), Some(d("2026-08-01")));
        assert_eq!(nth_weekday_of_month(2026, 8, Weekday::Thu, 5), None);
        assert_eq!(nth_weekday_of_month(2026, 8, Weekday::Mon, -1), Some(d("2026-08-31")));
        assert_eq!(nth_weekday_of_month(2026, 8, Weekday::Mon, 0), None);
    }

    #[test]
    fn roll_serde_is_snake_case() {
        assert_eq!(serde_json::to_string(&Roll::ModifiedFollowing).unwrap(), "\"modified_following\"");
        assert_eq!(serde_json::from_str::<Roll>("\"preceding\"").unwrap(), Roll::Preceding);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // 2025-01-01 .. 2027-12-31: the shipped data's year and a year either side.
        (0u64..1095).prop_map(|n| d("2025-01-01") + Days::new(n))
    }

    proptest! {
        #[test]
        fn rolls_respect_their_direction(name in prop::sample::select(vec!["cn", "us", "none"]), date in any_date()) {
            let cal = builtin(name).unwrap();
            let f = roll(&cal, date, Roll::Following).unwrap();
            prop_assert!(cal.is_business_day(f) && f >= date);
            prop_assert!((date.iter_days().take_while(|x| *x < f)).all(|x| !cal.is_business_day(x)));
            let p = roll(&cal, date, Roll::Preceding).unwrap();
            prop_assert!(cal.is_business_day(p) && p <= date);
            let m = roll(&cal, date, Roll::ModifiedFollowing).unwrap();
            prop_assert!(cal.is_business_day(m) && same_month(m, date));
            prop_assert!(m == f || m == p);
            prop_assert_eq!(roll(&cal, date, Roll::Skip).is_some(), cal.is_business_day(date));
        }

        #[test]
        fn nth_weekday_is_that_weekday_in_that_week(year in 2020i32..2036, month in 1u32..=12, wd in 0u8..7, n in 1i32..=5) {
            let weekday = Weekday::try_from(wd).unwrap();
            if let Some(date) = nth_weekday_of_month(year, month, weekday, n) {
                prop_assert_eq!((date.year(), date.month(), date.weekday()), (year, month, weekday));
                prop_assert_eq!((date.day() as i32 - 1) / 7 + 1, n);
            } else {
                prop_assert_eq!(n, 5);
            }
            let last = nth_weekday_of_month(year, month, weekday, -1).unwrap();
            prop_assert!(!same_month(last + Days::new(7), last) && same_month(last, NaiveDate::from_ymd_opt(year, month, 1).unwrap()));
        }
    }
}
