//! The Temporal side of `punctual schedule`: reading, creating, updating and deleting the
//! schedules punctual owns, through raw requests where the SDK's wrapper falls short.

use super::proto::{fire_input, schedule_for};
use super::timings::{EarlierTiming, TIMINGS_MEMO};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use punctual_workflows::jobs::types::{SCHEDULE_PREFIX, schedule_id};
use punctual_workflows::jobs::{Job, JobSpec};
use temporalio_client::grpc::WorkflowService;
use temporalio_client::schedules::ListSchedulesOptions;
use temporalio_client::tonic::{Code, IntoRequest};
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::protos::temporal::api::{
    common::v1::Memo,
    schedule::v1::schedule_action,
    workflowservice::v1::{
        CreateScheduleRequest, DeleteScheduleRequest, DescribeScheduleRequest, DescribeScheduleResponse, UpdateScheduleRequest,
    },
};

/// What the server holds for one punctual schedule.
#[derive(Debug, Clone)]
pub struct Existing {
    /// The job as the schedule's action carries it.
    pub spec: Option<JobSpec>,
    /// Task queue of the action.
    pub task_queue: String,
    /// Paused, and the note.
    pub paused: bool,
    /// The schedule's note.
    pub notes: String,
    /// The timings the job had before this one (memo [`TIMINGS_MEMO`]), oldest first.
    pub earlier: Vec<EarlierTiming>,
    /// The raw description.
    pub raw: DescribeScheduleResponse,
}

/// Errors talking to the server, naming the schedule.
#[derive(Debug, thiserror::Error)]
#[error("{doing} schedule {schedule_id}: {status}")]
pub struct ServerError {
    doing: &'static str,
    schedule_id: String,
    // Not a `#[source]`: the message already carries the status, and a source would print it a
    // second time in `{:#}` chains.
    status: temporalio_client::tonic::Status,
}

fn err(doing: &'static str, schedule_id: &str) -> impl FnOnce(temporalio_client::tonic::Status) -> ServerError {
    let schedule_id = schedule_id.to_owned();
    move |status| ServerError { doing, schedule_id, status }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Describes the schedule of `job`; `None` when there is none.
pub async fn describe(client: &Client, job: &str) -> Result<Option<Existing>, ServerError> {
    let id = schedule_id(job);
    let request = DescribeScheduleRequest { namespace: client.namespace(), schedule_id: id.clone() };
    let raw = match WorkflowService::describe_schedule(&mut client.clone(), request.into_request()).await {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == Code::NotFound => return Ok(None),
        Err(status) => return Err(err("describing", &id)(status)),
    };
    let schedule = raw.schedule.clone().unwrap_or_default();
    let state = schedule.state.clone().unwrap_or_default();
    let start = match schedule.action.and_then(|a| a.action) {
        Some(schedule_action::Action::StartWorkflow(start)) => Some(start),
        _ => None,
    };
    let spec = punctual_activities::jobs::job_spec_of(&raw);
    let earlier = start
        .as_ref()
        .and_then(|s| s.memo.as_ref()?.fields.get(TIMINGS_MEMO))
        .and_then(|p| serde_json::from_slice(&p.data).ok())
        .unwrap_or_default();
    Ok(Some(Existing {
        spec,
        task_queue: start.and_then(|s| s.task_queue).map(|q| q.name).unwrap_or_default(),
        paused: state.paused,
        notes: state.notes,
        earlier,
        raw,
    }))
}

/// Creates the schedule of `job`.
pub async fn create(client: &Client, job: &Job, task_queue: &str, now: DateTime<Utc>) -> Result<(), ServerError> {
    let id = schedule_id(job.name());
    let request = CreateScheduleRequest {
        namespace: client.namespace(),
        schedule_id: id.clone(),
        schedule: Some(schedule_for(job, task_queue, now, false, String::new(), &[])),
        identity: client.identity(),
        request_id: request_id(),
        memo: Some(Memo {
            fields: [
                (MANAGED_BY.to_owned(), super::proto::json_payload(&"punctual schedule apply".into())),
                (TASK_QUEUE_MEMO.to_owned(), super::proto::json_payload(&task_queue.into())),
            ]
            .into(),
        }),
        ..Default::default()
    };
    WorkflowService::create_schedule(&mut client.clone(), request.into_request()).await.map_err(err("creating", &id))?;
    Ok(())
}

/// Memo field naming what made the schedule.
const MANAGED_BY: &str = "managed-by";

/// Memo field holding the task queue the schedule's fires go to, so `apply` can pass over other
/// queues' schedules from the list alone. Describing one costs a query to its scheduler, which
/// can take the RPC's whole 30 s while that schedule is busy or being deleted, and another
/// team's schedule must not be able to stall, let alone fail, this queue's apply.
pub const TASK_QUEUE_MEMO: &str = punctual_workflows::jobs::types::SCHEDULE_TASK_QUEUE_MEMO;

/// Replaces the schedule of `job`, keeping whether it is paused and its note, with `earlier` as
/// the job's earlier timings (the whole schedule is replaced: pass the existing ones to keep them).
pub async fn update(
    client: &Client,
    job: &Job,
    task_queue: &str,
    now: DateTime<Utc>,
    existing: &Existing,
    earlier: &[EarlierTiming],
) -> Result<(), ServerError> {
    let id = schedule_id(job.name());
    let request = UpdateScheduleRequest {
        namespace: client.namespace(),
        schedule_id: id.clone(),
        schedule: Some(schedule_for(job, task_queue, now, existing.paused, existing.notes.clone(), earlier)),
        conflict_token: existing.raw.conflict_token.clone(),
        identity: client.identity(),
        request_id: request_id(),
        ..Default::default()
    };
    WorkflowService::update_schedule(&mut client.clone(), request.into_request()).await.map_err(err("updating", &id))?;
    Ok(())
}

/// Deletes the schedule with `id` (fires already started keep running).
pub async fn delete(client: &Client, id: &str) -> Result<(), ServerError> {
    let request =
        DeleteScheduleRequest { namespace: client.namespace(), schedule_id: id.to_owned(), identity: client.identity() };
    WorkflowService::delete_schedule(&mut client.clone(), request.into_request()).await.map_err(err("deleting", id))?;
    Ok(())
}

/// A schedule with punctual's prefix, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The schedule's ID.
    pub id: String,
    /// The task queue its creator recorded in the schedule's memo; `None` for a schedule made by
    /// hand or by a punctual that did not record it yet, which only a describe can tell.
    pub task_queue: Option<String>,
}

/// Every schedule whose ID has punctual's prefix (visibility: eventually consistent), by ID.
pub async fn list(client: &Client) -> Result<Vec<Listed>, ServerError> {
    let mut stream = client.list_schedules(ListSchedulesOptions::default());
    let mut listed = Vec::new();
    while let Some(entry) = stream.next().await {
        let entry = entry.map_err(|e| ServerError {
            doing: "listing",
            schedule_id: format!("{SCHEDULE_PREFIX}*"),
            status: temporalio_client::tonic::Status::unavailable(e.to_string()),
        })?;
        if entry.schedule_id().starts_with(SCHEDULE_PREFIX) {
            let memo = entry.memo();
            let task_queue = memo.raw_value(TASK_QUEUE_MEMO).and_then(|p| serde_json::from_slice::<String>(&p.data).ok());
            listed.push(Listed { id: entry.schedule_id().to_owned(), task_queue });
        }
    }
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(listed)
}

/// The action input punctual would write for `job`, for comparing with what the server holds.
pub fn desired_input(job: &Job) -> serde_json::Value {
    fire_input(job)
}
