//! `BillingRunWorkflow`: a whole billing run for one business date in one time zone.

use super::batch::{BatchInput, BillingBatchWorkflow};
use super::bulk_batch::BillingBulkBatchWorkflow;
use super::contracts::BillingContract;
use super::options::{activity, already_started, child, rerunnable_page};
use super::types::*;
use crate::business_date::{date_field, timezone_field};
use crate::input::{InputError, InputObject, JsonInput, to_input};
use crate::runs::{self, RunOutcomeRecord};
use crate::search::{self, job};
use crate::{keys, names};
use serde::{Deserialize, Serialize};
use temporalio_common::WorkflowDefinition;
use temporalio_macros::{workflow, workflow_methods};

use temporalio_sdk::{ChildWorkflowOptions, ContinueAsNewOptions, WorkflowContext, WorkflowResult};

/// Customers per batch child in the per-customer mode.
pub const PAGE_SIZE: u32 = 50;
/// Customers per batch child in the bulk mode: large enough that the four steps' round trips
/// are small against the page's work, small enough that a batch's payloads stay far below
/// Temporal's limits (see [`MAX_BULK_BATCH`](super::bulk_batch::MAX_BULK_BATCH)).
pub const BULK_PAGE_SIZE: u32 = 500;
/// Batches per run before continuing as new, keeping each run's history small whatever the
/// number of customers (about 10 events per batch).
pub const BATCHES_PER_RUN: u64 = 40;

const EXAMPLE: &str = r#"{"business_date": "2026-11-24", "timezone": "Asia/Shanghai", "mode": "bulk"}"#;

/// How a run bills each page of customers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingMode {
    /// A `BillingBatchWorkflow` per 50 customers, a `PaymentSagaWorkflow` per customer: every
    /// customer's payment is a workflow of its own (findable by `CustomerId`). The default, and
    /// what every run before the bulk mode did.
    #[default]
    PerCustomer,
    /// A `BillingBulkBatchWorkflow` per 500 customers: one activity per step for the page, a
    /// saga only for customers whose payment is refused. Same keys, same effects, several times
    /// the throughput; for runs of tens of thousands of customers.
    Bulk,
}

impl BillingMode {
    /// The input's optional `mode` field; absent means per customer.
    pub fn field(obj: &InputObject<'_>) -> Result<Self, InputError> {
        match obj.optional("mode") {
            None => Ok(BillingMode::PerCustomer),
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| InputError::Invalid {
                field: "mode",
                expected: r#""per_customer" or "bulk""#.to_owned(),
                got: v.to_string(),
            }),
        }
    }

    fn page_size(self) -> u32 {
        match self {
            BillingMode::PerCustomer => PAGE_SIZE,
            BillingMode::Bulk => BULK_PAGE_SIZE,
        }
    }
}

/// The refusal of a `resume` given by a caller (`got` says where it was found): only a run sets
/// it, for its own continuation, and from anyone else it would skip customers.
pub fn resume_refused(got: &str) -> InputError {
    InputError::Invalid {
        field: "resume",
        expected: "absent: a run sets it only for its own continuation".to_owned(),
        got: got.to_owned(),
    }
}

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
    /// `per_customer` (default) or `bulk`; see [`BillingMode`].
    #[serde(default, skip_serializing_if = "is_per_customer")]
    pub mode: BillingMode,
    /// Internal: progress carried across continue-as-new. Users leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
}

fn is_per_customer(mode: &BillingMode) -> bool {
    *mode == BillingMode::PerCustomer
}

impl BillingRunInput {
    /// Reads and validates the run input, naming the offending field.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        let obj = input.object(&["business_date", "timezone", "mode", "resume"], EXAMPLE)?;
        let mode = BillingMode::field(&obj)?;
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
            mode,
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
/// same business key (under any workflow ID) skips a page still running under another run and
/// runs a completed page again (to reach a customer that failed or a saga stopped by hand; every
/// recorded effect replays and every finished saga is `already_done`); every effect below is
/// keyed in the ledger, so nothing is billed, charged or notified twice.
/// Invalid input fails at once, non-retryably, before any effect.
#[workflow]
#[derive(Default)]
pub struct BillingRunWorkflow;

#[workflow_methods]
impl BillingRunWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::BILLING_RUN_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<BillingRunSummary> {
        let run = BillingRunInput::from_json(&input)?;
        // `resume` is the run's own state, handed to its continuation; from a caller it would skip
        // customers and complete the date's key with them unbilled.
        if run.resume.is_some() && ctx.info().continued_from_run_id().is_none() {
            return Err(resume_refused("a value on a run that was not continued").into());
        }
        let key = keys::billing_run(&run.timezone, &run.business_date);
        let mut user_input = serde_json::json!({ "business_date": run.business_date, "timezone": run.timezone });
        if run.mode != BillingMode::PerCustomer {
            user_input["mode"] = serde_json::to_value(run.mode).unwrap_or_default();
        }
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
    let (date, tz, mode) = (run.business_date.clone(), run.timezone.clone(), run.mode);
    let page_size = mode.page_size();
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
                ListCustomersInput { timezone: tz.clone(), after: state.after.clone(), limit: page_size },
                activity(format!("list-customers-after-{}", state.shown_after().unwrap_or("start"))),
            )
            .await?;
        let shown = page.shown();
        let (Some(first), Some(last), Some(last_shown)) = (shown.first(), page.customer_ids.last(), shown.last()) else {
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
        let ran = match mode {
            BillingMode::PerCustomer => {
                let options =
                    if ctx.patched(RERUN_COMPLETED_PAGES) { rerunnable_page(batch_id.clone()) } else { child(batch_id.clone()) };
                run_batch(ctx, BillingBatchWorkflow::run, &input, options).await?
            }
            // A completed bulk page runs again too: it completes whatever its customers' fate
            // (a wrong provider URL fails every charge, a refused bill is only counted), so only
            // running it again reaches them once the cause is fixed. Every step replays what is
            // recorded and redoes the rest under the same keys; the sagas it falls back to run
            // again if they failed or were stopped by hand.
            BillingMode::Bulk => {
                let options = if ctx.patched(RERUN_COMPLETED_BULK_PAGES) {
                    rerunnable_page(batch_id.clone())
                } else {
                    child(batch_id.clone())
                };
                run_batch(ctx, BillingBulkBatchWorkflow::run, &input, options).await?
            }
        };
        match ran {
            Some(totals) => state.totals.add(&totals),
            None => {
                // An earlier run of this business key already completed (or is running)
                // this batch: its effects are done or in flight there.
                state.totals.customers += count as u64;
                state.totals.already_done += count as u64;
            }
        }
        if !ctx.is_replaying() {
            tracing::info!(batch = %batch_id, customers = count, "billing batch done");
        }
        state.after_shown = (last_shown != last).then_some(last_shown);
        state.after = Some(last);
        state.batches += 1;
        batches_this_run += 1;
        if count < page_size as usize {
            break;
        }
        if batches_this_run >= BATCHES_PER_RUN {
            let next = BillingRunInput { business_date: date, timezone: tz, mode, resume: Some(state) };
            ctx.continue_as_new(to_input(&next), ContinueAsNewOptions::default())?;
            unreachable!("continue_as_new always returns Err");
        }
    }
    let outcome = if state.totals.failed == 0 { Outcome::Completed } else { Outcome::Failed };
    ctx.upsert_search_attributes([search::outcome(outcome)]);
    Ok(BillingRunSummary { business_key, business_date: date, timezone: tz, batches: state.batches, totals: state.totals })
}

/// Patch marker of re-running a completed per-customer page when its date runs again
/// ([`rerunnable_page`]); runs from before it keep the options they started with.
const RERUN_COMPLETED_PAGES: &str = "rerun-completed-pages";

/// Patch marker of re-running a completed bulk page when its date runs again, as
/// [`RERUN_COMPLETED_PAGES`] does for per-customer pages; runs from before it keep `child`.
const RERUN_COMPLETED_BULK_PAGES: &str = "rerun-completed-bulk-pages";

/// Runs one page as a `workflow` child (either mode's batch) with `options` and returns its
/// totals, or `None` when that batch already ran (or runs) under another run of the key, as far
/// as `options` let it run again.
async fn run_batch<W>(
    ctx: &WorkflowContext<BillingRunWorkflow>,
    workflow: W,
    input: &BatchInput,
    options: ChildWorkflowOptions,
) -> WorkflowResult<Option<BillingTotals>>
where
    W: WorkflowDefinition<Input = JsonInput, Output = BillingTotals> + 'static,
{
    match ctx.start_child_workflow(workflow, to_input(input), options).await {
        Ok(started) => Ok(Some(started.result().await?)),
        Err(err) if already_started(&err) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mode_defaults_to_per_customer_and_is_named_when_wrong() {
        let plain = json!({"business_date": "2026-11-24", "timezone": "Asia/Shanghai"});
        let run = BillingRunInput::from_json(&JsonInput::from(plain.clone())).unwrap();
        assert_eq!(run.mode, BillingMode::PerCustomer);
        // A continued per-customer run's input keeps the shape runs had before the bulk mode.
        assert!(serde_json::to_value(&run).unwrap().get("mode").is_none());
        let mut bulk = plain.clone();
        bulk["mode"] = json!("bulk");
        let run = BillingRunInput::from_json(&JsonInput::from(bulk)).unwrap();
        assert_eq!((run.mode, run.mode.page_size()), (BillingMode::Bulk, BULK_PAGE_SIZE));
        let mut wrong = plain;
        wrong["mode"] = json!("fast");
        let err = BillingRunInput::from_json(&JsonInput::from(wrong)).unwrap_err().to_string();
        assert!(err.contains("field `mode`") && err.contains("\"bulk\""), "{err}");
    }
}
