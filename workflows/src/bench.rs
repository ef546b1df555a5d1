//! The fixed benchmark contract: `BenchWorkflow` running `BenchActivity` N times.
//!
//! This contract is shared with workers written in other Temporal SDKs so their throughput can be
//! compared on the same server; its names, input and result must not change.

use crate::input::{InputError, JsonInput};
use crate::names;
use std::time::Duration;
use temporalio_macros::{activity_definitions, workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult, activities::ActivityError};

/// Upper bound on `activities`: each sequential activity costs about six history events and a
/// workflow history is capped at 51,200 events, so more than this could never complete.
pub const MAX_ACTIVITIES: u64 = 5_000;
/// Upper bound on `payload_bytes`: Temporal rejects payloads over 2 MiB by default.
pub const MAX_PAYLOAD_BYTES: u64 = 1_000_000;
/// Start-to-close timeout of each `BenchActivity`, part of the contract.
pub const ACTIVITY_START_TO_CLOSE: Duration = Duration::from_secs(30);

const EXAMPLE: &str = r#"{"activities": 3, "payload_bytes": 8}"#;

/// Validated `BenchWorkflow` input: `{"activities": N, "payload_bytes": M}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchInput {
    /// How many activities run, one after another.
    pub activities: u64,
    /// Length of the string of `x` characters handed to each activity.
    pub payload_bytes: u64,
}

impl BenchInput {
    /// Reads and validates the raw JSON input, naming the offending field on error.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        let obj = input.object(&["activities", "payload_bytes"], EXAMPLE)?;
        Ok(Self {
            activities: obj.integer("activities", 0, MAX_ACTIVITIES)?,
            payload_bytes: obj.integer("payload_bytes", 0, MAX_PAYLOAD_BYTES)?,
        })
    }
}

/// `BenchWorkflow` — input `{"activities": N, "payload_bytes": M}`, result the number `N*M`.
///
/// Runs N `BenchActivity` calls sequentially (start-to-close 30 s, default retry policy), each
/// given a string of M `x` characters, and returns the sum of the lengths they report. Invalid
/// input fails the workflow at once with a non-retryable `InvalidInput` failure naming the field.
/// It has no side effects, so there is nothing to make idempotent.
#[workflow]
#[derive(Default)]
pub struct BenchWorkflow;

#[workflow_methods]
impl BenchWorkflow {
    /// Entry point; see the type's documentation for the contract.
    #[run(name = names::BENCH_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<u64> {
        let input = BenchInput::from_json(&input)?;
        let payload = "x".repeat(input.payload_bytes as usize);
        let mut total = 0;
        for _ in 0..input.activities {
            total += ctx
                .execute_activity(
                    BenchActivityContract::bench,
                    payload.clone(),
                    ActivityOptions::start_to_close_timeout(ACTIVITY_START_TO_CLOSE),
                )
                .await?;
        }
        Ok(total)
    }
}

/// Contract of `BenchActivity`; implemented by `punctual_activities::BenchActivities`.
pub struct BenchActivityContract;

#[activity_definitions]
impl BenchActivityContract {
    /// `BenchActivity` — input a string, result its length in bytes. Pure: safe to repeat.
    #[activity(name = names::BENCH_ACTIVITY)]
    pub fn bench(payload: String) -> Result<u64, ActivityError> {
        unimplemented!()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_the_documented_example() {
        let input = BenchInput::from_json(&serde_json::from_str::<serde_json::Value>(EXAMPLE).unwrap().into()).unwrap();
        assert_eq!(input, BenchInput { activities: 3, payload_bytes: 8 });
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"payload_bytes": 8}), "`activities`"),
            (json!({"activities": 3}), "`payload_bytes`"),
            (json!({"activities": -1, "payload_bytes": 8}), "`activities`"),
            (json!({"activities": 3, "payload_bytes": -8}), "`payload_bytes`"),
            (json!({"activities": 3, "payload_bytes": 8, "extra": 1}), "`extra`"),
        ];
        for (input, field) in cases {
            let err = BenchInput::from_json(&input.clone().into()).unwrap_err().to_string();
            assert!(err.contains(field), "{input} -> {err}");
        }
    }
}
