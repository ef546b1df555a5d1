//! Business-date scheduling that Temporal Schedules cannot express, as pure functions.
//!
//! Temporal Schedules match wall-clock fields literally (a 02:30 job does not fire on the
//! spring-forward day, a 01:30 job fires twice on the fall-back day) and know no holidays, no
//! holiday rolls, no "last business day" or "third Monday". punctual computes business dates and
//! fire times itself, here, deterministically: no clock reads, no I/O (calendars are embedded with
//! `include_str!`), ordered collections only — so workflow code may call any of it.
//!
//! - [`calendar`]: versioned holiday calendars (`calendars/*.toml`) and [`BusinessCalendar::is_business_day`];
//! - [`cron`]: five-field cron expressions, read exactly as Temporal Schedules read them;
//! - [`roll`]: holiday rolls and month rules (last / nth business day, nth weekday);
//! - [`dst`]: per-job policy for missing and repeated local times;
//! - [`occurrence`]: business date of an instant, and the expected runs of a daily job.

pub mod calendar;
pub mod cron;
pub mod dst;
pub mod occurrence;
pub mod roll;
#[cfg(test)]
pub(crate) mod testgen;

pub use calendar::{BusinessCalendar, CalendarError, builtin};
pub use cron::{CronError, CronExpr};
pub use dst::{DstMissing, DstRepeated, resolve_local};
pub use occurrence::{DailySpec, Occurrence, business_date_of, occurrence_key, occurrences};
pub use roll::{Roll, last_business_day_of_month, nth_business_day_of_month, nth_weekday_of_month, roll};
