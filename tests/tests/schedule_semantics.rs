//! What a fire means, on the real server: the server as oracle for fire times (DST included),
//! holidays and rolls made visible, dependency chains across a worker restart, fires waiting for
//! workers, and legacy cron workflows.

use chrono::{DateTime, Days, Utc};
use punctual_tests::jobs::{WAIT, apply_unchecked, job_name, occurrences, schedule, schedule_ok, settled, write_config};
use punctual_tests::{TestEnv, eventually};
use punctual_workflows::jobs::Job;
use punctual_workflows::jobs::plan::{FirePlan, classify, expected_between};
use serde_json::Value;
use std::collections::BTreeSet;

/// The first value under `key` anywhere in `v` (the CLI's JSON nests and names fields its way).
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(map) => map.get(key).or_else(|| map.values().find_map(|x| find(x, key))),
        Value::Array(items) => items.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

/// The server's next fire times of a job's schedule, from `temporal schedule describe`.
async fn server_fire_times(env: &TestEnv, name: &str) -> Vec<DateTime<Utc>> {
    let d = env.cli_json(&["schedule", "describe", "--schedule-id", &format!("punctual-{name}")]).await;
    let times = find(&d, "futureActionTimes").and_then(Value::as_array).unwrap_or_else(|| panic!("no futureActionTimes in {d}"));
    times.iter().map(|t| t.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("bad time {t}"))).collect()
}

#[tokio::test]
async fn the_servers_fire_times_agree_with_punctuals_preview_across_dst() {
    let env = TestEnv::start("sched-oracle").await;
    // (name, zone, timing, DST policy): cron jobs on the Sundays of a DST month, so the server's
    // next ten fires reach the transition days whatever today is.
    let cases = [
        ("ny-spring", "America/New_York", "cron = \"30 2 * 3 0\"", "dst_missing = \"shift\""),
        ("ny-spring-skip", "America/New_York", "cron = \"30 2 * 3 0\"", "dst_missing = \"skip\""),
        ("ny-fall", "America/New_York", "cron = \"30 1 * 11 0\"", "dst_repeated = \"first\""),
        ("london-fall", "Europe/London", "cron = \"30 1 * 10 0\"", "dst_repeated = \"last\""),
        ("london-first", "Europe/London", "cron = \"30 1 * 10 0\"", "dst_repeated = \"first\""),
        ("lord-howe", "Australia/Lord_Howe", "cron = \"15 2 * 10 0\"", "dst_missing = \"shift\""),
        ("shanghai", "Asia/Shanghai", "at = \"00:30\"", "dst_missing = \"shift\""),
    ];
    let mut text = String::new();
    for (what, tz, timing, policy) in cases {
        let name = job_name(&env, what);
        text += &format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{tz}\"\n{timing}\n{policy}\n\n");
    }
    let cfg = write_config(&env, &text);
    schedule_ok(&env, &cfg, &["apply"]).await;
    let jobs: Vec<Job> = punctual_worker::jobs::config::parse("oracle", &text)
        .expect("valid")
        .into_iter()
        .map(|s| Job::resolve(s).expect("resolves"))
        .collect();
    let mut explained = std::collections::BTreeMap::new();
    for job in &jobs {
        let server = server_fire_times(&env, job.name()).await;
        assert_eq!(server.len(), 10, "{}: {server:?}", job.name());
        let now = Utc::now();
        let last = *server.last().expect("ten");
        let ours: BTreeSet<DateTime<Utc>> =
            expected_between(job, now.date_naive() - Days::new(1), last.date_naive() + Days::new(1))
                .into_iter()
                .map(|f| f.at)
                .filter(|at| *at > now && *at <= last)
                .collect();
        let theirs: BTreeSet<DateTime<Utc>> = server.iter().copied().collect();
        // Where they differ, it is a wall time that happens twice: the server matches it
        // literally (at both instants in New York, at the later one only in London) and
        // punctual serves the slot once, at the instant its policy picked. Nothing else differs.
        for extra in theirs.difference(&ours) {
            match classify(job, *extra) {
                FirePlan::Run { repeated_wall_time: true, .. } => *explained.entry(job.name().to_owned()).or_insert(0) += 1,
                other => panic!("{}: the server fires at {extra} and punctual cannot explain it: {other:?}", job.name()),
            }
        }
        let fire_serves = |t: &DateTime<Utc>, key: &str| match classify(job, *t) {
            FirePlan::Run { occurrences, repeated_wall_time: true, .. } => occurrences.iter().any(|o| o.key == key),
            _ => false,
        };
        for missing in ours.difference(&theirs) {
            let key = classify(job, *missing);
            let FirePlan::Run { occurrences, .. } = &key else { panic!("{}: {key:?}", job.name()) };
            assert!(
                theirs.iter().any(|t| fire_serves(t, &occurrences[0].key)),
                "{}: punctual expects a fire at {missing} that no server fire serves",
                job.name()
            );
            *explained.entry(job.name().to_owned()).or_insert(0) += 1;
        }
    }
    // New York's and London's windows each hold a repeated fall-back hour, and only those differ.
    let differing: Vec<&String> = explained.keys().collect();
    assert_eq!(differing, [&job_name(&env, "london-first"), &job_name(&env, "ny-fall")], "{explained:?}");
    let by_name = |what: &str| jobs.iter().find(|j| j.name() == job_name(&env, what)).expect("job");
    // The shifted spring-forward fires are the server's too (from punctual's dated entries).
    let ny = by_name("ny-spring");
    let shifted = server_fire_times(&env, ny.name())
        .await
        .into_iter()
        .filter(|t| t.with_timezone(&ny.tz).format("%H:%M").to_string() == "03:30")
        .count();
    assert!(shifted >= 1, "a spring-forward Sunday in the window fires at 03:30 EDT");
    let skip = by_name("ny-spring-skip");
    assert!(
        server_fire_times(&env, skip.name())
            .await
            .iter()
            .all(|t| t.with_timezone(&skip.tz).format("%H:%M").to_string() == "02:30")
    );
    for job in &jobs {
        schedule_ok(&env, &cfg, &["delete", job.name()]).await;
    }
}

fn sla_job(name: &str, extra: &str) -> String {
    format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\nat = \"09:00\"\n{extra}\n\n")
}

/// Outside its calendar's holiday data a plan would be a guess (New Year's Day 2027 a business
/// day, for a `cn` job after 2026-12-31). A fire there fails, never retried, naming the file to
/// extend; `trigger` refuses the date; the audit counts it and fails, and `--repair` starts
/// nothing. `cn`'s data begins 2026-01-01, so the last days of 2025 stand in for the first of
/// 2027 without waiting for them.
#[tokio::test]
async fn a_date_outside_its_calendars_data_fails_loudly_and_is_never_guessed() {
    let env = TestEnv::start("sched-uncovered").await;
    let job = job_name(&env, "cal");
    let cfg = write_config(&env, &sla_job(&job, "calendar = \"cn\""));
    let gap = "calendar cn 2026.1 has no holiday data for 2025-12-30 (it covers 2026-01-01..2026-12-31)";
    env.with_worker(async {
        schedule_ok(&env, &cfg, &["apply"]).await;
        let out = schedule(&env, &cfg, &["trigger", &job, "--business-date", "2025-12-30"]).await;
        assert!(!out.success && out.stderr.contains(gap), "{}", out.stderr);

        // A fire started by hand with `temporal` fails, non-retryably, and records nothing.
        let mut input: Value = serde_json::from_str(schedule_ok(&env, &cfg, &["input", &job]).await.trim()).expect("input");
        input["business_date"] = "2025-12-30".into();
        let fire = format!("{job}/fire-by-hand-2025-12-30");
        env.start_workflow("ScheduledJobWorkflow", &fire, &input.to_string()).await;
        let result = env.cli(&["workflow", "result", "--workflow-id", &fire]).await;
        let said = format!("{}{}", result.stdout, result.stderr);
        assert!(!result.success && said.contains(gap), "{said}");
        let history = env.cli_json(&["workflow", "show", "--workflow-id", &fire]).await.to_string();
        assert!(history.contains(r#""type":"CalendarNotCovered""#) && history.contains(r#""nonRetryable":true"#), "{history}");
        let described = env.cli_json(&["workflow", "describe", "--workflow-id", &fire]).await;
        assert_eq!(described["workflowExecutionInfo"]["status"], "WORKFLOW_EXECUTION_STATUS_FAILED", "{described:#}");
        assert!(occurrences(&env, &job).await.iter().all(|r| !r.key.contains("2025-")), "a row for an uncovered date");

        // The audit of those dates (punctual's since December by `--since`) fails on them and
        // repairs none.
        let args = ["audit", "--from", "2025-12-29", "--to", "2025-12-31", "--since", "2025-12-01", "--repair"];
        let audit = schedule(&env, &cfg, &args).await;
        assert!(!audit.success && audit.stdout.contains("missing=0") && audit.stdout.contains("uncovered=3"), "{}", audit.stdout);
        assert!(
            audit.stdout.contains("NO CALENDAR DATA") && audit.stderr.contains("3 occurrence(s) due on dates their calendar"),
            "{}\n{}",
            audit.stdout,
            audit.stderr
        );
        for day in 29..=31 {
            let key = format!("{job}/2025-12-{day}");
            assert!(!env.cli(&["workflow", "describe", "--workflow-id", &key]).await.success, "{key} was started");
        }
        schedule_ok(&env, &cfg, &["delete", &job]).await;
    })
    .await;
}

/// A dependent of a job that never runs on a date (a weekday `cron`, here on a Saturday) used to
/// wait for it for ever: no fire, so no row, so "not started", and under `wait` every later fire
/// of the dependent queued behind it. The parent's schedule says the date is not one of its:
/// the dependent is skipped, saying so. On a weekday it still waits for the parent.
#[tokio::test]
async fn a_dependent_is_skipped_on_a_date_its_parent_never_runs() {
    let env = TestEnv::start("sched-dep-days").await;
    let (close, report) = (job_name(&env, "close"), job_name(&env, "report"));
    let text =
        format!("[jobs.{close}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\ncron = \"0 9 * * 1-5\"\n\n")
            + &sla_job(&report, &format!("depends_on = [\"{close}\"]"));
    let cfg = write_config(&env, &text);
    env.with_worker(async {
        schedule_ok(&env, &cfg, &["apply"]).await;
        schedule_ok(&env, &cfg, &["trigger", &report, "--business-date", "2026-11-28"]).await;
        let row = settled(&env, &report, &format!("{report}/2026-11-28")).await;
        assert_eq!(row.status, "skipped", "{row:?}");
        let reason = row.reason.as_deref().unwrap_or_default();
        assert!(reason.contains(&format!("2026-11-28 is not a date job {close} runs on")), "{reason}");
        // A weekday: the dependent waits for its parent, and commits after it.
        schedule_ok(&env, &cfg, &["trigger", &report, "--business-date", "2026-11-27"]).await;
        schedule_ok(&env, &cfg, &["trigger", &close, "--business-date", "2026-11-27"]).await;
        assert_eq!(settled(&env, &report, &format!("{report}/2026-11-27")).await.status, "committed");
        schedule_ok(&env, &cfg, &["delete", &report]).await;
        schedule_ok(&env, &cfg, &["delete", &close]).await;
    })
    .await;
}

#[tokio::test]
async fn holidays_are_skipped_visibly_or_rolled_with_both_dates() {
    let env = TestEnv::start("sched-holiday").await;
    let (skip, roll, after) = (job_name(&env, "skip"), job_name(&env, "roll"), job_name(&env, "after"));
    let back = job_name(&env, "back");
    let text = sla_job(&skip, "calendar = \"cn\"\nroll = \"skip\"")
        + &sla_job(&roll, "calendar = \"cn\"\nroll = \"following\"")
        + &sla_job(&back, "calendar = \"cn\"\nroll = \"preceding\"")
        + &sla_job(&after, &format!("depends_on = [\"{skip}\"]"));
    let cfg = write_config(&env, &text);
    env.with_worker(async {
        schedule_ok(&env, &cfg, &["apply"]).await;
        // National Day under `skip`: recorded, with the holiday's name, and findable.
        schedule_ok(&env, &cfg, &["trigger", &skip, "--business-date", "2026-10-01"]).await;
        let row = settled(&env, &skip, &format!("{skip}/2026-10-01")).await;
        assert_eq!(row.status, "skipped");
        assert!(row.reason.as_deref().unwrap_or_default().contains("National Day"), "{row:?}");
        // A job that depends on it (`on_dependency = "wait"`, the default) does not wait forever
        // for a date its dependency will never run: it is skipped too, saying why.
        schedule_ok(&env, &cfg, &["trigger", &after, "--business-date", "2026-10-01"]).await;
        let dependent = settled(&env, &after, &format!("{after}/2026-10-01")).await;
        assert_eq!(dependent.status, "skipped", "{dependent:?}");
        let reason = dependent.reason.as_deref().unwrap_or_default();
        assert!(reason.contains(&format!("dependency {skip}/2026-10-01 skipped")) && reason.contains("National Day"), "{reason}");
        let found = eventually("skipped fire in visibility", WAIT, async || {
            let q = format!("JobName='{skip}' AND RunOutcome='skipped_holiday' AND BusinessDate='2026-10-01'");
            let listed = env.cli_json(&["workflow", "list", "--query", &q]).await;
            (listed.as_array().map_or(0, Vec::len) == 1).then_some(listed)
        })
        .await;
        assert_eq!(found[0]["type"]["name"], "ScheduledJobWorkflow", "{found}");

        // Under `following`, the eight nominal dates of the Golden Week run on 10-08, each under
        // its own key, each carrying its nominal and its effective date.
        let out = schedule_ok(&env, &cfg, &["trigger", &roll, "--business-date", "2026-10-08"]).await;
        let keys: Vec<String> = (1..=8).map(|day| format!("{roll}/2026-10-0{day}")).collect();
        assert!(
            out.contains(&format!("the fire that serves 2026-10-08 runs or joins, in order: {}", keys.join(", "))),
            "the trigger names every date rolled onto its fire: {out}"
        );
        for day in 1..=8 {
            let key = format!("{roll}/2026-10-0{day}");
            let row = settled(&env, &roll, &key).await;
            assert_eq!((row.status.as_str(), row.effective_date.as_deref()), ("committed", Some("2026-10-08")), "{key}");
            let described = env.cli_json(&["workflow", "describe", "--workflow-id", &key]).await;
            let text = described.to_string();
            assert!(text.contains(&format!("2026-10-0{day}")), "{key} carries its nominal date: {text}");
        }

        // Under `preceding` they run on 09-30, the fire before them: a trigger of one of them
        // finds that fire (it used to look forward only, and found none).
        let out = schedule_ok(&env, &cfg, &["trigger", &back, "--business-date", "2026-10-03"]).await;
        let keys: Vec<String> =
            std::iter::once(format!("{back}/2026-09-30")).chain((1..=7).map(|day| format!("{back}/2026-10-0{day}"))).collect();
        assert!(
            out.contains(&format!("the fire that serves 2026-10-03 runs or joins, in order: {}", keys.join(", "))),
            "the trigger names the fire before the date: {out}"
        );
        for key in &keys {
            let row = settled(&env, &back, key).await;
            assert_eq!((row.status.as_str(), row.effective_date.as_deref()), ("committed", Some("2026-09-30")), "{key}");
        }
        schedule_ok(&env, &cfg, &["delete", &back]).await;
        schedule_ok(&env, &cfg, &["delete", &skip]).await;
        schedule_ok(&env, &cfg, &["delete", &roll]).await;
        schedule_ok(&env, &cfg, &["delete", &after]).await;
        // Gone: a second delete, a resume or an audit of a backwards range says what is wrong, once.
        for args in [vec!["delete", &skip], vec!["resume", &skip]] {
            let out = schedule(&env, &cfg, &args).await;
            let says = format!("job \"{skip}\" has no schedule");
            let error = out.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
            assert!(!out.success && error.matches(&says).count() == 1, "{args:?}: {}", out.stderr);
        }
        let out = schedule(&env, &cfg, &["audit", "--from", "2026-10-08", "--to", "2026-10-01"]).await;
        assert!(!out.success && out.stderr.contains("--from 2026-10-08 is after --to 2026-10-01"), "{}", out.stderr);
    })
    .await;
}

#[tokio::test]
async fn day_rules_choose_the_dates_a_job_runs_on() {
    let env = TestEnv::start("sched-days").await;
    let (last, third) = (job_name(&env, "last"), job_name(&env, "third-mon"));
    let text = sla_job(&last, "calendar = \"cn\"\ndays = \"last_business_day\"")
        + &sla_job(&third, "days = { nth_weekday = 3, weekday = \"Mon\" }");
    let cfg = write_config(&env, &text);
    env.with_worker(async {
        schedule_ok(&env, &cfg, &["apply"]).await;
        // November 2026: its last business day in the cn calendar is Monday the 30th, its third
        // Monday the 16th. Those dates run; any other date's fire (the Friday before the last
        // business day, the fourth Monday) is refused by `trigger`: nothing to run.
        // --allow-future: the 30th's 09:00 fire is not due before 2026-11-30 01:00 UTC, and what
        // is tested here is the day rule, not the clock.
        for (job, due, not_due) in [(&last, "2026-11-30", "2026-11-27"), (&third, "2026-11-16", "2026-11-23")] {
            schedule_ok(&env, &cfg, &["trigger", job, "--business-date", due, "--allow-future"]).await;
            assert_eq!(settled(&env, job, &format!("{job}/{due}")).await.status, "committed", "{job} on {due}");
            let out = schedule(&env, &cfg, &["trigger", job, "--business-date", not_due]).await;
            let says = format!("nothing to run: {not_due} is not a date job {job} runs on");
            assert!(!out.success && out.stderr.contains(&says), "{job} on {not_due}: {}", out.stderr);
            // Only November 2026: the job's own schedule may fire while the test runs, and on a
            // date its rule serves that fire commits today's key.
            let keys: Vec<String> =
                occurrences(&env, job).await.into_iter().map(|r| r.key).filter(|k| k.contains("/2026-11-")).collect();
            assert_eq!(keys, [format!("{job}/{due}")], "{job}");
        }
        // The audit of the whole month expects those two dates and no other.
        let out = schedule_ok(&env, &cfg, &["audit", "--from", "2026-11-01", "--to", "2026-11-30"]).await;
        let tally = "=> expected=1 done=1 late=0 skipped=0 running=0 failed=0 missing=0 upcoming=0 unexpected=0";
        assert_eq!(out.matches(tally).count(), 2, "{out}");
        schedule_ok(&env, &cfg, &["delete", &last]).await;
        schedule_ok(&env, &cfg, &["delete", &third]).await;
    })
    .await;
}

#[tokio::test]
async fn a_chain_of_three_jobs_commits_in_order_across_a_worker_restart() {
    let env = TestEnv::start("sched-chain").await;
    let (a, b, c) = (job_name(&env, "a"), job_name(&env, "b"), job_name(&env, "c"));
    let (broken, after) = (job_name(&env, "broken"), job_name(&env, "after"));
    let text = sla_job(&a, "")
        + &sla_job(&b, &format!("depends_on = [\"{a}\"]"))
        + &sla_job(&c, &format!("depends_on = [\"{b}\"]"))
        + &format!(
            "[jobs.{broken}]\nworkflow = \"ReconciliationWorkflow\"\ninput = {{ timezone = \"Asia/Shanghai\" }}\ntimezone = \"Asia/Shanghai\"\nat = \"08:00\"\n\n"
        )
        + &sla_job(&after, &format!("depends_on = [\"{broken}\"]\non_dependency = \"skip\""));
    let cfg = write_config(&env, &text);
    let date = "2026-11-20";
    env.with_worker(async {
        schedule_ok(&env, &cfg, &["apply"]).await;
        // `broken` fails every fire: an input `apply` refuses, as an older punctual could have left it.
        apply_unchecked(&env, &cfg, &broken, |job| {
            job.input.insert("timezone".into(), "Mars/Olympus".into());
        })
        .await;
        // The dependents first: they wait.
        schedule_ok(&env, &cfg, &["trigger", &c, "--business-date", date]).await;
        schedule_ok(&env, &cfg, &["trigger", &b, "--business-date", date]).await;
        for job in [&b, &c] {
            eventually("waiting", WAIT, async || occurrences(&env, job).await.first().filter(|r| r.status == "waiting").cloned())
                .await;
        }
        // Even a forced backfill joins a run still going: two runs of one key never overlap.
        let out = schedule_ok(&env, &cfg, &["backfill", &b, "--from", date, "--to", date, "--mode", "force"]).await;
        assert!(out.contains("0 started, 1 joined a run still going, 0 already done, 0 left alone"), "{out}");
        assert_eq!(occurrences(&env, &b).await[0].runs, 1);
    })
    .await;
    // The worker stopped; a new one picks the waiting occurrences up.
    env.with_worker(async {
        schedule_ok(&env, &cfg, &["trigger", &a, "--business-date", date]).await;
        let rows: Vec<_> = [&a, &b, &c].iter().map(|j| (*j).clone()).collect();
        let mut committed = Vec::new();
        for job in &rows {
            committed.push(settled(&env, job, &format!("{job}/{date}")).await);
        }
        assert!(committed.iter().all(|r| r.status == "committed"), "{committed:?}");
        assert!(
            committed[0].updated_at < committed[1].updated_at && committed[1].updated_at < committed[2].updated_at,
            "a, then b, then c: {committed:?}"
        );

        // A dependency that fails: the dependent follows its policy (skip) and says why.
        schedule_ok(&env, &cfg, &["trigger", &after, "--business-date", date]).await;
        schedule_ok(&env, &cfg, &["trigger", &broken, "--business-date", date]).await;
        assert_eq!(settled(&env, &broken, &format!("{broken}/{date}")).await.status, "failed");
        let skipped = settled(&env, &after, &format!("{after}/{date}")).await;
        assert_eq!(skipped.status, "skipped");
        assert!(
            skipped.reason.as_deref().unwrap_or_default().contains(&format!("dependency {broken}/{date} failed")),
            "{skipped:?}"
        );
        for job in [&a, &b, &c, &broken, &after] {
            schedule_ok(&env, &cfg, &["delete", job]).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_fire_with_no_worker_waits_and_runs_when_one_returns() {
    let env = TestEnv::start("sched-noworker").await;
    let name = job_name(&env, "tick");
    let cfg = write_config(
        &env,
        &format!(
            "[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\nevery = \"2s\"\noverlap = \"skip\"\n"
        ),
    );
    schedule_ok(&env, &cfg, &["apply"]).await;
    let q = format!("JobName='{name}' AND ExecutionStatus='Running'");
    let waiting = eventually("a fire waiting in the task queue", WAIT, async || {
        let listed = env.cli_json(&["workflow", "list", "--query", &q]).await;
        listed.as_array().and_then(|a| a.first().cloned())
    })
    .await;
    assert!(occurrences(&env, &name).await.is_empty(), "nothing ran without a worker");
    let fire_id = waiting["execution"]["workflowId"].as_str().unwrap_or_else(|| panic!("{waiting}")).to_owned();
    env.with_worker(async {
        let result = env.cli(&["workflow", "result", "--workflow-id", &fire_id]).await;
        assert!(result.success, "{}", result.stderr);
        eventually("the waiting fire's occurrence committed", WAIT, async || {
            occurrences(&env, &name).await.into_iter().find(|r| r.status == "committed")
        })
        .await;
        schedule_ok(&env, &cfg, &["delete", &name]).await;
    })
    .await;
}

#[tokio::test]
async fn a_legacy_cron_workflow_joins_the_business_dates_occurrence() {
    let env = TestEnv::start("sched-cron").await;
    let name = job_name(&env, "legacy");
    let cfg = write_config(&env, &sla_job(&name, ""));
    let input = schedule_ok(&env, &cfg, &["input", &name]).await;
    let id = format!("{name}-cron");
    env.with_worker(async {
        let started = env
            .cli(&[
                "workflow",
                "start",
                "--type",
                "ScheduledJobWorkflow",
                "--task-queue",
                &env.task_queue,
                "--workflow-id",
                &id,
                "--cron",
                "* * * * *",
                "--input",
                input.trim(),
            ])
            .await;
        assert!(started.success, "{}", started.stderr);
        // Every minute's run maps to the day's one occurrence (the cron's times are not the
        // job's 09:00, so each run joins the business date's occurrence instead of adding one).
        let row = eventually("the cron run's occurrence", WAIT, async || {
            occurrences(&env, &name).await.into_iter().find(|r| r.status == "committed")
        })
        .await;
        let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let yesterday = today.pred_opt().expect("a day before");
        assert!(row.key == format!("{name}/{today}") || row.key == format!("{name}/{yesterday}"), "{row:?}");
        let terminated = env.cli(&["workflow", "terminate", "--workflow-id", &id, "--reason", "test over"]).await;
        assert!(terminated.success, "{}", terminated.stderr);
        assert_eq!(occurrences(&env, &name).await.len(), 1);
    })
    .await;
    let out = schedule(&env, &cfg, &["input", "nope"]).await;
    assert!(!out.success && out.stderr.contains("no job \"nope\""), "{}", out.stderr);
}

/// An `every = "1h"` job in New York on the fall-back night: the server fires at 05:00Z, 06:00Z
/// and 07:00Z (backfilled here), 01:00 EDT, 01:00 EST and 02:00 EST. Three fires, three
/// occurrences: the second pass of 01:00 is keyed `/repeat`. Before, it shared the first pass's
/// key, joined it, and one fire of the 25-hour day was lost.
#[tokio::test]
async fn an_hourly_job_runs_both_passes_of_the_repeated_hour() {
    let env = TestEnv::start("sched-every-dst").await;
    let hourly = job_name(&env, "hourly");
    let text = format!("[jobs.{hourly}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"America/New_York\"\nevery = \"1h\"\n\n");
    let cfg = write_config(&env, &text);
    env.with_worker(async {
        schedule_ok(&env, &cfg, &["apply"]).await;
        let backfill = env
            .cli(&[
                "schedule",
                "backfill",
                "--schedule-id",
                &format!("punctual-{hourly}"),
                "--start-time",
                "2027-11-07T04:30:00Z",
                "--end-time",
                "2027-11-07T07:30:00Z",
                "--overlap-policy",
                "AllowAll",
            ])
            .await;
        assert!(backfill.success, "{}", backfill.stderr);
        let keys = ["2027-11-07T01:00", "2027-11-07T01:00/repeat", "2027-11-07T02:00"].map(|k| format!("{hourly}/{k}"));
        for key in &keys {
            assert_eq!(settled(&env, &hourly, key).await.status, "committed", "{key}");
        }
        // (The schedule's own hourly fires, today, may add rows of their own date.)
        let night = format!("{hourly}/2027-11-07");
        let rows: Vec<String> =
            occurrences(&env, &hourly).await.into_iter().map(|r| r.key).filter(|k| k.starts_with(&night)).collect();
        assert_eq!(rows.len(), 3, "one occurrence per fire: {rows:?}");
        schedule_ok(&env, &cfg, &["delete", &hourly]).await;
    })
    .await;
}
