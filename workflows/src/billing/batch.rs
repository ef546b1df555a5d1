//! `BillingBatchWorkflow`: bills one page of customers and collects each invoice through a saga.

use super::contracts::BillingContract;
use super::options::effect;
use super::sagas::run_sagas;
use super::types::*;
use crate::business_date::{date_field, timezone_field};
use crate::input::{InputError, JsonInput};
use crate::join::join_in_order;
use crate::search::{self, job};
use crate::{keys, names};
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// Most customers one batch takes: bounds the batch's history (a generate-bill activity and a
/// saga child per customer) far below Temporal's limits.
pub const MAX_BATCH: usize = 200;

const EXAMPLE: &str = r#"{"business_date": "2026-11-24", "timezone": "Asia/Shanghai", "customer_ids": ["C00001"]}"#;

/// Input of `BillingBatchWorkflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchInput {
    /// Business date billed.
    pub business_date: String,
    /// Time zone of the run.
    pub timezone: String,
    /// Customers of this page.
    pub customer_ids: Vec<String>,
    /// Their pseudonyms, one per id, when the worker has a pseudonym key (see
    /// [`CustomerPage::shown`]); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_refs: Vec<String>,
}

impl BatchInput {
    /// Reads and validates the batch input, naming the offending field.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        Self::with_at_most(input, MAX_BATCH)
    }

    /// [`BatchInput::from_json`] for a batch workflow that takes up to `max` customers.
    pub fn with_at_most(input: &JsonInput, max: usize) -> Result<Self, InputError> {
        let obj = input.object(&["business_date", "timezone", "customer_ids", "customer_refs"], EXAMPLE)?;
        let customer_ids = obj.string_list("customer_ids", max)?;
        let customer_refs = match obj.optional("customer_refs") {
            None => Vec::new(),
            Some(_) => obj.string_list("customer_refs", max)?,
        };
        if !customer_refs.is_empty() && customer_refs.len() != customer_ids.len() {
            return Err(InputError::Invalid {
                field: "customer_refs",
                expected: format!("one pseudonym per customer id ({})", customer_ids.len()),
                got: format!("{} pseudonyms", customer_refs.len()),
            });
        }
        Ok(Self {
            business_date: date_field(&obj, "business_date")?.to_string(),
            timezone: timezone_field(&obj, "timezone")?.name().to_owned(),
            customer_ids,
            customer_refs,
        })
    }
}

/// `BillingBatchWorkflow` — workflow ID `billing-batch/{timezone}/{date}/{first customer}`
/// (customers as [`CustomerPage::shown`] names them, here and in the ids below);
/// input [`BatchInput`]; result [`BillingTotals`].
///
/// Generates every customer's bill (`GenerateBill`, keyed `bill/{customer}/{date}`) concurrently,
/// then starts one `PaymentSagaWorkflow` per invoice (workflow ID `payment/{invoice}`,
/// reuse policy allow-duplicate-failed-only) and waits for all. A saga that already ran for the
/// invoice (an earlier or concurrent run of the same business key) is not started again and is
/// counted as `already_done`.
#[workflow]
#[derive(Default)]
pub struct BillingBatchWorkflow;

#[workflow_methods]
impl BillingBatchWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::BILLING_BATCH_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<BillingTotals> {
        let batch = BatchInput::from_json(&input)?;
        let date = batch.business_date.clone();
        ctx.upsert_search_attributes([
            search::BUSINESS_KEY.value_set(ctx.workflow_id().to_owned()),
            search::BUSINESS_DATE.value_set(date.clone()),
            search::JOB_NAME.value_set(job::BILLING_BATCH.to_owned()),
        ]);
        let mut totals = BillingTotals { customers: batch.customer_ids.len() as u64, ..Default::default() };

        let shown = shown_list(&batch.customer_ids, &batch.customer_refs);
        let bills = join_in_order(batch.customer_ids.iter().zip(&shown).map(|(customer, shown)| {
            let input = GenerateBillInput { customer_id: customer.clone(), business_date: date.clone() };
            ctx.execute_activity(BillingContract::generate_bill, input, effect(keys::bill_activity(shown, &date)))
        }))
        .await;

        let mut generated = Vec::new();
        for bill in bills {
            match bill {
                Ok(bill) => generated.push(bill),
                Err(err) => {
                    totals.failed += 1;
                    if !ctx.is_replaying() {
                        tracing::error!(error = %crate::failures::message(&err), "bill generation failed");
                    }
                }
            }
        }
        run_sagas(ctx, generated, &mut totals).await?;
        Ok(totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<BatchInput, InputError> {
        BatchInput::from_json(&JsonInput::from(value))
    }

    #[test]
    fn pseudonyms_are_optional_but_one_per_customer() {
        let base = json!({"business_date": "2026-11-24", "timezone": "Asia/Shanghai", "customer_ids": ["C1", "C2"]});
        let plain = parse(base.clone()).unwrap();
        assert_eq!(shown_list(&plain.customer_ids, &plain.customer_refs), ["C1", "C2"]);
        let mut with = base.clone();
        with["customer_refs"] = json!(["c-a", "c-b"]);
        let keyed = parse(with).unwrap();
        assert_eq!(shown_list(&keyed.customer_ids, &keyed.customer_refs), ["c-a", "c-b"]);
        let mut short = base;
        short["customer_refs"] = json!(["c-a"]);
        let err = parse(short).unwrap_err().to_string();
        assert!(err.contains("customer_refs") && err.contains("one pseudonym per customer id"), "{err}");
    }

    #[test]
    fn a_bill_without_pseudonyms_shows_its_ids() {
        let bill = Bill {
            invoice_id: "INV-C1-20261124".into(),
            customer_id: "C1".into(),
            business_date: "2026-11-24".into(),
            amount_cents: 1,
            payment_method: "pm".into(),
            customer_ref: String::new(),
            invoice_ref: String::new(),
        };
        assert_eq!((bill.shown_invoice(), bill.shown_customer()), ("INV-C1-20261124", "C1"));
        let json = serde_json::to_value(&bill).unwrap();
        assert!(json.get("invoice_ref").is_none(), "no new fields in old-shaped results: {json}");
        let keyed = Bill { customer_ref: "c-x".into(), invoice_ref: "INV-c-x-20261124".into(), ..bill };
        assert_eq!((keyed.shown_invoice(), keyed.shown_customer()), ("INV-c-x-20261124", "c-x"));
    }
}
