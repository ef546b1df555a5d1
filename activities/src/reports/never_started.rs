//! Occurrences that never started: planned by a job's schedule, past their deadline, and without
//! a row in `job_occurrences`.
//!
//! The late-row check sees only occurrences that began. A fire that never happened leaves no
//! row: a schedule paused (by `pause_after_failures`, the Web UI or `temporal schedule toggle`), a
//! fire missed past its catch-up window, a server down too long. That is the silent miss punctual
//! exists to prevent, and before only `punctual schedule audit`, run by hand, found it.
//!
//! Only this worker's task queue's schedules are read (their ledger is this one), only jobs with
//! an `sla`, and only fires since the schedule was last created or changed (an earlier timing's
//! fires are the audit's, which knows the timing history) and within [`LOOKBACK`].

use super::sla::Due;
use crate::jobs::job_spec_of;
use crate::ledger::Ledger;
use chrono::{DateTime, Days, Duration, Utc};
use futures::StreamExt;
use punctual_workflows::jobs::Job;
use punctual_workflows::jobs::plan::expected_between;
use punctual_workflows::jobs::types::{SCHEDULE_PREFIX, SCHEDULE_TASK_QUEUE_MEMO};
use std::collections::BTreeSet;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::schedules::ListSchedulesOptions;
use temporalio_client::tonic::IntoRequest;
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::protos::temporal::api::schedule::v1::schedule_action;
use temporalio_common::protos::temporal::api::workflowservice::v1::{DescribeScheduleRequest, DescribeScheduleResponse};

/// How far back the check looks: older misses are `punctual schedule audit`'s to find.
pub(super) const LOOKBACK: Duration = Duration::hours(48);

/// The occurrences of `task_queue`'s jobs that were due (plus their `sla`) by `as_of`, within
/// [`LOOKBACK`], and have no row. An error names what could not be read; the caller goes on with
/// the rows it has.
pub(super) async fn never_started(
    client: &Client,
    task_queue: &str,
    ledger: &Ledger,
    as_of: DateTime<Utc>,
) -> Result<Vec<Due>, String> {
    let mut planned = Vec::new();
    for id in own_schedules(client, task_queue).await? {
        let request = DescribeScheduleRequest { namespace: client.namespace(), schedule_id: id.clone() };
        let raw = match WorkflowService::describe_schedule(&mut client.clone(), request.into_request()).await {
            Ok(response) => response.into_inner(),
            // Deleted between the list and now.
            Err(status) if status.code() == temporalio_client::tonic::Code::NotFound => continue,
            // One busy schedule does not silence the others' check.
            Err(status) => {
                tracing::warn!(schedule = %id, error = %status.message(), "SLA check: schedule not read");
                continue;
            }
        };
        if action_queue(&raw).as_deref() != Some(task_queue) {
            continue;
        }
        let Some(job) = job_spec_of(&raw).and_then(|spec| Job::resolve(spec).ok()) else { continue };
        planned.extend(due_by(&job, since(&raw), as_of));
    }
    if planned.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<&str> = planned.iter().map(|due| due.key.as_str()).collect();
    let recorded = recorded(ledger, &keys).await?;
    planned.retain(|due| !recorded.contains(&due.key));
    Ok(planned)
}

/// Occurrences of `job` fired after `since` and due, with the job's `sla`, by `as_of` (none for a
/// job without an `sla`). Pure, so it is tested without a server.
pub(super) fn due_by(job: &Job, since: DateTime<Utc>, as_of: DateTime<Utc>) -> Vec<Due> {
    if job.spec.sla_secs == 0 {
        return Vec::new();
    }
    let sla = Duration::seconds(job.spec.sla_secs as i64);
    let from = since.max(as_of - LOOKBACK);
    let until = as_of - sla;
    if from >= until {
        return Vec::new();
    }
    // Local dates around the window: a fire's date in the job's zone may be a day either side.
    let first = from.with_timezone(&job.tz).date_naive().checked_sub_days(Days::new(1)).unwrap_or(from.date_naive());
    let last = until.with_timezone(&job.tz).date_naive();
    let mut seen = BTreeSet::new();
    expected_between(job, first, last)
        .into_iter()
        .filter(|fire| fire.at > from && fire.at <= until)
        .filter(|fire| seen.insert(fire.occurrence.key.clone()))
        .map(|fire| Due {
            key: fire.occurrence.key,
            job: job.name().to_owned(),
            business_date: fire.occurrence.business_date.to_string(),
        })
        .collect()
}

/// When the schedule took its current form: its last update, else its creation. Fires before it
/// were another timing's, or no schedule's.
fn since(raw: &DescribeScheduleResponse) -> DateTime<Utc> {
    let info = raw.info.as_ref();
    let at = info.and_then(|i| i.update_time.or(i.create_time));
    at.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos as u32)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The task queue a schedule's fires start on.
fn action_queue(raw: &DescribeScheduleResponse) -> Option<String> {
    let action = raw.schedule.as_ref()?.action.as_ref()?.action.as_ref()?;
    let schedule_action::Action::StartWorkflow(start) = action;
    Some(start.task_queue.as_ref()?.name.clone())
}

/// IDs of punctual's schedules whose memo names `task_queue`, and of those without the memo (made
/// by a punctual that did not record it: their describe tells, as `apply` does). Another queue's
/// schedule is passed over from the list alone: describing it costs its scheduler a query.
async fn own_schedules(client: &Client, task_queue: &str) -> Result<Vec<String>, String> {
    let mut stream = client.list_schedules(ListSchedulesOptions::default());
    let mut own = Vec::new();
    while let Some(entry) = stream.next().await {
        let entry = entry.map_err(|e| format!("listing schedules: {e}"))?;
        if !entry.schedule_id().starts_with(SCHEDULE_PREFIX) {
            continue;
        }
        let queue = entry.memo().raw_value(SCHEDULE_TASK_QUEUE_MEMO).and_then(|p| serde_json::from_slice::<String>(&p.data).ok());
        if queue.as_deref().is_none_or(|q| q == task_queue) {
            own.push(entry.schedule_id().to_owned());
        }
    }
    own.sort();
    Ok(own)
}

/// Which of `keys` have a `job_occurrences` row.
async fn recorded(ledger: &Ledger, keys: &[&str]) -> Result<BTreeSet<String>, String> {
    let mut found = BTreeSet::new();
    for chunk in keys.chunks(500) {
        let placeholders = crate::zone_names::placeholders(1, chunk.len());
        let sql = format!("SELECT key FROM job_occurrences WHERE key IN ({placeholders})");
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for key in chunk {
            query = query.bind(*key);
        }
        found.extend(query.fetch_all(ledger.pool()).await.map_err(|e| format!("reading job occurrences: {e}"))?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(sla_secs: u64) -> Job {
        let spec = serde_json::json!({
            "name": "bill", "workflow": "SlaCheckWorkflow", "timezone": "Asia/Shanghai",
            "timing": {"daily": {"times": ["00:30:00"]}}, "calendar": "everyday", "catchup_window_secs": 3600,
            "sla_secs": sla_secs,
        });
        Job::resolve(serde_json::from_value(spec).unwrap()).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn keys(due: Vec<Due>) -> Vec<String> {
        due.into_iter().map(|d| d.key).collect()
    }

    #[test]
    fn fires_past_their_deadline_since_the_schedule_took_its_form_are_due() {
        // 00:30 in Shanghai is 16:30 UTC the day before; two hours of sla.
        let job = daily(7200);
        let as_of = at("2026-11-30T06:00:00Z");
        assert_eq!(keys(due_by(&job, at("2026-11-01T00:00:00Z"), as_of)), ["bill/2026-11-29", "bill/2026-11-30"]);
        // Not before the schedule's last change, nor older than the lookback.
        assert_eq!(keys(due_by(&job, at("2026-11-29T12:00:00Z"), as_of)), ["bill/2026-11-30"]);
        assert_eq!(
            keys(due_by(&job, at("2026-11-01T00:00:00Z"), at("2026-12-03T06:00:00Z"))),
            ["bill/2026-12-02", "bill/2026-12-03"]
        );
        // Fired half an hour ago, but its deadline has not passed yet (and 11-28's fire is past
        // the lookback).
        assert_eq!(keys(due_by(&job, at("2026-11-01T00:00:00Z"), at("2026-11-29T17:00:00Z"))), ["bill/2026-11-29"]);
        // A job without an sla is never judged.
        assert!(due_by(&daily(0), at("2026-11-01T00:00:00Z"), as_of).is_empty());
    }
}
