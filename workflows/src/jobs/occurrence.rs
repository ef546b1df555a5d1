//! `JobOccurrenceWorkflow`: one occurrence of a job, under its business key.
//!
//! Its workflow ID *is* the business key (`bill_generation/2026-11-24`), and `StartOccurrence`
//! starts it with conflict policy use-existing and reuse policy reject-duplicate: whatever fires
//! for that key — the schedule, a manual trigger, a backfill, the second fire of a fall-back
//! hour — joins the one run or finds it completed. The row in `job_occurrences` carries the same
//! key past Temporal's retention.
//!
//! Steps: record `waiting` (or `running`); wait until every `depends_on` job's occurrence for the
//! same business date has committed (or apply `on_dependency`); run the job's workflow as a child
//! with the job's input plus `business_date`; record `committed` or `failed` (pausing the
//! schedule after `pause_after_failures` consecutive failures). A failed occurrence *fails* the
//! workflow (type `OccurrenceFailed`), so the key can run again and the Web UI shows it red.

use super::contracts::JobContract;
use super::job::Job;
use super::spec::DependencyPolicy;
use super::types::*;
use crate::billing::options::activity;
use crate::input::{InputError, JsonInput};
use crate::names;
use crate::search;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::{Duration, SystemTime};
use temporalio_common::UntypedWorkflow;
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ApplicationFailure, ChildWorkflowOptions, WorkflowContext, WorkflowIdReusePolicy, WorkflowResult};

/// First pause between dependency checks; doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_secs(1);
/// Longest pause between dependency checks (bounds how late a dependent starts after its
/// dependency commits, and keeps the history small over long waits).
const MAX_POLL: Duration = Duration::from_secs(30);

/// `JobOccurrenceWorkflow` — workflow ID = business key; input [`OccurrenceInput`]; result
/// [`OccurrenceResult`]. Started by `StartOccurrence`, never by hand.
#[workflow]
#[derive(Default)]
pub struct JobOccurrenceWorkflow;

/// How a dependency wait ended.
enum DependencyOutcome {
    Ready,
    GiveUp { outcome: &'static str, reason: String, fail: bool },
}

#[workflow_methods]
impl JobOccurrenceWorkflow {
    /// Entry point; see the module documentation.
    #[run(name = names::JOB_OCCURRENCE_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<OccurrenceResult> {
        let input: OccurrenceInput = parse(&input)?;
        let job = Job::resolve(input.job.clone()).map_err(|e| ApplicationFailure::non_retryable(e.to_string()))?;
        let occ = &input.occurrence;
        let date = occ.business_date.format("%Y-%m-%d").to_string();
        ctx.upsert_search_attributes([
            search::BUSINESS_KEY.value_set(occ.key.clone()),
            search::BUSINESS_DATE.value_set(date.clone()),
            search::JOB_NAME.value_set(job.name().to_owned()),
        ]);
        let deadline = (job.spec.sla_secs > 0).then(|| rfc3339(occ.due + chrono::Duration::seconds(job.spec.sla_secs as i64)));
        let record = |status: &str, reason: Option<String>| OccurrenceRecord {
            key: occ.key.clone(),
            job: job.name().to_owned(),
            business_date: date.clone(),
            effective_date: Some(occ.effective_date.format("%Y-%m-%d").to_string()),
            nominal_time: Some(rfc3339(occ.due)),
            status: status.to_owned(),
            reason,
            deadline_at: deadline.clone(),
            workflow_id: ctx.workflow_id().to_owned(),
            run_id: ctx.run_id().to_owned(),
            failed_items: None,
        };

        if !job.spec.depends_on.is_empty() {
            let waiting = format!("waiting for {}", job.spec.depends_on.join(", "));
            Self::record(ctx, record("waiting", Some(waiting))).await?;
            if let DependencyOutcome::GiveUp { outcome, reason, fail } =
                Self::wait_for_dependencies(ctx, &job, occ.business_date).await?
            {
                let status = if fail { "failed" } else { "skipped" };
                Self::record(ctx, record(status, Some(reason.clone()))).await?;
                ctx.upsert_search_attributes([search::RUN_OUTCOME.value_set(outcome.to_owned())]);
                if fail {
                    return Err(failed(&occ.key, &reason).into());
                }
                return Ok(OccurrenceResult {
                    key: occ.key.clone(),
                    outcome: outcome.to_owned(),
                    reason: Some(reason),
                    result: None,
                });
            }
        }
        Self::record(ctx, record("running", None)).await?;

        let mut job_input = job.spec.input.clone();
        job_input.insert("business_date".to_owned(), Value::String(date.clone()));
        let child_id = format!("{}/{}", occ.key, job.spec.workflow);
        let reuse =
            if input.force { WorkflowIdReusePolicy::AllowDuplicate } else { WorkflowIdReusePolicy::AllowDuplicateFailedOnly };
        let options = ChildWorkflowOptions::builder().workflow_id(child_id).id_reuse_policy(reuse).build();
        let started = ctx
            .start_child_workflow(
                UntypedWorkflow::new(job.spec.workflow.clone()),
                json_payloads(&Value::Object(job_input)),
                options,
            )
            .await;
        let (outcome, reason, result) = match started {
            Ok(child) => match child.result().await {
                Ok(raw) => ("committed", None, raw.payloads.first().and_then(|p| serde_json::from_slice(&p.data).ok())),
                Err(err) => {
                    ("failed", Some(format!("{} failed: {}", job.spec.workflow, crate::failures::child_message(&err))), None)
                }
            },
            Err(err) if crate::billing::options::already_started(&err) => {
                ("committed", Some(format!("{} already completed under this key", job.spec.workflow)), None)
            }
            Err(err) => ("failed", Some(format!("starting {}: {err}", job.spec.workflow)), None),
        };
        // A job's workflow that completed with items failed (a billing run whose payments all
        // failed over a wrong provider URL) commits, but the row says how many failed.
        let partly = if outcome == "committed" { failed_items_of(result.as_ref()) } else { None };
        let mut finished = record(outcome, reason.clone());
        if let Some((failed, of)) = partly {
            let of = of.map(|n| format!(" of {n}")).unwrap_or_default();
            finished.reason = Some(format!("{} completed with {failed}{of} failed", job.spec.workflow));
            finished.failed_items = Some(failed);
        }
        let recorded = Self::record(ctx, finished).await?;
        ctx.upsert_search_attributes([search::RUN_OUTCOME.value_set(outcome.to_owned())]);
        let limit = job.spec.pause_after_failures;
        if outcome == "failed" && limit > 0 && recorded.consecutive_failures >= limit {
            let note = format!(
                "paused by punctual after {} consecutive failed occurrences (last: {}: {})",
                recorded.consecutive_failures,
                occ.key,
                reason.as_deref().unwrap_or("failed")
            );
            let pause = PauseRequest { job: job.name().to_owned(), reason: note };
            ctx.execute_activity(JobContract::pause_schedule, pause, activity(format!("pause/{}", occ.key))).await?;
        }
        if !ctx.is_replaying() {
            tracing::info!(key = %occ.key, outcome, "occurrence finished");
        }
        if outcome == "failed" {
            // A failed *workflow*, not a completed one reporting failure: the Web UI shows it
            // red, and the key may run again (reuse policy allow-duplicate-failed-only).
            return Err(failed(&occ.key, reason.as_deref().unwrap_or("failed")).into());
        }
        Ok(OccurrenceResult { key: occ.key.clone(), outcome: outcome.to_owned(), reason, result })
    }
}

impl JobOccurrenceWorkflow {
    async fn record(ctx: &WorkflowContext<Self>, record: OccurrenceRecord) -> WorkflowResult<RecordedOccurrence> {
        let id = format!("record/{}/{}", record.key, record.status);
        Ok(ctx.execute_activity(JobContract::record_occurrence, record, activity(id)).await?)
    }

    /// Polls each dependency's occurrence for `date` until it commits, with backoff; applies the
    /// job's `on_dependency` policy when one failed, was skipped, or the deadline passed.
    async fn wait_for_dependencies(
        ctx: &WorkflowContext<Self>,
        job: &Job,
        date: chrono::NaiveDate,
    ) -> WorkflowResult<DependencyOutcome> {
        let started = ctx.workflow_time().unwrap_or(SystemTime::UNIX_EPOCH);
        let deadline = started + Duration::from_secs(job.spec.dependency_deadline_secs);
        let mut alerted = false;
        for dep in &job.spec.depends_on {
            let key = Job::dependency_key(dep, date);
            let mut pause = FIRST_POLL;
            let mut check = 0u32;
            loop {
                check += 1;
                let query = StatusQuery { key: key.clone(), dependency: Some(DependencyDate { job: dep.clone(), date }) };
                let state = ctx
                    .execute_activity(JobContract::occurrence_status, query, activity(format!("dependency/{key}/{check}")))
                    .await?;
                let status = state.status.as_deref().unwrap_or("not started");
                if status == "committed" {
                    break;
                }
                // Under `wait`, a skipped dependency ends the wait: a date its job does not run
                // (a holiday, not one of its days) never commits, and waiting for it blocked this
                // job's later fires behind it for good. A failed one may still be retried: wait.
                // (Patched: runs that waited on a skip before this change replay as they ran.)
                if status == "skipped"
                    && job.spec.on_dependency == DependencyPolicy::Wait
                    && ctx.patched(SKIPPED_DEPENDENCY_ENDS_WAIT)
                {
                    let reason = state.reason.map(|r| format!(": {r}")).unwrap_or_default();
                    let why = format!("dependency {key} skipped{reason}; it never commits this date");
                    return Ok(DependencyOutcome::GiveUp { outcome: "skipped_dependency", reason: why, fail: false });
                }
                let now = ctx.workflow_time().unwrap_or(started);
                let late = job.spec.dependency_deadline_secs > 0 && now >= deadline;
                let settled = matches!(status, "failed" | "skipped");
                if settled || late {
                    let why = if settled {
                        format!("dependency {key} {status}{}", state.reason.map(|r| format!(": {r}")).unwrap_or_default())
                    } else {
                        format!("dependency {key} not committed within {}s (status: {status})", job.spec.dependency_deadline_secs)
                    };
                    match job.spec.on_dependency {
                        DependencyPolicy::Skip => {
                            return Ok(DependencyOutcome::GiveUp { outcome: "skipped_dependency", reason: why, fail: false });
                        }
                        DependencyPolicy::Fail => {
                            return Ok(DependencyOutcome::GiveUp { outcome: "failed_dependency", reason: why, fail: true });
                        }
                        DependencyPolicy::Wait if !alerted => {
                            alerted = true;
                            if !ctx.is_replaying() {
                                tracing::warn!(key = %key, reason = %why, "still waiting for a dependency");
                            }
                            ctx.upsert_search_attributes([search::RUN_OUTCOME.value_set("waiting_dependency".to_owned())]);
                        }
                        DependencyPolicy::Wait => {}
                    }
                }
                ctx.timer(pause).await;
                pause = (pause * 2).min(MAX_POLL);
            }
        }
        Ok(DependencyOutcome::Ready)
    }
}

/// Patch marker of "a skipped dependency ends a `wait`" (see `wait_for_dependencies`).
const SKIPPED_DEPENDENCY_ENDS_WAIT: &str = "skipped-dependency-ends-wait";

/// Failure type of an occurrence that failed for good (its row says why).
pub const OCCURRENCE_FAILED: &str = "OccurrenceFailed";

fn failed(key: &str, reason: &str) -> ApplicationFailure {
    ApplicationFailure::builder(format!("occurrence {key} failed: {reason}"))
        .type_name(OCCURRENCE_FAILED.to_owned())
        .non_retryable(true)
        .build()
}

/// Reads a typed input, failing non-retryably (naming the problem) when it does not fit.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(input: &JsonInput) -> Result<T, InputError> {
    let value = input.value().cloned().ok_or_else(|| InputError::NotJson { detail: "payload is not JSON".to_owned() })?;
    serde_json::from_value(value).map_err(|e| InputError::Invalid {
        field: "input",
        expected: "the object punctual's schedule sends (see `punctual schedule input JOB`)".to_owned(),
        got: e.to_string(),
    })
}

/// RFC 3339 UTC with seconds.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One `json/plain` payload, the encoding every punctual workflow reads.
fn json_payloads(value: &Value) -> RawValue {
    let payload = Payload {
        metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
        data: serde_json::to_vec(value).unwrap_or_default(),
        ..Default::default()
    };
    RawValue { payloads: vec![payload] }
}
