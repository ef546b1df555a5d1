//! `ReconciliationWorkflow`: the provider's charges and refunds against our invoices, payments
//! and ledger, for one business date and time zone.

use super::contracts::ReportsContract;
use super::types::*;
use super::{activity, keys};
use crate::business_date::{date_field, timezone_field};
use crate::input::{InputError, JsonInput};
use crate::names;
use crate::search::{self, job};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

const EXAMPLE: &str = r#"{"business_date": "2026-11-24", "timezone": "Asia/Shanghai"}"#;

impl ReconciliationInput {
    /// Reads and validates the input strictly: an unknown or missing field fails, naming it.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        let obj = input.object(&["business_date", "timezone", "recheck"], EXAMPLE)?;
        let recheck = match obj.optional("recheck") {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| InputError::Invalid {
                field: "recheck",
                expected: "true or false".to_owned(),
                got: v.to_string(),
            })?,
        };
        Ok(Self {
            business_date: date_field(&obj, "business_date")?.to_string(),
            timezone: timezone_field(&obj, "timezone")?.name().to_owned(),
            recheck,
        })
    }
}

/// `ReconciliationWorkflow` — input [`ReconciliationInput`]
/// (`{"business_date": "2026-11-24", "timezone": "Asia/Shanghai"}`); result
/// [`ReconciliationReport`]; business key `reconcile/{timezone}/{date}` (`BusinessKey`), with
/// `BusinessDate`, `JobName=reconciliation` and `RunOutcome` = `completed` (no mismatch) or
/// `mismatches`.
///
/// One `ReconcilePayments` activity (activity ID = the business key, retried with backoff until
/// it succeeds) compares, for the zone's customers and the date: the provider's charges and
/// refunds, our invoices and payment rows, and open `charge/...` claims in the ledger; see
/// [`MismatchKind`] for what is flagged. It records the report and its mismatches once (ledger,
/// exactly once by transaction) and, when there are mismatches, sends one alert to the
/// notification sink (idempotency key `alert/reconcile/{timezone}/{date}`).
///
/// **Re-runs.** The first report recorded for a business key is *the* record: running the same
/// date and zone again — a retry, a second trigger, a backfill, or a run after the data changed —
/// replays that report (`replayed: true`) and sends no second alert: this job answers "what did
/// the books say at the close". Run it after the date's billing run has finished: a charge still
/// in flight is an open claim. **`"recheck": true`** reads the books as they are now (after a
/// repair, or to look for damage since): its report is recorded under
/// `reconcile/{timezone}/{date}/recheck/{run_id}` (in the ledger, beside the record), and its
/// alert under `alert/reconcile/{timezone}/{date}/{digest of the alert}` (findings and counts), so
/// rechecks that find the same books alert once and new damage alerts again.
/// Invalid input fails at once, non-retryably, naming the field, before any effect.
#[workflow]
#[derive(Default)]
pub struct ReconciliationWorkflow;

#[workflow_methods]
impl ReconciliationWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::RECONCILIATION_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<ReconciliationReport> {
        let input = ReconciliationInput::from_json(&input)?;
        let business_key = keys::reconcile(&input.timezone, &input.business_date);
        ctx.upsert_search_attributes([
            search::BUSINESS_KEY.value_set(business_key.clone()),
            search::BUSINESS_DATE.value_set(input.business_date.clone()),
            search::JOB_NAME.value_set(job::RECONCILIATION.to_owned()),
        ]);
        let report = ctx.execute_activity(ReportsContract::reconcile_payments, input, activity(business_key)).await?;
        let outcome = if report.mismatches.is_empty() { ReportOutcome::Completed } else { ReportOutcome::Mismatches };
        ctx.upsert_search_attributes([search::RUN_OUTCOME.value_set(outcome.as_str().to_owned())]);
        if !ctx.is_replaying() {
            tracing::info!(
                business_key = %report.business_key,
                invoices = report.invoices,
                mismatches = report.mismatches.len(),
                replayed = report.replayed,
                "reconciliation done"
            );
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_the_documented_example() {
        let value: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        let input = ReconciliationInput::from_json(&value.into()).unwrap();
        assert_eq!(input.business_date, "2026-11-24");
        assert_eq!(input.timezone, "Asia/Shanghai");
    }

    #[test]
    fn unknown_missing_and_bad_fields_are_named() {
        let cases = [
            (json!({"business_date": "2026-11-24"}), "missing field `timezone`"),
            (json!({"timezone": "Asia/Shanghai"}), "missing field `business_date`"),
            (json!({"business_date": "2026-11-24", "timezone": "Asia/Shanghai", "limit": 3}), "unknown field `limit`"),
            (json!({"business_date": "2026-11-31", "timezone": "Asia/Shanghai"}), "field `business_date`"),
            (json!({"business_date": "2026-11-24", "timezone": "Asia/Shangai"}), "field `timezone`"),
            (json!({"business_date": "2026-11-24", "timezone": "Asia/Shanghai", "recheck": "yes"}), "field `recheck`"),
        ];
        for (input, expected) in cases {
            let err = ReconciliationInput::from_json(&input.clone().into()).unwrap_err();
            assert!(err.to_string().contains(expected), "{input} -> {err}");
            assert!(err.into_failure().is_non_retryable());
        }
    }
}
