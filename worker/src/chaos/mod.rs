//! `punctual chaos`: one bounded, self-stopping run that puts "no run lost, no effect doubled" to
//! the test on this machine, all on loopback.
//!
//! 1. [`system`]: a file-backed dev server, the sandbox provider and sink, a SQLite ledger with
//!    demo customers, three workers on one task queue, and a job (`FireBillingWorkflow` every few
//!    seconds: each fire bills the zone's customers for its own period, see
//!    `punctual_workflows::billing::fire`) applied with `punctual schedule apply`;
//! 2. [`plan`] / [`inject`]: a seeded fault plan, printed first and carried out step by step —
//!    workers SIGKILLed and restarted, the server stopped and started, the provider and sink
//!    dropping responses after committing, failing with 503 and slow, the ledger locked, one
//!    worker cut off the network ([`netns`]), and duplicate triggers of keys that ran or are
//!    running;
//! 3. the schedule is paused ([`stop`]) and [`drain`] waits (bounded) for everything to finish;
//! 4. [`verify`] compares [`expected`] bills with what [`observe`] finds at the provider, the sink
//!    and in the database, and [`recovery`] says how long work took to recover after each fault.
//!
//! The run fails (non-zero exit) when anything was lost, doubled, wrong, unexpected, or did not
//! drain in time.

pub mod drain;
pub mod expected;
pub mod inject;
pub mod ledger_lock;
pub mod netns;
pub mod observe;
pub mod plan;
pub mod postgres;
pub mod process;
pub mod profile;
pub mod recovery;
pub mod rng;
pub mod sandbox_client;
pub mod server;
pub mod stop;
pub mod system;
pub mod timeline;
pub mod tools;
pub mod verify;

pub use profile::{ChaosArgs, Profile};

use anyhow::{Context, bail};
use chrono::Utc;
use drain::Drained;
use expected::ScheduleLife;
use inject::Window;
use plan::Plan;
use profile::Settings;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use system::{JOB, System};
use timeline::{Timeline, line};

/// Runs one chaos run; an error when the promise did not hold or the run could not be made.
pub async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    let settings = Settings { billing: args.billing, ..args.profile.settings() };
    let seed = args
        .seed
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| u64::from(d.subsec_nanos()) % 1_000_000));
    let profile = args.profile.name();
    let ledger = match args.ledger {
        profile::LedgerKind::Sqlite => "",
        profile::LedgerKind::Postgres => " --ledger postgres",
    };
    let billing = match args.billing {
        profile::Billing::PerCustomer => String::new(),
        other => format!(" --billing {}", other.flag_value()),
    };
    crate::out!(
        "punctual chaos: profile {profile}, seed {seed}, billing {} (replay: punctual chaos --profile {profile} --seed {seed}{ledger}{billing})",
        args.billing.flag_value()
    );
    let plan = Plan::draw(seed, &settings);
    crate::out_part!("{plan}");
    if args.plan_only {
        return Ok(());
    }
    let dir =
        args.dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("punctual-chaos-{seed}-{}", std::process::id())));
    if dir.join("temporal.db").exists() || dir.join("ledger.db").exists() {
        bail!("{} holds an earlier run: remove it or choose another --dir", dir.display());
    }
    let timeline = Timeline::new();
    let mut system = System::up(&dir, &args.temporal_bin, args.ledger, &settings, &timeline).await?;
    let outcome = exercise(&mut system, &plan, &settings, &timeline).await;
    system.down().await;
    match outcome {
        Ok(()) if !args.keep => {
            std::fs::remove_dir_all(&dir).ok();
            Ok(())
        }
        Ok(()) => {
            crate::out!("run directory kept: {}", dir.display());
            Ok(())
        }
        Err(err) => {
            crate::out!("run directory (server database, ledger, logs): {}", dir.display());
            Err(err)
        }
    }
}

/// Applies the schedule, injects the plan, stops the schedule, drains, verifies, reports.
async fn exercise(system: &mut System, plan: &Plan, settings: &Settings, timeline: &Timeline) -> anyhow::Result<()> {
    let apply_started = Utc::now();
    let applied_text = system.tools.schedule(&["apply"]).await?;
    let window = Window { apply_started, applied: Utc::now(), start: Instant::now() };
    timeline.note(format!(
        "schedule applied ({}); the window opens for {}s",
        applied_text.replace('\n', "; "),
        settings.window.as_secs()
    ));

    let done = inject::run_plan(plan, system, window, settings.window, timeline).await?;
    system.heal(timeline).await?;

    let every = system.job.every().context("the chaos job fires `every`")?;
    let last_due = stop::stop_schedule(&system.tools, every, timeline).await?;
    let life = ScheduleLife { apply_started, applied: window.applied, last_due, paused: Utc::now() };

    let fires = expected::fires(&system.job, every, life);
    let drained = drain::drain(system, &fires, settings.drain_limit, timeline).await?;

    let customers = observe::customers(&system.ledger, settings.timezone).await?;
    let observed = observe::observe(&system.ledger, &system.sandboxes, JOB).await?;
    let verdict = verify::verify(&fires, &customers, &observed);
    let timings = observe::occurrence_timings(&system.ledger, JOB).await?;
    let reclaims = observe::reclaims(&system.ledger).await?;

    crate::out!("\n== what happened ==");
    for event in timeline.faults() {
        crate::out!("{}", line(&event));
    }
    crate::out!("\n== recovery ==");
    for text in recovery::report(&timings, &done).into_iter().chain(recovery::reclaim_report(&reclaims)) {
        crate::out!("  {text}");
    }
    crate::out!("\n== requests ==\n  {}", observe::request_stats(&system.sandboxes).await?);
    crate::out!("\n== verdict ==");
    crate::out!(
        "{} required fires + {} at the schedule's edges, {} customers each (seed {})",
        fires.required.len(),
        fires.optional.len(),
        customers.len(),
        plan.seed
    );
    for problem in &verdict.problems {
        crate::out!("  {problem}");
    }
    if verdict.problem_count > verdict.problems.len() {
        crate::out!("  ... and {} more problems", verdict.problem_count - verdict.problems.len());
    }
    match &drained {
        Drained::Done(after) => crate::out!("drained in {:.1}s (bound {}s)", after.as_secs_f64(), settings.drain_limit.as_secs()),
        Drained::TimedOut { unsettled, running } => crate::out!(
            "DID NOT DRAIN within {}s: {unsettled} occurrences unsettled, {} workflows running",
            settings.drain_limit.as_secs(),
            if *running == u64::MAX { "?".to_owned() } else { running.to_string() }
        ),
    }
    crate::out!("{}", verdict.summary());
    if !verdict.passed() || !matches!(drained, Drained::Done(_)) {
        bail!("chaos run failed (seed {}): {}", plan.seed, verdict.summary());
    }
    crate::out!("PASSED: every expected bill exactly once under {} faults", timeline.faults().len());
    Ok(())
}
