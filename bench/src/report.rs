//! The table `make bench` prints: Markdown, so it can be pasted into BENCHMARKS.md as is.

use crate::load::percentile;
use crate::recovery::RecoveryReport;
use crate::schedule_lag::LagReport;
use crate::throughput::Run;
use std::fmt::Write;
use std::time::Duration;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn per_workflow(d: Duration, workflows: u64) -> f64 {
    ms(d) / workflows.max(1) as f64
}

/// The numbers of one row.
fn row(run: &Run) -> [f64; 8] {
    let seconds = run.outcome.elapsed.as_secs_f64();
    [
        run.outcome.throughput(),
        ms(run.outcome.percentile(50.0)),
        ms(run.outcome.percentile(99.0)),
        per_workflow(run.worker_cpu, run.workflows),
        run.worker_peak_rss as f64 / (1024.0 * 1024.0),
        per_workflow(run.server_cpu, run.workflows),
        // Server CPU as a share of one core: how close the server is to being the bottleneck.
        100.0 * run.server_cpu.as_secs_f64() / seconds,
        run.worker_anon_rss as f64 / (1024.0 * 1024.0),
    ]
}

const HEADER: &str = "| variant | round | wf/s | p50 ms | p99 ms | worker CPU ms/wf | worker peak RSS MB | of it anonymous MB, at the end | server CPU ms/wf | server % of a core | driver CPU ms/wf |\n\
                      |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

/// Every run, then the median of each variant's runs and its throughput against the first
/// variant's (the untuned worker when `make bench` runs it).
pub(crate) fn throughput_table(runs: &[Run]) -> String {
    let mut out = String::from(HEADER);
    for run in runs {
        let [tp, p50, p99, wcpu, rss, scpu, spct, anon] = row(run);
        let dcpu = per_workflow(run.driver_cpu, run.workflows);
        let _ = writeln!(
            out,
            "| {} | {} | {tp:.1} | {p50:.0} | {p99:.0} | {wcpu:.2} | {rss:.1} | {anon:.1} | {scpu:.1} | {spct:.0} | {dcpu:.2} |",
            run.variant, run.round
        );
    }
    let mut names: Vec<&str> = Vec::new();
    for run in runs {
        if !names.contains(&run.variant.as_str()) {
            names.push(&run.variant);
        }
    }
    let medians: Vec<[f64; 8]> = names
        .iter()
        .map(|name| {
            let rows: Vec<[f64; 8]> = runs.iter().filter(|r| r.variant == *name).map(row).collect();
            std::array::from_fn(|column| median(rows.iter().map(|r| r[column]).collect()))
        })
        .collect();
    let _ = writeln!(out, "\nMedians over rounds (throughput relative to `{}`):\n", names.first().unwrap_or(&"-"));
    out.push_str("| variant | wf/s | vs first | p50 ms | p99 ms | worker CPU ms/wf | worker peak RSS MB | of it anonymous MB | server CPU ms/wf |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (name, m) in names.iter().zip(&medians) {
        let ratio = m[0] / medians[0][0];
        let _ = writeln!(
            out,
            "| {name} | {:.1} | {ratio:.2}x | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {:.1} |",
            m[0], m[1], m[2], m[3], m[4], m[7], m[5]
        );
    }
    out
}

/// The schedule-lag table: how many fires started, and how late.
pub(crate) fn lag_table(report: &LagReport) -> String {
    let lags = &report.lags;
    let within = |limit: Duration| lags.iter().filter(|l| **l <= limit).count();
    let fires = lags.len().max(1) as f64;
    let window = report.settings.window.as_secs_f64();
    let sched = &report.scheduler_lags;
    let mut out = format!(
        "Fire workflows started by the server's scheduler: {} (of {} due), p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms after their nominal times; the table is the whole path to the occurrence's start.\n\n",
        sched.len(),
        report.expected,
        ms(percentile(sched, 50.0)),
        ms(percentile(sched, 99.0)),
        ms(sched.last().copied().unwrap_or_default()),
    );
    out.push_str("| fires due | started | duplicated | backlog at the end | p50 ms | p90 ms | p99 ms | max ms | ≤ 1 s | worker CPU ms/fire | worker peak RSS MB | server % of a core |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1}% | {:.2} | {:.1} | {:.0} |",
        report.expected,
        lags.len(),
        report.duplicated,
        report.still_running,
        ms(percentile(lags, 50.0)),
        ms(percentile(lags, 90.0)),
        ms(percentile(lags, 99.0)),
        ms(lags.last().copied().unwrap_or_default()),
        100.0 * within(Duration::from_secs(1)) as f64 / fires,
        ms(report.worker_cpu) / fires,
        report.worker_peak_rss as f64 / (1024.0 * 1024.0),
        100.0 * report.server_cpu.as_secs_f64() / window,
    );
    out
}

/// The recovery table: the normal latency beside the delay of what the killed worker held.
pub(crate) fn recovery_table(report: &RecoveryReport) -> String {
    let (before, after) = (&report.before_kill, &report.after_kill);
    let mut out = String::new();
    out.push_str("| workflows | wf/s overall | before the kill: p50 / p99 ms | in flight at the kill | finished after it: p50 / p99 / max s |\n");
    out.push_str("|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {:.1} | {:.0} / {:.0} | {} | {:.1} / {:.1} / {:.1} |",
        report.outcome.latencies.len(),
        report.outcome.throughput(),
        ms(percentile(before, 50.0)),
        ms(percentile(before, 99.0)),
        after.len(),
        percentile(after, 50.0).as_secs_f64(),
        percentile(after, 99.0).as_secs_f64(),
        after.last().copied().unwrap_or_default().as_secs_f64(),
    );
    out
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Outcome;

    fn run(variant: &str, round: usize, seconds: u64) -> Run {
        Run {
            variant: variant.to_owned(),
            round,
            outcome: Outcome {
                elapsed: Duration::from_secs(seconds),
                latencies: vec![Duration::from_millis(100); 500],
                spans: Vec::new(),
            },
            workflows: 500,
            worker_cpu: Duration::from_secs(1),
            worker_peak_rss: 20 * 1024 * 1024,
            worker_anon_rss: 6 * 1024 * 1024,
            server_cpu: Duration::from_secs(10),
            driver_cpu: Duration::from_millis(500),
        }
    }

    #[test]
    fn table_has_a_row_per_run_and_a_median_per_variant() {
        let table = throughput_table(&[run("default", 1, 10), run("tuned", 1, 5), run("default", 2, 10), run("tuned", 2, 5)]);
        assert!(table.contains("| default | 1 | 50.0 | 100 | 100 | 2.00 | 20.0 | 6.0 | 20.0 | 100 | 1.00 |"), "{table}");
        assert!(table.contains("| tuned | 100.0 | 2.00x | 100 | 100 | 2.00 | 20.0 | 6.0 | 20.0 |"), "{table}");
    }

    #[test]
    fn medians_of_even_and_odd_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
    }
}
