//! Which workflows a job may start, and its input read the way that workflow will read it.
//!
//! A job's occurrence starts `workflow` as a child on the worker's own task queue with the job's
//! `input` plus `business_date`. A type no punctual worker registers would leave that child's
//! workflow task failing and retried forever, and an input the workflow refuses would fail
//! every fire; `punctual schedule apply` checks both up front, with the very parsers the
//! workflows use, so a mistake in the jobs file stops the load instead.

use crate::billing::batch::BatchInput;
use crate::billing::fire::FireBillingInput;
use crate::billing::run::BillingRunInput;
use crate::input::{InputError, JsonInput};
use crate::names;
use crate::reports::types::{ReconciliationInput, SlaCheckInput};
use serde_json::{Map, Value};

/// The workflow types a job may start: every punctual workflow that takes a `business_date`.
pub const JOB_WORKFLOWS: &[&str] = &[
    names::BILLING_RUN_WORKFLOW,
    names::BILLING_BATCH_WORKFLOW,
    names::BILLING_BULK_BATCH_WORKFLOW,
    names::FIRE_BILLING_WORKFLOW,
    names::RECONCILIATION_WORKFLOW,
    names::SLA_CHECK_WORKFLOW,
];

/// Why a job's workflow or input can never run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnableError {
    /// `workflow` is not a type a job can start.
    #[error("\"{workflow}\" is not a workflow a job can start; one of {}", JOB_WORKFLOWS.join(", "))]
    UnknownWorkflow {
        /// The type as written.
        workflow: String,
    },
    /// The workflow would refuse the input at every fire.
    #[error("{workflow} would refuse this input at every fire: {error}")]
    Input {
        /// The job's workflow type.
        workflow: String,
        /// What its parser said, naming the field.
        error: InputError,
    },
}

impl RunnableError {
    /// Whether the `workflow` key is at fault (else the `input` key is).
    pub fn is_about_workflow(&self) -> bool {
        matches!(self, Self::UnknownWorkflow { .. })
    }
}

/// Checks that `workflow` is a job workflow and that it accepts `input` plus `business_date` (any
/// valid date: the fire supplies the real one).
pub fn check(workflow: &str, input: &Map<String, Value>, business_date: &str) -> Result<(), RunnableError> {
    if workflow == names::BILLING_RUN_WORKFLOW && input.contains_key("resume") {
        let error = crate::billing::run::resume_refused("a value in the job's input");
        return Err(RunnableError::Input { workflow: workflow.to_owned(), error });
    }
    let mut with_date = input.clone();
    with_date.insert("business_date".to_owned(), Value::String(business_date.to_owned()));
    let json = JsonInput::from(Value::Object(with_date));
    let parsed = match workflow {
        names::BILLING_RUN_WORKFLOW => BillingRunInput::from_json(&json).map(drop),
        names::BILLING_BATCH_WORKFLOW => BatchInput::from_json(&json).map(drop),
        names::BILLING_BULK_BATCH_WORKFLOW => {
            BatchInput::with_at_most(&json, crate::billing::bulk_batch::MAX_BULK_BATCH).map(drop)
        }
        names::FIRE_BILLING_WORKFLOW => FireBillingInput::from_json(&json).map(drop),
        names::RECONCILIATION_WORKFLOW => ReconciliationInput::from_json(&json).map(drop),
        names::SLA_CHECK_WORKFLOW => SlaCheckInput::from_json(&json).map(drop),
        other => return Err(RunnableError::UnknownWorkflow { workflow: other.to_owned() }),
    };
    parsed.map_err(|error| RunnableError::Input { workflow: workflow.to_owned(), error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().expect("object").clone()
    }

    #[test]
    fn every_job_workflow_is_checked_and_other_types_are_refused() {
        for workflow in JOB_WORKFLOWS {
            let err = check(workflow, &obj(json!({"no_such_field": 1})), "2026-11-24").unwrap_err();
            assert!(matches!(err, RunnableError::Input { .. }), "{workflow} did not read its input: {err}");
        }
        let err = check("NoSuchWorkflow", &Map::new(), "2026-11-24").unwrap_err();
        assert!(err.is_about_workflow() && err.to_string().contains("BillingRunWorkflow"), "{err}");
        assert!(check(names::PAYMENT_SAGA_WORKFLOW, &Map::new(), "2026-11-24").unwrap_err().is_about_workflow());
    }

    #[test]
    fn the_input_is_read_as_the_workflow_reads_it() {
        assert_eq!(check("SlaCheckWorkflow", &Map::new(), "2026-11-24"), Ok(()));
        assert_eq!(check("BillingRunWorkflow", &obj(json!({"timezone": "Asia/Shanghai"})), "2026-11-24"), Ok(()));
        let err = check("BillingRunWorkflow", &obj(json!({"timezone": "Mars/Olympus"})), "2026-11-24").unwrap_err();
        assert!(!err.is_about_workflow() && err.to_string().contains("field `timezone`"), "{err}");
        let err = check("BillingRunWorkflow", &Map::new(), "2026-11-24").unwrap_err();
        assert!(err.to_string().contains("missing field `timezone`"), "{err}");
        let resume = obj(json!({"timezone": "Asia/Shanghai", "resume": {"after": "C99999", "batches": 0}}));
        let err = check("BillingRunWorkflow", &resume, "2026-11-24").unwrap_err();
        assert!(err.to_string().contains("field `resume`"), "{err}");
    }
}
