//! Implementation of the benchmark contract's `BenchActivity`.

use punctual_workflows::names;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// Implements [`punctual_workflows::BenchActivityContract`]. Stateless and effect-free.
#[derive(Debug, Default, Clone, Copy)]
pub struct BenchActivities;

#[activities]
impl BenchActivities {
    /// `BenchActivity`: returns the length in bytes of its input string.
    #[activity(name = names::BENCH_ACTIVITY)]
    pub async fn bench(_ctx: ActivityContext, payload: String) -> Result<u64, ActivityError> {
        Ok(payload.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_sdk::testing::ActivityEnvironment;

    #[tokio::test]
    async fn returns_the_payload_length() {
        let env = ActivityEnvironment::builder().register_activities(BenchActivities).build();
        let len = env.run(BenchActivities::bench, "x".repeat(64)).await.unwrap();
        assert_eq!(len, 64);
    }
}
