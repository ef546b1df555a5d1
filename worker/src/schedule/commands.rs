//! What each `punctual schedule` subcommand does. Output is for people; errors name the job.

use super::cli::{BackfillMode, ScheduleArgs, ScheduleCommand};
use super::server::{self, Existing};
use super::timings;
use crate::connect::TemporalTarget;
use anyhow::{Context, bail};
use chrono::{DateTime, Days, NaiveDate, Utc};
use punctual_activities::jobs::{OccurrenceRow, rows_between, start_occurrence};
use punctual_activities::ledger::Ledger;
use punctual_workflows::input::to_input;
use punctual_workflows::jobs::fire::manual_fire_time;
use punctual_workflows::jobs::plan::{ExpectedFire, FirePlan, classify, expected_between};
use punctual_workflows::jobs::types::{FireInput, OccurrenceInput, StartedOccurrence, fire_workflow_id, schedule_id};
use punctual_workflows::jobs::{Job, JobSpec, ScheduledJobWorkflow};
use std::collections::{BTreeMap, BTreeSet};
use temporalio_client::schedules::{ScheduleOverlapPolicy, TriggerScheduleOptions, UnpauseScheduleOptions};
use temporalio_client::{Client, WorkflowIdConflictPolicy, WorkflowStartOptions};

/// Runs one `punctual schedule` subcommand.
pub async fn run(args: ScheduleArgs) -> anyhow::Result<()> {
    if let ScheduleCommand::Input { job } = &args.command {
        let job = configured(&args, job)?;
        crate::out!("{}", serde_json::to_string(&FireInput { job: job.spec, business_date: None })?);
        return Ok(());
    }
    // A broken jobs file, or a mistyped date, is reported before anything is dialled: with the
    // server unreachable, the error must still name the typo.
    let jobs = match &args.command {
        ScheduleCommand::Apply { .. } => load_jobs(&args.config)?,
        _ => vec![],
    };
    check_dates(&args.command)?;
    let target = TemporalTarget::from_env()?;
    let client = target.connect(args.connect_timeout).await?;
    match args.command {
        ScheduleCommand::Apply { dry_run } => apply(&args.config, jobs, &args.task_queue, &client, dry_run).await,
        ScheduleCommand::List => list(&client).await,
        ScheduleCommand::Describe { job, count } => describe(&client, &job, count).await,
        ScheduleCommand::Pause { job, reason } => super::pause::pause(&client, &args.task_queue, &job, &reason).await,
        ScheduleCommand::Resume { job } => {
            scheduled_here(&client, &job, &args.task_queue).await?;
            let handle = client.get_schedule_handle(schedule_id(&job));
            handle
                .unpause(Some("resumed with punctual schedule resume"), UnpauseScheduleOptions::default())
                .await
                .with_context(|| format!("resuming job \"{job}\""))?;
            crate::out!("resumed {}", schedule_id(&job));
            Ok(())
        }
        ScheduleCommand::Trigger { job, business_date, allow_future } => {
            trigger(&client, &args.task_queue, &job, business_date, allow_future).await
        }
        ScheduleCommand::Backfill { job, from, to, mode, database_url } => {
            let ledger = Ledger::open_existing(&database_url).await.context("opening the ledger (PUNCTUAL_DATABASE_URL)")?;
            crate::ledger_fence::verify(&client, &args.task_queue, &ledger).await?;
            backfill(&client, &ledger, &args.task_queue, &job, date_range(&from, &to)?, mode).await
        }
        ScheduleCommand::Delete { job } => {
            match server::describe(&client, &job).await? {
                None => bail!("job \"{job}\" has no schedule ({}): nothing to delete", schedule_id(&job)),
                Some(existing) if !existing.task_queue.is_empty() && existing.task_queue != args.task_queue => bail!(
                    "job \"{job}\": schedule {} belongs to task queue `{}`, not `{}` (PUNCTUAL_TASK_QUEUE, --task-queue): \
                     not deleted",
                    schedule_id(&job),
                    existing.task_queue,
                    args.task_queue
                ),
                Some(_) => {}
            }
            server::delete(&client, &schedule_id(&job)).await?;
            crate::out!("deleted {}", schedule_id(&job));
            Ok(())
        }
        ScheduleCommand::Audit { from, to, job, repair, since, database_url } => {
            let range = date_range(&from, &to)?;
            let since = since.map(|text| date(&text, "--since")).transpose()?;
            let ledger = Ledger::open_existing(&database_url).await.context("opening the ledger (PUNCTUAL_DATABASE_URL)")?;
            crate::ledger_fence::verify(&client, &args.task_queue, &ledger).await?;
            let scope = super::audit::Scope { only: job.as_deref(), range, since };
            super::audit::audit(&client, &ledger, &args.config, &args.task_queue, scope, repair).await
        }
        ScheduleCommand::Input { .. } => unreachable!("handled above"),
    }
}

/// The dates a subcommand was given, each checked as its own code later reads it.
fn check_dates(command: &ScheduleCommand) -> anyhow::Result<()> {
    match command {
        ScheduleCommand::Audit { from, to, since, .. } => {
            date_range(from, to)?;
            since.as_deref().map(|text| date(text, "--since")).transpose()?;
        }
        ScheduleCommand::Backfill { from, to, .. } => {
            date_range(from, to)?;
        }
        ScheduleCommand::Trigger { business_date: Some(text), .. } => {
            date(text, "--business-date")?;
        }
        _ => {}
    }
    Ok(())
}

fn date(text: &str, flag: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| format!("{flag} must be a date YYYY-MM-DD, got \"{text}\""))
}

/// `--from` and `--to`, in order: an audit of an empty range would "pass" having checked nothing.
fn date_range(from: &str, to: &str) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let range = (date(from, "--from")?, date(to, "--to")?);
    if range.0 > range.1 {
        bail!("--from {} is after --to {}", range.0, range.1);
    }
    Ok(range)
}

/// Every job of the file, resolved.
pub fn load_jobs(config: &std::path::Path) -> anyhow::Result<Vec<Job>> {
    let specs = crate::jobs::config::load(config)?;
    specs.into_iter().map(|s| Job::resolve(s).map_err(anyhow::Error::from)).collect()
}

fn configured(args: &ScheduleArgs, name: &str) -> anyhow::Result<Job> {
    let jobs = load_jobs(&args.config)?;
    let known: Vec<_> = jobs.iter().map(|j| j.name().to_owned()).collect();
    jobs.into_iter()
        .find(|j| j.name() == name)
        .with_context(|| format!("no job \"{name}\" in {} (jobs: {})", args.config.display(), known.join(", ")))
}

/// The job as its schedule on the server carries it (the source of truth once applied).
pub(super) async fn scheduled(client: &Client, name: &str) -> anyhow::Result<(Job, Existing)> {
    let existing = server::describe(client, name).await?.with_context(|| {
        format!(
            "job \"{name}\" has no schedule ({}): if it is in the jobs file, run `punctual schedule apply`; \
             `punctual schedule list` shows the jobs that have one",
            schedule_id(name)
        )
    })?;
    let spec = existing.spec.clone().with_context(|| format!("schedule {} is not one punctual manages", schedule_id(name)))?;
    Ok((Job::resolve(spec)?, existing))
}

/// [`scheduled`], for a command that acts on the schedule (trigger, backfill, pause, resume,
/// delete): refused when the schedule's fires go to another task queue than this one. Its
/// workers poll that queue (and keep its ledger); a fire started here on this queue would wait
/// where nothing polls, or run against other books, while its business key looks taken.
pub(super) async fn scheduled_here(client: &Client, name: &str, task_queue: &str) -> anyhow::Result<(Job, Existing)> {
    let (job, existing) = scheduled(client, name).await?;
    if !existing.task_queue.is_empty() && existing.task_queue != task_queue {
        bail!(
            "job \"{name}\": schedule {} belongs to task queue `{}`, not `{task_queue}` (PUNCTUAL_TASK_QUEUE, \
             --task-queue): run this command with that queue",
            schedule_id(name),
            existing.task_queue
        );
    }
    Ok((job, existing))
}

/// One line of the apply plan.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    Create(String),
    Update(String, Vec<String>),
    Unchanged(String),
    Delete(String),
}

/// Reconciles the server with `jobs`. It owns the `punctual-*` schedules whose fires go to
/// `task_queue` and only those: another team's queue, or a schedule someone made by hand, is
/// never updated or deleted.
async fn apply(config: &std::path::Path, jobs: Vec<Job>, task_queue: &str, client: &Client, dry_run: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut changes = Vec::new();
    for job in &jobs {
        let change = match server::describe(client, job.name()).await? {
            None => Change::Create(job.name().to_owned()),
            Some(existing) if existing.spec.is_none() => {
                bail!(
                    "schedule {} exists but is not managed by punctual: rename the job or delete that schedule",
                    schedule_id(job.name())
                )
            }
            Some(existing) if existing.task_queue != task_queue => {
                bail!(
                    "job \"{}\": schedule {} belongs to task queue `{}`, not `{task_queue}`: rename the job or delete that schedule",
                    job.name(),
                    schedule_id(job.name()),
                    existing.task_queue
                )
            }
            Some(existing) => {
                let old = existing.spec.as_ref().expect("checked above");
                if let Some(refusal) = key_shape_change(old, job, now.date_naive()) {
                    bail!("{refusal}");
                }
                let mut changed = changed_fields(old, &job.spec);
                let on_server = existing.raw.schedule.as_ref().and_then(|s| s.spec.as_ref());
                if changed.is_empty()
                    && on_server.is_some_and(|spec| super::proto::shift_entries_stale(job, spec, now.date_naive()))
                {
                    changed.push("DST-shift entries (their 10-year horizon moved, or the zone's rules changed)".to_owned());
                }
                if changed.is_empty() {
                    Change::Unchanged(job.name().to_owned())
                } else {
                    Change::Update(job.name().to_owned(), changed)
                }
            }
        };
        changes.push(change);
    }
    // Every job is checked before any schedule changes: a refusal leaves the server as it was.
    if !dry_run {
        for (job, change) in jobs.iter().zip(&changes) {
            match change {
                Change::Create(_) => server::create(client, job, task_queue, now).await?,
                Change::Update(..) => {
                    let existing = server::describe(client, job.name()).await?.expect("exists");
                    // A new timing: the one it replaces is kept, so the audit still judges the
                    // dates before now by it.
                    let earlier = match existing.spec.clone().filter(|old| timings::timing_changed(old, &job.spec)) {
                        Some(old) => timings::with_replaced(existing.earlier.clone(), old, now),
                        None => existing.earlier.clone(),
                    };
                    server::update(client, job, task_queue, now, &existing, &earlier).await?;
                }
                _ => {}
            }
        }
    }
    let wanted: BTreeSet<String> = jobs.iter().map(|j| schedule_id(j.name())).collect();
    for listed in server::list(client).await? {
        let id = listed.id;
        // Recorded at creation on another queue: not ours, and not worth a describe.
        if wanted.contains(&id) || listed.task_queue.as_ref().is_some_and(|q| q != task_queue) {
            continue;
        }
        let name = id.trim_start_matches(punctual_workflows::jobs::types::SCHEDULE_PREFIX).to_owned();
        let managed = server::describe(client, &name).await?.is_some_and(|e| e.spec.is_some() && e.task_queue == task_queue);
        if managed {
            if !dry_run {
                server::delete(client, &id).await?;
            }
            changes.push(Change::Delete(name));
        }
    }
    let verb = if dry_run { "would " } else { "" };
    for change in &changes {
        match change {
            Change::Create(n) => crate::out!(
                "+ {verb}create {} ({})",
                schedule_id(n),
                summary(jobs.iter().find(|j| j.name() == n).expect("from jobs"))
            ),
            Change::Update(n, fields) => crate::out!("~ {verb}update {}: {}", schedule_id(n), fields.join(", ")),
            Change::Unchanged(n) => crate::out!("= unchanged {}", schedule_id(n)),
            Change::Delete(n) => crate::out!("- {verb}delete {} (not in {})", schedule_id(n), config.display()),
        }
    }
    for job in &jobs {
        if let Some(warning) = crate::jobs::calendar_horizon::ending_soon(&job.calendar, now.date_naive()) {
            crate::out!("! job {}: {warning}", job.name());
        }
        if let Some(warning) = crate::jobs::zone_mismatch::warning(&job.spec) {
            crate::out!("! job {}: {warning}", job.name());
        }
    }
    Ok(())
}

/// Why `new` may not replace the job `old` on the server: a timing that crosses between "at most
/// once a day" and "more than once a day" changes the shape of every business key
/// (`bill/2026-11-25` against `bill/2026-11-25T23:50`). The occurrences that already ran would no
/// longer be recognised: `schedule audit --repair` and `backfill` would run them again, and a job
/// whose key is its billing period (`FireBillingWorkflow`) would bill those periods twice.
fn key_shape_change(old: &JobSpec, new: &Job, today: NaiveDate) -> Option<String> {
    // A schedule an older punctual wrote that this one cannot resolve: nothing to compare.
    let old = Job::resolve(old.clone()).ok()?;
    if old.once_a_day() == new.once_a_day() {
        return None;
    }
    // The example names a time both timings fire at, where there is one: the same fire, renamed.
    let (old_slots, new_slots) = (old.slots(today), new.slots(today));
    let slot = new_slots.iter().find(|t| old_slots.contains(t)).or(new_slots.first()).copied().unwrap_or_default();
    let (was, would) = (old.key(today, slot, false), new.key(today, slot, false));
    let how = if new.once_a_day() { "at most once a day" } else { "more than once a day" };
    Some(format!(
        "job \"{}\": the new timing fires {how}, which changes the shape of every business key of the job \
         ({was} would become {would}): occurrences that already ran would not be recognised, and an audit \
         --repair or a backfill would run them again. Give the new timing a new job name (and delete this \
         job once its last occurrence has run) instead",
        new.name()
    ))
}

/// Top-level job fields whose values differ, named by the jobs file's keys (`sla`, not the
/// schedule's `sla_secs`).
fn changed_fields(old: &JobSpec, new: &JobSpec) -> Vec<String> {
    let (old, new) = (serde_json::to_value(old).unwrap_or_default(), serde_json::to_value(new).unwrap_or_default());
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else { return vec!["job".to_owned()] };
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter().filter(|k| old.get(*k) != new.get(*k)).map(|k| file_key(k).to_owned()).collect()
}

/// The jobs-file key of a [`JobSpec`] field.
fn file_key(field: &str) -> &str {
    match field {
        "day_rule" => "days",
        "timing" => "timing (at/cron/every)",
        other => other.strip_suffix("_secs").unwrap_or(other),
    }
}

fn summary(job: &Job) -> String {
    let when = match &job.spec.timing {
        punctual_workflows::jobs::Timing::Daily { times } => {
            format!("daily at {}", times.iter().map(|t| t.format("%H:%M").to_string()).collect::<Vec<_>>().join(", "))
        }
        punctual_workflows::jobs::Timing::Cron { expr } => format!("cron \"{expr}\""),
        punctual_workflows::jobs::Timing::Every { secs, phase_secs: 0 } => format!("every {secs}s"),
        punctual_workflows::jobs::Timing::Every { secs, phase_secs } => format!("every {secs}s, {phase_secs}s past"),
    };
    format!("{} {when} {}", job.spec.workflow, job.spec.timezone)
}

/// Describe calls `schedule list` keeps in flight: the counts it prints (fires, missed,
/// overlap-skipped) are only in a describe, and one at a time made a list of 100 schedules wait
/// for 100 round trips.
const DESCRIBES_AT_ONCE: usize = 8;

async fn list(client: &Client) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    let listed = server::list(client).await?;
    if listed.is_empty() {
        crate::out!("no punctual schedules (run `punctual schedule apply`)");
    }
    let described: Vec<(String, Result<Option<Existing>, server::ServerError>)> = futures::stream::iter(listed)
        .map(|l| async move {
            let name = l.id.trim_start_matches(punctual_workflows::jobs::types::SCHEDULE_PREFIX).to_owned();
            let existing = server::describe(client, &name).await;
            (l.id, existing)
        })
        .buffered(DESCRIBES_AT_ONCE)
        .collect()
        .await;
    let mut unreadable = 0;
    for (id, existing) in described {
        // Deleted since the listing (visibility lags), or not a punctual job's fire.
        let Some(existing) = existing? else { continue };
        let Some(spec) = existing.spec.clone() else { continue };
        let job = match Job::resolve(spec) {
            Ok(job) => job,
            Err(e) => {
                // One schedule this punctual cannot read (written by a newer one, edited by hand)
                // must not hide the others.
                crate::out!("{id}  unreadable job: {e:#}");
                unreadable += 1;
                continue;
            }
        };
        let info = existing.raw.info.clone().unwrap_or_default();
        let next = info.future_action_times.first().and_then(to_utc).map(|t| local(&job, t)).unwrap_or_else(|| "-".to_owned());
        let state = if existing.paused { format!("PAUSED ({})", existing.notes) } else { "active".to_owned() };
        // Schedule lag of the recent fires: when the server started each, minus its nominal time.
        let lags: Vec<i64> = info
            .recent_actions
            .iter()
            .filter_map(|a| Some((to_utc(a.actual_time.as_ref()?)? - to_utc(a.schedule_time.as_ref()?)?).num_milliseconds()))
            .collect();
        let lag = lags.iter().max().map_or("-".to_owned(), |max| format!("{}ms max over last {}", max, lags.len()));
        crate::out!(
            "{id}  {state}  {}  next {next}  fires {}  missed(catch-up window) {}  overlap-skipped {}  lag {lag}",
            summary(&job),
            info.action_count,
            info.missed_catchup_window,
            info.overlap_skipped
        );
    }
    anyhow::ensure!(unreadable == 0, "{unreadable} schedule(s) above hold a job this punctual cannot read");
    Ok(())
}

fn to_utc(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32)
}

fn local(job: &Job, t: DateTime<Utc>) -> String {
    t.with_timezone(&job.tz).format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

fn plan_text(plan: &FirePlan) -> String {
    match plan {
        FirePlan::Run { occurrences, .. } => occurrences.iter().map(|o| o.key.clone()).collect::<Vec<_>>().join(", "),
        FirePlan::Skip { outcome, reason, .. } => format!("{outcome}: {reason}"),
        FirePlan::NotDue { reason } => format!("not due: {reason}"),
    }
}

async fn describe(client: &Client, name: &str, count: usize) -> anyhow::Result<()> {
    let (job, existing) = scheduled(client, name).await?;
    let info = existing.raw.info.clone().unwrap_or_default();
    crate::out!(
        "{} — {}{}",
        schedule_id(name),
        summary(&job),
        if existing.paused { format!(" — PAUSED: {}", existing.notes) } else { String::new() }
    );
    crate::out!("server's next fires (in {}) and the business keys punctual maps them to:", job.tz);
    let server_times: Vec<DateTime<Utc>> = info.future_action_times.iter().filter_map(to_utc).take(count).collect();
    for t in &server_times {
        crate::out!("  {}  -> {}", local(&job, *t), plan_text(&classify(&job, *t)));
    }
    let now = Utc::now();
    let ours: Vec<ExpectedFire> = expected_between(&job, now.date_naive(), now.date_naive() + Days::new(400))
        .into_iter()
        .filter(|f| f.at > now)
        .take(count)
        .collect();
    crate::out!(
        "punctual's preview (calendar {} {}, roll {:?}, DST repeated {:?} / missing {:?}):",
        job.calendar.name,
        job.calendar.version,
        job.spec.roll,
        job.spec.dst_repeated,
        job.spec.dst_missing
    );
    for f in &ours {
        let note = if server_times.contains(&f.at) || server_times.last().is_some_and(|l| f.at > *l) {
            ""
        } else {
            "  (the server does not fire here?)"
        };
        crate::out!("  {}  {} (runs {}){note}", local(&job, f.at), f.occurrence.key, f.occurrence.effective_date);
    }
    Ok(())
}

async fn trigger(
    client: &Client,
    task_queue: &str,
    name: &str,
    business_date: Option<String>,
    allow_future: bool,
) -> anyhow::Result<()> {
    let (job, _) = scheduled_here(client, name, task_queue).await?;
    let Some(text) = business_date else {
        // What a fire now runs, as the workflow will plan it: an occurrence whose slot has not
        // come yet (a 23:30 job triggered at 14:00) is refused, as with --business-date.
        let now = Utc::now();
        let plan = classify(&job, now);
        if let FirePlan::Run { occurrences, .. } = &plan
            && let Some(early) = occurrences.iter().find(|o| o.due > now)
            && !allow_future
        {
            bail!(
                "job \"{name}\": a fire now runs {}, which is not due until {}: its effects would happen before their \
                 time and its own fire would find them done; pass --allow-future to run it early",
                early.key,
                local(&job, early.due)
            );
        }
        let handle = client.get_schedule_handle(schedule_id(name));
        handle
            .trigger(ScheduleOverlapPolicy::Unspecified, TriggerScheduleOptions::default())
            .await
            .with_context(|| format!("triggering job \"{name}\""))?;
        crate::out!("triggered {} now: the fire runs or joins, in order: {}", schedule_id(name), plan_text(&plan));
        return Ok(());
    };
    let day = date(&text, "--business-date")?;
    let due = manual_fire_time(&job, day);
    if let Some(gap) = job.calendar.gap(due.with_timezone(&job.tz).date_naive()) {
        bail!("job \"{name}\": {gap}, then trigger {text} again");
    }
    if due > Utc::now() && !allow_future {
        bail!(
            "job \"{name}\": the fire that serves {text} is not due until {}: triggered now, its effects would \
             happen before their time and that fire would find them done; pass --allow-future to run it early",
            local(&job, due)
        );
    }
    let plan = classify(&job, due);
    if let FirePlan::NotDue { reason } = &plan {
        bail!("job \"{name}\": nothing to run: {reason}");
    }
    let workflow_id = format!("{}-manual-{text}", fire_workflow_id(name));
    let options =
        WorkflowStartOptions::new(task_queue, &workflow_id).id_conflict_policy(WorkflowIdConflictPolicy::UseExisting).build();
    let input = FireInput { job: job.spec.clone(), business_date: Some(text.clone()) };
    let handle = client
        .start_workflow(ScheduledJobWorkflow::run, to_input(&input), options)
        .await
        .with_context(|| format!("starting {workflow_id}"))?;
    // The fire that serves the date, as the workflow computes it: with a roll, that fire also
    // serves the dates rolled onto it, and runs them in order.
    let plan = plan_text(&plan);
    crate::out!(
        "started {workflow_id} (run {}): the fire that serves {text} runs or joins, in order: {plan}",
        handle.info().run_id.clone().unwrap_or_default()
    );
    Ok(())
}

/// The expected occurrences of `job` whose business date is in `range`, one per key.
pub fn expected_in(job: &Job, (from, to): (NaiveDate, NaiveDate)) -> BTreeMap<String, ExpectedFire> {
    let pad = Days::new(45);
    expected_between(job, from.checked_sub_days(pad).unwrap_or(from), to.checked_add_days(pad).unwrap_or(to))
        .into_iter()
        .filter(|f| (from..=to).contains(&f.occurrence.business_date))
        .map(|f| (f.occurrence.key.clone(), f))
        .collect()
}

/// Starts the occurrence of `fire` through the same code the fire workflow uses.
///
/// Returns the outcome (`started` also covers joining a run still going, which the caller tells
/// apart by the run ID; `already_done` when the key completed before and `force` is off) and the
/// run's ID.
pub async fn start(
    client: &Client,
    ledger: Option<&Ledger>,
    task_queue: &str,
    job: &Job,
    fire: &ExpectedFire,
    trigger: &str,
    force: bool,
) -> anyhow::Result<StartedOccurrence> {
    let input =
        OccurrenceInput { job: job.spec.clone(), occurrence: fire.occurrence.clone(), trigger: trigger.to_owned(), force };
    start_occurrence(client, ledger, task_queue, &input)
        .await
        .map_err(|e| anyhow::anyhow!("starting {}: {e:?}", fire.occurrence.key))
}

async fn backfill(
    client: &Client,
    ledger: &Ledger,
    task_queue: &str,
    name: &str,
    range: (NaiveDate, NaiveDate),
    mode: BackfillMode,
) -> anyhow::Result<()> {
    let (job, _) = scheduled_here(client, name, task_queue).await?;
    let expected = expected_in(&job, range);
    let rows = rows_between(ledger, name, &range.0.to_string(), &range.1.to_string()).await.context("reading job_occurrences")?;
    let recorded: BTreeMap<String, OccurrenceRow> = rows.into_iter().map(|r| (r.key.clone(), r)).collect();
    let (mut started, mut joined, mut done, mut left) = (0, 0, 0, 0);
    for (key, fire) in &expected {
        let row = recorded.get(key);
        let current = row.map(|r| r.status.as_str());
        // Committed, but its job's workflow reported items failed (a billing run whose payments
        // failed): `failed_only` runs it again, forced, since its run completed.
        let partly_failed = row.is_some_and(|r| r.status == "committed" && r.failed_items.is_some_and(|n| n > 0));
        let pick = match mode {
            BackfillMode::MissingOnly => current.is_none(),
            BackfillMode::FailedOnly => current == Some("failed") || partly_failed,
            BackfillMode::Force => true,
        };
        if !pick {
            left += 1;
            continue;
        }
        if fire.at > Utc::now() {
            // Billed now, its effects would happen before their time and its own fire would find
            // them done (`trigger --allow-future` runs one early on purpose).
            crate::out!("{key}: not started: not due until {}", fire.at.with_timezone(&job.tz).format("%Y-%m-%d %H:%M %Z"));
            left += 1;
            continue;
        }
        if let Some(gap) = job.calendar.gap(fire.occurrence.effective_date) {
            // Its plan would be a guess: started here, it could run a holiday.
            crate::out!("{key}: not started: {gap}");
            left += 1;
            continue;
        }
        let force = mode == BackfillMode::Force || partly_failed;
        let occurrence = start(client, Some(ledger), task_queue, &job, fire, "backfill", force).await?;
        // A start under a key whose run is still going joins that run (two runs of one key never
        // overlap, even forced); the returned run ID is then the one the row already names.
        // A key whose last run completed is not started again unless forced, even when its row
        // says otherwise (a row lost or restored from an older backup): counted on its own.
        let outcome = if occurrence.outcome == "already_done" {
            done += 1;
            "already done: its last run completed, not run again".to_owned()
        } else if row.is_some_and(|r| !occurrence.run_id.is_empty() && r.run_id == occurrence.run_id) {
            joined += 1;
            format!("joined run {} still going", occurrence.run_id)
        } else {
            started += 1;
            occurrence.outcome
        };
        let was = if partly_failed { "committed, partly failed" } else { current.unwrap_or("missing") };
        crate::out!("{key}: {outcome} (was {was})");
    }
    crate::out!(
        "backfill {name} {}..{} ({mode:?}): {started} started, {joined} joined a run still going, {done} already done, {left} left alone",
        range.0,
        range.1
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::changed_fields;

    #[test]
    fn the_apply_diff_names_the_jobs_file_keys() {
        let text = "[jobs.x]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = \"00:30\"\nsla = \"1h\"\n";
        let old = crate::jobs::config::parse("t.toml", text).unwrap().remove(0);
        let changed = text.replace("sla = \"1h\"", "sla = \"2h\"\njitter = \"5s\"\ndays = \"last_business_day\"");
        let new = crate::jobs::config::parse("t.toml", &changed).unwrap().remove(0);
        assert_eq!(changed_fields(&old, &new), ["days", "jitter", "sla"]);
    }
}
