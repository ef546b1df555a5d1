//! `punctual-bench` (what `make bench` runs): starts its own in-memory dev server, runs release
//! `punctual worker` processes against it, and prints what they cost.
//!
//! Benchmarks, not tests: nothing here passes or fails on a number. The targets and the results
//! measured on the project's machine are in BENCHMARKS.md.

mod load;
mod processes;
mod procstat;
mod recovery;
mod report;
mod schedule_lag;
mod throughput;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// The scenarios of `make bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// BenchWorkflow load, each worker variant in turn.
    Throughput,
    /// Many jobs firing every few seconds: actual start minus nominal time.
    Lag,
    /// SIGKILL one of three workers under load: how long its work takes to continue elsewhere.
    Recovery,
}

/// Measures punctual workers on the `BenchWorkflow` contract and on scheduled jobs.
#[derive(Debug, Parser)]
struct Args {
    /// The `temporal` CLI (`bash scripts/ensure-temporal.sh` prints it).
    #[arg(long)]
    temporal: PathBuf,
    /// The `punctual` binary to measure (build it with `--release`).
    #[arg(long, default_value = "target/release/punctual")]
    punctual: PathBuf,
    /// Which scenarios, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "throughput,lag,recovery")]
    scenarios: Vec<Scenario>,
    /// Worker variants, `NAME=FLAGS` (`VAR=value` tokens set the environment, `PUNCTUAL_BIN=path`
    /// picks another binary); the first one is the baseline. Default: `default=`.
    #[arg(long = "variant")]
    variants: Vec<String>,
    /// Rounds; the variants alternate within each.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Workflows in each measured load.
    #[arg(long, default_value_t = 500)]
    workflows: u64,
    /// Workflows in flight at once.
    #[arg(long, default_value_t = 50)]
    in_flight: u64,
    /// Activities per workflow.
    #[arg(long, default_value_t = 3)]
    activities: u64,
    /// Bytes of payload per activity.
    #[arg(long, default_value_t = 64)]
    payload_bytes: u64,
    /// Unmeasured workflows each new worker runs first.
    #[arg(long, default_value_t = 50)]
    warmup: u64,
    /// Lag scenario: how many jobs.
    #[arg(long, default_value_t = 100)]
    lag_jobs: usize,
    /// Lag scenario: seconds between fires of each job (every 5 s, 100 jobs outran this 2-core
    /// machine: see BENCHMARKS.md).
    #[arg(long, default_value_t = 30)]
    lag_every: u64,
    /// Lag scenario: seconds the schedules run.
    #[arg(long, default_value_t = 150)]
    lag_window: u64,
    /// Lag scenario: worker processes.
    #[arg(long, default_value_t = 1)]
    lag_workers: usize,
    /// Lag scenario: spread the jobs' phases evenly over the interval (`phase` in the jobs
    /// file) instead of all falling due in the same second.
    #[arg(long)]
    lag_spread: bool,
    /// Where server and worker logs go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let dir = std::fs::canonicalize(&args.out)?;
    let punctual = std::fs::canonicalize(&args.punctual)
        .with_context(|| format!("{} (build it: cargo build --release -p punctual-worker)", args.punctual.display()))?;
    let specs = if args.variants.is_empty() { vec!["default=".to_owned()] } else { args.variants.clone() };
    let variants = specs
        .iter()
        .map(|text| throughput::parse_variant(text, &punctual))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;

    let attributes = search_attributes(&punctual)?;
    let servers = throughput::ServerFactory { temporal: &args.temporal, search_attributes: &attributes, dir: &dir };
    let load = load::Load {
        workflows: args.workflows,
        in_flight: args.in_flight,
        activities: args.activities,
        payload_bytes: args.payload_bytes,
    };
    for scenario in &args.scenarios {
        let load_before = procstat::load_average();
        match scenario {
            Scenario::Throughput => {
                let runs = throughput::measure(&servers, &variants, args.rounds, args.warmup, load, &dir).await?;
                println!(
                    "\n## BenchWorkflow: {} workflows, {} in flight, {} activities of {} bytes (warm-up {})\n",
                    args.workflows, args.in_flight, args.activities, args.payload_bytes, args.warmup
                );
                println!("load average before: {load_before}; after: {}\n", procstat::load_average());
                print!("{}", report::throughput_table(&runs));
            }
            Scenario::Lag => {
                let settings = schedule_lag::LagSettings {
                    jobs: args.lag_jobs,
                    every: args.lag_every,
                    window: Duration::from_secs(args.lag_window),
                    workers: args.lag_workers,
                    spread: args.lag_spread,
                };
                let server = servers.start("lag").await?;
                let measured =
                    schedule_lag::measure(&server, &args.temporal, &variants[variants.len() - 1].spec, settings, &dir).await?;
                println!(
                    "\n## Schedule lag: {} jobs every {} s{} for {} s, {} worker(s) (`{}`)\n",
                    settings.jobs,
                    settings.every,
                    if settings.spread { ", phases spread over the interval" } else { ", all at the same phase" },
                    args.lag_window,
                    settings.workers,
                    variants[variants.len() - 1].name
                );
                println!("load average before: {load_before}; after: {}\n", procstat::load_average());
                print!("{}", report::lag_table(&measured));
            }
            Scenario::Recovery => {
                let spec = &variants[variants.len() - 1].spec;
                let server = servers.start("recovery").await?;
                let client = server.connect().await?;
                let measured = recovery::measure(&server, &client, spec, load, &dir).await?;
                println!(
                    "\n## Recovery: SIGKILL one of three workers under BenchWorkflow load (`{}`)\n",
                    variants[variants.len() - 1].name
                );
                println!("load average before: {load_before}; after: {}\n", procstat::load_average());
                print!("{}", report::recovery_table(&measured));
            }
        }
    }
    Ok(())
}

/// `punctual search-attributes`: the dev server registers exactly what the worker needs.
fn search_attributes(punctual: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let out = std::process::Command::new(punctual).arg("search-attributes").output()?;
    anyhow::ensure!(out.status.success(), "punctual search-attributes failed");
    Ok(String::from_utf8(out.stdout)?.lines().map(str::to_owned).collect())
}
