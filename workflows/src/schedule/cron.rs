//! Five-field cron expressions, read exactly as Temporal Schedules read them.
//!
//! A job with `cron = "..."` hands the original string to its Temporal schedule, and punctual must
//! still know, without asking the server, which dates and local times that string selects (to
//! compute business dates, audit missed fires, preview a config change). So this parser accepts
//! only what the server accepts *and means the same by it*; anything the two could read
//! differently is rejected with a message naming the field.
//!
//! Fields: `minute hour day-of-month month day-of-week`, each `*`, a value, a range `a-b`, a step
//! `*/n`, `a-b/n` or `a/n` (from `a` to the field's maximum), or a comma list of those.
//!
//! | field | values | names |
//! |---|---|---|
//! | 1 minute | 0-59 | |
//! | 2 hour | 0-23 | |
//! | 3 day-of-month | 1-31 | |
//! | 4 month | 1-12 | `JAN`-`DEC`, or any prefix of the English name of at least 3 letters |
//! | 5 day-of-week | 0-7, 0 and 7 = Sunday | `SUN`-`SAT`, or any prefix of the English name of at least 2 letters |
//!
//! Names are case-insensitive; the macros `@yearly @annually @monthly @weekly @daily @midnight
//! @hourly` are lowercase, as on the server.
//!
//! Semantics, checked against the Temporal server (`service/worker/scheduler/calendar.go`,
//! `compiledCalendar.matches` / `next` and `parseCronString`):
//! - **day-of-month and day-of-week are ANDed**, also when both are restricted: `0 0 13 * FRI`
//!   fires on Friday the 13th only, not (as in Vixie cron) on every 13th and every Friday;
//! - a cron string has an implicit seconds field of `0`: it fires at second 0 of each minute;
//! - only years 2000-2100 ever match.
//!
//! Rejected, although the server takes some of them: seconds and year fields (6 or 7 fields),
//! `CRON_TZ=`/`TZ=` prefixes (the job's `timezone` key sets the zone), `@every` intervals, and
//! `#` (the server reads it as the start of a *comment*, so `MON#2` would silently fire every
//! Monday); `L`, `W` and `?`, which the server rejects too, get a message saying what to use
//! instead. A day-of-month that no selected month has (`0 0 30 2 *`) is rejected: it never fires.
//!
//! The times are local wall-clock times; what a missing or repeated local time does is the job's
//! DST policy ([`crate::schedule::dst`]), not this module's.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use std::fmt;
use std::str::FromStr;

/// Years the server's calendar matcher accepts (`minCalendarYear`, `maxCalendarYear`).
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Why a cron expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// Nothing but whitespace.
    #[error("the cron expression is empty; write five fields: minute hour day-of-month month day-of-week")]
    Empty,
    /// Not five fields.
    #[error(
        "{found} fields: punctual takes exactly five (minute hour day-of-month month day-of-week){}",
        count_hint(*.found)
    )]
    FieldCount {
        /// How many whitespace-separated fields there were.
        found: usize,
    },
    /// `CRON_TZ=...` or `TZ=...` in front of the fields.
    #[error("the `{prefix}` prefix is not accepted: the job's `timezone` key sets the zone")]
    TimeZonePrefix {
        /// `CRON_TZ=` or `TZ=`.
        prefix: &'static str,
    },
    /// `@every ...`.
    #[error(
        "`@every` intervals are not supported: they are not tied to the wall clock of a business date; use a step such as `*/5 * * * *`"
    )]
    Every,
    /// An `@...` word that is not one of the macros.
    #[error(
        "unknown macro `{text}`; the macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly (lowercase)"
    )]
    UnknownMacro {
        /// The word as written.
        text: String,
    },
    /// A `#` that starts a token of its own: Temporal would read the rest as a comment.
    #[error("`#` comments are not accepted (Temporal would ignore everything after `#`); put the comment in the file instead")]
    Comment,
    /// One field is wrong.
    #[error("field {index} ({name}): {message}")]
    Field {
        /// 1-based position: 1 minute, 2 hour, 3 day-of-month, 4 month, 5 day-of-week.
        index: usize,
        /// The field's name, e.g. `hour`.
        name: &'static str,
        /// What is wrong and, where it helps, what to write instead.
        message: String,
    },
}

/// A parsed five-field cron expression; see the module doc for its exact meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    text: String,
    /// Bit `v` set = value `v` matches (day-of-week: bit 0 = Sunday, 7 folded into 0).
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    None,
    Months,
    Weekdays,
}

struct Field {
    index: usize,
    name: &'static str,
    min: u32,
    max: u32,
    names: Names,
}

const FIELDS: [Field; 5] = [
    Field::new(1, "minute", 0, 59, Names::None),
    Field::new(2, "hour", 0, 23, Names::None),
    Field::new(3, "day-of-month", 1, 31, Names::None),
    Field::new(4, "month", 1, 12, Names::Months),
    Field::new(5, "day-of-week", 0, 7, Names::Weekdays),
];

const MONTHS: [&str; 12] =
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const WEEKDAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
/// Longest day of each month (index 1 = January), leap years included.
const MONTH_DAYS: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl CronExpr {
    /// Parses `text`; [`CronExpr::as_str`] gives it back unchanged.
    pub fn parse(text: &str) -> Result<Self, CronError> {
        let body = text.trim();
        if body.is_empty() {
            return Err(CronError::Empty);
        }
        for prefix in ["CRON_TZ=", "TZ="] {
            if body.starts_with(prefix) {
                return Err(CronError::TimeZonePrefix { prefix });
            }
        }
        check_no_comment(body)?;
        let expanded = if body.starts_with('@') { expand_macro(body)? } else { body };
        let tokens: Vec<&str> = expanded.split_whitespace().collect();
        if tokens.len() != FIELDS.len() {
            return Err(CronError::FieldCount { found: tokens.len() });
        }
        let mut bits = [0u64; 5];
        for ((field, token), slot) in FIELDS.iter().zip(&tokens).zip(&mut bits) {
            *slot = field.parse(token).map_err(|message| field.error(message))?;
        }
        let [minutes, hours, days, months, weekdays] = bits;
        let possible = (1..=12usize).any(|m| has(months, m as u32) && (1..=MONTH_DAYS[m]).any(|d| has(days, d)));
        if !possible {
            return Err(FIELDS[2].error(format!(
                "no month in field 4 (`{}`) has day `{}`: the expression would never fire",
                tokens[3], tokens[2]
            )));
        }
        Ok(Self { text: text.to_owned(), minutes, hours, days, months, weekdays })
    }

    /// The expression exactly as written (this is what the Temporal schedule is given).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the expression fires on some minute of `date` (day-of-month AND day-of-week).
    pub fn matches_date(&self, date: NaiveDate) -> bool {
        YEARS.contains(&date.year())
            && has(self.months, date.month())
            && has(self.days, date.day())
            && has(self.weekdays, date.weekday().num_days_from_sunday())
    }

    /// Whether the expression fires at the local date-time `local`: its date, hour and minute
    /// match, and it is the start of the minute (second 0, as on the server).
    pub fn matches(&self, local: NaiveDateTime) -> bool {
        self.matches_date(local.date())
            && has(self.hours, local.hour())
            && has(self.minutes, local.minute())
            && local.second() == 0
            && local.nanosecond() == 0
    }

    /// The local times the expression fires at on `date`, ascending; empty if the date does not
    /// match.
    pub fn times_on(&self, date: NaiveDate) -> Vec<NaiveTime> {
        if !self.matches_date(date) {
            return Vec::new();
        }
        let mut times = Vec::new();
        for hour in (0..24).filter(|&h| has(self.hours, h)) {
            for minute in (0..60).filter(|&m| has(self.minutes, m)) {
                times.extend(NaiveTime::from_hms_opt(hour, minute, 0));
            }
        }
        times
    }

    /// Whether it fires at most once on any date: exactly one hour and one minute value.
    pub fn fires_at_most_once_a_day(&self) -> bool {
        self.minutes.count_ones() == 1 && self.hours.count_ones() == 1
    }
}

impl FromStr for CronExpr {
    type Err = CronError;
    fn from_str(text: &str) -> Result<Self, CronError> {
        Self::parse(text)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What the server would make of a string with `found` fields, where that is a trap.
fn count_hint(found: usize) -> &'static str {
    match found {
        6 => "; Temporal would read a sixth field as the year, which is not supported",
        7 => "; Temporal would read seven fields as seconds first and the year last, which are not supported",
        _ => "",
    }
}

fn has(bits: u64, value: u32) -> bool {
    value < 64 && bits & (1 << value) != 0
}

fn expand_macro(body: &str) -> Result<&'static str, CronError> {
    Ok(match body {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ if body.starts_with("@every") => return Err(CronError::Every),
        _ => {
            return Err(CronError::UnknownMacro { text: body.to_owned() });
        }
    })
}

/// Temporal cuts a cron string at its first `#` and keeps the rest as a comment, so a `#` must
/// never reach it: `MON#2` (Quartz's "second Monday") would fire every Monday.
fn check_no_comment(body: &str) -> Result<(), CronError> {
    let Some((index, token)) = body.split_whitespace().enumerate().find(|(_, t)| t.contains('#')) else {
        return Ok(());
    };
    if token.starts_with('#') || index >= FIELDS.len() || body.starts_with('@') {
        return Err(CronError::Comment);
    }
    let before = &token[..token.find('#').unwrap_or(0)];
    Err(FIELDS[index].error(format!(
        "`{token}`: `#` is not supported: Temporal reads everything after `#` as a comment and \
         would fire on every `{before}`; for the nth weekday of a month use `at` with \
         `days = {{ nth_weekday = N, weekday = \"Mon\" }}`"
    )))
}

impl Field {
    const fn new(index: usize, name: &'static str, min: u32, max: u32, names: Names) -> Self {
        Self { index, name, min, max, names }
    }

    fn error(&self, message: String) -> CronError {
        CronError::Field { index: self.index, name: self.name, message }
    }

    /// The set of values `text` selects, as bits.
    fn parse(&self, text: &str) -> Result<u64, String> {
        let mut bits = 0u64;
        for part in text.split(',') {
            if part.is_empty() {
                return Err(format!("empty item in the list `{text}`"));
            }
            if part.matches('/').count() > 1 {
                return Err(format!("`{part}` has more than one `/`"));
            }
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(parse_step(step, part)?)),
                None => (part, None),
            };
            let (start, end) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                if b.contains('-') {
                    return Err(format!("`{range}` has more than one `-`"));
                }
                let (start, end) = (self.value(a, part)?, self.value(b, part)?);
                if end < start {
                    return Err(format!(
                        "range `{range}` runs backwards ({start} to {end}); wrap-around ranges are \
                         not supported: list the two parts, separated by `,`"
                    ));
                }
                (start, end)
            } else {
                // `a/n` runs from `a` to the field's maximum, as on the server.
                let start = self.value(range, part)?;
                (start, if step.is_some() { self.max } else { start })
            };
            let step = step.unwrap_or(1);
            let mut value = start;
            while value <= end {
                bits |= 1 << value;
                value = value.saturating_add(step);
            }
        }
        if self.names == Names::Weekdays && has(bits, 7) {
            bits = (bits | 1) & !(1 << 7);
        }
        Ok(bits)
    }

    /// One value: a number in range or, for month and day-of-week, a name.
    fn value(&self, s: &str, part: &str) -> Result<u32, String> {
        let upper = s.to_ascii_uppercase();
        let digits_then = |suffix: &str| upper.strip_suffix(suffix).is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
        if s.is_empty() {
            return Err(format!("missing value in `{part}`"));
        }
        if s.chars().all(|c| c.is_ascii_digit()) {
            return match s.parse::<u32>() {
                Ok(v) if (self.min..=self.max).contains(&v) => Ok(v),
                _ => Err(format!("{s} is out of range {}-{}{}", self.min, self.max, self.names_hint())),
            };
        }
        let (names, min_len, kind): (&[&str], usize, &str) = match self.names {
            Names::Months => (&MONTHS, 3, "month"),
            Names::Weekdays => (&WEEKDAYS, 2, "weekday"),
            Names::None => (&[], usize::MAX, ""),
        };
        if !names.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) && s.len() >= min_len {
            let lower = s.to_ascii_lowercase();
            if let Some(i) = names.iter().position(|n| n.starts_with(&lower)) {
                return Ok(i as u32 + u32::from(self.names == Names::Months));
            }
            return Err(format!("unknown {kind} name `{s}`{}", self.names_hint()));
        }
        Err(if s == "?" {
            "`?` is Quartz syntax that Temporal does not accept; write `*`".to_owned()
        } else if digits_then("L") || upper == "LW" {
            format!(
                "`{s}` (`L`, last) is not supported by Temporal Schedules; for the last (business) \
                 day of a month use `at` with `days = \"last_business_day\"`"
            )
        } else if digits_then("W") {
            format!(
                "`{s}` (`W`, nearest weekday) is not supported by Temporal Schedules; use `at` with \
                 a `calendar` and `roll = \"following\"` or `\"preceding\"`"
            )
        } else {
            format!("`{s}` is not a number in {}-{}{}", self.min, self.max, self.names_hint())
        })
    }

    fn names_hint(&self) -> &'static str {
        match self.names {
            Names::Months => " (or a month name JAN-DEC)",
            Names::Weekdays => " (0 and 7 are Sunday; or a weekday name SUN-SAT)",
            Names::None => "",
        }
    }
}

fn parse_step(step: &str, part: &str) -> Result<u32, String> {
    match step.parse::<u32>() {
        Ok(n) if n >= 1 && step.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err(format!("the step in `{part}` must be a whole number of at least 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }
    fn times(expr: &str, date: &str) -> Vec<String> {
        let cron = CronExpr::parse(expr).unwrap();
        cron.times_on(d(date)).iter().map(|t| t.format("%H:%M").to_string()).collect()
    }
    fn err(expr: &str) -> String {
        CronExpr::parse(expr).unwrap_err().to_string()
    }
    fn values(bits: u64) -> Vec<u32> {
        (0..64).filter(|&v| has(bits, v)).collect()
    }

    #[test]
    fn parses_lists_ranges_steps_and_names() {
        let c = CronExpr::parse("*/15 9-17/4 1,15 JAN-mar,Dec mon-FRI").unwrap();
        assert_eq!(values(c.minutes), [0, 15, 30, 45]);
        assert_eq!(values(c.hours), [9, 13, 17]);
        assert_eq!(values(c.days), [1, 15]);
        assert_eq!(values(c.months), [1, 2, 3, 12]);
        assert_eq!(values(c.weekdays), [1, 2, 3, 4, 5]);
        // `a/n` runs to the field's maximum; full names and the server's prefixes are names too.
        let c = CronExpr::parse("5/20 0 * september tu,Thursday").unwrap();
        assert_eq!(values(c.minutes), [5, 25, 45]);
        assert_eq!(values(c.months), [9]);
        assert_eq!(values(c.weekdays), [2, 4]);
        // 0 and 7 are both Sunday, alone, in ranges and in steps.
        for expr in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * 7-7"] {
            assert_eq!(values(CronExpr::parse(expr).unwrap().weekdays), [0], "{expr}");
        }
        assert_eq!(values(CronExpr::parse("0 0 * * 5-7").unwrap().weekdays), [0, 5, 6]);
        assert_eq!(values(CronExpr::parse("0 0 * * 1-7/2").unwrap().weekdays), [0, 1, 3, 5]);
        assert_eq!(values(CronExpr::parse("0 0 * * */2").unwrap().weekdays), [0, 2, 4, 6]);
        assert_eq!(values(CronExpr::parse("0 0 * * 1-7").unwrap().weekdays), [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn macros_expand_as_on_the_server() {
        for (mac, fields) in [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ] {
            let (a, b) = (CronExpr::parse(mac).unwrap(), CronExpr::parse(fields).unwrap());
            assert_eq!((a.minutes, a.hours, a.days, a.months, a.weekdays), (b.minutes, b.hours, b.days, b.months, b.weekdays));
            assert_eq!(a.as_str(), mac);
        }
    }

    #[test]
    fn as_str_and_display_give_the_original_text() {
        let c: CronExpr = " 30  0 * * * ".parse().unwrap();
        assert_eq!(c.as_str(), " 30  0 * * * ");
        assert_eq!(c.to_string(), " 30  0 * * * ");
    }

    #[test]
    fn times_on_examples() {
        let every5 = times("*/5 * * * *", "2026-11-24");
        assert_eq!(every5.len(), 288);
        assert_eq!(&every5[..3], ["00:00", "00:05", "00:10"]);
        assert_eq!(every5.last().unwrap(), "23:55");
        assert_eq!(times("30 0 * * *", "2026-11-24"), ["00:30"]);
        // 2026-11-24 is a Tuesday, 2026-11-28 a Saturday.
        assert_eq!(times("0 9 * * MON-FRI", "2026-11-24"), ["09:00"]);
        assert!(times("0 9 * * MON-FRI", "2026-11-28").is_empty());
        assert_eq!(times("0 0 1 * *", "2026-12-01"), ["00:00"]);
        assert!(times("0 0 1 * *", "2026-12-02").is_empty());
        assert_eq!(times("0 12 * * 7", "2026-11-29"), times("0 12 * * 0", "2026-11-29"));
        assert_eq!(times("0 12 * * 7", "2026-11-29"), ["12:00"]);
        assert_eq!(times("15,45 8,20 * * *", "2026-01-01"), ["08:15", "08:45", "20:15", "20:45"]);
    }

    #[test]
    fn day_of_month_and_day_of_week_are_anded_like_temporal() {
        let c = CronExpr::parse("0 0 13 * FRI").unwrap();
        assert!(c.matches_date(d("2026-02-13"))); // Friday the 13th
        assert!(!c.matches_date(d("2026-02-20"))); // a Friday, not the 13th
        assert!(!c.matches_date(d("2026-01-13"))); // the 13th, a Tuesday
    }

    #[test]
    fn only_the_servers_years_and_second_zero_match() {
        let c = CronExpr::parse("@daily").unwrap();
        assert!(c.matches_date(d("2000-01-01")) && c.matches_date(d("2100-12-31")));
        assert!(!c.matches_date(d("1999-12-31")) && !c.matches_date(d("2101-01-01")));
        assert!(c.matches(d("2026-05-01").and_time(t("00:00"))));
        assert!(!c.matches(d("2026-05-01").and_hms_opt(0, 0, 1).unwrap()));
        assert!(!c.matches(d("2026-05-01").and_time(t("00:01"))));
    }

    #[test]
    fn once_a_day_means_one_hour_and_one_minute() {
        let once = |e: &str| CronExpr::parse(e).unwrap().fires_at_most_once_a_day();
        assert!(once("30 0 * * *") && once("0 9 * * MON-FRI") && once("@monthly"));
        assert!(!once("*/5 * * * *") && !once("0 9,17 * * *") && !once("@hourly"));
    }

    #[test]
    fn field_errors_name_the_field_and_why() {
        for (expr, want) in [
            ("0 24 * * *", "field 2 (hour): 24 is out of range 0-23"),
            ("60 0 * * *", "field 1 (minute): 60 is out of range 0-59"),
            ("0 0 0 * *", "field 3 (day-of-month): 0 is out of range 1-31"),
            ("0 0 * 13 *", "field 4 (month): 13 is out of range 1-12"),
            ("0 0 * * 8", "field 5 (day-of-week): 8 is out of range 0-7"),
            ("0 0 * ja *", "field 4 (month): `ja` is not a number"),
            ("0 0 * jxn *", "field 4 (month): unknown month name `jxn`"),
            ("0 0 * * Funday", "field 5 (day-of-week): unknown weekday name `Funday`"),
            ("0 0 L * *", "field 3 (day-of-month): `L` (`L`, last) is not supported"),
            ("0 0 * * 5L", "field 5 (day-of-week): `5L` (`L`, last)"),
            ("0 0 15W * *", "field 3 (day-of-month): `15W` (`W`, nearest weekday)"),
            ("0 0 ? * MON", "field 3 (day-of-month): `?` is Quartz syntax"),
            ("0 9 * * MON#2", "field 5 (day-of-week): `MON#2`: `#` is not supported"),
            ("*/0 * * * *", "field 1 (minute): the step in `*/0`"),
            ("*/x * * * *", "field 1 (minute): the step in `*/x`"),
            ("1/2/3 * * * *", "field 1 (minute): `1/2/3` has more than one `/`"),
            ("1-2-3 * * * *", "field 1 (minute): `1-2-3` has more than one `-`"),
            ("0 22-2 * * *", "field 2 (hour): range `22-2` runs backwards"),
            ("0 0 * * FRI-MON", "field 5 (day-of-week): range `FRI-MON` runs backwards"),
            ("0 0 1,,2 * *", "field 3 (day-of-month): empty item in the list `1,,2`"),
            ("-5 * * * *", "field 1 (minute): missing value in `-5`"),
            ("*-5 * * * *", "field 1 (minute): `*` is not a number"),
            ("0 0 30 2 *", "field 3 (day-of-month): no month in field 4 (`2`) has day `30`"),
            ("0 0 31 4,6 *", "field 3 (day-of-month): no month"),
            ("0 99999999999 * * *", "field 2 (hour): 99999999999 is out of range 0-23"),
        ] {
            let got = err(expr);
            assert!(got.starts_with(want), "{expr}: got {got:?}, want {want:?}...");
        }
        // A day that only some selected months have is fine; so is 29 February.
        CronExpr::parse("0 0 31 1-12 *").unwrap();
        CronExpr::parse("0 0 29 2 *").unwrap();
    }

    #[test]
    fn whole_expression_errors_say_what_to_do() {
        assert!(err("").contains("empty"));
        assert!(err("0 0 * *").starts_with("4 fields: punctual takes exactly five"));
        assert!(err("0 0 0 * * *").contains("sixth field as the year"));
        assert!(err("0 0 0 * * * 2026").contains("seconds first"));
        assert!(err("CRON_TZ=Asia/Shanghai 0 0 * * *").contains("`CRON_TZ=` prefix"));
        assert!(err("TZ=UTC 0 0 * * *").contains("job's `timezone` key"));
        assert!(err("@every 5m").starts_with("`@every` intervals are not supported"));
        assert!(err("@DAILY").starts_with("unknown macro `@DAILY`"));
        assert!(err("0 0 * * * # nightly").starts_with("`#` comments are not accepted"));
    }

    /// One field item: `*`, `*/n`, `a`, `a-b`, `a-b/n` or `a/n` within `min..=max`.
    fn item(min: u32, max: u32) -> impl Strategy<Value = String> {
        (min..=max, min..=max, 1u32..=10, 0..6u8).prop_map(|(a, b, n, kind)| {
            let (lo, hi) = (a.min(b), a.max(b));
            match kind {
                0 => "*".to_owned(),
                1 => format!("*/{n}"),
                2 => format!("{a}"),
                3 => format!("{lo}-{hi}"),
                4 => format!("{lo}-{hi}/{n}"),
                _ => format!("{a}/{n}"),
            }
        })
    }

    fn field(min: u32, max: u32) -> impl Strategy<Value = String> {
        prop::collection::vec(item(min, max), 1..=3).prop_map(|items| items.join(","))
    }

    fn any_expr() -> impl Strategy<Value = String> {
        (field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 7))
            .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn every_returned_time_matches_again(expr in any_expr(), days in 0u64..(366 * 20)) {
            // Only impossible day/month pairs are rejected among these.
            let Ok(cron) = CronExpr::parse(&expr) else {
                prop_assert!(err(&expr).contains("would never fire"), "{expr}: {}", err(&expr));
                return Ok(());
            };
            let date = d("2020-01-01") + chrono::Days::new(days);
            let times = cron.times_on(date);
            prop_assert_eq!(times.is_empty(), !cron.matches_date(date));
            prop_assert!(times.windows(2).all(|w| w[0] < w[1]));
            for time in &times {
                prop_assert!(cron.matches(date.and_time(*time)), "{} at {} {}", expr, date, time);
            }
            // Every matching minute of the day is returned.
            let all = (0..24 * 60).filter(|m| cron.matches(date.and_hms_opt(m / 60, m % 60, 0).unwrap())).count();
            prop_assert_eq!(all, times.len());
        }

        #[test]
        fn parse_never_panics(text in "[0-9A-Za-z*/,#?@= -]{0,40}") {
            let _ = CronExpr::parse(&text);
        }
    }
}
