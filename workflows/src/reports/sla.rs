//! `SlaCheckWorkflow`: alerts once about each scheduled job occurrence past its deadline.

use super::contracts::ReportsContract;
use super::types::*;
use super::{activity, keys};
use crate::business_date::date_field;
use crate::input::{InputError, JsonInput};
use crate::names;
use crate::search::{self, job};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// New alerts one check sends when the input gives no `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest `limit` accepted: bounds one activity attempt (one sink call per alert).
pub const MAX_LIMIT: u32 = 1_000;

const EXAMPLE: &str = r#"{"business_date": "2026-11-24", "limit": 100}"#;

impl SlaCheckInput {
    /// Reads and validates the input strictly: an unknown or missing field fails, naming it.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        let obj = input.object(&["business_date", "limit"], EXAMPLE)?;
        let limit = match obj.optional("limit") {
            None => DEFAULT_LIMIT,
            Some(_) => obj.integer("limit", 1, u64::from(MAX_LIMIT))? as u32,
        };
        Ok(Self { business_date: date_field(&obj, "business_date")?.to_string(), limit })
    }
}

/// `SlaCheckWorkflow` — input [`SlaCheckInput`] (`{"business_date": "2026-11-24"}`, optional
/// `"limit"`: most new alerts per check, 1 to 1000, default 100); result [`SlaReport`]
/// (`{"late": [keys], "alerted": n}`); business key `sla-check/{date}` (`BusinessKey`), with
/// `BusinessDate`, `JobName=sla-check` and `RunOutcome` = `completed` (nothing late) or
/// `alerted` (something is late, alerted by this check or an earlier one).
///
/// One `CheckSla` activity (activity ID = the business key, retried with backoff) reads the
/// `job_occurrences` still `waiting` or `running` past their `deadline_at` — by the server's
/// clock when it handed out the activity attempt (its start time), never the worker's, whose
/// clock may have jumped — whatever their business date.
/// Each not yet alerted gets one alert at the notification sink (idempotency key
/// `alert/sla/{occurrence key}`, through the ledger) and its `alerted_at` set; occurrences
/// alerted earlier are listed in `late` again but never alerted twice, whichever check or retry
/// runs. Invalid input fails at once, non-retryably, naming the field, before any effect.
#[workflow]
#[derive(Default)]
pub struct SlaCheckWorkflow;

#[workflow_methods]
impl SlaCheckWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::SLA_CHECK_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<SlaReport> {
        let input = SlaCheckInput::from_json(&input)?;
        let business_key = keys::sla_check(&input.business_date);
        ctx.upsert_search_attributes([
            search::BUSINESS_KEY.value_set(business_key.clone()),
            search::BUSINESS_DATE.value_set(input.business_date.clone()),
            search::JOB_NAME.value_set(job::SLA_CHECK.to_owned()),
        ]);
        let report = ctx.execute_activity(ReportsContract::check_sla, input, activity(business_key)).await?;
        let outcome = if report.late.is_empty() { ReportOutcome::Completed } else { ReportOutcome::Alerted };
        ctx.upsert_search_attributes([search::RUN_OUTCOME.value_set(outcome.as_str().to_owned())]);
        if !ctx.is_replaying() && !report.late.is_empty() {
            tracing::warn!(late = report.late.len(), alerted = report.alerted, "job occurrences past their deadline");
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limit_is_optional_and_bounded() {
        let input = SlaCheckInput::from_json(&json!({"business_date": "2026-11-24"}).into()).unwrap();
        assert_eq!(input, SlaCheckInput { business_date: "2026-11-24".into(), limit: DEFAULT_LIMIT });
        let input = SlaCheckInput::from_json(&json!({"business_date": "2026-11-24", "limit": 5}).into()).unwrap();
        assert_eq!(input.limit, 5);
        for bad in [json!(0), json!(1001), json!(-1), json!("5")] {
            let err = SlaCheckInput::from_json(&json!({"business_date": "2026-11-24", "limit": bad}).into());
            assert!(err.unwrap_err().to_string().contains("field `limit`"), "{bad}");
        }
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let err = SlaCheckInput::from_json(&json!({"limit": 3}).into()).unwrap_err();
        assert!(err.to_string().contains("missing field `business_date`"), "{err}");
        let err = SlaCheckInput::from_json(&json!({"business_date": "2026-11-24", "timezone": "UTC"}).into()).unwrap_err();
        assert!(err.to_string().contains("unknown field `timezone`"), "{err}");
    }
}
