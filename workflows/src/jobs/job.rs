//! A [`JobSpec`] made ready to compute with: zone parsed, calendar loaded, cron parsed.
//!
//! Pure and deterministic: the fire and occurrence workflows call it on every replay, and
//! `punctual schedule` uses it for previews and the audit, so both sides compute the same dates.

use super::spec::{DayRule, JobSpec, Timing};
use crate::schedule::{BusinessCalendar, CronExpr, builtin, nth_business_day_of_month, nth_weekday_of_month};
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use chrono_tz::Tz;

/// A validated job with everything parsed once.
#[derive(Debug, Clone)]
pub struct Job {
    /// The spec as the schedule carries it.
    pub spec: JobSpec,
    /// `spec.timezone`, parsed.
    pub tz: Tz,
    /// `spec.calendar`, loaded.
    pub calendar: BusinessCalendar,
    /// `spec.timing` when it is a cron expression.
    cron: Option<CronExpr>,
}

/// Why a spec cannot be used; names the job and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job \"{job}\", field \"{field}\": {message}")]
pub struct JobError {
    /// The job's name.
    pub job: String,
    /// The offending field.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Job {
    /// Parses the zone, calendar and cron of `spec`.
    pub fn resolve(spec: JobSpec) -> Result<Job, JobError> {
        let err = |field, message: String| JobError { job: spec.name.clone(), field, message };
        let tz: Tz =
            spec.timezone.parse().map_err(|_| err("timezone", format!("unknown IANA time zone \"{}\"", spec.timezone)))?;
        let calendar = builtin(&spec.calendar).map_err(|e| err("calendar", e.to_string()))?;
        let cron = match &spec.timing {
            Timing::Cron { expr } => Some(CronExpr::parse(expr).map_err(|e| err("cron", e.to_string()))?),
            Timing::Daily { times } if times.is_empty() => {
                return Err(err("at", "at least one local time is needed".to_owned()));
            }
            Timing::Daily { .. } | Timing::Every { .. } => None,
        };
        if !matches!(spec.timing, Timing::Daily { .. }) && spec.day_rule != DayRule::EveryDay {
            return Err(err("days", "only every_day goes with `cron` or `every`".to_owned()));
        }
        if let Timing::Every { secs, phase_secs } = spec.timing {
            if secs == 0 {
                return Err(err("every", "the interval must be at least 1s".to_owned()));
            }
            if phase_secs >= secs {
                return Err(err("phase", format!("the phase must be shorter than the interval ({secs}s), got {phase_secs}s")));
            }
        }
        Ok(Job { spec, tz, calendar, cron })
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether the job fires at most once per business date (then its key is `{job}/{date}`).
    pub fn once_a_day(&self) -> bool {
        match (&self.spec.timing, &self.cron) {
            (_, Some(cron)) => cron.fires_at_most_once_a_day(),
            (Timing::Daily { times }, None) => times.len() == 1,
            (Timing::Every { secs, .. }, None) => *secs >= 86_400,
            (Timing::Cron { .. }, None) => unreachable!("resolve parses every cron"),
        }
    }

    /// The interval of an `every` job.
    pub fn every(&self) -> Option<u64> {
        match self.spec.timing {
            Timing::Every { secs, .. } => Some(secs),
            _ => None,
        }
    }

    /// The phase of an `every` job: its fires are `phase` seconds past multiples of the interval.
    pub fn phase(&self) -> u64 {
        match self.spec.timing {
            Timing::Every { phase_secs, .. } => phase_secs,
            _ => 0,
        }
    }

    /// Whether `date` is a nominal date of the job (its day rule; for cron, its date fields).
    pub fn serves(&self, date: NaiveDate) -> bool {
        if let Some(cron) = &self.cron {
            return cron.matches_date(date);
        }
        let (y, m) = (date.year(), date.month());
        match self.spec.day_rule {
            DayRule::EveryDay => true,
            DayRule::LastBusinessDay => nth_business_day_of_month(&self.calendar, y, m, -1) == Some(date),
            DayRule::NthBusinessDay { n } => nth_business_day_of_month(&self.calendar, y, m, n) == Some(date),
            DayRule::NthWeekday { n, weekday } => nth_weekday_of_month(y, m, weekday, n) == Some(date),
        }
    }

    /// Local times the job fires at for nominal date `date` (before any roll), sorted. Empty for
    /// `every` jobs, whose fires are instants (see `plan::expected_fires`).
    pub fn slots(&self, date: NaiveDate) -> Vec<NaiveTime> {
        match (&self.spec.timing, &self.cron) {
            (_, Some(cron)) => cron.times_on(date),
            (Timing::Daily { times }, None) => times.clone(),
            (Timing::Every { .. }, None) => vec![],
            (Timing::Cron { .. }, None) => unreachable!("resolve parses every cron"),
        }
    }

    /// Whether holiday rolls apply: cron jobs are never moved to another date (a non-business
    /// date is skipped), daily jobs follow `roll`.
    pub fn rolls(&self) -> bool {
        matches!(self.spec.timing, Timing::Daily { .. })
    }

    /// Business key of the occurrence for nominal `date` at local `slot`; `repeat` marks the
    /// second instant of a repeated local time under `dst_repeated = "both"`.
    pub fn key(&self, date: NaiveDate, slot: NaiveTime, repeat: bool) -> String {
        let mut key = if self.once_a_day() {
            format!("{}/{}", self.spec.name, date.format("%Y-%m-%d"))
        } else {
            let time = if slot.second() == 0 { slot.format("%H:%M") } else { slot.format("%H:%M:%S") };
            format!("{}/{}T{time}", self.spec.name, date.format("%Y-%m-%d"))
        };
        if repeat {
            key.push_str("/repeat");
        }
        key
    }

    /// Key of job `other`'s occurrence that a dependent occurrence for `date` waits for.
    pub fn dependency_key(other: &str, date: NaiveDate) -> String {
        format!("{other}/{}", date.format("%Y-%m-%d"))
    }
}
