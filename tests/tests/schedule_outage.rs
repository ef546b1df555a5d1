//! Missed runs: the Temporal server (and every worker) stopped across several fire times, on a
//! file-backed server of this test's own. Within the catch-up window each missed fire runs once
//! after the restart; with `missed = "record"` they do not run and the schedule counts them.

use chrono::{DateTime, Utc};
use punctual_tests::jobs::{WAIT, job_name, occurrences, schedule, schedule_ok, settled, write_config};
use punctual_tests::own_server::OwnServer;
use punctual_tests::{TestEnv, eventually, fresh_sqlite_url};
use punctual_workflows::jobs::Job;
use punctual_workflows::jobs::plan::{FirePlan, classify};
use std::time::Duration;

const EVERY: i64 = 15;

/// The business key a fire of `job` at `at` serves.
fn key(job: &Job, at: DateTime<Utc>) -> String {
    match classify(job, at) {
        FirePlan::Run { occurrences, .. } => occurrences[0].key.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fires_missed_while_the_server_was_down_run_once_or_are_recorded_as_missed() {
    let mut own = OwnServer::start("outage").await;
    let env = TestEnv::start_on("outage", own.server, fresh_sqlite_url("outage"), 5).await;
    let (catch, record) = (job_name(&env, "catch"), job_name(&env, "record"));
    let (parent, child) = (job_name(&env, "parent"), job_name(&env, "child"));
    let text = format!(
        "[jobs.{parent}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\nat = \"08:00\"\n\n\
         [jobs.{child}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\nat = \"09:00\"\ndepends_on = [\"{parent}\"]\n\n"
    ) + &format!(
        "[jobs.{catch}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\nevery = \"{EVERY}s\"\ncatchup_window = \"1h\"\n\n\
         [jobs.{record}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\nevery = \"{EVERY}s\"\nmissed = \"record\"\n"
    );
    let cfg = write_config(&env, &text);
    let jobs: Vec<Job> = punctual_worker::jobs::config::parse("outage", &text)
        .expect("valid")
        .into_iter()
        .map(|s| Job::resolve(s).expect("resolves"))
        .collect();
    let job = |name: &str| jobs.iter().find(|j| j.name() == name).expect("job").clone();
    schedule_ok(&env, &cfg, &["apply"]).await;
    let mut worker = env.spawn_worker();
    for name in [&catch, &record] {
        eventually("a first committed fire", WAIT, async || {
            occurrences(&env, name).await.into_iter().find(|r| r.status == "committed")
        })
        .await;
    }

    // A dependent occurrence already waiting when everything goes down.
    schedule_ok(&env, &cfg, &["trigger", &child, "--business-date", "2026-11-20"]).await;
    eventually("the dependent waiting", WAIT, async || {
        occurrences(&env, &child).await.into_iter().find(|r| r.status == "waiting")
    })
    .await;

    // Every worker and the server go away across at least three fire times.
    worker.kill().expect("kill worker");
    worker.wait().ok();
    own.down();
    let stopped = Utc::now();
    tokio::time::sleep(Duration::from_secs(3 * EVERY as u64 + 5)).await;
    own.up().await;
    let up = Utc::now();
    let mut worker = env.spawn_worker();
    schedule_ok(&env, &cfg, &["trigger", &parent, "--business-date", "2026-11-20"]).await;

    let missed: Vec<DateTime<Utc>> = (stopped.timestamp() / EVERY + 1..=up.timestamp() / EVERY)
        .map(|n| DateTime::from_timestamp(n * EVERY, 0).expect("time"))
        .filter(|t| *t > stopped && *t < up)
        .collect();
    assert!(missed.len() >= 3, "the outage spanned fires: {missed:?}");

    // Within the catch-up window: each missed fire ran after the restart, once.
    let caught = job(&catch);
    for t in &missed {
        let row = settled(&env, &catch, &key(&caught, *t)).await;
        assert_eq!((row.status.as_str(), row.runs), ("committed", 1), "{row:?}");
    }
    // `missed = "record"`: fires older than the 10 s window when the server came back never ran.
    let recorded = job(&record);
    let stale: Vec<_> = missed.iter().filter(|t| (up - **t).num_seconds() > 12).collect();
    assert!(!stale.is_empty(), "{missed:?}");
    eventually("a fire after the restart", WAIT, async || {
        occurrences(&env, &record)
            .await
            .into_iter()
            .find(|r| r.status == "committed" && DateTime::parse_from_rfc3339(&r.updated_at).is_ok_and(|t| t > up))
    })
    .await;
    let rows = occurrences(&env, &record).await;
    for t in &stale {
        let k = key(&recorded, **t);
        assert!(rows.iter().all(|r| r.key != k), "{k} ran although it was missed beyond the window");
    }
    let listed = schedule_ok(&env, &cfg, &["list"]).await;
    let line = listed.lines().find(|l| l.contains(&format!("punctual-{record} "))).unwrap_or_else(|| panic!("{listed}"));
    let count: u64 = line
        .split("missed(catch-up window) ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(count >= stale.len() as u64, "missed count in `{line}`");

    // A schedule this punctual cannot read (made by hand here; a newer punctual's, elsewhere)
    // is named in the list without hiding the others, and the list exits non-zero.
    let odd = job_name(&env, "odd");
    let input = schedule_ok(&env, &cfg, &["input", &record]).await.replace("Asia/Shanghai", "Mars/Olympus");
    let odd_id = format!("punctual-{odd}");
    let mut create: Vec<&str> = "schedule create --interval 24h --type ScheduledJobWorkflow --paused".split(' ').collect();
    create.extend(["--schedule-id", &odd_id, "--workflow-id", &odd_id, "--task-queue", &env.task_queue, "--input", input.trim()]);
    let made = env.cli(&create).await;
    assert!(made.success, "{}", made.stderr);
    let with_odd = eventually("the hand-made schedule listed", WAIT, async || {
        let out = schedule(&env, &cfg, &["list"]).await;
        out.stdout.contains(&odd_id).then_some(out)
    })
    .await;
    assert!(!with_odd.success, "an unreadable schedule must fail the list:\n{}", with_odd.stdout);
    assert!(with_odd.stderr.contains("1 schedule(s) above hold a job this punctual cannot read"), "{}", with_odd.stderr);
    let odd_line = with_odd.stdout.lines().find(|l| l.starts_with(&odd_id)).expect("odd line");
    assert!(odd_line.contains("unreadable job") && odd_line.contains("Mars/Olympus"), "{odd_line}");
    assert!(with_odd.stdout.contains(&format!("punctual-{record} ")), "the others still listed:\n{}", with_odd.stdout);
    assert!(env.cli(&["schedule", "delete", "--schedule-id", &odd_id]).await.success);
    // Such a job's fire, started by hand, fails at once as `InvalidInput`, not retried.
    let by_hand = format!("{odd_id}-by-hand");
    env.start_workflow("ScheduledJobWorkflow", &by_hand, input.trim()).await;
    let failed = env.cli(&["workflow", "result", "--workflow-id", &by_hand, "-o", "json"]).await;
    assert!(!failed.success, "the fire of an unreadable job completed:\n{}", failed.stdout);
    let failure = failed.stdout.replace([' ', '\n'], "");
    assert!(failure.contains("\"type\":\"InvalidInput\"") && failure.contains("\"nonRetryable\":true"), "{}", failed.stdout);
    assert!(failure.contains("Mars/Olympus"), "{}", failed.stdout);

    // The chain resumed across the restart: the parent committed, then the waiting child.
    let parent_row = settled(&env, &parent, &format!("{parent}/2026-11-20")).await;
    let child_row = settled(&env, &child, &format!("{child}/2026-11-20")).await;
    assert_eq!((parent_row.status.as_str(), child_row.status.as_str()), ("committed", "committed"));
    assert!(parent_row.updated_at < child_row.updated_at, "{parent_row:?} {child_row:?}");

    worker.kill().ok();
    worker.wait().ok();
    for name in [&catch, &record, &parent, &child] {
        schedule_ok(&env, &cfg, &["delete", name]).await;
    }
}
