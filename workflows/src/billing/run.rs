//! `BillingRunWorkflow`: a whole billing run for one business date in one time zone.

use super::batch::{BatchInput, BillingBatchWorkflow};
use super::contracts::BillingContract;
use super::options::{activity, already_started, child};
use super::types::*;
use crate::business_date::{date_field, timezone_field};
use crate::input::{InputError, JsonInput, to_input};
use crate::runs::{self, RunOutcomeRecord};
use crate::search::{self, job};
use crate::{keys, names};
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ContinueAsNewOptions, WorkflowContext, WorkflowResult,
};

/// Customers per batch child.
pub const PAGE_SIZE: u32 = 50;
/// Batches per run before continuing as new, keeping each run's history small whatever the
/// number of customers (about 10 events per batch).
pub const BATCHES_PER_RUN: u64 = 40;

const EXAMPLE: &str = r#"{"business_date": "2026-11-24", "timezone": "Asia/Shanghai"}"#;

/// Where a continued run resumes; set by the workflow itself when it continues as new.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// Last customer id already handed to a batch.
    pub after: Option<String>,
    /// That customer's pseudonym, when it has one: names the next page's activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_shown: Option<String>,
    /// Batches run so far.
    pub batches: u64,
    /// Totals so far.
    pub totals: BillingTotals,
}

impl Resume {
    /// The last customer handed to a batch, as Temporal may show it (its pseudonym if any).
    pub fn shown_after(&self) -> Option<&str> {
        self.after_shown.as_deref().or(self.after.as_deref())
    }
}

/// Input of `BillingRunWorkflow`: `{"business_date": "YYYY-MM-DD", "timezone": "Area/City"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRunInput {
    /// Business date billed.
    pub business_date: String,
    /// IANA time zone whose customers are billed.
    pub timezone: String,
    /// Internal: progress carried across continue-as-new. Users leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
}

impl BillingRunInput {
    /// Reads and validates the run input, naming the offending field.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        let obj = input.object(&["business_date", "timezone", "resume"], EXAMPLE)?;
        let resume = match obj.optional("resume") {
            None => None,
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| InputError::Invalid {
                field: "resume",
                expected: "the object a continued run passes itself (leave it out)".to_owned(),
                got: e.to_string(),
            })?),
        };
        Ok(Self {
            business_date: date_field(&obj, "business_date")?.to_string(),
            timezone: timezone_field(&obj, "timezone")?.name().to_owned(),
            resume,
        })
    }
}

/// `BillingRunWorkflow` — workflow ID `billing-run/{timezone}/{date}`; input
/// [`BillingRunInput`]; result [`BillingRunSummary`].
///
/// Pages through the time zone's customers (`ListCustomersPage`, keyset pagination) and runs
/// each page as a `BillingBatchWorkflow` child, one after another; continues as new every
/// [`BATCHES_PER_RUN`] batches so a run of any size stays within history limits. Re-running the
/// same business key (under any workflow ID) starts no batch that already completed, and every
/// effect below is keyed in the ledger, so nothing is billed, charged or notified twice.
/// Invalid input fails at once, non-retryably, before any effect.
#[workflow]
#[derive(Default)]
pub struct BillingRunWorkflow;

#[workflow_methods]
impl BillingRunWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::BILLING_RUN_WORKFLOW)]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: JsonInput,
    ) -> WorkflowResult<BillingRunSummary> {
        let run = BillingRunInput::from_json(&input)?;
        let key = keys::billing_run(&run.timezone, &run.business_date);
        let user_input = serde_json::json!({ "business_date": run.business_date, "timezone": run.timezone });
        let result = bill(ctx, run).await;
        let outcome = runs::outcome_of(&result, |summary| {
            if summary.totals.failed == 0 { Outcome::Completed.as_str() } else { Outcome::Failed.as_str() }
        });
        if let Some((outcome, error)) = outcome {
            if error.is_some() {
                // The run itself failed (not only some of its payments): say so in the list.
                ctx.upsert_search_attributes([search::outcome(Outcome::Failed)]);
            }
            let record = RunOutcomeRecord {
                job: job::BILLING_RUN.to_owned(),
                business_key: key,
                workflow_type: names::BILLING_RUN_WORKFLOW.to_owned(),
                outcome: outcome.to_owned(),
                error,
                input: user_input,
            };
            runs::record(ctx, record).await;
        }
        result
    }
}

/// The run proper: pages, batches, continue-as-new; see [`BillingRunWorkflow`].
async fn bill(ctx: &mut WorkflowContext<BillingRunWorkflow>, run: BillingRunInput) -> WorkflowResult<BillingRunSummary> {
    let (date, tz) = (run.business_date.clone(), run.timezone.clone());
    let business_key = keys::billing_run(&tz, &date);
    ctx.upsert_search_attributes([
        search::BUSINESS_KEY.value_set(business_key.clone()),
        search::BUSINESS_DATE.value_set(date.clone()),
        search::JOB_NAME.value_set(job::BILLING_RUN.to_owned()),
    ]);
    let mut state = run.resume.clone().unwrap_or_default();
    let mut batches_this_run = 0;
    loop {
        let page = ctx
            .execute_activity(
                BillingContract::list_customers,
                ListCustomersInput { timezone: tz.clone(), after: state.after.clone(), limit: PAGE_SIZE },
                activity(format!("list-customers-after-{}", state.shown_after().unwrap_or("start"))),
            )
            .await?;
        let shown = page.shown();
        let (Some(first), Some(last), Some(last_shown)) =
            (shown.first(), page.customer_ids.last(), shown.last())
        else {
            break;
        };
        let batch_id = keys::billing_batch(&tz, &date, first);
        let (last, last_shown, count) = (last.clone(), last_shown.clone(), page.customer_ids.len());
        let input = BatchInput {
            business_date: date.clone(),
            timezone: tz.clone(),
            customer_ids: page.customer_ids,
            customer_refs: page.customer_refs,
        };
        let started = ctx
            .start_child_workflow(BillingBatchWorkflow::run, to_input(&input), child(batch_id.clone()))
            .await;
        match started {
            Ok(started) => state.totals.add(&started.result().await?),
            Err(err) if already_started(&err) => {
                // An earlier run of this business key already completed (or is running)
                // this batch: its effects are done or in flight there.
                state.totals.customers += count as u64;
                state.totals.already_done += count as u64;
            }
            Err(err) => return Err(err.into()),
        }
        if !ctx.is_replaying() {
            tracing::info!(batch = %batch_id, customers = count, "billing batch done");
        }
        state.after_shown = (last_shown != last).then_some(last_shown);
        state.after = Some(last);
        state.batches += 1;
        batches_this_run += 1;
        if count < PAGE_SIZE as usize {
            break;
        }
        if batches_this_run >= BATCHES_PER_RUN {
            let next = BillingRunInput { business_date: date, timezone: tz, resume: Some(state) };
            ctx.continue_as_new(to_input(&next), ContinueAsNewOptions::default())?;
            unreachable!("continue_as_new always returns Err");
        }
    }
    let outcome = if state.totals.failed == 0 { Outcome::Completed } else { Outcome::Failed };
    ctx.upsert_search_attributes([search::outcome(outcome)]);
    Ok(BillingRunSummary {
        business_key,
        business_date: date,
        timezone: tz,
        batches: state.batches,
        totals: state.totals,
    })
}
