//! The throughput scenario: each worker variant, in turn, runs the same `BenchWorkflow` load on
//! a dev server of its own, and is measured from the outside.
//!
//! A fresh in-memory server per run: one shared server grew slower as its history piled up
//! (server CPU per workflow went 60 → 72 → 84 ms over three runs), which penalised whichever
//! variant ran last.
//!
//! Variants alternate within each round (default, tuned, default, tuned, ...) so a change in
//! the machine's background load during the run falls on all of them alike; each run starts a
//! new worker process, so its peak RSS is its own.

use crate::load::{self, Load, Outcome};
use crate::processes::{DevServer, WorkerProcess, WorkerSpec};
use crate::procstat;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Starts a fresh dev server for each run.
pub(crate) struct ServerFactory<'a> {
    /// The `temporal` CLI.
    pub(crate) temporal: &'a Path,
    /// `NAME=Type` search attributes to register.
    pub(crate) search_attributes: &'a [String],
    /// Where logs go.
    pub(crate) dir: &'a Path,
}

impl ServerFactory<'_> {
    /// A new in-memory dev server; its log is `temporal-{name}.log`.
    pub(crate) async fn start(&self, name: &str) -> anyhow::Result<DevServer> {
        DevServer::start(self.temporal, self.search_attributes, &self.dir.join(format!("temporal-{name}.log"))).await
    }
}

/// A named way to run the worker.
#[derive(Debug, Clone)]
pub(crate) struct Variant {
    /// Name in the table.
    pub(crate) name: String,
    /// Binary, flags and environment.
    pub(crate) spec: WorkerSpec,
}

/// Parses `NAME=TOKENS`: tokens like `VAR=value` (upper-case name) set environment variables,
/// `PUNCTUAL_BIN=path` picks another binary, everything else is a `punctual worker` flag.
/// `default=` is the worker exactly as shipped.
pub(crate) fn parse_variant(text: &str, default_binary: &Path) -> Result<Variant, String> {
    let (name, tokens) = text.split_once('=').ok_or_else(|| format!("`{text}`: expected NAME=FLAGS"))?;
    if name.is_empty() {
        return Err(format!("`{text}`: the variant needs a name before `=`"));
    }
    let mut spec = WorkerSpec { binary: default_binary.to_path_buf(), args: Vec::new(), env: Vec::new() };
    for token in tokens.split_whitespace() {
        match token.split_once('=') {
            Some((var, value)) if is_env_name(var) => {
                if var == "PUNCTUAL_BIN" {
                    spec.binary = PathBuf::from(value);
                } else {
                    spec.env.push((var.to_owned(), value.to_owned()));
                }
            }
            _ => spec.args.push(token.to_owned()),
        }
    }
    Ok(Variant { name: name.to_owned(), spec })
}

fn is_env_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// One measured run of one variant.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// Which variant.
    pub(crate) variant: String,
    /// Which round (1-based).
    pub(crate) round: usize,
    /// Throughput and latencies.
    pub(crate) outcome: Outcome,
    /// Workflows in the measured load.
    pub(crate) workflows: u64,
    /// Worker CPU (user + system) during the measured load.
    pub(crate) worker_cpu: Duration,
    /// Worker peak RSS over its life, bytes.
    pub(crate) worker_peak_rss: u64,
    /// Of the worker's RSS, the anonymous part at the end of the measured load, bytes.
    pub(crate) worker_anon_rss: u64,
    /// Dev server CPU during the measured load.
    pub(crate) server_cpu: Duration,
    /// This driver's own CPU during the measured load (it shares the machine too).
    pub(crate) driver_cpu: Duration,
}

/// Runs every variant `rounds` times, alternating, with `warmup` unmeasured workflows first.
pub(crate) async fn measure(
    servers: &ServerFactory<'_>,
    variants: &[Variant],
    rounds: usize,
    warmup: u64,
    load: Load,
    dir: &Path,
) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::new();
    for round in 1..=rounds {
        for variant in variants {
            let task_queue = format!("bench-{}-{round}-{}", variant.name, std::process::id());
            eprintln!("round {round}: {} on {task_queue}", variant.name);
            let server = servers.start(&format!("{}-{round}", variant.name)).await?;
            let client = server.connect().await?;
            let client = &client;
            let worker = WorkerProcess::start(&variant.spec, &server, &task_queue, dir)
                .await
                .with_context(|| format!("variant {}", variant.name))?;
            // Warm-up: connections, sticky queues, lazily built SDK state. Not measured.
            if warmup > 0 {
                load::run(client, &task_queue, &format!("{task_queue}-warmup"), Load { workflows: warmup, ..load }).await?;
            }
            let (worker_pid, server_pid) = (worker.pid(), server.pid());
            let before = [procstat::cpu_time(&worker_pid)?, procstat::cpu_time(&server_pid)?, procstat::cpu_time("self")?];
            let outcome = load::run(client, &task_queue, &task_queue, load).await?;
            let after = [procstat::cpu_time(&worker_pid)?, procstat::cpu_time(&server_pid)?, procstat::cpu_time("self")?];
            let worker_peak_rss = procstat::peak_rss(&worker_pid)?;
            let worker_anon_rss = procstat::anon_rss(&worker_pid)?;
            worker.stop().await?;
            runs.push(Run {
                variant: variant.name.clone(),
                round,
                outcome,
                workflows: load.workflows,
                worker_cpu: after[0].saturating_sub(before[0]),
                worker_peak_rss,
                worker_anon_rss,
                server_cpu: after[1].saturating_sub(before[1]),
                driver_cpu: after[2].saturating_sub(before[2]),
            });
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_split_flags_environment_and_binary() {
        let v = parse_variant(
            "tuned=--workflow-pollers 2 LD_PRELOAD=/lib/libjemalloc.so.2 PUNCTUAL_BIN=/tmp/p --max-cached-workflows=100",
            Path::new("target/release/punctual"),
        )
        .unwrap();
        assert_eq!(v.name, "tuned");
        assert_eq!(v.spec.args, ["--workflow-pollers", "2", "--max-cached-workflows=100"]);
        assert_eq!(v.spec.env, [("LD_PRELOAD".to_owned(), "/lib/libjemalloc.so.2".to_owned())]);
        assert_eq!(v.spec.binary, Path::new("/tmp/p"));
    }

    #[test]
    fn default_is_the_worker_as_shipped() {
        let v = parse_variant("default=", Path::new("p")).unwrap();
        assert!(v.spec.args.is_empty() && v.spec.env.is_empty());
        assert!(parse_variant("=x", Path::new("p")).is_err());
        assert!(parse_variant("nameonly", Path::new("p")).is_err());
    }
}
