//! Carrying out the plan: each step at its offset from the window's start, each fault printed
//! with its time as it happens. Between steps the supervisor restarts workers that died on their
//! own. Duplicate triggers run in the background (one may wait on a server that is down) and
//! print their outcome when they finish.

use super::ledger_lock::LedgerLock;
use super::plan::{Action, Duplicate, Plan, Service};
use super::profile::Billing;
use super::sandbox_client::FaultChange;
use super::system::{JOB, System, TASK_QUEUE};
use super::timeline::Timeline;
use super::tools::Tools;
use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use punctual_workflows::billing::fire::period_of_key;
use punctual_workflows::jobs::Job;
use punctual_workflows::jobs::types::schedule_id;
use std::time::{Duration, Instant};

/// How often the supervisor looks at the processes.
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);

/// When the schedule started firing: fires after `applied` must all run.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Wall time just before `schedule apply` was run.
    pub apply_started: DateTime<Utc>,
    /// Wall time once it returned.
    pub applied: DateTime<Utc>,
    /// The same instant on the monotonic clock, the origin of the plan's offsets.
    pub start: Instant,
}

/// Runs every step of `plan`, then keeps supervising until `length` has passed; returns each
/// action with the wall time it was carried out.
pub async fn run_plan(
    plan: &Plan,
    system: &mut System,
    window: Window,
    length: Duration,
    timeline: &Timeline,
) -> anyhow::Result<Vec<(Action, DateTime<Utc>)>> {
    let mut done = Vec::new();
    for step in &plan.steps {
        sleep_supervised(system, window.start + step.at, timeline).await?;
        let at = Utc::now();
        apply(step.action, system, window, timeline).await.with_context(|| format!("{}", step.action))?;
        done.push((step.action, at));
    }
    sleep_supervised(system, window.start + length, timeline).await?;
    Ok(done)
}

/// Sleeps until `until`, supervising the processes meanwhile.
pub async fn sleep_supervised(system: &mut System, until: Instant, timeline: &Timeline) -> anyhow::Result<()> {
    loop {
        system.supervise(timeline).await?;
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        tokio::time::sleep((until - now).min(SUPERVISE_EVERY)).await;
    }
}

async fn apply(action: Action, system: &mut System, window: Window, timeline: &Timeline) -> anyhow::Result<()> {
    match action {
        Action::KillWorker(n) => {
            let worker = &mut system.workers[n - 1];
            let pid = worker.pid().map_or("-".to_owned(), |p| p.to_string());
            worker.kill().await;
            timeline.fault(format!("{action} (pid {pid})"));
        }
        Action::StartWorker(n) => {
            let worker = &mut system.workers[n - 1];
            worker.restart()?;
            timeline.fault(format!("{action} (pid {})", worker.pid().unwrap_or(0)));
        }
        Action::StopServer => {
            timeline.fault(format!("{action} (SIGTERM)"));
            system.server.stop().await;
            timeline.note("the Temporal server is down");
        }
        Action::StartServer => {
            let started = Instant::now();
            system.server.start_again().await?;
            timeline.fault(format!("{action}: answering after {:.1}s", started.elapsed().as_secs_f64()));
        }
        Action::LockLedger => {
            let started = Instant::now();
            if let Some(pg) = &mut system.postgres {
                timeline.fault(format!("{action}: stopping PostgreSQL (fast shutdown)"));
                pg.stop().await;
                timeline.note(format!("PostgreSQL is down ({:.1}s to stop)", started.elapsed().as_secs_f64()));
            } else {
                system.lock = Some(LedgerLock::take(&system.db_path).await?);
                timeline.fault(format!("{action}: BEGIN EXCLUSIVE held ({:.1}s to get)", started.elapsed().as_secs_f64()));
            }
        }
        Action::UnlockLedger => {
            let started = Instant::now();
            if let Some(pg) = &mut system.postgres {
                pg.start_again().await?;
                timeline
                    .fault(format!("{action}: PostgreSQL accepting connections after {:.1}s", started.elapsed().as_secs_f64()));
            } else {
                if let Some(lock) = system.lock.take() {
                    lock.release().await?;
                }
                timeline.fault(format!("{action}: lock released"));
            }
        }
        Action::DropAfterCommit(service, n) => fault(system, service, FaultChange::Drop(n), action, timeline).await?,
        Action::Fail5xx(service, n) => fault(system, service, FaultChange::Fail(n), action, timeline).await?,
        Action::Slow(service, ms) => fault(system, service, FaultChange::Latency(ms), action, timeline).await?,
        Action::Fast(service) => fault(system, service, FaultChange::Latency(0), action, timeline).await?,
        Action::CutNetwork(n) => match &mut system.partition {
            Ok(partition) => {
                partition.cut().await?;
                let pid = system.workers[n - 1].pid().map_or("-".to_owned(), |p| p.to_string());
                timeline.fault(format!("{action} (pid {pid}, namespace {}: link down)", partition.namespace()));
            }
            Err(reason) => timeline.fault(format!("{action}: skipped, no network namespace here ({reason})")),
        },
        Action::RestoreNetwork(_) => match &mut system.partition {
            Ok(partition) => {
                partition.restore().await?;
                timeline.fault(format!("{action} (link up)"));
            }
            Err(_) => timeline.fault(format!("{action}: skipped, it was never cut")),
        },
        Action::Duplicate(duplicate) => {
            timeline.fault(action.to_string());
            let (tools, job, timeline) = (system.tools.clone(), system.job.clone(), timeline.clone());
            let by_hand = system.billing.other();
            tokio::spawn(async move {
                let outcome = duplicate_trigger(duplicate, &tools, &job, by_hand, window, &timeline).await;
                let text = match outcome {
                    Ok(done) => done,
                    Err(err) => format!("refused: {err:#}"),
                };
                timeline.note(format!("  ↳ {action}: {text}"));
            });
        }
    }
    Ok(())
}

async fn fault(
    system: &System,
    service: Service,
    change: FaultChange,
    action: Action,
    timeline: &Timeline,
) -> anyhow::Result<()> {
    let now = system.sandboxes.change(service, change).await?;
    timeline.fault(format!("{action} (faults now {now})"));
    Ok(())
}

/// The key of the `every` slot `slots_back` slots before the one containing `now`.
pub fn slot_key(job: &Job, every: u64, now: DateTime<Utc>, slots_back: u64) -> (DateTime<Utc>, String) {
    let step = every as i64;
    let slot = now.timestamp().div_euclid(step) * step - slots_back as i64 * step;
    let at = Utc.timestamp_opt(slot, 0).single().unwrap_or(now);
    let local = at.with_timezone(&job.tz).naive_local();
    (at, job.key(local.date(), local.time(), false))
}

/// Triggers the job again, or starts a `FireBillingWorkflow` by hand billing in `by_hand` mode
/// (the job's other mode: both modes must meet on the same keys without doubling an effect).
async fn duplicate_trigger(
    duplicate: Duplicate,
    tools: &Tools,
    job: &Job,
    by_hand: Billing,
    window: Window,
    timeline: &Timeline,
) -> anyhow::Result<String> {
    match duplicate {
        Duplicate::PunctualTrigger => tools.schedule(&["trigger", JOB]).await,
        Duplicate::TemporalTrigger => {
            tools.temporal(&["schedule", "trigger", "--schedule-id", &schedule_id(JOB)]).await?;
            Ok("triggered".to_owned())
        }
        Duplicate::FireBillingAgain { slots_back } => {
            let every = job.every().context("the chaos job fires `every`")?;
            let (at, key) = slot_key(job, every, Utc::now(), slots_back);
            if at <= window.applied {
                return Ok(format!("skipped: {key} is before the schedule's first fire"));
            }
            let period = period_of_key(&key).context("an occurrence key has a period")?;
            let date = at.with_timezone(&job.tz).date_naive().format("%Y-%m-%d").to_string();
            let tz = job.tz.name();
            let mode = by_hand.input_value();
            let input = serde_json::json!({ "business_date": date, "timezone": tz, "period": period, "mode": mode }).to_string();
            let id = format!("chaos-duplicate/{key}/{}", timeline.elapsed().as_millis());
            let args = [
                "workflow", "start", "--type", "FireBillingWorkflow", "--task-queue", TASK_QUEUE, "--workflow-id", &id,
                "--input", &input,
            ];
            tools.temporal(&args).await?;
            Ok(format!("started {id} ({mode})"))
        }
    }
}
