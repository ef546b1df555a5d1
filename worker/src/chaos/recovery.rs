//! How fast work recovered: for each fault that stops work (a killed worker, the server down,
//! the ledger locked, a slow service), the occurrences in flight at that instant and how long
//! after it the last of them committed; beside it, how long an occurrence takes when nothing is
//! wrong. Measured from the ledger's own timestamps, so it is what a business would see.
//!
//! Faults overlap in a random plan, and on a busy machine occurrences queue behind each other,
//! so those figures bound the recovery from *everything* going on at that moment. The ledger
//! gives a sharper one: an external effect whose key was claimed twice had an attempt that
//! called out and never recorded the outcome, and the gap between the two claims is how long
//! Temporal took to give that effect to another attempt — about 1 s when the attempt failed
//! fast (a 503, a dropped response), about 5.5 s when the attempt died with its worker or lost
//! the network (the effects' 5 s heartbeat timeout, then 0.5 s backoff), about 10 s when the call
//! timed out. Before the effects heartbeated, a dead worker's attempt waited for start-to-close
//! (30 s). A gap of 25 s or more now means the retry itself was held up (it found the ledger
//! locked or the server down) or an attempt stayed alive but stuck; those keys are listed with
//! their claim times, to read against the fault timeline.

use super::observe::{OccurrenceTiming, Reclaim};
use super::plan::Action;
use chrono::{DateTime, Utc};

/// Seconds between two instants.
fn secs(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// The `q`-quantile (0..=1) of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Whether `action` stops or slows work (its end is not a fault of its own).
fn disrupts(action: &Action) -> bool {
    matches!(action, Action::KillWorker(_) | Action::StopServer | Action::LockLedger | Action::Slow(..) | Action::CutNetwork(_))
}

/// Lines describing occurrence latency and the recovery after each disruptive fault.
pub fn report(timings: &[OccurrenceTiming], done: &[(Action, DateTime<Utc>)]) -> Vec<String> {
    let mut latency: Vec<f64> = timings.iter().map(|t| secs(t.nominal, t.settled)).collect();
    latency.sort_by(f64::total_cmp);
    let mut lines = vec![format!(
        "fire-to-commit: p50 {:.1}s, p90 {:.1}s, max {:.1}s over {} occurrences",
        quantile(&latency, 0.5),
        quantile(&latency, 0.9),
        quantile(&latency, 1.0),
        latency.len()
    )];
    for (action, at) in done.iter().filter(|(a, _)| disrupts(a)) {
        let in_flight: Vec<&OccurrenceTiming> = timings.iter().filter(|t| t.nominal <= *at && *at < t.settled).collect();
        let line = match in_flight.iter().map(|t| t.settled).max() {
            Some(last) => format!(
                "{action} at {}: {} occurrence(s) in flight, the last committed {:.1}s later",
                at.format("%H:%M:%S"),
                in_flight.len(),
                secs(*at, last)
            ),
            None => format!("{action} at {}: nothing in flight", at.format("%H:%M:%S")),
        };
        lines.push(line);
    }
    lines
}

/// Lines describing how long effects waited between an attempt that did not record its outcome
/// and the retry that claimed the key again, by cause as the gap suggests it.
pub fn reclaim_report(reclaims: &[Reclaim]) -> Vec<String> {
    let buckets: [(&str, f64, f64); 3] = [
        (
            "within 8 s (a 503 or a dropped response retried after backoff, or an attempt whose worker died or was cut off: 5 s heartbeat timeout)",
            0.0,
            8.0,
        ),
        (
            "within 8-25 s (typically a call that hit the 10 s client timeout, or a failure reported after a server outage)",
            8.0,
            25.0,
        ),
        (
            "after 25 s or more (the retry itself was held up: the ledger locked or the server down when it came, or start-to-close, 30 s, expiring on an attempt alive but stuck)",
            25.0,
            f64::MAX,
        ),
    ];
    let mut lines = vec![format!("effects claimed again after an attempt that did not record its outcome: {}", reclaims.len())];
    for (what, low, high) in buckets {
        let mut gaps: Vec<f64> = reclaims.iter().map(|r| secs(r.first, r.last)).filter(|g| (low..high).contains(g)).collect();
        if gaps.is_empty() {
            continue;
        }
        gaps.sort_by(f64::total_cmp);
        lines.push(format!(
            "  {} {what}: gap min {:.1}s, p50 {:.1}s, max {:.1}s",
            gaps.len(),
            gaps[0],
            quantile(&gaps, 0.5),
            quantile(&gaps, 1.0)
        ));
        // The slow ones by name and time, to read against the fault timeline.
        if low >= 25.0 {
            for r in reclaims.iter().filter(|r| secs(r.first, r.last) >= low).take(5) {
                lines.push(format!("    {} claimed {} then {}", r.key, r.first.format("%H:%M:%S"), r.last.format("%H:%M:%S")));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn recovery_is_the_last_commit_of_what_was_in_flight() {
        let timings = vec![
            OccurrenceTiming { nominal: at(0), settled: at(4) },
            OccurrenceTiming { nominal: at(5), settled: at(40) },
            OccurrenceTiming { nominal: at(10), settled: at(38) },
            OccurrenceTiming { nominal: at(50), settled: at(53) },
        ];
        let lines = report(&timings, &[(Action::KillWorker(2), at(12)), (Action::StartWorker(2), at(20))]);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("max 35.0s over 4"), "{lines:?}");
        assert!(lines[1].contains("2 occurrence(s) in flight, the last committed 28.0s later"), "{lines:?}");
    }

    #[test]
    fn reclaim_gaps_are_sorted_by_what_they_suggest() {
        let reclaim = |gap: i64| Reclaim { key: "charge/INV".into(), attempts: 2, first: at(0), last: at(gap) };
        let lines = reclaim_report(&[reclaim(1), reclaim(31), reclaim(1), reclaim(33)]);
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[0].ends_with(": 4"), "{lines:?}");
        assert!(lines[1].contains("2 within 8 s") && lines[1].contains("max 1.0s"), "{lines:?}");
        assert!(lines[2].contains("2 after 25 s") && lines[2].contains("min 31.0s"), "{lines:?}");
        // The slow ones are named with their claim times, the fast ones are not.
        assert!(lines[3].contains("charge/INV claimed") && lines[4].contains("charge/INV claimed"), "{lines:?}");
    }
}
