//! Faults an outside harness switches on over HTTP, so tests and the chaos verifier can make the
//! sandboxes slow, failing, or — the case exactly-once must survive — commit and then lose the
//! response.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The fault settings of one sandbox; `PUT /faults` replaces them, `DELETE /faults` zeroes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Faults {
    /// Delay applied to every POST before it is processed.
    pub(crate) latency_ms: u64,
    /// The next this-many POSTs answer 503 without looking at or committing anything.
    pub(crate) fail_next: u32,
    /// The next this-many POSTs are processed and committed, then the connection is aborted
    /// instead of answering.
    pub(crate) drop_next: u32,
    /// The next this-many POSTs answer 429 (rate limited, as Stripe does under a burst) without
    /// looking at or committing anything.
    pub(crate) rate_limit_next: u32,
    /// Keep no idempotency key: every POST is new, as if its key had expired before the retry
    /// came (Stripe keeps keys for 24 hours; a retry after a weekend finds none).
    pub(crate) forget_keys: bool,
}

impl Faults {
    /// The delay to apply to a POST arriving now.
    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    /// Whether this POST must fail with 503; uses up one `fail_next`.
    pub(crate) fn take_fail(&mut self) -> bool {
        take_one(&mut self.fail_next)
    }

    /// Whether this POST must be refused with 429; uses up one `rate_limit_next`.
    pub(crate) fn take_rate_limit(&mut self) -> bool {
        take_one(&mut self.rate_limit_next)
    }

    /// Whether this POST's response must be dropped; uses up one `drop_next`.
    pub(crate) fn take_drop(&mut self) -> bool {
        take_one(&mut self.drop_next)
    }
}

fn take_one(counter: &mut u32) -> bool {
    let armed = *counter > 0;
    *counter = counter.saturating_sub(1);
    armed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_used_up_one_post_at_a_time() {
        let mut faults = Faults { latency_ms: 0, fail_next: 2, drop_next: 1, rate_limit_next: 1, forget_keys: false };
        assert!(faults.take_fail());
        assert!(faults.take_fail());
        assert!(!faults.take_fail());
        assert!(faults.take_rate_limit());
        assert!(!faults.take_rate_limit());
        assert!(faults.take_drop());
        assert!(!faults.take_drop());
        assert_eq!(faults, Faults::default());
    }

    #[test]
    fn missing_settings_default_to_zero_and_typos_are_rejected() {
        let parsed: Faults = serde_json::from_str(r#"{"fail_next": 3}"#).unwrap();
        assert_eq!(parsed, Faults { fail_next: 3, ..Faults::default() });
        let typo = serde_json::from_str::<Faults>(r#"{"fail_nxt": 3}"#).unwrap_err();
        assert!(typo.to_string().contains("fail_nxt"), "{typo}");
    }
}
