//! The occurrence ledger: one `job_occurrences` row per business key.
//!
//! Every write is an idempotent upsert of "the row as it is now", so an activity retried after a
//! lost completion writes the same row again. A committed occurrence is never turned back into a
//! skipped one; `runs` counts the distinct occurrence-workflow runs that wrote the key.

use crate::failure::retryable;
use crate::ledger::Ledger;
use chrono::{SecondsFormat, Utc};
use punctual_workflows::jobs::types::{OccurrenceRecord, OccurrenceState, RecordedOccurrence};
use sqlx::Row;
use temporalio_sdk::activities::ActivityError;

/// How many recent outcomes of a job are read to count its consecutive failures.
const FAILURE_WINDOW: i64 = 1000;

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn db_error(doing: &str, key: &str) -> impl FnOnce(sqlx::Error) -> ActivityError {
    let what = format!("{doing} occurrence `{key}`");
    move |e| retryable(format!("{what}: {e}"))
}

/// Upserts `r` and returns the job's consecutive failures.
///
/// A row never goes back from an outcome to `waiting`/`running` within one run: an attempt of
/// `RecordOccurrence(running)` that waited on the database past its timeout can land after its
/// retry and after the run's own `committed`, and would make dependents wait and the audit see a
/// finished occurrence as running. Another run of the key (a forced backfill, a retry of a
/// failed key) does move it back.
pub(crate) async fn record(ledger: &Ledger, r: &OccurrenceRecord) -> Result<RecordedOccurrence, ActivityError> {
    let at = now();
    let mut tx = ledger.begin_write(&r.key, "recording").await.map_err(crate::failure::from_ledger)?;
    let inserted = sqlx::query(
        "INSERT INTO job_occurrences (key, job, business_date, effective_date, nominal_time, status, reason, \
         deadline_at, workflow_id, run_id, runs, created_at, updated_at, failed_items) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11, $12) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&r.key)
    .bind(&r.job)
    .bind(&r.business_date)
    .bind(r.effective_date.clone())
    .bind(r.nominal_time.clone())
    .bind(&r.status)
    .bind(r.reason.clone())
    .bind(r.deadline_at.clone())
    .bind(&r.workflow_id)
    .bind(&r.run_id)
    .bind(&at)
    .bind(r.failed_items.map(|n| n as i64))
    .execute(&mut *tx)
    .await
    .map_err(db_error("inserting", &r.key))?
    .rows_affected();
    if inserted == 0 {
        sqlx::query(
            "UPDATE job_occurrences SET \
               runs = runs + CASE WHEN run_id = $9 THEN 0 ELSE 1 END, \
               status = $2, reason = $3, \
               effective_date = COALESCE($4, effective_date), nominal_time = COALESCE($5, nominal_time), \
               deadline_at = COALESCE($6, deadline_at), workflow_id = $7, run_id = $9, updated_at = $8, \
               failed_items = $10 \
             WHERE key = $1 AND NOT (status = 'committed' AND $2 = 'skipped') \
               AND NOT (run_id = $9 AND status IN ('committed', 'failed', 'skipped') AND $2 IN ('waiting', 'running'))",
        )
        .bind(&r.key)
        .bind(&r.status)
        .bind(r.reason.clone())
        .bind(r.effective_date.clone())
        .bind(r.nominal_time.clone())
        .bind(r.deadline_at.clone())
        .bind(&r.workflow_id)
        .bind(&at)
        .bind(&r.run_id)
        .bind(r.failed_items.map(|n| n as i64))
        .execute(&mut *tx)
        .await
        .map_err(db_error("updating", &r.key))?;
    }
    let recent = sqlx::query(
        "SELECT status FROM job_occurrences WHERE job = $1 AND status IN ('committed', 'failed') \
         ORDER BY updated_at DESC, key DESC LIMIT $2",
    )
    .bind(&r.job)
    .bind(FAILURE_WINDOW)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error("counting failures of", &r.key))?;
    tx.commit().await.map_err(db_error("committing", &r.key))?;
    let consecutive_failures = recent.iter().take_while(|row| row.get::<String, _>(0) == "failed").count() as u32;
    tracing::info!(key = %r.key, status = %r.status, reason = r.reason.as_deref().unwrap_or(""), "occurrence recorded");
    // A committed occurrence whose job failed items (a billing run's customers) does not resolve
    // an earlier failure of its key: the date is not done until a run of it is clean.
    let partly_failed = r.status == "committed" && r.failed_items.is_some_and(|n| n > 0);
    if matches!(r.status.as_str(), "committed" | "failed") && !partly_failed {
        // The failed-run archive: a failed occurrence needs a person, a committed one resolves
        // an earlier failure of its key. The retry reads the input from the run's history.
        let run = crate::runs::archive::FailedRun {
            business_key: r.key.clone(),
            job: r.job.clone(),
            workflow_type: punctual_workflows::names::JOB_OCCURRENCE_WORKFLOW.to_owned(),
            workflow_id: r.workflow_id.clone(),
            run_id: r.run_id.clone(),
            error: r.reason.clone().unwrap_or_else(|| "failed".to_owned()),
            input: None,
        };
        crate::runs::settle(ledger, run, r.status == "failed").await?;
    }
    if matches!(r.status.as_str(), "committed" | "failed" | "skipped") {
        crate::metrics::run_finished(&r.job, &r.status);
    }
    Ok(RecordedOccurrence { consecutive_failures })
}

/// The row of `key`, if any.
pub(crate) async fn status(ledger: &Ledger, key: &str) -> Result<OccurrenceState, ActivityError> {
    let row = sqlx::query("SELECT status, reason, run_id FROM job_occurrences WHERE key = $1")
        .bind(key)
        .fetch_optional(ledger.pool())
        .await
        .map_err(db_error("reading", key))?;
    Ok(match row {
        None => OccurrenceState { status: None, reason: None, run_id: None },
        Some(row) => {
            OccurrenceState { status: Some(row.get(0)), reason: row.get::<Option<String>, _>(1), run_id: Some(row.get(2)) }
        }
    })
}

/// One `job_occurrences` row, as the audit and backfill read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccurrenceRow {
    /// Business key.
    pub key: String,
    /// `waiting`, `running`, `committed`, `failed`, `skipped`.
    pub status: String,
    /// Why, when there is a reason.
    pub reason: Option<String>,
    /// Occurrence-workflow runs under the key.
    pub runs: i64,
    /// The date it ran on after a holiday roll.
    pub effective_date: Option<String>,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// The occurrence-workflow run that last wrote the row: a start that returns this run ID
    /// joined that run instead of starting a new one.
    pub run_id: String,
    /// Items its job's workflow reported failed though it completed (a `committed` row only).
    pub failed_items: Option<i64>,
}

/// Every row of `job` whose business date is in `from..=to` (dates as text), by key.
pub async fn rows_between(ledger: &Ledger, job: &str, from: &str, to: &str) -> Result<Vec<OccurrenceRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT key, status, reason, runs, updated_at, effective_date, run_id, failed_items FROM job_occurrences \
         WHERE job = $1 AND business_date >= $2 \
         AND business_date <= $3 ORDER BY key",
    )
    .bind(job)
    .bind(from)
    .bind(to)
    .fetch_all(ledger.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| OccurrenceRow {
            key: r.get(0),
            status: r.get(1),
            reason: r.get(2),
            runs: r.get(3),
            updated_at: r.get(4),
            effective_date: r.get(5),
            run_id: r.get(6),
            failed_items: r.get(7),
        })
        .collect())
}

/// When `job`'s first occurrence was recorded (RFC 3339 UTC), whatever started it; `None` when
/// it has none. The audit takes it as the latest moment punctual was running the job: a ledger
/// that outlived its schedule (deleted and made again, a new Temporal cluster) still knows.
pub async fn first_recorded_at(ledger: &Ledger, job: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT MIN(created_at) FROM job_occurrences WHERE job = $1").bind(job).fetch_one(ledger.pool()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str, run_id: &str) -> OccurrenceRecord {
        OccurrenceRecord {
            key: "close/2026-11-20".into(),
            job: "close".into(),
            business_date: "2026-11-20".into(),
            effective_date: None,
            nominal_time: None,
            status: status.into(),
            reason: None,
            deadline_at: None,
            workflow_id: "close/2026-11-20".into(),
            run_id: run_id.into(),
            failed_items: None,
        }
    }

    #[tokio::test]
    async fn a_late_running_write_of_a_finished_run_does_not_undo_its_outcome() {
        let dir = std::env::temp_dir().join(format!("punctual-occurrences-{}", std::process::id()));
        let ledger = Ledger::connect(&format!("sqlite://{}", dir.join("ledger.db").display())).await.unwrap();
        let state = async || status(&ledger, "close/2026-11-20").await.unwrap().status.unwrap();
        for s in ["running", "committed", "running", "waiting"] {
            super::record(&ledger, &row(s, "r1")).await.unwrap();
        }
        assert_eq!(state().await, "committed", "a stale write of run r1 moved its outcome back");
        super::record(&ledger, &row("running", "r2")).await.unwrap();
        assert_eq!(state().await, "running", "another run of the key (a forced backfill) runs it again");
        std::fs::remove_dir_all(dir).ok();
    }
}
