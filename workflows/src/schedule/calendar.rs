//! Versioned business-day calendars, parsed from TOML text.
//!
//! Temporal Schedules know nothing of holidays: a cron spec fires on Christmas and on every day
//! of China's Golden Week, and cannot fire on the Saturday China works to make up for a bridge
//! day. punctual therefore decides itself whether a date is a business day, from a calendar file
//! under `calendars/` that is embedded into the binary with `include_str!` (this crate does no I/O)
//! and parsed into ordered sets (no hash-map iteration order can leak into a workflow).
//!
//! A calendar carries a `version`: holiday lists get corrected and extended, and occurrences
//! planned under one version must be explainable later, so a run should record the version it was
//! planned with. `valid_from`/`valid_to` say which dates the data covers; outside that range the
//! calendar only knows the weekend, which [`BusinessCalendar::covers`] lets a caller refuse.
//!
//! File format (see `calendars/cn.toml`):
//!
//! ```toml
//! name = "cn"
//! version = "2026.1"
//! weekend = ["Sat", "Sun"]
//! valid_from = 2026-01-01      # optional, with valid_to
//! valid_to = 2026-12-31
//! [[holiday]]                  # a day off: `date`, or an inclusive range `from`..`to`
//! name = "Spring Festival"
//! from = 2026-02-15
//! to = 2026-02-23
//! [[working_day]]              # a weekend day that is worked (China's make-up days)
//! name = "make-up day for Spring Festival"
//! date = 2026-02-14
//! ```

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::value::Datetime;

/// The calendars shipped in `calendars/`, by name, in the order error messages list them.
const BUILTIN: &[(&str, &str)] = &[
    ("cn", include_str!("../../../calendars/cn.toml")),
    ("everyday", include_str!("../../../calendars/everyday.toml")),
    ("none", include_str!("../../../calendars/none.toml")),
    ("us", include_str!("../../../calendars/us.toml")),
];

/// Why a calendar could not be loaded. Every message names the file and, where there is one, the
/// field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// `builtin` was asked for a name that no shipped file has.
    #[error("unknown calendar `{name}`; known calendars: {}", known.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names of the shipped calendars.
        known: Vec<String>,
    },
    /// The text is not TOML of the calendar's shape (the TOML error names line, column and field).
    #[error("calendar file {file}: {message}")]
    Parse {
        /// The file (or label) the text came from.
        file: String,
        /// The TOML parser's message.
        message: String,
    },
    /// A field parsed but makes no sense (an impossible date, an unknown weekday, ...).
    #[error("calendar file {file}: field `{field}`: {message}")]
    Invalid {
        /// The file (or label) the text came from.
        file: String,
        /// The field, with its table index, e.g. `holiday[2].to`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A named, versioned set of business-day rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    /// Short name, e.g. `cn`.
    pub name: String,
    /// Data version, e.g. `2026.1`; bump it whenever a date changes.
    pub version: String,
    /// Weekdays that are not business days unless listed in `working_days`, Monday first.
    pub weekend: Vec<Weekday>,
    /// Days off (they may fall on a weekend too).
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days that are worked (make-up working days); they override the weekend.
    pub working_days: BTreeSet<NaiveDate>,
    /// First date the holiday data covers (`None`: unbounded).
    pub valid_from: Option<NaiveDate>,
    /// Last date the holiday data covers (`None`: unbounded).
    pub valid_to: Option<NaiveDate>,
    /// The name of each holiday and make-up day, for messages.
    pub names: BTreeMap<NaiveDate, String>,
}

impl BusinessCalendar {
    /// Whether `date` is a business day: a listed working day is; otherwise a holiday or a
    /// weekend day is not; every other day is.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        if self.working_days.contains(&date) {
            return true;
        }
        !self.holidays.contains(&date) && !self.weekend.contains(&date.weekday())
    }

    /// Whether the calendar's holiday data covers `date` (always true without `valid_from`/`valid_to`).
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| date >= from) && self.valid_to.is_none_or(|to| date <= to)
    }

    /// Why `date` cannot be planned with this calendar (`None` when it can): it lies outside the
    /// dates the holiday data covers, where the calendar would know only the weekend and call
    /// New Year's Day or a Spring Festival a business day. A fire there fails rather than guess.
    pub fn gap(&self, date: NaiveDate) -> Option<String> {
        if self.covers(date) {
            return None;
        }
        let bound = |d: Option<NaiveDate>| d.map_or_else(String::new, |d| d.to_string());
        Some(format!(
            "calendar {} {} has no holiday data for {date} (it covers {}..{}): extend calendars/{}.toml and deploy",
            self.name,
            self.version,
            bound(self.valid_from),
            bound(self.valid_to),
            self.name
        ))
    }

    /// Why `date` is not a business day (`None` when it is one), e.g. `holiday: Christmas Day`.
    pub fn non_business_reason(&self, date: NaiveDate) -> Option<String> {
        if self.is_business_day(date) {
            None
        } else if self.holidays.contains(&date) {
            let name = self.names.get(&date).map_or("unnamed", String::as_str);
            Some(format!("holiday: {name}"))
        } else {
            Some(format!("weekend: {}", date.weekday()))
        }
    }

    /// Parses a calendar from TOML `text`; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, CalendarError> {
        let raw: RawCalendar = toml::from_str(text)
            .map_err(|e| CalendarError::Parse { file: file.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        raw.validate(file)
    }
}

/// The calendar shipped as `calendars/{name}.toml`.
pub fn builtin(name: &str) -> Result<BusinessCalendar, CalendarError> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| CalendarError::Unknown {
        name: name.to_owned(),
        known: builtin_names().iter().map(|n| (*n).to_owned()).collect(),
    })?;
    BusinessCalendar::from_toml(&format!("calendars/{name}.toml"), text)
}

/// Names of the shipped calendars, sorted.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    name: String,
    version: String,
    weekend: Vec<String>,
    valid_from: Option<Datetime>,
    valid_to: Option<Datetime>,
    #[serde(default)]
    holiday: Vec<RawDay>,
    #[serde(default)]
    working_day: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    name: String,
    date: Option<Datetime>,
    from: Option<Datetime>,
    to: Option<Datetime>,
}

impl RawCalendar {
    fn validate(self, file: &str) -> Result<BusinessCalendar, CalendarError> {
        let invalid = |field: String, message: String| CalendarError::Invalid { file: file.to_owned(), field, message };
        let date = |field: String, value: &Datetime| -> Result<NaiveDate, CalendarError> {
            match (value.date, value.time, value.offset) {
                (Some(d), None, None) => NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                    .ok_or_else(|| invalid(field, format!("{value} is not a real calendar date"))),
                _ => Err(invalid(field, format!("{value} must be a plain date YYYY-MM-DD"))),
            }
        };

        if self.name.trim().is_empty() {
            return Err(invalid("name".into(), "must not be empty".into()));
        }
        if self.version.trim().is_empty() {
            return Err(invalid("version".into(), "must not be empty".into()));
        }
        let mut weekend = Vec::new();
        for (i, day) in self.weekend.iter().enumerate() {
            let wd = day
                .parse::<Weekday>()
                .map_err(|_| invalid(format!("weekend[{i}]"), format!("\"{day}\" is not a weekday (Mon..Sun)")))?;
            if !weekend.contains(&wd) {
                weekend.push(wd);
            }
        }
        weekend.sort_by_key(|wd| wd.num_days_from_monday());
        if weekend.len() == 7 {
            return Err(invalid("weekend".into(), "cannot hold all seven weekdays".into()));
        }
        let valid_from = self.valid_from.as_ref().map(|v| date("valid_from".into(), v)).transpose()?;
        let valid_to = self.valid_to.as_ref().map(|v| date("valid_to".into(), v)).transpose()?;
        if let (Some(f), Some(t)) = (valid_from, valid_to)
            && f > t
        {
            return Err(invalid("valid_to".into(), format!("{t} is before valid_from {f}")));
        }

        let mut names = BTreeMap::new();
        let mut holidays = BTreeSet::new();
        for (i, h) in self.holiday.iter().enumerate() {
            let at = |f: &str| format!("holiday[{i}].{f}");
            let (first, last) = match (&h.date, &h.from, &h.to) {
                (Some(d), None, None) => {
                    let d = date(at("date"), d)?;
                    (d, d)
                }
                (None, Some(f), Some(t)) => (date(at("from"), f)?, date(at("to"), t)?),
                _ => {
                    return Err(invalid(format!("holiday[{i}]"), "needs either `date` or both `from` and `to`".into()));
                }
            };
            if first > last {
                return Err(invalid(at("to"), format!("{last} is before from {first}")));
            }
            for d in first.iter_days().take_while(|d| *d <= last) {
                check_covered(d, valid_from, valid_to).map_err(|m| invalid(at("date"), m))?;
                holidays.insert(d);
                names.insert(d, h.name.clone());
            }
        }
        let mut working_days = BTreeSet::new();
        for (i, w) in self.working_day.iter().enumerate() {
            let field = format!("working_day[{i}].date");
            if w.from.is_some() || w.to.is_some() {
                return Err(invalid(format!("working_day[{i}]"), "takes `date`, not a range".into()));
            }
            let d = date(field.clone(), w.date.as_ref().ok_or_else(|| invalid(field.clone(), "missing".into()))?)?;
            check_covered(d, valid_from, valid_to).map_err(|m| invalid(field.clone(), m))?;
            if holidays.contains(&d) {
                return Err(invalid(field, format!("{d} is also listed as a holiday")));
            }
            if !weekend.contains(&d.weekday()) {
                return Err(invalid(field, format!("{d} is a {}, not a weekend day", d.weekday())));
            }
            working_days.insert(d);
            names.insert(d, w.name.clone());
        }
        Ok(BusinessCalendar {
            name: self.name,
            version: self.version,
            weekend,
            holidays,
            working_days,
            valid_from,
            valid_to,
            names,
        })
    }
}

fn check_covered(d: NaiveDate, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), String> {
    if from.is_some_and(|f| d < f) || to.is_some_and(|t| d > t) {
        Err(format!("{d} is outside valid_from..valid_to"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_calendars_parse() {
        for name in builtin_names() {
            let cal = builtin(name).unwrap();
            assert_eq!(cal.name, name);
        }
        let cn = builtin("cn").unwrap();
        assert_eq!(cn.version, "2026.1");
        assert_eq!(cn.holidays.len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
        assert_eq!(cn.working_days.len(), 6);
        assert_eq!(builtin("us").unwrap().holidays.len(), 23);
        assert!(builtin("none").unwrap().holidays.is_empty());
    }

    #[test]
    fn us_2027_observes_weekend_holidays_on_the_nearest_weekday() {
        let us = builtin("us").unwrap();
        for off in ["2027-01-18", "2027-06-18", "2027-07-05", "2027-12-24", "2027-12-31"] {
            assert!(!us.is_business_day(d(off)), "{off}");
        }
        assert!(us.is_business_day(d("2027-12-30")));
        assert_eq!(us.gap(d("2027-12-31")), None);
        let gap = us.gap(d("2028-01-03")).expect("2028 is not covered");
        assert!(
            gap.contains("calendar us 2027.1 has no holiday data for 2028-01-03 (it covers 2026-01-01..2027-12-31)"),
            "{gap}"
        );
        let cn = builtin("cn").unwrap();
        assert!(cn.gap(d("2027-01-01")).is_some() && cn.gap(d("2026-12-31")).is_none());
        assert_eq!(builtin("everyday").unwrap().gap(d("2099-01-01")), None);
    }

    #[test]
    fn china_golden_week_and_make_up_days() {
        let cn = builtin("cn").unwrap();
        assert!(!cn.is_business_day(d("2026-10-01")));
        assert!(!cn.is_business_day(d("2026-10-07")));
        assert!(cn.is_business_day(d("2026-10-08")));
        // Saturday 2026-10-10 is worked; Sunday 2026-10-11 is not.
        assert!(cn.is_business_day(d("2026-10-10")));
        assert!(!cn.is_business_day(d("2026-10-11")));
        assert!(cn.is_business_day(d("2026-09-20"))); // a Sunday
        assert_eq!(cn.non_business_reason(d("2026-10-03")).unwrap(), "holiday: National Day (国庆节)");
        assert_eq!(cn.non_business_reason(d("2026-10-11")).unwrap(), "weekend: Sun");
        assert_eq!(cn.non_business_reason(d("2026-10-10")), None);
    }

    #[test]
    fn us_observed_holidays() {
        let us = builtin("us").unwrap();
        assert!(!us.is_business_day(d("2026-07-03"))); // Independence Day observed (Fri)
        assert!(!us.is_business_day(d("2026-11-26")));
        assert!(us.is_business_day(d("2026-11-27")));
        assert!(us.covers(d("2026-06-01")) && us.covers(d("2027-01-01")) && !us.covers(d("2028-01-01")));
        assert!(builtin("none").unwrap().covers(d("1999-01-01")));
    }

    #[test]
    fn unknown_calendar_names_it_and_lists_known() {
        assert_eq!(builtin("jp").unwrap_err().to_string(), "unknown calendar `jp`; known calendars: cn, everyday, none, us");
    }

    #[test]
    fn malformed_files_name_the_field() {
        let cases = [
            ("name = \"x\"\nweekend = []\n", "version"),
            ("name = \"x\"\nversion = \"1\"\nweekend = [\"Sat\", \"Caturday\"]\n", "`weekend[1]`"),
            ("name = \"x\"\nversion = \"1\"\nweekend = []\n[[holiday]]\nname = \"h\"\ndate = \"2026-01-01\"\n", "date"),
            (
                "name = \"x\"\nversion = \"1\"\nweekend = []\n[[holiday]]\nname = \"h\"\nfrom = 2026-01-03\nto = 2026-01-01\n",
                "`holiday[0].to`",
            ),
            (
                "name = \"x\"\nversion = \"1\"\nweekend = [\"Sun\"]\n[[working_day]]\nname = \"w\"\ndate = 2026-01-05\n",
                "`working_day[0].date`: 2026-01-05 is a Mon, not a weekend day",
            ),
            ("name = \"x\"\nversion = \"1\"\nweekend = []\nholidays = []\n", "holidays"),
        ];
        for (text, field) in cases {
            let err = BusinessCalendar::from_toml("calendars/x.toml", text).unwrap_err().to_string();
            assert!(err.starts_with("calendar file calendars/x.toml: "), "{err}");
            assert!(err.contains(field), "{field} not in {err}");
        }
        let err = BusinessCalendar::from_toml("x.toml", "name = \"x\"\nweekend = []\n").unwrap_err();
        assert!(matches!(err, CalendarError::Parse { .. }), "{err:?}");
        assert!(err.to_string().contains("missing field `version`"), "{err}");
    }
}
