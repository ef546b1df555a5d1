//! Reading customers: keyset pages by time zone.

use crate::failure;
use crate::ledger::Ledger;
use crate::zone_names::{names_of_zone, placeholders};
use punctual_workflows::billing::types::{CustomerPage, ListCustomersInput};
use sqlx::Row;
use temporalio_sdk::activities::ActivityError;

/// One page of customer ids in `input.timezone` after `input.after`, ascending. A customer row
/// may name the zone by any of its names ([`names_of_zone`]: `PRC` for `Asia/Shanghai`).
pub(super) async fn page(ledger: &Ledger, input: &ListCustomersInput) -> Result<CustomerPage, ActivityError> {
    let names = names_of_zone(&input.timezone);
    let n = names.len();
    let sql = format!(
        "SELECT id FROM customers WHERE timezone IN ({}) AND id > ${} ORDER BY id LIMIT ${}",
        placeholders(1, n),
        n + 1,
        n + 2
    );
    let mut query = sqlx::query(&sql);
    for name in &names {
        query = query.bind(name);
    }
    let rows = query
        .bind(input.after.as_deref().unwrap_or(""))
        .bind(i64::from(input.limit))
        .fetch_all(ledger.pool())
        .await
        .map_err(|e| failure::retryable(format!("listing customers: {e}")))?;
    let customer_ids = rows
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()
        .map_err(|e| failure::retryable(format!("reading customer ids: {e}")))?;
    Ok(CustomerPage { customer_ids, customer_refs: Vec::new() })
}
