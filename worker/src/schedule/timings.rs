//! The timings a job had before its current one, kept in its schedule's memo, so the audit
//! judges each date by the timing in force when it was due.
//!
//! Without them the audit read the past through today's timing: a slot moved from 17:00 to 18:00
//! made every past `…T18:00` key MISSING, a calendar changed from `none` to `everyday` every past
//! weekend, and `--repair` ran them all (for `FireBillingWorkflow`, whose key is the billing
//! period, billing those days again). `apply` records the replaced timing with the moment it
//! ended; the audit expects, for each fire, what the timing of its moment expected.

use chrono::{DateTime, Utc};
use punctual_workflows::jobs::JobSpec;
use serde::{Deserialize, Serialize};

/// Memo field holding the earlier timings, oldest first.
pub const TIMINGS_MEMO: &str = "timings";

/// How many earlier timings a schedule keeps.
const KEPT: usize = 20;

/// A timing the job had until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierTiming {
    /// When `apply` replaced it.
    pub until: DateTime<Utc>,
    /// The job as it was.
    pub job: JobSpec,
}

/// Whether replacing `old` by `new` changes which fires the job has or what they are keyed by:
/// its timing, days, calendar, roll, DST policies or zone.
pub fn timing_changed(old: &JobSpec, new: &JobSpec) -> bool {
    old.timing != new.timing
        || old.day_rule != new.day_rule
        || old.calendar != new.calendar
        || old.roll != new.roll
        || old.dst_repeated != new.dst_repeated
        || old.dst_missing != new.dst_missing
        || old.timezone != new.timezone
}

/// `earlier` with `old` appended as ended at `now`, the oldest dropped past [`KEPT`].
pub fn with_replaced(mut earlier: Vec<EarlierTiming>, old: JobSpec, now: DateTime<Utc>) -> Vec<EarlierTiming> {
    earlier.push(EarlierTiming { until: now, job: old });
    let extra = earlier.len().saturating_sub(KEPT);
    earlier.drain(..extra);
    earlier
}

/// When one timing was in force: from `from` (open for the first) until `until` (open for the
/// current one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period<'a> {
    /// Start; `None` for the first timing (ownership, the audit's `before`, bounds it).
    pub from: Option<DateTime<Utc>>,
    /// End; `None` for the current timing.
    pub until: Option<DateTime<Utc>>,
    /// The job as it was then.
    pub job: &'a JobSpec,
}

impl Period<'_> {
    /// Whether a fire due `at` fell in this period.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.until.is_none_or(|until| at < until)
    }
}

/// The period each timing was in force, the current one last.
pub fn periods<'a>(earlier: &'a [EarlierTiming], current: &'a JobSpec) -> Vec<Period<'a>> {
    let mut from = None;
    let mut out = Vec::with_capacity(earlier.len() + 1);
    for timing in earlier {
        out.push(Period { from, until: Some(timing.until), job: &timing.job });
        from = Some(timing.until);
    }
    out.push(Period { from, until: None, job: current });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(at: &str) -> JobSpec {
        crate::jobs::config::parse(
            "t.toml",
            &format!("[jobs.x]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = {at}\n"),
        )
        .unwrap()
        .remove(0)
    }

    #[test]
    fn timings_follow_each_other_and_only_timing_fields_count() {
        let (a, b, c) = (spec("\"09:00\""), spec("[\"09:00\", \"17:00\"]"), spec("[\"09:00\", \"18:00\"]"));
        assert!(timing_changed(&b, &c) && !timing_changed(&a, &a.clone()));
        let mut sla = a.clone();
        sla.sla_secs = 60;
        assert!(!timing_changed(&a, &sla));
        let t1: DateTime<Utc> = "2026-11-10T00:00:00Z".parse().unwrap();
        let t2: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
        let earlier = with_replaced(with_replaced(vec![], a.clone(), t1), b.clone(), t2);
        let periods = periods(&earlier, &c);
        let bounds: Vec<_> = periods.iter().map(|p| (p.from, p.until, p.job)).collect();
        assert_eq!(bounds, [(None, Some(t1), &a), (Some(t1), Some(t2), &b), (Some(t2), None, &c)]);
        assert!(periods[1].holds(t1) && !periods[1].holds(t2) && periods[2].holds(t2));
        let many = (0..30).fold(vec![], |e, _| with_replaced(e, a.clone(), t1));
        assert_eq!(many.len(), KEPT);
    }
}
