//! `CheckSla`: one alert per job occurrence past its deadline, and `alerted_at` set on its row.

use super::never_started::never_started;
use super::{OPS_CHANNEL, OPS_RECIPIENT};
use crate::failure;
use crate::ledger::{Caller, Claim, Ledger};
use crate::outside::SinkClient;
use chrono::{DateTime, SecondsFormat, Utc};
use punctual_workflows::reports::keys;
use punctual_workflows::reports::types::{SlaCheckInput, SlaReport};
use serde_json::{Value, json};
use sqlx::Row;
use temporalio_client::Client;
use temporalio_sdk::activities::ActivityError;

/// Most keys listed in `late` (late rows and occurrences that never started together): keeps the
/// result far below Temporal's payload limit.
pub(super) const MAX_LATE_LISTED: i64 = 10_000;

/// Longest the check for occurrences that never started may take (it describes schedules).
const NEVER_STARTED_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Not committed and past the deadline, by the server's clock at this attempt's start. Compared
/// as RFC 3339 UTC text, which orders like time here: `deadline_at` is whole seconds ("…:00Z")
/// and `$1` has milliseconds ("…:00.123Z"), so an occurrence counts as late from the second
/// after its deadline, never before it.
const LATE: &str = "status IN ('waiting', 'running') AND deadline_at IS NOT NULL AND deadline_at < $1";

/// One late occurrence not yet alerted about.
pub(super) struct Due {
    pub(super) key: String,
    pub(super) job: String,
    pub(super) business_date: String,
}

fn reading(what: &'static str) -> impl FnOnce(sqlx::Error) -> ActivityError {
    move |e| failure::retryable(format!("reading {what}: {e}"))
}

/// `CheckSla`: alerts about up to `input.limit` occurrences late at `as_of` (the server's
/// clock, [`crate::server_clock::server_now`]) and not alerted yet (oldest deadline first), then lists every
/// occurrence late at `as_of`.
///
/// Each alert is claimed in the ledger under `alert/sla/{occurrence}` before the sink call
/// (same key as the sink's idempotency key) and completed after it, then `alerted_at` is set.
/// A retry after a crash anywhere in between finds the alert recorded (or the sink collapses
/// it) and only sets `alerted_at`: one alert per occurrence key, ever.
#[tracing::instrument(skip_all, fields(business_key = %keys::sla_check(&input.business_date)))]
pub(super) async fn run(
    ledger: &Ledger,
    sink: &SinkClient,
    caller: &Caller,
    input: &SlaCheckInput,
    as_of: DateTime<Utc>,
    schedules: Option<(&Client, &str)>,
) -> Result<SlaReport, ActivityError> {
    let now = as_of.to_rfc3339_opts(SecondsFormat::Millis, true);
    let rows = sqlx::query(&format!(
        "SELECT key, job, business_date FROM job_occurrences WHERE {LATE} AND alerted_at IS NULL \
         ORDER BY deadline_at, key LIMIT $2"
    ))
    .bind(&now)
    .bind(i64::from(input.limit))
    .fetch_all(ledger.pool())
    .await
    .map_err(reading("late job occurrences"))?;
    let due = rows
        .iter()
        .map(|row| Ok(Due { key: row.try_get("key")?, job: row.try_get("job")?, business_date: row.try_get("business_date")? }))
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(reading("job occurrence rows"))?;

    let mut alerted = 0;
    for occurrence in &due {
        alert(ledger, sink, caller, occurrence).await?;
        let marked = sqlx::query("UPDATE job_occurrences SET alerted_at = $2 WHERE key = $1 AND alerted_at IS NULL")
            .bind(&occurrence.key)
            .bind(&now)
            .execute(ledger.pool())
            .await
            .map_err(|e| failure::retryable(format!("marking {} alerted: {e}", occurrence.key)))?
            .rows_affected();
        // Zero: a concurrent check marked it first (after the same, single, alert).
        alerted += marked;
    }

    let mut late: Vec<String> =
        sqlx::query_scalar(&format!("SELECT key FROM job_occurrences WHERE {LATE} ORDER BY deadline_at, key LIMIT $2"))
            .bind(&now)
            .bind(MAX_LATE_LISTED)
            .fetch_all(ledger.pool())
            .await
            .map_err(reading("late job occurrences"))?;

    // Occurrences that never started at all, alerted under the same key and with the same body:
    // one alert per occurrence, whether it is late or never began. The `limit` is shared.
    if let Some((client, task_queue)) = schedules {
        // Bounded: the late rows' findings must not wait on a slow server.
        let missing = tokio::time::timeout(NEVER_STARTED_WITHIN, never_started(client, task_queue, ledger, as_of))
            .await
            .unwrap_or_else(|_| Err(format!("not done within {NEVER_STARTED_WITHIN:?}")));
        match missing {
            Ok(missing) => {
                // One read for the ones alerted already (a paused job's misses pile up between
                // checks), then a claim only for the rest.
                let done = alerted_already(ledger, &missing).await?;
                for occurrence in missing.iter().filter(|m| !done.contains(&keys::sla_alert(&m.key))) {
                    if alerted >= u64::from(input.limit) {
                        break;
                    }
                    alerted += u64::from(alert(ledger, sink, caller, occurrence).await?);
                }
                if !missing.is_empty() {
                    tracing::warn!(missing = missing.len(), "scheduled occurrences never started and past their deadline");
                }
                let room = (MAX_LATE_LISTED as usize).saturating_sub(late.len());
                late.extend(missing.into_iter().take(room).map(|m| m.key));
            }
            // The schedules could not be read: the rows' findings still stand.
            Err(error) => tracing::warn!(%error, "SLA check: occurrences that never started not checked"),
        }
    }
    tracing::info!(late = late.len(), alerted, "SLA checked");
    Ok(SlaReport { late, alerted })
}

/// The SLA alert keys of `occurrences` already recorded as sent.
async fn alerted_already(ledger: &Ledger, occurrences: &[Due]) -> Result<std::collections::BTreeSet<String>, ActivityError> {
    let mut done = std::collections::BTreeSet::new();
    let keys: Vec<String> = occurrences.iter().map(|o| keys::sla_alert(&o.key)).collect();
    for chunk in keys.chunks(500) {
        let placeholders = crate::zone_names::placeholders(1, chunk.len());
        let sql = format!("SELECT key FROM ledger_entries WHERE status = 'done' AND key IN ({placeholders})");
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for key in chunk {
            query = query.bind(key);
        }
        done.extend(query.fetch_all(ledger.pool()).await.map_err(reading("sent SLA alerts"))?);
    }
    Ok(done)
}

/// The one alert about `occurrence`; returns whether this call sent it (not an earlier one).
async fn alert(ledger: &Ledger, sink: &SinkClient, caller: &Caller, occurrence: &Due) -> Result<bool, ActivityError> {
    let key = keys::sla_alert(&occurrence.key);
    let body = alert_body(occurrence);
    match ledger.claim_external::<String>(&key, &body, caller).await.map_err(failure::from_ledger)? {
        Claim::Done(_) => Ok(false),
        Claim::Proceed { attempts, .. } => {
            tracing::warn!(business_key = %key, attempts, "job occurrence past its deadline: alerting");
            let id = sink.deliver(&key, &body).await.map_err(failure::from_call)?;
            ledger.complete_external(&key, &id).await.map_err(failure::from_ledger)?;
            Ok(true)
        }
    }
}

/// Only what identifies the occurrence goes in the body (not its status or deadline, which may
/// change between a crash and the retry): every attempt sends the same request under the key.
fn alert_body(occurrence: &Due) -> Value {
    json!({
        "invoice_id": occurrence.key,
        "customer_id": OPS_RECIPIENT,
        "channel": OPS_CHANNEL,
        "kind": "sla_alert",
        "message": format!(
            "Job {} for business date {} ({}) is not committed and its deadline has passed",
            occurrence.job, occurrence.business_date, occurrence.key
        ),
    })
}
