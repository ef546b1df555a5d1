//! One ledger per task queue: a worker refuses to poll a queue that another ledger serves.
//!
//! Every effect is made once because every worker records it in the same ledger. A worker whose
//! `PUNCTUAL_DATABASE_URL` names other books (the default SQLite file on a second host, a typo in
//! a PostgreSQL URL, a fresh file after `rm -rf .data`) sees none of the keys the others
//! recorded: an activity that lands on it charges again. Nothing failed, nothing was logged.
//!
//! So Temporal keeps, per namespace and task queue, which ledger serves the queue: a schedule
//! `punctual.ledger/{task_queue}` whose memo holds the ledger's id. Schedules are the one
//! durable, atomically created, describable record Temporal keeps outside a workflow's history;
//! this one is paused, has no spec and never fires. The first worker creates it; every other
//! worker compares its own ledger's id with it before polling, and refuses on a mismatch, naming
//! both databases (passwords as `***`). Workers check again every
//! [`WorkerArgs::ledger_check_interval`](crate::cli::WorkerArgs): one whose queue has been handed
//! to another ledger (the marker deleted on purpose and claimed anew) stops taking work, and one
//! that finds the marker gone puts it back, so a deletion by mistake is not a free-for-all.
//!
//! Its id does not start with the `punctual-` of job schedules, so `schedule apply` and `list`
//! never see it. Moving a queue to another ledger on purpose: stop the workers, delete the
//! marker (`temporal schedule delete --schedule-id punctual.ledger/QUEUE`), start workers on the
//! new ledger.

use punctual_activities::ledger::LedgerIdentity;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::tonic::{Code, IntoRequest, Status};
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::protos::temporal::api::{
    common::v1::{Memo, Payload, WorkflowType},
    schedule::v1::{Schedule, ScheduleAction, ScheduleSpec, ScheduleState, schedule_action},
    taskqueue::v1::TaskQueue,
    workflow::v1::NewWorkflowExecutionInfo,
    workflowservice::v1::{CreateScheduleRequest, DescribeScheduleRequest},
};

/// Schedule ID prefix of the markers; not `punctual-`, which is the job schedules'.
pub const MARKER_PREFIX: &str = "punctual.ledger/";

/// Memo field holding the [`Marker`] as JSON.
const MEMO_FIELD: &str = "ledger";

/// The schedule ID of `task_queue`'s marker.
pub fn marker_id(task_queue: &str) -> String {
    format!("{MARKER_PREFIX}{task_queue}")
}

/// What a marker records: which ledger, and where it was when the marker was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The ledger's random id ([`LedgerIdentity::id`]).
    pub ledger_id: String,
    /// The database URL of the worker that made the marker, password as `***`: for people only,
    /// since one database is reached under several URLs.
    pub database: String,
}

impl Marker {
    /// The marker for a ledger with `identity`, reached at `database` (already redacted).
    pub fn of(identity: &LedgerIdentity, database: &str) -> Self {
        Self { ledger_id: identity.id.clone(), database: database.to_owned() }
    }
}

/// How the check ended when it let the worker poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fenced {
    /// The marker names this ledger.
    Matched,
    /// There was no marker: this worker made it.
    Claimed,
}

/// Why the worker must not poll, or could not find out.
#[derive(Debug, thiserror::Error)]
pub enum FenceError {
    /// The queue is served by another ledger.
    #[error(
        "task queue `{task_queue}` is served by another ledger: Temporal's marker `{marker}` names ledger {} \
         (recorded by a worker using {}), but this worker's PUNCTUAL_DATABASE_URL ({}) is ledger {}. \
         Workers of one queue must share one ledger, or an effect recorded in one is performed again by the other. \
         Point PUNCTUAL_DATABASE_URL at the queue's database; to move the queue to this ledger on purpose, stop \
         the other workers and delete the marker: `temporal schedule delete --schedule-id '{marker}'`",
        theirs.ledger_id, theirs.database, mine.database, mine.ledger_id
    )]
    OtherLedger { task_queue: String, marker: String, theirs: Marker, mine: Marker },
    /// The marker exists but does not say which ledger (made by hand, or edited).
    #[error(
        "schedule `{marker}` exists but holds no ledger id in its memo, so which ledger serves task queue \
         `{task_queue}` is unknown; delete it (`temporal schedule delete --schedule-id '{marker}'`) and start the workers again"
    )]
    Unreadable { task_queue: String, marker: String },
    /// The server failed or refused.
    #[error("checking which ledger serves task queue `{task_queue}` (schedule `{marker}`): {status}")]
    Server { task_queue: String, marker: String, status: Status },
}

impl FenceError {
    /// Whether asking again may give another answer (the server is restarting, say).
    fn is_transient(&self) -> bool {
        matches!(self, Self::Server { status, .. } if matches!(
            status.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted | Code::Internal | Code::Unknown
        ))
    }
}

/// Checks `task_queue`'s marker against `mine`, making it if there is none. Retries a server
/// that does not answer for up to `retry_for` (the worker's connect timeout): the worker has
/// just connected, so a failure here is most likely a restart.
pub async fn check_at_start(client: &Client, task_queue: &str, mine: &Marker, retry_for: Duration) -> Result<Fenced, FenceError> {
    let started = tokio::time::Instant::now();
    loop {
        match check(client, task_queue, mine).await {
            Err(err) if err.is_transient() && started.elapsed() < retry_for => {
                tracing::warn!(error = %err, "ledger check: server not answering, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

/// Checks every `interval` until the queue turns out to be another ledger's, and returns that.
/// A missing marker is made again. Anything else (a server restarting, a permission blip, a
/// marker edited by hand) is logged and asked again next time: only a marker naming another
/// ledger proves the queue moved, and stopping every worker of a queue on a hiccup would be an
/// outage of its own.
pub async fn watch(client: Client, task_queue: String, mine: Marker, interval: Duration) -> FenceError {
    loop {
        tokio::time::sleep(interval).await;
        match check(&client, &task_queue, &mine).await {
            Ok(Fenced::Matched) => {}
            Ok(Fenced::Claimed) => {
                tracing::warn!(task_queue = %task_queue, marker = %marker_id(&task_queue), "the ledger marker was gone: made it again")
            }
            Err(err @ FenceError::OtherLedger { .. }) => return err,
            Err(err) => tracing::warn!(error = %err, "ledger check failed; trying again later"),
        }
    }
}

/// One check: describe the marker; if there is none, create it, and if another worker created
/// it first, describe that one.
pub async fn check(client: &Client, task_queue: &str, mine: &Marker) -> Result<Fenced, FenceError> {
    let marker = marker_id(task_queue);
    let server = |status: Status| FenceError::Server { task_queue: task_queue.to_owned(), marker: marker.clone(), status };
    let (theirs, outcome) = match describe(client, &marker).await.map_err(server)? {
        Some(theirs) => (theirs, Fenced::Matched),
        None => match create(client, task_queue, &marker, mine).await {
            Ok(()) => return Ok(Fenced::Claimed),
            // Another worker made it first: compare with theirs. Gone again already means it
            // was deleted meanwhile; asking again settles it.
            Err(status) if status.code() == Code::AlreadyExists => match describe(client, &marker).await.map_err(server)? {
                Some(theirs) => (theirs, Fenced::Matched),
                None => return Err(server(Status::unavailable("the marker was made and deleted meanwhile"))),
            },
            Err(status) => return Err(server(status)),
        },
    };
    match theirs {
        Some(theirs) if theirs.ledger_id == mine.ledger_id => Ok(outcome),
        Some(theirs) => Err(FenceError::OtherLedger { task_queue: task_queue.to_owned(), marker, theirs, mine: mine.clone() }),
        None => Err(FenceError::Unreadable { task_queue: task_queue.to_owned(), marker }),
    }
}

/// For a command that reads or acts on `task_queue`'s books (`schedule audit`, `backfill`,
/// `failures retry`): refuses a ledger that is not the one the queue's workers keep, read-only.
/// A typo in PUNCTUAL_DATABASE_URL (or a file a refused worker left) would otherwise show an
/// empty history as a clean one, or start runs whose effects that ledger never saw. No marker
/// (no worker yet) or a ledger without an id (no worker opened it) passes: nothing to compare.
pub async fn verify(client: &Client, task_queue: &str, ledger: &punctual_activities::ledger::Ledger) -> anyhow::Result<()> {
    let marker = marker_id(task_queue);
    let theirs = describe(client, &marker).await.map_err(|status| FenceError::Server {
        task_queue: task_queue.to_owned(),
        marker: marker.clone(),
        status,
    })?;
    let Some(Some(theirs)) = theirs else { return Ok(()) };
    let Some(identity) = ledger.stored_identity().await? else { return Ok(()) };
    if theirs.ledger_id != identity.id {
        let mine = Marker::of(&identity, ledger.location());
        return Err(FenceError::OtherLedger { task_queue: task_queue.to_owned(), marker, theirs, mine }.into());
    }
    Ok(())
}

/// The marker's [`Marker`]: `None` if there is no schedule, `Some(None)` if it says no ledger.
async fn describe(client: &Client, marker: &str) -> Result<Option<Option<Marker>>, Status> {
    let request = DescribeScheduleRequest { namespace: client.namespace(), schedule_id: marker.to_owned() };
    match WorkflowService::describe_schedule(&mut client.clone(), request.into_request()).await {
        Ok(response) => {
            let memo = response.into_inner().memo.unwrap_or_default();
            Ok(Some(memo.fields.get(MEMO_FIELD).and_then(|p| serde_json::from_slice::<Marker>(&p.data).ok())))
        }
        Err(status) if status.code() == Code::NotFound => Ok(None),
        Err(status) => Err(status),
    }
}

async fn create(client: &Client, task_queue: &str, marker: &str, mine: &Marker) -> Result<(), Status> {
    let request = CreateScheduleRequest {
        namespace: client.namespace(),
        schedule_id: marker.to_owned(),
        schedule: Some(never_firing(task_queue, marker)),
        identity: client.identity(),
        request_id: uuid::Uuid::new_v4().to_string(),
        memo: Some(Memo { fields: [(MEMO_FIELD.to_owned(), json(mine))].into() }),
        ..Default::default()
    };
    WorkflowService::create_schedule(&mut client.clone(), request.into_request()).await.map(|_| ())
}

/// A schedule that never fires: no spec, paused. Its action is required by the server; if a
/// person triggers it anyway, the run waits on a queue no worker polls and times out in a minute.
fn never_firing(task_queue: &str, marker: &str) -> Schedule {
    Schedule {
        spec: Some(ScheduleSpec::default()),
        action: Some(ScheduleAction {
            action: Some(schedule_action::Action::StartWorkflow(NewWorkflowExecutionInfo {
                workflow_id: format!("{marker}/never-runs"),
                workflow_type: Some(WorkflowType { name: "PunctualLedgerMarker".to_owned() }),
                task_queue: Some(TaskQueue { name: format!("{marker}/never-polled"), ..Default::default() }),
                workflow_run_timeout: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
                ..Default::default()
            })),
        }),
        policies: None,
        state: Some(ScheduleState {
            paused: true,
            notes: format!(
                "punctual: task queue `{task_queue}` is served by the ledger in this schedule's memo. Never fires. \
                 Workers on another ledger refuse to poll the queue. Delete it only to move the queue to another ledger."
            ),
            ..Default::default()
        }),
    }
}

fn json(marker: &Marker) -> Payload {
    Payload {
        metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
        data: serde_json::to_vec(marker).expect("a marker serialises"),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_not_a_job_schedule() {
        let id = marker_id("punctual");
        assert_eq!(id, "punctual.ledger/punctual");
        assert!(!id.starts_with(punctual_workflows::jobs::types::SCHEDULE_PREFIX), "{id}");
    }

    #[test]
    fn a_mismatch_names_both_databases_and_the_way_out_but_no_password() {
        let theirs = Marker { ledger_id: "aaa".into(), database: "postgres://punctual:***@db:5432/punctual".into() };
        let mine = Marker { ledger_id: "bbb".into(), database: "sqlite:///srv/.data/ledger.db".into() };
        let err =
            FenceError::OtherLedger { task_queue: "billing".into(), marker: marker_id("billing"), theirs, mine }.to_string();
        for part in [
            "`billing`",
            "aaa",
            "bbb",
            "postgres://punctual:***@db",
            "sqlite:///srv/.data/ledger.db",
            "temporal schedule delete --schedule-id 'punctual.ledger/billing'",
        ] {
            assert!(err.contains(part), "{part} missing from: {err}");
        }
    }
}
