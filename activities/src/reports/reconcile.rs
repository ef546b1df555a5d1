//! `ReconcilePayments`: reads the provider's charges, our invoices and payments and the ledger's
//! open charge claims for one business date and zone; records the report once and alerts once.

use super::matching::{Books, Comparison, InvoiceRecord, PaymentRecord, compare};
use super::periods::{DateInvoices, period_prefixes};
use super::{OPS_CHANNEL, OPS_RECIPIENT};
use crate::failure;
use crate::ledger::{Caller, Claim, EffectError, Ledger, request_hash};
use crate::outside::{ProviderClient, SinkClient};
use crate::zone_names::{names_of_zone, placeholders};
use punctual_workflows::keys as billing_keys;
use punctual_workflows::reports::keys;
use punctual_workflows::reports::types::*;
use serde_json::{Value, json};
use sqlx::Row;
use temporalio_sdk::activities::ActivityError;

/// Mismatches spelled out in the alert's message; the report holds them all.
const ALERT_LINES: usize = 20;

/// `ReconcilePayments`: the report once per `reconcile/{timezone}/{date}`, the alert once per
/// `alert/reconcile/{timezone}/{date}`.
///
/// A report already recorded is replayed as it was (no reading at all): the first report of a
/// business key is the record, whatever changed since. Reading happens outside the ledger's
/// transaction (the provider cannot join it); if two attempts race, both read, one records, and
/// the other gets the recorded report back from `once`.
#[tracing::instrument(skip_all, fields(business_key = %keys::reconcile(&input.timezone, &input.business_date)))]
pub(super) async fn run(
    ledger: &Ledger,
    provider: &ProviderClient,
    sink: &SinkClient,
    caller: &Caller,
    input: &ReconciliationInput,
) -> Result<ReconciliationReport, ActivityError> {
    if input.recheck {
        return recheck(ledger, provider, sink, caller, input).await;
    }
    let key = keys::reconcile(&input.timezone, &input.business_date);
    let request = json!({ "business_date": input.business_date, "timezone": input.timezone });
    let recorded = ledger.entry(&key).await.map_err(failure::from_ledger)?.is_some();
    let fresh = if recorded {
        None
    } else {
        let books = read_books(ledger, provider, input).await?;
        Some(report(&key, input, compare(&books)))
    };
    let once = ledger
        .once(&key, &request, caller, move |conn| {
            Box::pin(async move {
                // Only reached when no report was recorded when we looked; `once` replays otherwise.
                let report = fresh.ok_or_else(|| EffectError::retryable("report key vanished after it was seen"))?;
                insert_report(conn, &report).await?;
                Ok(report)
            })
        })
        .await
        .map_err(failure::from_ledger)?;
    // A replay of this run's own earlier attempt (its response was lost) is still this run's
    // report; only a report recorded by another run counts as replayed.
    let replayed = once.was_replayed() && !recorded_by(ledger, &key, caller).await?;
    let mut report = once.into_inner();
    report.replayed = replayed;
    if !report.mismatches.is_empty() {
        let alert_key = keys::reconcile_alert(&report.timezone, &report.business_date);
        report.alert_id = Some(alert(ledger, sink, caller, &alert_key, &report).await?);
    }
    tracing::info!(invoices = report.invoices, mismatches = report.mismatches.len(), replayed, "reconciled");
    Ok(report)
}

/// A recheck: the books as they are now, recorded once per workflow run under its own ledger
/// key (the report is the entry's result; the date's record in `reconciliation_reports` stays
/// as it was), alerted once per distinct alert (findings and counts).
async fn recheck(
    ledger: &Ledger,
    provider: &ProviderClient,
    sink: &SinkClient,
    caller: &Caller,
    input: &ReconciliationInput,
) -> Result<ReconciliationReport, ActivityError> {
    let key = keys::reconcile_recheck(&input.timezone, &input.business_date, &caller.run_id);
    let request = json!({ "business_date": input.business_date, "timezone": input.timezone, "recheck": true });
    let fresh = match ledger.entry(&key).await.map_err(failure::from_ledger)? {
        Some(_) => None,
        None => {
            let books = read_books(ledger, provider, input).await?;
            let business_key = keys::reconcile(&input.timezone, &input.business_date);
            Some(ReconciliationReport { recheck: true, ..report(&business_key, input, compare(&books)) })
        }
    };
    let once = ledger
        .once(&key, &request, caller, move |_conn| {
            Box::pin(async move { fresh.ok_or_else(|| EffectError::retryable("recheck key vanished after it was seen")) })
        })
        .await
        .map_err(failure::from_ledger)?;
    let mut report = once.into_inner();
    if !report.mismatches.is_empty() {
        // The digest covers the whole alert (findings and counts): a key is never reused for
        // another body, which the sink would refuse as a conflict.
        let digest = &request_hash(&alert_body(&report))[..16];
        let alert_key = keys::reconcile_recheck_alert(&report.timezone, &report.business_date, digest);
        report.alert_id = Some(alert(ledger, sink, caller, &alert_key, &report).await?);
    }
    tracing::info!(invoices = report.invoices, mismatches = report.mismatches.len(), "rechecked");
    Ok(report)
}

/// Whether `caller`'s workflow run recorded `key`.
async fn recorded_by(ledger: &Ledger, key: &str, caller: &Caller) -> Result<bool, ActivityError> {
    let entry = ledger.entry(key).await.map_err(failure::from_ledger)?;
    Ok(entry.is_some_and(|e| e.workflow_id == caller.workflow_id && e.run_id == caller.run_id))
}

fn report(key: &str, input: &ReconciliationInput, comparison: Comparison) -> ReconciliationReport {
    let Comparison { invoices, charges, matched, mismatches } = comparison;
    ReconciliationReport {
        business_key: key.to_owned(),
        business_date: input.business_date.clone(),
        timezone: input.timezone.clone(),
        invoices,
        charges,
        matched,
        mismatches,
        alert_id: None,
        replayed: false,
        recheck: false,
    }
}

fn reading(what: &'static str) -> impl FnOnce(sqlx::Error) -> ActivityError {
    move |e| failure::retryable(format!("reading {what}: {e}"))
}

/// Our invoices and payments, the provider's charges and the ledger's open charge claims, for
/// the zone's customers on the date.
async fn read_books(ledger: &Ledger, provider: &ProviderClient, input: &ReconciliationInput) -> Result<Books, ActivityError> {
    let pool = ledger.pool();
    // The zone's customers under any of its names, as its billing runs bill them.
    let names = names_of_zone(&input.timezone);
    let zone_in = placeholders(1, names.len());
    let customers_sql = format!("SELECT id FROM customers WHERE timezone IN ({zone_in})");
    let mut customers = sqlx::query_scalar::<_, String>(&customers_sql);
    for name in &names {
        customers = customers.bind(name);
    }
    let customers: Vec<String> = customers.fetch_all(pool).await.map_err(reading("customers"))?;
    // Each invoice's receipt is found by its ledger key, spelt in SQL around the invoice id: one
    // primary-key lookup per invoice.
    let (receipt_before, receipt_after) = receipt_key_around_invoice();
    let n = names.len();
    let invoices_sql = format!(
        "SELECT i.id, i.amount_cents, i.status, p.charge_id, p.amount_cents AS paid_cents, r.status AS receipt_status \
         FROM invoices i JOIN customers c ON c.id = i.customer_id \
         LEFT JOIN payments p ON p.invoice_id = i.id \
         LEFT JOIN ledger_entries r ON r.key = CAST(${} AS TEXT) || i.id || CAST(${} AS TEXT) \
         WHERE c.timezone IN ({zone_in}) AND (i.business_date = ${} OR substr(i.business_date, 1, {}) IN (${}, ${})) \
         ORDER BY i.id",
        n + 2,
        n + 3,
        n + 1,
        input.business_date.chars().count() + 1,
        n + 4,
        n + 5
    );
    let mut rows = sqlx::query(&invoices_sql);
    for name in &names {
        rows = rows.bind(name);
    }
    let [period_t, period_slash] = period_prefixes(&input.business_date);
    let rows = rows
        .bind(&input.business_date)
        .bind(receipt_before)
        .bind(receipt_after)
        .bind(period_t)
        .bind(period_slash)
        .fetch_all(pool)
        .await
        .map_err(reading("invoices"))?;
    let invoices = rows
        .iter()
        .map(|row| {
            let charge_id: Option<String> = row.try_get("charge_id")?;
            let paid_cents: Option<i64> = row.try_get("paid_cents")?;
            let receipt_status: Option<String> = row.try_get("receipt_status")?;
            Ok(InvoiceRecord {
                id: row.try_get("id")?,
                amount_cents: row.try_get("amount_cents")?,
                status: row.try_get("status")?,
                payment: charge_id.zip(paid_cents).map(|(charge_id, amount_cents)| PaymentRecord { charge_id, amount_cents }),
                receipt_sent: receipt_status.as_deref() == Some("done"),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(reading("invoice rows"))?;

    // The date's invoice ids: the rows we have, and every id the date (or a period of it) would
    // give the zone's customers, so a charge or claim for an invoice we have no row for is still
    // ours.
    let ours = DateInvoices::new(&customers, &input.business_date, invoices.iter().map(|i| i.id.clone()));

    let charges =
        provider.charges().await.map_err(failure::from_call)?.into_iter().filter(|c| ours.contains(&c.invoice_id)).collect();
    // Open claims are few (crashes between a call and its record), and the partial index
    // `ledger_entries_open_claims` keeps finding them cheap.
    let claimed: Vec<String> =
        sqlx::query_scalar("SELECT key FROM ledger_entries WHERE status = 'claimed' AND kind = 'external'")
            .fetch_all(pool)
            .await
            .map_err(reading("open ledger claims"))?;
    let open_claims = claimed
        .iter()
        .filter_map(|key| key.strip_prefix("charge/"))
        .filter(|invoice| ours.contains(invoice))
        .map(str::to_owned)
        .collect();
    Ok(Books { invoices, charges, open_claims })
}

/// What comes before and after the invoice id in its receipt's ledger key.
fn receipt_key_around_invoice() -> (String, String) {
    const MARK: &str = "\u{0}";
    let key = billing_keys::receipt(MARK);
    let (before, after) = key.split_once(MARK).expect("a receipt key names its invoice");
    (before.to_owned(), after.to_owned())
}

/// The report's rows, on the ledger's connection (inside its transaction).
async fn insert_report(conn: &mut sqlx::AnyConnection, report: &ReconciliationReport) -> Result<(), EffectError> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO reconciliation_reports \
           (business_key, business_date, timezone, invoices, charges, matched, mismatches, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&report.business_key)
    .bind(&report.business_date)
    .bind(&report.timezone)
    .bind(count(report.invoices))
    .bind(count(report.charges))
    .bind(count(report.matched))
    .bind(count(report.mismatches.len() as u64))
    .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    .execute(&mut *conn)
    .await?;
    for (seq, m) in report.mismatches.iter().enumerate() {
        sqlx::query(
            "INSERT INTO reconciliation_mismatches (business_key, seq, invoice_id, kind, detail) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&report.business_key)
        .bind(seq as i64 + 1)
        .bind(&m.invoice_id)
        .bind(m.kind.as_str())
        .bind(&m.detail)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The one alert about `report`'s mismatches under `key`; returns the sink's delivery id.
///
/// The body is built from the recorded report only, so every attempt and re-run sends the same
/// request under the same key: the ledger replays it, or the sink collapses it.
async fn alert(
    ledger: &Ledger,
    sink: &SinkClient,
    caller: &Caller,
    key: &str,
    report: &ReconciliationReport,
) -> Result<String, ActivityError> {
    let key = key.to_owned();
    let body = alert_body(report);
    match ledger.claim_external::<String>(&key, &body, caller).await.map_err(failure::from_ledger)? {
        Claim::Done(id) => Ok(id),
        Claim::Proceed { attempts, .. } => {
            tracing::warn!(business_key = %key, attempts, mismatches = report.mismatches.len(), "alerting about mismatches");
            let id = sink.deliver(&key, &body).await.map_err(failure::from_call)?;
            ledger.complete_external(&key, &id).await.map_err(failure::from_ledger)?;
            Ok(id)
        }
    }
}

fn alert_body(report: &ReconciliationReport) -> Value {
    let mut lines: Vec<String> = report
        .mismatches
        .iter()
        .take(ALERT_LINES)
        .map(|m| format!("{} {}: {}", m.invoice_id, m.kind.as_str(), m.detail))
        .collect();
    if report.mismatches.len() > ALERT_LINES {
        lines.push(format!("... and {} more in the report", report.mismatches.len() - ALERT_LINES));
    }
    json!({
        "invoice_id": report.business_key,
        "customer_id": OPS_RECIPIENT,
        "channel": OPS_CHANNEL,
        "kind": "reconciliation_alert",
        "message": format!(
            "{} {}: {} mismatches over {} invoices and {} charges\n{}",
            if report.recheck { "Recheck of reconciliation" } else { "Reconciliation" },
            report.business_key, report.mismatches.len(), report.invoices, report.charges, lines.join("\n")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receipt_key_is_spelt_around_the_invoice_id() {
        let (before, after) = receipt_key_around_invoice();
        assert_eq!(format!("{before}INV-C00001-20261202{after}"), billing_keys::receipt("INV-C00001-20261202"));
    }
}
