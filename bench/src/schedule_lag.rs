//! The schedule-lag scenario: many punctual jobs firing every few seconds, and how late each
//! occurrence really started.
//!
//! Lag is what a business sees: the start time of the occurrence workflow (ID = business key
//! `{job}/{date}T{time}`, read from visibility) minus the nominal time in that key. It covers the
//! whole path — the server's scheduler, `ScheduledJobWorkflow` on a worker, its `StartOccurrence`
//! activity — which is what `punctual_schedule_lag_seconds` observes inside the worker, here
//! exactly per occurrence rather than in histogram buckets.
//!
//! Jobs run `SlaCheckWorkflow` (a real job, cheap when nothing is late) in UTC, so the key's
//! local time is the nominal UTC time. Fires in the first interval after `apply` are left out:
//! a new schedule's clock starts when the server's scheduler first runs it, so that fire may be
//! late or absent by design (see the chaos harness's `expected.rs`).

use crate::processes::{DevServer, WorkerProcess, WorkerSpec};
use crate::procstat;
use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::Command;

/// The shape of the scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LagSettings {
    /// How many jobs (one schedule each).
    pub(crate) jobs: usize,
    /// Seconds between fires of each job.
    pub(crate) every: u64,
    /// How long the schedules run.
    pub(crate) window: Duration,
    /// Worker processes on the task queue.
    pub(crate) workers: usize,
    /// Give the jobs phases spread evenly over the interval (`phase = ...`), instead of all
    /// falling due in the same second.
    pub(crate) spread: bool,
}

impl LagSettings {
    /// Phase in seconds of job `n`: 0 for all, or spread evenly over the interval.
    pub(crate) fn phase(&self, n: usize) -> u64 {
        if self.spread { (n as u64 * self.every) / self.jobs.max(1) as u64 } else { 0 }
    }
}

/// What the scenario measured.
#[derive(Debug, Clone)]
pub(crate) struct LagReport {
    /// The settings it ran with.
    pub(crate) settings: LagSettings,
    /// Fires due inside the measured window, over all jobs.
    pub(crate) expected: usize,
    /// Lag of each of those that started, sorted.
    pub(crate) lags: Vec<Duration>,
    /// The server's share: start of each fire's `ScheduledJobWorkflow` (ID
    /// `{schedule-id}-{nominal UTC}`) minus its nominal time, sorted.
    pub(crate) scheduler_lags: Vec<Duration>,
    /// Occurrences found more than once for one key (must be zero: one per business key).
    pub(crate) duplicated: usize,
    /// Workflows still running on the queue when the drain gave up (0: it kept up).
    pub(crate) still_running: usize,
    /// Worker CPU (all workers) over the window.
    pub(crate) worker_cpu: Duration,
    /// Highest peak RSS of one worker.
    pub(crate) worker_peak_rss: u64,
    /// Server CPU over the window.
    pub(crate) server_cpu: Duration,
}

/// Job names `lag_000`, `lag_001`, ...
fn job_name(n: usize) -> String {
    format!("lag_{n:03}")
}

/// The jobs file of the scenario.
pub(crate) fn jobs_file(settings: &LagSettings) -> String {
    let mut text = String::from("# Written by punctual-bench (schedule lag): cheap jobs firing every few seconds.\n");
    for n in 0..settings.jobs {
        text.push_str(&format!(
            "\n[jobs.{}]\nworkflow = \"SlaCheckWorkflow\"\ninput = {{}}\ntimezone = \"UTC\"\nevery = \"{}s\"\n{}calendar = \"everyday\"\noverlap = \"allow_all\"\n",
            job_name(n),
            settings.every,
            // Only when spread: a binary older than `phase` refuses the key.
            if settings.spread { format!("phase = \"{}s\"\n", settings.phase(n)) } else { String::new() }
        ));
    }
    text
}

/// The nominal time in an occurrence key `lag_NNN/YYYY-MM-DDTHH:MM[:SS]` (UTC jobs).
pub(crate) fn nominal_of(key: &str) -> Option<(String, DateTime<Utc>)> {
    let (job, when) = key.split_once('/')?;
    if !job.starts_with("lag_") || when.contains('/') {
        return None;
    }
    let time = NaiveDateTime::parse_from_str(when, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(when, "%Y-%m-%dT%H:%M"))
        .ok()?;
    Some((job.to_owned(), time.and_utc()))
}

/// The nominal time of a scheduled fire's workflow ID `lag_NNN/fire-YYYY-MM-DDTHH:MM:SSZ`
/// (the schedule's action ID `{job}/fire`, to which Temporal appends the nominal time in UTC).
pub(crate) fn fire_nominal_of(id: &str) -> Option<DateTime<Utc>> {
    let suffix = id.get(id.len().checked_sub(20)?..)?;
    if !id.starts_with("lag_") || !id.contains("/fire-") {
        return None;
    }
    DateTime::parse_from_rfc3339(suffix).ok().map(|t| t.with_timezone(&Utc))
}

/// Fires of one job due in `(from, to]`: multiples of `every` since the epoch, plus `phase`.
pub(crate) fn due_in(every: u64, phase: u64, from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
    let (step, phase) = (every as i64, phase as i64);
    let first = (from.timestamp() - phase).div_euclid(step) + 1;
    let last = (to.timestamp() - phase).div_euclid(step);
    (last - first + 1).max(0) as usize
}

/// Runs the scenario on `server` and returns what it measured.
pub(crate) async fn measure(
    server: &DevServer,
    temporal: &Path,
    spec: &WorkerSpec,
    settings: LagSettings,
    dir: &Path,
) -> anyhow::Result<LagReport> {
    let task_queue = format!("lag-{}", std::process::id());
    let config = dir.join("lag-jobs.toml");
    std::fs::write(&config, jobs_file(&settings)).with_context(|| format!("writing {}", config.display()))?;
    let mut workers = Vec::new();
    for n in 0..settings.workers {
        eprintln!("schedule lag: starting worker {}", n + 1);
        workers.push(WorkerProcess::start(spec, server, &task_queue, dir).await?);
    }
    let cli = Cli {
        punctual: spec.binary.clone(),
        temporal: temporal.to_path_buf(),
        address: server.address.clone(),
        config,
        task_queue: task_queue.clone(),
    };
    eprintln!("schedule lag: applying {} jobs every {} s", settings.jobs, settings.every);
    cli.punctual(&["apply"]).await?;
    let applied = Utc::now();
    let pids: Vec<String> = workers.iter().map(WorkerProcess::pid).collect();
    let worker_cpu = |pids: &[String]| -> anyhow::Result<Duration> { pids.iter().map(|p| procstat::cpu_time(p)).sum() };
    let before = (worker_cpu(&pids)?, procstat::cpu_time(&server.pid())?);
    tokio::time::sleep(settings.window).await;
    let ended = Utc::now();
    let after = (worker_cpu(&pids)?, procstat::cpu_time(&server.pid())?);
    eprintln!("schedule lag: deleting the schedules");
    for chunk in (0..settings.jobs).collect::<Vec<_>>().chunks(10) {
        let deletes = chunk.iter().map(|n| {
            let job = job_name(*n);
            let cli = cli.clone();
            async move { cli.punctual(&["delete", &job]).await }
        });
        for result in futures::future::join_all(deletes).await {
            result?;
        }
    }
    let still_running = cli.wait_until_idle(Duration::from_secs(180)).await?;
    let worker_peak_rss =
        pids.iter().map(|p| procstat::peak_rss(p)).collect::<anyhow::Result<Vec<_>>>()?.into_iter().max().unwrap_or(0);
    for worker in workers {
        worker.stop().await?;
    }

    // Measured window: from one full interval after apply, to one interval before the end (a
    // fire due in the last interval may not have started when the schedules were deleted).
    let from = applied + chrono::Duration::seconds(settings.every as i64);
    let to = ended - chrono::Duration::seconds(settings.every as i64);
    let starts = cli.occurrence_starts().await?;
    let mut seen: BTreeMap<(String, DateTime<Utc>), usize> = BTreeMap::new();
    let mut lags = Vec::new();
    let mut scheduler_lags = Vec::new();
    for (id, started) in &starts {
        if let Some(nominal) = fire_nominal_of(id)
            && nominal > from
            && nominal <= to
        {
            scheduler_lags.push((*started - nominal).to_std().unwrap_or_default());
        }
    }
    scheduler_lags.sort();
    for (key, started) in starts {
        let Some((job, nominal)) = nominal_of(&key) else { continue };
        if nominal <= from || nominal > to {
            continue;
        }
        *seen.entry((job, nominal)).or_default() += 1;
        lags.push((started - nominal).to_std().unwrap_or_default());
    }
    lags.sort();
    Ok(LagReport {
        settings,
        expected: (0..settings.jobs).map(|n| due_in(settings.every, settings.phase(n), from, to)).sum(),
        duplicated: seen.values().filter(|n| **n > 1).count(),
        still_running,
        lags,
        scheduler_lags,
        worker_cpu: after.0.saturating_sub(before.0),
        worker_peak_rss,
        server_cpu: after.1.saturating_sub(before.1),
    })
}

/// The `punctual schedule` and `temporal` commands of the scenario.
#[derive(Debug, Clone)]
struct Cli {
    punctual: PathBuf,
    temporal: PathBuf,
    address: String,
    config: PathBuf,
    task_queue: String,
}

impl Cli {
    async fn punctual(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut command = Command::new(&self.punctual);
        command.arg("schedule").arg("--config").arg(&self.config).args(["--task-queue", &self.task_queue]).args(args);
        command.env("TEMPORAL_ADDRESS", &self.address).env_remove("TEMPORAL_PROFILE").env_remove("TEMPORAL_NAMESPACE");
        output(command, &format!("punctual schedule {}", args.join(" "))).await
    }

    async fn list(&self, query: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        let mut command = Command::new(&self.temporal);
        command.args(["workflow", "list", "--address", &self.address, "--query", query, "--limit", "1000000", "-o", "jsonl"]);
        let text = output(command, "temporal workflow list").await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).with_context(|| format!("temporal workflow list printed `{l}`")))
            .collect()
    }

    /// Waits until nothing runs on the task queue any more, or `limit`; returns how many still
    /// run then (a machine that cannot keep up with the fires leaves a backlog: reported, not
    /// fatal, since the lag of what did start is the measurement).
    async fn wait_until_idle(&self, limit: Duration) -> anyhow::Result<usize> {
        let deadline = Instant::now() + limit;
        let query = format!("TaskQueue = '{}' AND ExecutionStatus = 'Running'", self.task_queue);
        loop {
            let running = self.list(&query).await?.len();
            if running == 0 || Instant::now() > deadline {
                return Ok(running);
            }
            eprintln!("schedule lag: {running} still running");
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }

    /// `(workflow id, start time)` of every workflow the task queue ran.
    async fn occurrence_starts(&self) -> anyhow::Result<Vec<(String, DateTime<Utc>)>> {
        let rows = self.list(&format!("TaskQueue = '{}'", self.task_queue)).await?;
        rows.iter()
            .map(|row| {
                let id = row["execution"]["workflowId"].as_str().context("a listed workflow without execution.workflowId")?;
                let start = row["startTime"].as_str().context("a listed workflow without startTime")?;
                let start = DateTime::parse_from_rfc3339(start).with_context(|| format!("startTime `{start}`"))?;
                Ok((id.to_owned(), start.with_timezone(&Utc)))
            })
            .collect()
    }
}

async fn output(mut command: Command, shown: &str) -> anyhow::Result<String> {
    command.kill_on_drop(true).stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .with_context(|| format!("`{shown}` did not finish within 120 s"))?
        .with_context(|| format!("running `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8(out.stdout)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_give_their_nominal_time_and_others_are_ignored() {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 3, 0, 5).unwrap();
        assert_eq!(nominal_of("lag_007/2026-11-27T03:00:05"), Some(("lag_007".to_owned(), at)));
        let whole = Utc.with_ymd_and_hms(2026, 11, 27, 3, 0, 0).unwrap();
        assert_eq!(nominal_of("lag_007/2026-11-27T03:00"), Some(("lag_007".to_owned(), whole)));
        assert_eq!(nominal_of("lag_007/2026-11-27T03:00/repeat"), None);
        assert_eq!(nominal_of("sla-check/2026-11-27"), None);
        assert_eq!(nominal_of("punctual-lag_007-2026-11-27T03:00:05Z"), None);
    }

    #[test]
    fn fire_workflow_ids_give_their_nominal_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 3, 0, 30).unwrap();
        assert_eq!(fire_nominal_of("lag_004/fire-2026-11-27T03:00:30Z"), Some(at));
        assert_eq!(fire_nominal_of("lag_004/2026-11-27T03:00:30"), None);
        assert_eq!(nominal_of("lag_004/fire-2026-11-27T03:00:30Z"), None);
        assert_eq!(fire_nominal_of("x"), None);
    }

    #[test]
    fn fires_due_are_the_interval_multiples_after_from_up_to_to() {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        assert_eq!(due_in(5, 0, t(100), t(120)), 4); // 105, 110, 115, 120
        assert_eq!(due_in(5, 0, t(101), t(104)), 0);
        assert_eq!(due_in(5, 0, t(120), t(100)), 0);
        assert_eq!(due_in(5, 3, t(100), t(120)), 4); // 103, 108, 113, 118
        assert_eq!(due_in(5, 3, t(103), t(107)), 0);
    }

    #[test]
    fn spread_phases_cover_the_interval_evenly() {
        let settings = LagSettings { jobs: 100, every: 30, window: Duration::from_secs(1), workers: 1, spread: true };
        let phases: Vec<u64> = (0..100).map(|n| settings.phase(n)).collect();
        assert_eq!((phases[0], phases[99]), (0, 29));
        assert!(phases.windows(2).all(|w| w[0] <= w[1] && w[1] - w[0] <= 1), "{phases:?}");
        assert!(jobs_file(&settings).contains("phase = \"29s\""));
        assert_eq!(LagSettings { spread: false, ..settings }.phase(99), 0);
    }

    #[test]
    fn the_jobs_file_loads_as_punctual_jobs() {
        let text = jobs_file(&LagSettings { jobs: 3, every: 5, window: Duration::from_secs(1), workers: 1, spread: false });
        assert_eq!(text.matches("[jobs.lag_").count(), 3);
        assert!(text.contains("[jobs.lag_002]") && text.contains("every = \"5s\"") && !text.contains("phase"), "{text}");
    }
}
