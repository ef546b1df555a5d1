//! A job as a raw Temporal `Schedule` protobuf.
//!
//! The SDK's `ScheduleAction::StartWorkflow` carries only type, task queue, ID and input, and its
//! `ScheduleSpec` sends exclusions through a deprecated field; punctual needs search attributes
//! on every fire, explicit calendar entries for DST-shifted times and the full policies, so it
//! builds the request itself from the `prost` types the SDK re-exports.
//!
//! What goes to the server:
//! - spec: one structured calendar entry per local time (`at` jobs), the cron string, read in
//!   the job's `timezone`, or an interval (`every` jobs); plus, when `dst_missing = "shift"`, one dated entry per spring-forward
//!   day on which a slot does not exist, at the shifted wall time (Temporal alone would skip it).
//!   Holidays are *not* excluded on the server: the fire decides (so a skipped date is visible as
//!   `RunOutcome=skipped_holiday`, and a rolled one runs on its business day).
//! - action: `ScheduledJobWorkflow` with input `{"job": {...}}`, workflow ID `{job}/fire`,
//!   search attribute `JobName`.
//! - policies: overlap, catch-up window (10 s when `missed = "record"`), no server-side pause on
//!   failure (punctual pauses after `pause_after_failures` consecutive failed occurrences).

use super::timings::{EarlierTiming, TIMINGS_MEMO};
use chrono::{DateTime, Datelike, Days, NaiveDate, Offset, TimeZone, Timelike, Utc};
use punctual_workflows::jobs::plan::expected_fires;
use punctual_workflows::jobs::types::{FireInput, fire_workflow_id};
use punctual_workflows::jobs::{Job, Missed, Overlap, Timing};
use punctual_workflows::names;
use punctual_workflows::schedule::DstMissing;
use std::collections::BTreeSet;
use std::time::Duration;
use temporalio_common::protos::temporal::api::{
    common::v1::{Memo, Payload, Payloads, SearchAttributes, WorkflowType},
    enums::v1::ScheduleOverlapPolicy,
    schedule::v1::{
        IntervalSpec, Range, Schedule, ScheduleAction, SchedulePolicies, ScheduleSpec, ScheduleState, StructuredCalendarSpec,
        schedule_action,
    },
    taskqueue::v1::TaskQueue,
    workflow::v1::NewWorkflowExecutionInfo,
};

/// How many years ahead DST-shift entries are written; `schedule apply` refreshes them.
pub const DST_HORIZON_YEARS: u64 = 10;

/// Temporal's smallest catch-up window.
const MIN_CATCHUP: Duration = Duration::from_secs(10);

/// A `json/plain` payload of `value`.
pub fn json_payload(value: &serde_json::Value) -> Payload {
    Payload {
        metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
        data: serde_json::to_vec(value).expect("JSON values serialise"),
        ..Default::default()
    }
}

/// The schedule action's input for `job`.
pub fn fire_input(job: &Job) -> serde_json::Value {
    serde_json::to_value(FireInput { job: job.spec.clone(), business_date: None }).expect("job spec serialises")
}

/// The whole schedule for `job` on `task_queue`; `now` anchors the DST-shift horizon; `earlier`
/// are the job's earlier timings, kept in the action's memo.
pub fn schedule_for(
    job: &Job,
    task_queue: &str,
    now: DateTime<Utc>,
    paused: bool,
    notes: String,
    earlier: &[EarlierTiming],
) -> Schedule {
    Schedule {
        spec: Some(spec_for(job, now)),
        action: Some(action_for(job, task_queue, earlier)),
        policies: Some(SchedulePolicies {
            overlap_policy: overlap(job.spec.overlap) as i32,
            catchup_window: Some(duration(catchup(job))),
            pause_on_failure: false,
            keep_original_workflow_id: false,
        }),
        state: Some(ScheduleState { notes, paused, ..Default::default() }),
    }
}

fn catchup(job: &Job) -> Duration {
    match job.spec.missed {
        Missed::Record => MIN_CATCHUP,
        Missed::Run => Duration::from_secs(job.spec.catchup_window_secs).max(MIN_CATCHUP),
    }
}

fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration { seconds: d.as_secs() as i64, nanos: 0 }
}

fn overlap(o: Overlap) -> ScheduleOverlapPolicy {
    match o {
        Overlap::Skip => ScheduleOverlapPolicy::Skip,
        Overlap::BufferOne => ScheduleOverlapPolicy::BufferOne,
        Overlap::BufferAll => ScheduleOverlapPolicy::BufferAll,
        Overlap::CancelOther => ScheduleOverlapPolicy::CancelOther,
        Overlap::TerminateOther => ScheduleOverlapPolicy::TerminateOther,
        Overlap::AllowAll => ScheduleOverlapPolicy::AllowAll,
    }
}

/// The fire action. The earlier timings ride in its memo: the server refuses memo updates on a
/// schedule itself ("not supported on workflow-backed schedules"), and the action is replaced
/// with every update. Each fire carries them in its memo too, readable in the Web UI.
fn action_for(job: &Job, task_queue: &str, earlier: &[EarlierTiming]) -> ScheduleAction {
    let job_name = json_payload(&serde_json::Value::String(job.name().to_owned()));
    let mut job_name = job_name;
    job_name.metadata.insert("type".to_owned(), b"Keyword".to_vec());
    ScheduleAction {
        action: Some(schedule_action::Action::StartWorkflow(NewWorkflowExecutionInfo {
            workflow_id: fire_workflow_id(job.name()),
            workflow_type: Some(WorkflowType { name: names::SCHEDULED_JOB_WORKFLOW.to_owned() }),
            task_queue: Some(TaskQueue { name: task_queue.to_owned(), ..Default::default() }),
            input: Some(Payloads { payloads: vec![json_payload(&fire_input(job))] }),
            search_attributes: Some(SearchAttributes { indexed_fields: [(names::SA_JOB_NAME.to_owned(), job_name)].into() }),
            memo: (!earlier.is_empty()).then(|| Memo {
                fields: [(TIMINGS_MEMO.to_owned(), json_payload(&serde_json::to_value(earlier).unwrap_or_default()))].into(),
            }),
            ..Default::default()
        })),
    }
}

fn one(v: u32) -> Vec<Range> {
    vec![Range { start: v as i32, end: v as i32, step: 1 }]
}

fn all(from: i32, to: i32) -> Vec<Range> {
    vec![Range { start: from, end: to, step: 1 }]
}

fn spec_for(job: &Job, now: DateTime<Utc>) -> ScheduleSpec {
    let mut spec = ScheduleSpec {
        timezone_name: job.tz.name().to_owned(),
        jitter: (job.spec.jitter_secs > 0).then(|| duration(Duration::from_secs(job.spec.jitter_secs))),
        ..Default::default()
    };
    match &job.spec.timing {
        Timing::Daily { times } => {
            for t in times {
                spec.structured_calendar.push(StructuredCalendarSpec {
                    second: one(t.second()),
                    minute: one(t.minute()),
                    hour: one(t.hour()),
                    day_of_month: all(1, 31),
                    month: all(1, 12),
                    year: vec![],
                    day_of_week: all(0, 6),
                    comment: format!("{} at {}", job.name(), t.format("%H:%M:%S")),
                });
            }
        }
        Timing::Cron { expr } => spec.cron_string.push(expr.clone()),
        Timing::Every { secs, phase_secs } => spec.interval.push(IntervalSpec {
            interval: Some(duration(Duration::from_secs(*secs))),
            phase: (*phase_secs > 0).then(|| duration(Duration::from_secs(*phase_secs))),
        }),
    }
    if job.spec.dst_missing == DstMissing::Shift {
        spec.structured_calendar.extend(shifted_entries(job, now.date_naive()));
    }
    spec
}

/// Whether the dated DST-shift entries of the schedule on the server (`on_server`) are not the
/// ones this punctual would write `today`: the 10-year horizon has moved past a transition
/// since they were written, or the zone's rules changed with a tzdata update (a transition
/// moved: the server would not fire the shifted time on the new date, and that occurrence would
/// be lost). Entries for days already past are not compared.
pub fn shift_entries_stale(job: &Job, on_server: &ScheduleSpec, today: NaiveDate) -> bool {
    let start = today.pred_opt().unwrap_or(today);
    let walls = |entries: &[StructuredCalendarSpec]| -> BTreeSet<(i32, i32, i32, i32, i32, i32)> {
        entries
            .iter()
            .filter_map(|e| {
                let first = |r: &[Range]| r.first().map(|r| r.start);
                Some((
                    first(&e.year)?,
                    first(&e.month)?,
                    first(&e.day_of_month)?,
                    first(&e.hour)?,
                    first(&e.minute)?,
                    first(&e.second)?,
                ))
            })
            .filter(|(y, m, d, ..)| NaiveDate::from_ymd_opt(*y, *m as u32, *d as u32).is_some_and(|day| day >= start))
            .collect()
    };
    let wanted = if job.spec.dst_missing == DstMissing::Shift { shifted_entries(job, today) } else { vec![] };
    walls(&on_server.structured_calendar) != walls(&wanted)
}

/// Dated entries for fires that DST moves off their literal wall time (spring-forward days),
/// from the day before `today` for [`DST_HORIZON_YEARS`].
pub fn shifted_entries(job: &Job, today: NaiveDate) -> Vec<StructuredCalendarSpec> {
    let start = today.pred_opt().unwrap_or(today);
    let end = start.checked_add_days(Days::new(366 * DST_HORIZON_YEARS)).unwrap_or(start);
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    for day in start.iter_days().take_while(|d| *d <= end).filter(|d| is_transition_day(job, *d)) {
        for fire in expected_fires(job, day) {
            let wall = fire.at.with_timezone(&job.tz).naive_local();
            if wall.time() == fire.occurrence.slot || !seen.insert(wall) {
                continue;
            }
            entries.push(StructuredCalendarSpec {
                second: one(wall.second()),
                minute: one(wall.minute()),
                hour: one(wall.hour()),
                day_of_month: one(wall.day()),
                month: one(wall.month()),
                year: one(wall.year() as u32),
                day_of_week: all(0, 6),
                comment: format!(
                    "{}: {} does not exist on {day} (DST); dst_missing = shift fires at {}",
                    job.name(),
                    fire.occurrence.slot.format("%H:%M"),
                    wall.format("%H:%M")
                ),
            });
        }
    }
    entries
}

/// Whether the zone's UTC offset changes during `day` (or at its end).
fn is_transition_day(job: &Job, day: NaiveDate) -> bool {
    let offset_at = |d: NaiveDate| {
        let noon = d.and_hms_opt(12, 0, 0).expect("noon exists");
        job.tz.from_utc_datetime(&noon).offset().fix()
    };
    day.succ_opt().is_some_and(|next| offset_at(day) != offset_at(next))
        || day.pred_opt().is_some_and(|prev| offset_at(prev) != offset_at(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use punctual_workflows::jobs::JobSpec;

    fn job(tz: &str, at: &str) -> Job {
        let spec: JobSpec = serde_json::from_value(serde_json::json!({
            "name": "bill", "workflow": "BillingRunWorkflow", "timezone": tz,
            "timing": {"daily": {"times": [at]}}, "calendar": "everyday", "catchup_window_secs": 3600
        }))
        .unwrap();
        Job::resolve(spec).unwrap()
    }

    #[test]
    fn new_york_half_past_two_gets_one_shift_entry_per_spring_forward() {
        let entries = shifted_entries(&job("America/New_York", "02:30:00"), "2026-01-01".parse().unwrap());
        assert_eq!(entries.len(), DST_HORIZON_YEARS as usize, "2026..=2035: {entries:#?}");
        let first = &entries[0];
        assert_eq!((first.year[0].start, first.month[0].start, first.day_of_month[0].start), (2026, 3, 8));
        assert_eq!((first.hour[0].start, first.minute[0].start), (3, 30));
    }

    #[test]
    fn shift_entries_written_years_ago_or_for_other_rules_are_stale() {
        let ny = job("America/New_York", "02:30:00");
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let written = spec_for(&ny, "2026-01-01T00:00:00Z".parse().unwrap());
        assert!(!shift_entries_stale(&ny, &written, day("2026-01-01")), "written today");
        assert!(!shift_entries_stale(&ny, &written, day("2026-02-01")), "a month on: nothing new in the horizon");
        assert!(shift_entries_stale(&ny, &written, day("2027-01-01")), "2036's transition entered the horizon");
        let after_march = spec_for(&ny, "2026-03-09T12:00:00Z".parse().unwrap());
        assert!(!shift_entries_stale(&ny, &after_march, day("2026-03-10")), "2026-03-08's entry is past: not compared");
        let mut moved = written.clone();
        moved.structured_calendar.retain(|e| e.year.first().is_none_or(|y| y.start != 2030));
        assert!(shift_entries_stale(&ny, &moved, day("2026-01-01")), "a transition missing on the server");
        let shanghai = job("Asia/Shanghai", "02:30:00");
        assert!(!shift_entries_stale(&shanghai, &spec_for(&shanghai, Utc::now()), Utc::now().date_naive()));
    }

    #[test]
    fn zones_without_dst_and_times_outside_the_gap_get_none() {
        assert!(shifted_entries(&job("Asia/Shanghai", "02:30:00"), "2026-01-01".parse().unwrap()).is_empty());
        assert!(shifted_entries(&job("America/New_York", "04:30:00"), "2026-01-01".parse().unwrap()).is_empty());
    }

    #[test]
    fn the_action_carries_the_job_and_its_search_attribute() {
        let j = job("Asia/Shanghai", "00:30:00");
        let s = schedule_for(&j, "punctual", Utc::now(), false, String::new(), &[]);
        let Some(schedule_action::Action::StartWorkflow(start)) = s.action.unwrap().action else { panic!() };
        assert_eq!(start.workflow_id, "bill/fire");
        assert_eq!(start.workflow_type.unwrap().name, "ScheduledJobWorkflow");
        let input: serde_json::Value = serde_json::from_slice(&start.input.unwrap().payloads[0].data).unwrap();
        assert_eq!(input["job"]["name"], "bill");
        assert!(start.search_attributes.unwrap().indexed_fields.contains_key("JobName"));
        assert_eq!(s.spec.unwrap().timezone_name, "Asia/Shanghai");
    }
}
