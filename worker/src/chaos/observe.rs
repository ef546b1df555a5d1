//! Reading what the run's world holds: the provider's and sink's own lists (not the ledger's view
//! of them), the business tables and the occurrence rows.

use super::expected::{Customer, Fate};
use super::sandbox_client::Sandboxes;
use super::verify::Observed;
use anyhow::Context;
use punctual_activities::ledger::Ledger;
use serde_json::Value;
use sqlx::Row;
use std::collections::BTreeMap;

/// The customers the job bills: those of `timezone`, as `ListCustomersPage` pages them.
pub async fn customers(ledger: &Ledger, timezone: &str) -> anyhow::Result<Vec<Customer>> {
    let rows = sqlx::query("SELECT id, payment_method, status FROM customers WHERE timezone = $1 ORDER BY id")
        .bind(timezone)
        .fetch_all(ledger.pool())
        .await
        .context("reading customers")?;
    rows.iter()
        .map(|r| {
            let fate = Fate::of(&r.try_get::<String, _>(1)?, &r.try_get::<String, _>(2)?);
            Ok(Customer { id: r.try_get(0)?, fate })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("reading customers")
}

fn text(v: &Value, field: &str) -> anyhow::Result<String> {
    v[field].as_str().map(str::to_owned).with_context(|| format!("`{field}` missing in {v}"))
}

/// Everything [`Observed`] holds, for `job`'s occurrences.
pub async fn observe(ledger: &Ledger, sandboxes: &Sandboxes, job: &str) -> anyhow::Result<Observed> {
    let mut observed = Observed::default();
    for charge in sandboxes.provider_list("/charges").await? {
        observed.charges.push((text(&charge, "id")?, text(&charge, "invoice_id")?));
    }
    for refund in sandboxes.provider_list("/refunds").await? {
        observed.refunds.push(text(&refund, "charge_id")?);
    }
    for delivery in sandboxes.sink_list("/delivered").await? {
        observed.deliveries.push(text(&delivery, "invoice_id")?);
    }
    let pool = ledger.pool();
    let invoices = sqlx::query("SELECT id, status FROM invoices").fetch_all(pool).await.context("reading invoices")?;
    for row in invoices {
        observed.invoices.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let payments = sqlx::query("SELECT invoice_id FROM payments").fetch_all(pool).await.context("reading payments")?;
    for row in payments {
        observed.payments.insert(row.try_get(0)?);
    }
    observed.occurrences = occurrence_statuses(ledger, job).await?;
    Ok(observed)
}

/// `job_occurrences` of `job`: key → status.
pub async fn occurrence_statuses(ledger: &Ledger, job: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let rows = sqlx::query("SELECT key, status FROM job_occurrences WHERE job = $1")
        .bind(job)
        .fetch_all(ledger.pool())
        .await
        .context("reading job_occurrences")?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, sqlx::Error>>().context("reading job_occurrences")
}

/// One occurrence's timing, for the recovery figures.
#[derive(Debug, Clone)]
pub struct OccurrenceTiming {
    /// Nominal fire time.
    pub nominal: chrono::DateTime<chrono::Utc>,
    /// When it was last written (its commit, once committed).
    pub settled: chrono::DateTime<chrono::Utc>,
}

/// Nominal and commit time of every committed occurrence of `job`.
pub async fn occurrence_timings(ledger: &Ledger, job: &str) -> anyhow::Result<Vec<OccurrenceTiming>> {
    let rows = sqlx::query("SELECT nominal_time, updated_at FROM job_occurrences WHERE job = $1 AND status = 'committed'")
        .bind(job)
        .fetch_all(ledger.pool())
        .await
        .context("reading job_occurrences")?;
    let parse = |t: Option<String>| t.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.to_utc());
    Ok(rows
        .iter()
        .filter_map(|r| {
            let nominal = parse(r.try_get(0).ok()?)?;
            let settled = parse(r.try_get(1).ok()?)?;
            Some(OccurrenceTiming { nominal, settled })
        })
        .collect())
}

/// An external effect whose key was claimed more than once: an attempt made the call (or may
/// have) and did not record the outcome, so a retry claimed the key again.
#[derive(Debug, Clone)]
pub struct Reclaim {
    /// Business key.
    pub key: String,
    /// Claims in all.
    pub attempts: i64,
    /// First claim and latest claim.
    pub first: chrono::DateTime<chrono::Utc>,
    pub last: chrono::DateTime<chrono::Utc>,
}

/// Every ledger key claimed more than once.
pub async fn reclaims(ledger: &Ledger) -> anyhow::Result<Vec<Reclaim>> {
    let rows = sqlx::query(
        "SELECT key, attempts, created_at, last_claimed_at FROM ledger_entries WHERE attempts > 1 ORDER BY created_at",
    )
    .fetch_all(ledger.pool())
    .await
    .context("reading ledger_entries")?;
    let parse = |t: String| chrono::DateTime::parse_from_rfc3339(&t).ok().map(|t| t.to_utc());
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(Reclaim {
                key: r.try_get(0).ok()?,
                attempts: r.try_get(1).ok()?,
                first: parse(r.try_get(2).ok()?)?,
                last: parse(r.try_get(3).ok()?)?,
            })
        })
        .collect())
}

/// Counts of the provider's request log by outcome, plus replays: how much the faults made the
/// workers retry, and how much the idempotency keys absorbed.
pub async fn request_stats(sandboxes: &Sandboxes) -> anyhow::Result<String> {
    let mut parts = Vec::new();
    for (name, log) in
        [("provider", sandboxes.provider_list("/requests").await?), ("sink", sandboxes.sink_list("/deliveries").await?)]
    {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for entry in &log {
            *by.entry(entry["outcome"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
            if entry["replay"].as_bool() == Some(true) {
                *by.entry("replayed".to_owned()).or_default() += 1;
            }
        }
        let counts: Vec<String> = by.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!("{name}: {} requests ({})", log.len(), counts.join(" ")));
    }
    Ok(parts.join("; "))
}
