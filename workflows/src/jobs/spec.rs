//! A job as the schedule carries it: the resolved, validated form of one `[jobs.NAME]` table of
//! `punctual.toml`.
//!
//! `punctual schedule apply` validates the file (worker crate, `jobs::config`) and puts each
//! job's `JobSpec` into its Temporal schedule's action input as plain JSON. The fire workflow
//! therefore needs no configuration file: the schedule is the source of truth, and a config
//! change plus `apply` changes what the next fire does, without restarting any worker.

use crate::schedule::{DstMissing, DstRepeated, Roll};
use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

/// When a job fires, in its own time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// At these local times of day (sorted, distinct), on the dates [`DayRule`] selects.
    Daily {
        /// Local times, e.g. `["00:30"]`.
        times: Vec<NaiveTime>,
    },
    /// A five-field cron expression (`minute hour day-of-month month day-of-week`), read in the
    /// job's zone; [`DayRule`] must be `EveryDay` (the cron fields choose the days).
    Cron {
        /// The expression as written in the file.
        expr: String,
    },
    /// Every `secs` seconds of absolute time (multiples of `secs` since the Unix epoch, as
    /// Temporal's interval specs count). For checks and tests that fire every few seconds; the
    /// business date is the local date of each fire, DST policies do not apply (absolute time has
    /// no repeated or missing instants) and non-business days are skipped.
    Every {
        /// The interval in whole seconds (at least 1).
        secs: u64,
        /// Seconds after each multiple of `secs` that the job fires (below `secs`; Temporal's
        /// interval *phase*). Jobs with one interval all fire in the same second without it;
        /// a phase each spreads them over the interval. Absent (0) in older jobs' inputs.
        #[serde(default, skip_serializing_if = "is_zero")]
        phase_secs: u64,
    },
}

/// Which nominal dates a job serves (before the holiday roll).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum DayRule {
    /// Every date (non-business days are then rolled or skipped by [`Roll`]).
    #[default]
    EveryDay,
    /// The last business day of each month.
    LastBusinessDay,
    /// The `n`th business day of each month (`-1` = last, `-2` = second to last).
    NthBusinessDay {
        /// 1-based from the start, or negative from the end.
        n: i32,
    },
    /// The `n`th `weekday` of each month (`-1` = last), e.g. the third Monday.
    NthWeekday {
        /// 1-based from the start, or negative from the end.
        n: i32,
        /// The weekday.
        weekday: Weekday,
    },
}

/// What the dependent occurrence does when a dependency failed, was skipped, or is still not
/// committed at the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyPolicy {
    /// Keep waiting (an alert is recorded once the deadline passes).
    #[default]
    Wait,
    /// Record the occurrence as skipped, with the reason.
    Skip,
    /// Fail the occurrence, with the reason.
    Fail,
}

/// Temporal's schedule overlap policy, as the file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Do not start a fire while the previous one still runs (Temporal's default; the skipped
    /// fire's occurrence is then missing until a backfill or `audit --repair`).
    Skip,
    /// Keep one fire waiting behind the running one.
    BufferOne,
    /// Keep every fire waiting (punctual's default: a fire behind a slow or waiting occurrence
    /// runs after it, none is lost).
    #[default]
    BufferAll,
    /// Cancel the running fire, then start.
    CancelOther,
    /// Terminate the running fire, then start.
    TerminateOther,
    /// Start regardless.
    AllowAll,
}

/// What happens to fires missed while the server (or the schedule) could not start them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    /// Run them late, within `catchup_window_secs` (older ones are recorded as missed).
    #[default]
    Run,
    /// Never run them late: they are recorded as missed (the audit shows them; `--repair` runs
    /// them).
    Record,
}

/// One job, validated. Field names are the TOML keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// `[jobs.NAME]`: lowercase letters, digits, `_` and `-`; the first part of every key.
    pub name: String,
    /// Workflow type to run for each occurrence, e.g. `BillingRunWorkflow`.
    pub workflow: String,
    /// JSON object passed to `workflow`, with `business_date` added by punctual.
    #[serde(default)]
    pub input: serde_json::Map<String, serde_json::Value>,
    /// IANA zone of the wall clock and of the business dates.
    pub timezone: String,
    /// When it fires.
    pub timing: Timing,
    /// Which dates it serves.
    #[serde(default)]
    pub day_rule: DayRule,
    /// Business calendar name (`calendars/NAME.toml`); `none` = every day is a business day.
    pub calendar: String,
    /// What to do with a nominal date that is not a business day.
    #[serde(default)]
    pub roll: Roll,
    /// A local time that happens twice (fall back).
    #[serde(default)]
    pub dst_repeated: DstRepeated,
    /// A local time that does not happen (spring forward).
    #[serde(default)]
    pub dst_missing: DstMissing,
    /// Temporal overlap policy between fires.
    #[serde(default)]
    pub overlap: Overlap,
    /// How late a missed fire may still start.
    pub catchup_window_secs: u64,
    /// Run or only record missed fires.
    #[serde(default)]
    pub missed: Missed,
    /// Random delay added to each fire (the nominal time, and so the business date, is unchanged).
    #[serde(default)]
    pub jitter_secs: u64,
    /// Pause the schedule after this many consecutive failed occurrences (0 = never).
    #[serde(default)]
    pub pause_after_failures: u32,
    /// Jobs whose occurrence for the same business date must commit first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// How long after the occurrence starts its dependencies may take before `on_dependency`.
    #[serde(default)]
    pub dependency_deadline_secs: u64,
    /// What to do when a dependency failed, was skipped or is late.
    #[serde(default)]
    pub on_dependency: DependencyPolicy,
    /// An occurrence not committed this long after its nominal time is reported by the SLA check.
    #[serde(default)]
    pub sla_secs: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
