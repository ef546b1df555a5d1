//! Inputs and results of the job workflows and activities: plain JSON objects.

use super::plan::PlannedOccurrence;
use super::spec::JobSpec;
use serde::{Deserialize, Serialize};

/// Schedule ID of a job's Temporal schedule: `punctual-{job}`. The `punctual-` prefix marks the
/// schedules `punctual schedule apply` owns; it never touches others.
pub fn schedule_id(job: &str) -> String {
    format!("{SCHEDULE_PREFIX}{job}")
}

/// Prefix of every schedule punctual owns.
pub const SCHEDULE_PREFIX: &str = "punctual-";

/// Memo field of a punctual schedule holding the task queue its fires go to, so readers can pass
/// over other queues' schedules from the list alone (a describe costs a query to its scheduler).
pub const SCHEDULE_TASK_QUEUE_MEMO: &str = "task-queue";

/// Workflow ID prefix of a job's fires; the server appends `-{nominal time}`.
pub fn fire_workflow_id(job: &str) -> String {
    format!("{job}/fire")
}

/// Input of `ScheduledJobWorkflow`: `{"job": {...}}`, plus optional overrides for a manual run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireInput {
    /// The job, as `punctual schedule input JOB` prints it.
    pub job: JobSpec,
    /// Run the occurrence of this business date (manual trigger); its first expected fire time is
    /// used as the nominal time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_date: Option<String>,
}

/// Input of `JobOccurrenceWorkflow` (started by `StartOccurrence`, not by people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceInput {
    /// The job.
    pub job: JobSpec,
    /// The occurrence.
    pub occurrence: PlannedOccurrence,
    /// What started it: `schedule`, `manual`, `backfill`, `cron`.
    pub trigger: String,
    /// Run the job's workflow again even if it completed (its effects still happen once: the
    /// ledger replays them).
    #[serde(default)]
    pub force: bool,
}

/// Result of `StartOccurrence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedOccurrence {
    /// `started`, `joined` (an open run existed) or `already_done` (the key completed before).
    pub outcome: String,
    /// The run started or joined (empty for `already_done`).
    pub run_id: String,
}

/// Input of `RecordOccurrence`: the row as it should be now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceRecord {
    /// Business key.
    pub key: String,
    /// Job name.
    pub job: String,
    /// Nominal business date.
    pub business_date: String,
    /// Date it runs on after a roll.
    pub effective_date: Option<String>,
    /// Nominal time of the fire (RFC 3339 UTC).
    pub nominal_time: Option<String>,
    /// `waiting`, `running`, `committed`, `failed` or `skipped`.
    pub status: String,
    /// Why (skips, failures, waits).
    pub reason: Option<String>,
    /// When the SLA check should call it late (RFC 3339 UTC).
    pub deadline_at: Option<String>,
    /// Workflow that records it.
    pub workflow_id: String,
    /// Its run.
    pub run_id: String,
    /// Items (customers) the job's workflow reported failed although it completed; set with a
    /// `committed` status only (see [`failed_items_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_items: Option<u64>,
}

/// How many items a job's completed workflow reports failed: `totals.failed` of a billing
/// run's (or batch's, or fire's) result, when above zero. Such an occurrence commits (its
/// dependents go on, and the reconciliation flags the unpaid invoices) but is partly failed for
/// `schedule audit` and `backfill --mode failed_only`.
pub fn failed_items_of(result: Option<&serde_json::Value>) -> Option<(u64, Option<u64>)> {
    let result = result?;
    // A run's (or fire's) result holds its totals; a batch's result is its totals.
    let totals = result.get("totals").unwrap_or(result);
    let failed = totals.get("failed")?.as_u64().filter(|n| *n > 0)?;
    Some((failed, totals.get("customers").and_then(serde_json::Value::as_u64)))
}

#[cfg(test)]
mod failed_items_tests {
    use super::failed_items_of;
    use serde_json::json;

    #[test]
    fn a_run_and_a_batch_report_their_failed_customers() {
        let run = json!({"business_key": "k", "totals": {"customers": 30, "failed": 2, "completed": 28}});
        assert_eq!(failed_items_of(Some(&run)), Some((2, Some(30))));
        let batch = json!({"customers": 5, "failed": 5, "completed": 0});
        assert_eq!(failed_items_of(Some(&batch)), Some((5, Some(5))));
        assert_eq!(failed_items_of(Some(&json!({"totals": {"customers": 3, "failed": 0}}))), None);
        assert_eq!(failed_items_of(Some(&json!({"late": [], "alerted": 0}))), None);
        assert_eq!(failed_items_of(None), None);
    }
}

/// Result of `RecordOccurrence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedOccurrence {
    /// Failed occurrences of the job since its last committed one (this one included).
    pub consecutive_failures: u32,
}

/// Input of `OccurrenceStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusQuery {
    /// Business key.
    pub key: String,
    /// Set when `key` is a dependency's occurrence: with no row yet, the answer is `skipped` if
    /// that job's schedule never plans the key (a date it does not run on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<DependencyDate>,
}

/// A dependency's job and the business date waited for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyDate {
    /// The job depended on.
    pub job: String,
    /// The business date.
    pub date: chrono::NaiveDate,
}

/// Result of `OccurrenceStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceState {
    /// The row's status, `None` when the key never ran.
    pub status: Option<String>,
    /// Its reason.
    pub reason: Option<String>,
    /// The occurrence workflow run that wrote it last.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// Input of `PauseJobSchedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRequest {
    /// Job whose schedule to pause.
    pub job: String,
    /// Note shown by `temporal schedule describe` and `punctual schedule list`.
    pub reason: String,
}

/// Result of `JobOccurrenceWorkflow` and, per occurrence, of `ScheduledJobWorkflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceResult {
    /// Business key.
    pub key: String,
    /// `committed`, `failed`, `skipped_dependency`, `already_done`, ...
    pub outcome: String,
    /// Why, when not committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The job workflow's result, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// Result of `ScheduledJobWorkflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireResult {
    /// The job.
    pub job: String,
    /// Nominal time the fire was classified by (RFC 3339 UTC).
    pub nominal_time: String,
    /// Where it came from: `schedule`, `manual`, `cron`.
    pub trigger: String,
    /// `ran`, `failed` (an occurrence failed), `skipped_holiday`, `skipped_dst`, `rolled`, `not_due`.
    pub outcome: String,
    /// Why nothing ran, when nothing did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The occurrences it started or joined.
    pub occurrences: Vec<OccurrenceResult>,
}
