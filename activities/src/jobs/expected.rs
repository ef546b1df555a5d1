//! Whether a dependency's job runs on a date at all, read from its schedule.
//!
//! A dependent waits for `{parent}/{date}`. A date its parent never fires on (a `cron` weekday
//! list, a `days` rule, a DST gap it skips) leaves no row: the wait used to read "not started"
//! for ever, and under `wait` that held every later fire of the dependent behind it. The
//! parent's schedule carries its job, so the same plan the fire runs says whether that key can
//! ever exist; one that cannot is answered as skipped, with the reason.

use chrono::{Days, NaiveDate};
use punctual_workflows::jobs::plan::expected_between;
use punctual_workflows::jobs::types::{FireInput, schedule_id};
use punctual_workflows::jobs::{Job, JobSpec};
use punctual_workflows::names;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::tonic::{Code, IntoRequest, Status};
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::protos::temporal::api::schedule::v1::schedule_action;
use temporalio_common::protos::temporal::api::workflowservice::v1::{DescribeScheduleRequest, DescribeScheduleResponse};

/// How far around a date the plan is searched: a holiday roll moves a date up to 40 days.
const AROUND_DAYS: u64 = 45;

/// The job a punctual schedule's action carries; `None` for a schedule punctual did not make.
pub fn job_spec_of(raw: &DescribeScheduleResponse) -> Option<JobSpec> {
    let action = raw.schedule.as_ref()?.action.as_ref()?.action.as_ref()?;
    let schedule_action::Action::StartWorkflow(start) = action;
    if start.workflow_type.as_ref()?.name != names::SCHEDULED_JOB_WORKFLOW {
        return None;
    }
    let payload = start.input.as_ref()?.payloads.first()?;
    serde_json::from_slice::<FireInput>(&payload.data).ok().map(|input| input.job)
}

/// Why `key` (`{job}/{date}`) never gets an occurrence, when the job's schedule says so; `None`
/// when it may (or when there is no schedule to ask: a legacy cron job, a deleted schedule). A
/// date outside the job's calendar data is not judged: its fire failed, for a person.
pub(super) async fn never_runs(client: &Client, job: &str, date: NaiveDate, key: &str) -> Result<Option<String>, Status> {
    let request = DescribeScheduleRequest { namespace: client.namespace(), schedule_id: schedule_id(job) };
    let raw = match WorkflowService::describe_schedule(&mut client.clone(), request.into_request()).await {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::NotFound => return Ok(None),
        Err(status) => return Err(status),
    };
    let Some(job) = job_spec_of(&raw).and_then(|spec| Job::resolve(spec).ok()) else { return Ok(None) };
    Ok(never_planned(&job, date, key))
}

/// [`never_runs`] once the job is known: pure, so it is tested without a server.
pub(super) fn never_planned(job: &Job, date: NaiveDate, key: &str) -> Option<String> {
    if job.calendar.gap(date).is_some() {
        return None;
    }
    let from = date.checked_sub_days(Days::new(AROUND_DAYS)).unwrap_or(date);
    let to = date.checked_add_days(Days::new(AROUND_DAYS)).unwrap_or(date);
    let planned = expected_between(job, from, to).iter().any(|f| f.occurrence.key == key);
    (!planned).then(|| format!("{date} is not a date job {} runs on (its schedule plans no {key})", job.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(timing: serde_json::Value) -> Job {
        let spec = serde_json::json!({
            "name": "close", "workflow": "SlaCheckWorkflow", "timezone": "America/New_York", "timing": timing,
            "calendar": "everyday", "catchup_window_secs": 3600,
        });
        Job::resolve(serde_json::from_value(spec).unwrap()).unwrap()
    }

    #[test]
    fn a_weekday_cron_job_never_runs_on_a_saturday_and_always_on_a_weekday() {
        let close = job(serde_json::json!({"cron": {"expr": "0 9 * * 1-5"}}));
        let saturday = "2026-11-28".parse().unwrap();
        let why = never_planned(&close, saturday, "close/2026-11-28").expect("no Saturday");
        assert!(why.contains("2026-11-28 is not a date job close runs on"), "{why}");
        assert_eq!(never_planned(&close, "2026-11-27".parse().unwrap(), "close/2026-11-27"), None);
    }
}
