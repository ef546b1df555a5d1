//! The failed-run archive (`failed_runs`): one row per business key that failed for good.
//!
//! Written by activities only — `RecordRunOutcome` for billing runs and payment sagas,
//! `RecordOccurrence` for job occurrences — so it outlives Temporal's history retention like the
//! ledger does. Every write is idempotent: the same run archived twice (an activity retried after
//! a lost completion) counts once; a different run of the key failing again bumps `attempts`.
//! A later run of the key that finishes marks the row `resolved`, or a person does with a note
//! ([`resolve_by_hand`]) when no run ever will; rows are never deleted.

use chrono::{SecondsFormat, Utc};
use sqlx::{AnyConnection, Row};

/// A run that failed for good, as the activity that saw it end knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRun {
    /// Business key (and workflow ID).
    pub business_key: String,
    /// `JobName` of the run.
    pub job: String,
    /// Its workflow type.
    pub workflow_type: String,
    /// The failed run.
    pub workflow_id: String,
    /// Its run ID.
    pub run_id: String,
    /// Why it failed.
    pub error: String,
    /// Its input, when the workflow handed it over (JSON).
    pub input: Option<serde_json::Value>,
}

/// One row of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedRun {
    /// What failed, last.
    pub run: FailedRun,
    /// Failed runs of the key so far.
    pub attempts: i64,
    /// `failed`, `retrying` or `resolved`.
    pub status: String,
    /// First failure (RFC 3339 UTC).
    pub first_failed_at: String,
    /// Latest failure.
    pub last_failed_at: String,
    /// When `punctual failures retry` last started it.
    pub retried_at: Option<String>,
    /// When a later run finished it.
    pub resolved_at: Option<String>,
    /// The run that finished it; `None` when a person resolved it.
    pub resolved_by: Option<String>,
    /// A person's note, when they resolved it by hand (`punctual failures resolve`).
    pub resolution: Option<String>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

const COLUMNS: &str = "business_key, job, workflow_type, workflow_id, run_id, error, input, attempts, status, \
                       first_failed_at, last_failed_at, retried_at, resolved_at, resolved_by, resolution";

/// Archives `run`, or bumps the key's attempts when another run of it failed before; returns
/// the key's failed runs so far.
pub async fn archive(conn: &mut AnyConnection, run: &FailedRun) -> Result<i64, sqlx::Error> {
    let input = run.input.as_ref().map(serde_json::Value::to_string);
    sqlx::query_scalar(
        "INSERT INTO failed_runs (business_key, job, workflow_type, workflow_id, run_id, error, input, attempts, \
           status, first_failed_at, last_failed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 'failed', $8, $8) \
         ON CONFLICT (business_key) DO UPDATE SET \
           attempts = failed_runs.attempts + CASE WHEN failed_runs.run_id = excluded.run_id THEN 0 ELSE 1 END, \
           last_failed_at = CASE WHEN failed_runs.run_id = excluded.run_id THEN failed_runs.last_failed_at \
                                 ELSE excluded.last_failed_at END, \
           job = excluded.job, workflow_type = excluded.workflow_type, workflow_id = excluded.workflow_id, \
           run_id = excluded.run_id, error = excluded.error, input = COALESCE(excluded.input, failed_runs.input), \
           status = 'failed', resolved_at = NULL, resolved_by = NULL, resolution = NULL \
         RETURNING attempts",
    )
    .bind(&run.business_key)
    .bind(&run.job)
    .bind(&run.workflow_type)
    .bind(&run.workflow_id)
    .bind(&run.run_id)
    .bind(&run.error)
    .bind(input)
    .bind(now())
    .fetch_one(&mut *conn)
    .await
}

/// Marks the key resolved by `run_id` (a later run that finished); returns whether a failed or
/// retrying row was there to resolve.
pub async fn resolve(conn: &mut AnyConnection, business_key: &str, run_id: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE failed_runs SET status = 'resolved', resolved_at = $2, resolved_by = $3 \
         WHERE business_key = $1 AND status <> 'resolved' AND run_id <> $3",
    )
    .bind(business_key)
    .bind(now())
    .bind(run_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// Marks the key resolved by a person, with `note` saying how (the run that failed cannot finish:
/// its effect was settled outside punctual, or the job is retired); returns whether a failed or
/// retrying row was there to resolve. A later failure of the key opens it again.
pub async fn resolve_by_hand(conn: &mut AnyConnection, business_key: &str, note: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE failed_runs SET status = 'resolved', resolved_at = $2, resolved_by = NULL, resolution = $3 \
         WHERE business_key = $1 AND status <> 'resolved'",
    )
    .bind(business_key)
    .bind(now())
    .bind(note)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// Marks the key `retrying` (a retry was started); returns whether it was still open.
pub async fn mark_retrying(conn: &mut AnyConnection, business_key: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE failed_runs SET status = 'retrying', retried_at = $2 WHERE business_key = $1 AND status <> 'resolved'",
    )
    .bind(business_key)
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// The row of `business_key`, if any.
pub async fn get(conn: &mut AnyConnection, business_key: &str) -> Result<Option<ArchivedRun>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM failed_runs WHERE business_key = $1"))
        .bind(business_key)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Open rows (failed or retrying), or every row with `all`, latest failure first.
pub async fn list(conn: &mut AnyConnection, all: bool) -> Result<Vec<ArchivedRun>, sqlx::Error> {
    let filter = if all { "" } else { "WHERE status <> 'resolved'" };
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM failed_runs {filter} ORDER BY last_failed_at DESC, business_key"))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<ArchivedRun, sqlx::Error> {
    let input: Option<String> = row.try_get("input")?;
    let input = input.map(|text| serde_json::from_str(&text)).transpose().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(ArchivedRun {
        run: FailedRun {
            business_key: row.try_get("business_key")?,
            job: row.try_get("job")?,
            workflow_type: row.try_get("workflow_type")?,
            workflow_id: row.try_get("workflow_id")?,
            run_id: row.try_get("run_id")?,
            error: row.try_get("error")?,
            input,
        },
        attempts: row.try_get("attempts")?,
        status: row.try_get("status")?,
        first_failed_at: row.try_get("first_failed_at")?,
        last_failed_at: row.try_get("last_failed_at")?,
        retried_at: row.try_get("retried_at")?,
        resolved_at: row.try_get("resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
        resolution: row.try_get("resolution")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;

    fn failed(run_id: &str) -> FailedRun {
        FailedRun {
            business_key: "payment/INV-1".to_owned(),
            job: "payment".to_owned(),
            workflow_type: "PaymentSagaWorkflow".to_owned(),
            workflow_id: "payment/INV-1".to_owned(),
            run_id: run_id.to_owned(),
            error: "compensation failed".to_owned(),
            input: Some(serde_json::json!({"invoice_id": "INV-1"})),
        }
    }

    #[tokio::test]
    async fn the_same_run_counts_once_another_run_bumps_attempts_and_a_finish_resolves() {
        let dir = std::env::temp_dir().join(format!("punctual-archive-{}", std::process::id()));
        let ledger = Ledger::connect(&format!("sqlite://{}", dir.join("ledger.db").display())).await.unwrap();
        let mut conn = ledger.pool().acquire().await.unwrap();
        assert_eq!(archive(&mut conn, &failed("r1")).await.unwrap(), 1);
        assert_eq!(archive(&mut conn, &failed("r1")).await.unwrap(), 1, "a retried archive of one run");
        assert!(!resolve(&mut conn, "payment/INV-1", "r1").await.unwrap(), "the failed run resolves nothing");
        assert_eq!(archive(&mut conn, &failed("r2")).await.unwrap(), 2);
        assert!(mark_retrying(&mut conn, "payment/INV-1").await.unwrap());
        assert_eq!(list(&mut conn, false).await.unwrap()[0].status, "retrying");
        assert!(resolve(&mut conn, "payment/INV-1", "r3").await.unwrap());
        assert!(!mark_retrying(&mut conn, "payment/INV-1").await.unwrap(), "a resolved key is not retried");
        assert!(list(&mut conn, false).await.unwrap().is_empty());
        let row = get(&mut conn, "payment/INV-1").await.unwrap().unwrap();
        assert_eq!((row.attempts, row.status.as_str(), row.resolved_by.as_deref()), (2, "resolved", Some("r3")));
        assert_eq!(row.run.input, Some(serde_json::json!({"invoice_id": "INV-1"})));
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_person_resolves_a_key_with_a_note_and_a_later_failure_opens_it_again() {
        let dir = std::env::temp_dir().join(format!("punctual-archive-hand-{}", std::process::id()));
        let ledger = Ledger::connect(&format!("sqlite://{}", dir.join("ledger.db").display())).await.unwrap();
        let mut conn = ledger.pool().acquire().await.unwrap();
        assert!(!resolve_by_hand(&mut conn, "payment/INV-1", "nothing archived").await.unwrap(), "no row, nothing resolved");
        archive(&mut conn, &failed("r1")).await.unwrap();
        assert!(resolve_by_hand(&mut conn, "payment/INV-1", "charge ch_9 confirmed at the provider").await.unwrap());
        let row = get(&mut conn, "payment/INV-1").await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.resolved_by.as_deref(), row.resolution.as_deref()),
            ("resolved", None, Some("charge ch_9 confirmed at the provider"))
        );
        assert!(row.resolved_at.is_some());
        assert!(list(&mut conn, false).await.unwrap().is_empty(), "resolved rows are not open");
        assert!(!resolve_by_hand(&mut conn, "payment/INV-1", "again").await.unwrap(), "already resolved");
        assert!(!mark_retrying(&mut conn, "payment/INV-1").await.unwrap(), "a key resolved by hand is not retried");

        assert_eq!(archive(&mut conn, &failed("r2")).await.unwrap(), 2, "the key failed again");
        let reopened = get(&mut conn, "payment/INV-1").await.unwrap().unwrap();
        assert_eq!((reopened.status.as_str(), reopened.resolution, reopened.resolved_at), ("failed", None, None));
        std::fs::remove_dir_all(dir).ok();
    }
}
