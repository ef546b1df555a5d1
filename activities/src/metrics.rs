//! punctual's own Prometheus metrics: what the effects, compensations, runs and schedules did.
//!
//! Recorded where the truth is known — in the ledger (an effect performed or replayed), in the
//! compensation activities, in the activity that records a run's outcome, in the activity that
//! starts a scheduled occurrence — never in workflow code, which replays. Activities are
//! at-least-once, so a counter can move twice for one effect only when an activity's completion
//! was lost *after* it recorded; the ledger rows stay the exact record.
//!
//! One process-wide registry: the activities are plain structs with no handle to pass it
//! through, and a metric is about the process anyway. `punctual worker --metrics-addr` serves
//! [`encode`] beside the SDK's own worker metrics.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::sync::LazyLock;
use std::time::Duration;

/// Upper bounds (seconds) of the schedule-lag histogram: sub-second on a healthy fleet, minutes
/// while workers are down, an hour and more after an outage's catch-up.
const LAG_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14_400.0];

struct Metrics {
    registry: Registry,
    effects: IntCounterVec,
    claims: IntCounterVec,
    compensations: IntCounterVec,
    runs: IntCounterVec,
    schedule_lag: HistogramVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new();
    let effects = IntCounterVec::new(
        Opts::new(
            "punctual_effects_total",
            "Effects by kind (ledger key prefix): performed = made and recorded now, replayed = \
             already recorded, so deduplicated by the ledger",
        ),
        &["kind", "outcome"],
    )
    .expect("valid metric");
    let claims = IntCounterVec::new(
        Opts::new(
            "punctual_external_claims_total",
            "Claims of external effects: first = first call, repeated = called again with the same \
             idempotency key after an unrecorded attempt, done = outcome recorded, not called",
        ),
        &["kind", "claim"],
    )
    .expect("valid metric");
    let compensations = IntCounterVec::new(
        Opts::new(
            "punctual_compensations_total",
            "Saga compensations by step: performed, replayed (already made) or failed (one failed attempt)",
        ),
        &["step", "outcome"],
    )
    .expect("valid metric");
    let runs = IntCounterVec::new(
        Opts::new("punctual_runs_total", "Finished runs by job and outcome (completed, compensated, failed, ...)"),
        &["job", "outcome"],
    )
    .expect("valid metric");
    let schedule_lag = HistogramVec::new(
        HistogramOpts::new("punctual_schedule_lag_seconds", "Actual start of a scheduled occurrence minus its nominal time")
            .buckets(LAG_BUCKETS.to_vec()),
        &["job"],
    )
    .expect("valid metric");
    for collector in [&effects, &claims, &compensations, &runs] {
        registry.register(Box::new(collector.clone())).expect("unique metric names");
    }
    registry.register(Box::new(schedule_lag.clone())).expect("unique metric names");
    Metrics { registry, effects, claims, compensations, runs, schedule_lag }
});

/// The effect kind of a ledger key: its first segment (`charge/INV-...` → `charge`). Keys are
/// built in `punctual_workflows::keys`, so the kinds are a short, fixed list; a key without a
/// segment counts as `other` rather than becoming a label value of its own.
pub fn effect_kind(key: &str) -> &str {
    match key.split_once('/') {
        Some((kind, _)) if !kind.is_empty() => kind,
        _ => "other",
    }
}

/// An effect made and recorded now (`replayed: false`) or found already recorded (`true`).
pub fn effect(key: &str, replayed: bool) {
    let outcome = if replayed { "replayed" } else { "performed" };
    METRICS.effects.with_label_values(&[effect_kind(key), outcome]).inc();
}

/// How a claim of an external effect went: `first`, `repeated` or `done`.
pub fn external_claim(key: &str, claim: &str) {
    METRICS.claims.with_label_values(&[effect_kind(key), claim]).inc();
}

/// A compensation step (`refund`, `void`) performed, replayed or failed.
pub fn compensation(step: &str, outcome: &str) {
    METRICS.compensations.with_label_values(&[step, outcome]).inc();
}

/// A run of `job` finished with `outcome`.
pub fn run_finished(job: &str, outcome: &str) {
    METRICS.runs.with_label_values(&[job, outcome]).inc();
}

/// A scheduled occurrence of `job` started `lag` after its nominal time.
pub fn schedule_lag(job: &str, lag: Duration) {
    METRICS.schedule_lag.with_label_values(&[job]).observe(lag.as_secs_f64());
}

/// Every punctual metric in the Prometheus text format.
pub fn encode() -> String {
    let mut out = Vec::new();
    // Encoding counters and histograms into a Vec cannot fail.
    TextEncoder::new().encode(&METRICS.registry.gather(), &mut out).ok();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_the_first_key_segment() {
        assert_eq!(effect_kind("charge/INV-C00001-20261124"), "charge");
        assert_eq!(effect_kind("notify/INV-C00001-20261124/email"), "notify");
        assert_eq!(effect_kind("no-slash"), "other");
        assert_eq!(effect_kind("/leading"), "other");
    }

    #[test]
    fn recorded_values_are_encoded() {
        effect("unit-test-kind/1", false);
        effect("unit-test-kind/1", true);
        effect("unit-test-kind/2", true);
        schedule_lag("unit-test-job", Duration::from_millis(300));
        let text = encode();
        assert!(text.contains(r#"punctual_effects_total{kind="unit-test-kind",outcome="performed"} 1"#), "{text}");
        assert!(text.contains(r#"punctual_effects_total{kind="unit-test-kind",outcome="replayed"} 2"#), "{text}");
        assert!(text.contains(r#"punctual_schedule_lag_seconds_bucket{job="unit-test-job",le="0.5"} 1"#), "{text}");
        assert!(text.contains(r#"punctual_schedule_lag_seconds_bucket{job="unit-test-job",le="0.25"} 0"#), "{text}");
    }
}
