//! Reading customers: keyset pages by time zone.

use crate::failure;
use crate::ledger::Ledger;
use punctual_workflows::billing::types::{CustomerPage, ListCustomersInput};
use sqlx::Row;
use temporalio_sdk::activities::ActivityError;

/// One page of customer ids in `input.timezone` after `input.after`, ascending.
pub(super) async fn page(ledger: &Ledger, input: &ListCustomersInput) -> Result<CustomerPage, ActivityError> {
    let rows = sqlx::query("SELECT id FROM customers WHERE timezone = $1 AND id > $2 ORDER BY id LIMIT $3")
        .bind(&input.timezone)
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
