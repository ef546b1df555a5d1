//! Schedules as code, end to end on the real dev server: `punctual schedule ...` (the real
//! binary) against the real server, fires mapped to business keys, effects counted at the
//! provider, occurrences read from the ledger database.
//!

use base64::Engine as _;
use punctual_activities::seed::{CARD_DECLINED, demo_customer};
use punctual_tests::jobs::{
    WAIT, apply_unchecked, closed, job_name as job, occurrences as rows, schedule, schedule_ok as ok, settled,
    write_config as config,
};
use punctual_tests::{TestEnv, eventually, eventually_seen};
use punctual_workflows::jobs::types::fire_workflow_id;
use serde_json::Value;
use std::collections::BTreeMap;

const TZ: &str = "Asia/Shanghai";

/// Charges at the provider per invoice.
async fn charges_per_invoice(env: &TestEnv) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in env.world.charges().await {
        *counts.entry(c["invoice_id"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    counts
}

/// Invoices a billing run of `date` must charge: demo customers in `TZ` whose card is not declined.
fn chargeable(n: u32, date: &str) -> Vec<String> {
    (1..=n)
        .map(demo_customer)
        .filter(|c| c.timezone == TZ && c.payment_method != CARD_DECLINED)
        .map(|c| punctual_workflows::keys::invoice_id(&c.id, date))
        .collect()
}

/// Asserts every invoice of `dates` was charged exactly once and nothing else was charged.
async fn charged_once(env: &TestEnv, dates: &[String]) {
    let mut want = BTreeMap::new();
    for d in dates {
        for inv in chargeable(30, d) {
            want.insert(inv, 1);
        }
    }
    assert_eq!(charges_per_invoice(env).await, want, "charges per invoice for {dates:?}");
}

fn billing_job(name: &str, timing: &str) -> String {
    format!(
        "[jobs.{name}]\nworkflow = \"BillingRunWorkflow\"\ninput = {{ timezone = \"{TZ}\" }}\ntimezone = \"{TZ}\"\n{timing}\n"
    )
}

#[tokio::test]
async fn a_fast_schedule_fires_and_each_effect_happens_once() {
    let env = TestEnv::start("sched-fast").await;
    let name = job(&env, "bill");
    let cfg = config(&env, &billing_job(&name, "every = \"3s\""));
    env.with_worker(async {
        let out = ok(&env, &cfg, &["apply"]).await;
        assert!(out.contains(&format!("+ create punctual-{name}")), "{out}");
        // Several fires, each its own key (`{job}/{date}T{time}`), all billing the same
        // business date(s): the first bills, the others find every batch done.
        let done = eventually("three committed fires", WAIT, async || {
            let committed: Vec<_> = rows(&env, &name).await.into_iter().filter(|r| r.status == "committed").collect();
            (committed.len() >= 3).then_some(committed)
        })
        .await;
        ok(&env, &cfg, &["delete", &name]).await;
        let dates: std::collections::BTreeSet<String> =
            done.iter().map(|r| r.key.split('/').nth(1).expect("key has a date")[..10].to_owned()).collect();
        eventually("no occurrence left running", WAIT, async || {
            rows(&env, &name).await.iter().all(|r| r.status != "running" && r.status != "waiting").then_some(())
        })
        .await;
        charged_once(&env, &dates.into_iter().collect::<Vec<_>>()).await;

        // The fires are visible with their job and business key.
        let listed = env
            .cli_json(&["workflow", "list", "--query", &format!("JobName='{name}' AND WorkflowType='ScheduledJobWorkflow'")])
            .await;
        let fires = listed.as_array().map_or(0, Vec::len);
        assert!(fires >= 3, "fire workflows listed by JobName: {listed}");
    })
    .await;
}

#[tokio::test]
async fn triggers_and_backfills_collapse_onto_one_occurrence_per_business_date() {
    let env = TestEnv::start("sched-backfill").await;
    let name = job(&env, "bill");
    let cfg = config(&env, &billing_job(&name, "at = \"00:30\""));
    env.with_worker(async {
        ok(&env, &cfg, &["apply"]).await;
        // The same business date triggered twice: one occurrence.
        for _ in 0..2 {
            ok(&env, &cfg, &["trigger", &name, "--business-date", "2026-11-20"]).await;
            settled(&env, &name, &format!("{name}/2026-11-20")).await;
        }
        // Backfill: only the missing dates start.
        let out = ok(&env, &cfg, &["backfill", &name, "--from", "2026-11-18", "--to", "2026-11-20"]).await;
        assert!(out.contains("2 started, 0 joined a run still going, 0 already done, 1 left alone"), "{out}");
        for d in ["2026-11-18", "2026-11-19"] {
            assert_eq!(settled(&env, &name, &format!("{name}/{d}")).await.status, "committed");
        }
        // Force re-runs every occurrence's workflow; no effect happens twice. A run records its
        // commit just before it closes, and a start meeting it still open joins it: wait for closed.
        for d in 18..=20 {
            closed(&env, &format!("{name}/2026-11-{d}")).await;
        }
        let out = ok(&env, &cfg, &["backfill", &name, "--from", "2026-11-18", "--to", "2026-11-20", "--mode", "force"]).await;
        assert!(out.contains("3 started, 0 joined a run still going"), "{out}");
        let reruns = eventually_seen("forced reruns committed", WAIT, async || {
            let all = rows(&env, &name).await;
            if all.len() == 3 && all.iter().all(|r| r.status == "committed" && r.runs == 2) { Ok(all) } else { Err(all) }
        })
        .await;
        assert_eq!(reruns.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), [18, 19, 20].map(|d| format!("{name}/2026-11-{d}")));
        let dates = ["2026-11-18", "2026-11-19", "2026-11-20"].map(String::from);
        charged_once(&env, &dates).await;

        // The audit accounts for every date: all done here ...
        let out = ok(&env, &cfg, &["audit", "--from", "2026-11-18", "--to", "2026-11-20"]).await;
        assert!(out.contains("expected=3 done=3 late=0 skipped=0 running=0 failed=0 missing=0"), "{out}");
        // ... and three dates before it, due before the job's schedule existed or any occurrence
        // of it ran: another system's to have run (crontab, before the move), so neither lost
        // nor repaired. A repair there would bill those dates a second time.
        let before = ok(&env, &cfg, &["audit", "--from", "2026-11-15", "--to", "2026-11-20", "--repair"]).await;
        assert!(before.contains("missing=0") && before.contains("before=3"), "{before}");
        assert!(before.contains(&format!("{name}/2026-11-15")) && before.contains("before punctual ran this job"), "{before}");
        assert!(!before.contains("-> repair"), "{before}");
        for d in 15..=17 {
            let id = format!("{name}/2026-11-{d}");
            assert!(!env.cli(&["workflow", "describe", "--workflow-id", &id]).await.success, "{id} was started");
        }
        // The ledger remembers punctual running the job earlier (an occurrence of 11-14 recorded
        // then; its schedule since made again): from then on a date without a record is lost.
        // The audit reports the three, fails on them, and repairs them.
        sqlx::query(
            "INSERT INTO job_occurrences (key, job, business_date, status, reason, workflow_id, run_id, runs, created_at, updated_at) \
             VALUES ($1, $2, '2026-11-14', 'skipped', 'holiday', $1, 'r', 1, '2026-11-14T00:30:02.000Z', '2026-11-14T00:30:02.000Z')",
        )
        .bind(format!("{name}/2026-11-14"))
        .bind(&name)
        .execute(env.world.ledger.pool())
        .await
        .expect("an earlier occurrence");
        let lost = schedule(&env, &cfg, &["audit", "--from", "2026-11-15", "--to", "2026-11-20"]).await;
        assert!(!lost.success, "an audit with missing runs must fail: {}", lost.stdout);
        assert!(lost.stdout.contains("missing=3") && lost.stdout.contains("before=0"), "{}", lost.stdout);
        assert!(lost.stdout.contains(&format!("{name}/2026-11-15")) && lost.stdout.contains("MISSING"), "{}", lost.stdout);
        assert!(lost.stdout.contains("punctual's since 2026-11-14 00:30:02 UTC"), "{}", lost.stdout);
        // `--since` says when punctual took the job over where no record reaches back.
        let since = schedule(&env, &cfg, &["audit", "--from", "2026-11-15", "--to", "2026-11-20", "--since", "2026-11-16"]).await;
        assert!(since.stdout.contains("missing=2") && since.stdout.contains("before=1"), "{}", since.stdout);
        ok(&env, &cfg, &["audit", "--from", "2026-11-15", "--to", "2026-11-20", "--repair"]).await;
        for d in 15..=17 {
            assert_eq!(settled(&env, &name, &format!("{name}/2026-11-{d}")).await.status, "committed");
        }
        // A ledger row lost (or restored from an older backup) does not make a completed key
        // run again: missing_only picks it, the start is refused, and the count says so.
        let lost_key = format!("{name}/2026-11-18");
        closed(&env, &lost_key).await;
        sqlx::query("DELETE FROM job_occurrences WHERE key = $1")
            .bind(&lost_key)
            .execute(env.world.ledger.pool())
            .await
            .expect("delete the row");
        let out = ok(&env, &cfg, &["backfill", &name, "--from", "2026-11-18", "--to", "2026-11-20"]).await;
        assert!(out.contains("0 started, 0 joined a run still going, 1 already done, 2 left alone"), "{out}");
        assert!(out.contains(&format!("{lost_key}: already done")), "{out}");
        // The audit still sees the row missing, and its repair cannot fix that: it says why and fails.
        let audit = schedule(&env, &cfg, &["audit", "--from", "2026-11-18", "--to", "2026-11-18", "--repair"]).await;
        assert!(!audit.success, "an audit that could not repair must fail: {}", audit.stdout);
        assert!(audit.stdout.contains("already_done (its run completed; the ledger lost its row)"), "{}", audit.stdout);
        assert!(
            audit.stderr.contains("1 occurrence(s) completed in Temporal but have no job_occurrences row"),
            "{}",
            audit.stderr
        );
        // The converse: Temporal forgot a completed run (past the namespace's retention; deleted
        // here), the ledger did not. A trigger of that date starts nothing: the key stays at the
        // runs it had, and no occurrence workflow appears under it again.
        let forgotten = format!("{name}/2026-11-19");
        for id in [forgotten.clone(), format!("{forgotten}/BillingRunWorkflow")] {
            let deleted = env.cli(&["workflow", "delete", "--yes", "--workflow-id", &id]).await;
            assert!(deleted.success, "{}", deleted.stderr);
        }
        eventually("the forgotten run gone from Temporal", WAIT, async || {
            (!env.cli(&["workflow", "describe", "--workflow-id", &forgotten]).await.success).then_some(())
        })
        .await;
        let runs_before = rows(&env, &name).await.into_iter().find(|r| r.key == forgotten).expect("row").runs;
        ok(&env, &cfg, &["trigger", &name, "--business-date", "2026-11-19"]).await;
        let fire = format!("{}-manual-2026-11-19", fire_workflow_id(&name));
        let result = env.cli_json(&["workflow", "result", "--workflow-id", &fire]).await;
        assert_eq!(result["result"]["occurrences"][0]["outcome"], "already_done", "{result:#}");
        assert!(!env.cli(&["workflow", "describe", "--workflow-id", &forgotten]).await.success, "{forgotten} ran again");
        let row = rows(&env, &name).await.into_iter().find(|r| r.key == forgotten).expect("row");
        assert_eq!((row.status.as_str(), row.runs), ("committed", runs_before), "{row:?}");

        // A date whose fire is not due yet (a mistyped year) is refused, and starts nothing;
        // --allow-future runs it.
        let early = schedule(&env, &cfg, &["trigger", &name, "--business-date", "2099-01-05"]).await;
        assert!(!early.success, "a future date must be refused: {}", early.stdout);
        assert!(
            early.stderr.contains("the fire that serves 2099-01-05 is not due until 2099-01-05 00:30")
                && early.stderr.contains("--allow-future"),
            "{}",
            early.stderr
        );
        let early_fire = format!("{}-manual-2099-01-05", fire_workflow_id(&name));
        assert!(!env.cli(&["workflow", "describe", "--workflow-id", &early_fire]).await.success, "{early_fire} started");
        ok(&env, &cfg, &["trigger", &name, "--business-date", "2099-01-05", "--allow-future"]).await;
        assert_eq!(settled(&env, &name, &format!("{name}/2099-01-05")).await.status, "committed");

        let dates: Vec<String> = (15..=20).map(|d| format!("2026-11-{d}")).chain(["2099-01-05".to_owned()]).collect();
        charged_once(&env, &dates).await;
        ok(&env, &cfg, &["delete", &name]).await;
    })
    .await;
}

/// The audit judges each date by the timing in force when it was due. A slot moved from 17:00
/// to 18:00 used to make every past `…T18:00` key MISSING (and the `…T17:00` rows unexpected),
/// and `--repair` ran them: for a per-fire billing job, those days billed again. `apply` now
/// keeps the replaced timing in the schedule's memo.
#[tokio::test]
async fn a_changed_timing_leaves_the_past_judged_by_the_timing_it_had() {
    let env = TestEnv::start("sched-retime").await;
    let name = job(&env, "twice");
    let with = |times: &str| format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{TZ}\"\nat = [{times}]\n");
    let cfg = config(&env, &with("\"09:00\", \"17:00\""));
    env.with_worker(async {
        ok(&env, &cfg, &["apply"]).await;
        let out = ok(&env, &cfg, &["backfill", &name, "--from", "2026-11-10", "--to", "2026-11-11"]).await;
        assert!(out.contains("4 started"), "{out}");
        for key in ["2026-11-10T09:00", "2026-11-10T17:00", "2026-11-11T09:00", "2026-11-11T17:00"] {
            assert_eq!(settled(&env, &name, &format!("{name}/{key}")).await.status, "committed", "{key}");
        }
        let cfg = config(&env, &with("\"09:00\", \"18:00\""));
        let out = ok(&env, &cfg, &["apply"]).await;
        assert!(out.contains(&format!("~ update punctual-{name}")), "{out}");
        let args = ["audit", "--from", "2026-11-10", "--to", "2026-11-11", "--since", "2026-11-01", "--repair"];
        let audit = ok(&env, &cfg, &args).await;
        assert!(audit.contains("expected=4 done=4 late=0 skipped=0 running=0 failed=0 missing=0"), "{audit}");
        assert!(audit.contains("unexpected=0") && !audit.contains("-> repair"), "{audit}");
        let keys: Vec<String> = rows(&env, &name).await.into_iter().map(|r| r.key).collect();
        assert!(keys.iter().all(|k| !k.ends_with("T18:00")), "the repair ran the new slot on past days: {keys:?}");
        ok(&env, &cfg, &["delete", &name]).await;
    })
    .await;
}

/// The dated entries that fire a spring-forward day's shifted time reach 10 years ahead from
/// the day they were written. `apply` of an unchanged job left them as they were, so the horizon
/// never moved (and a tzdata update that moved a transition was never written). Entries older
/// than today's are now rewritten; an `apply` right after changes nothing.
#[tokio::test]
async fn apply_refreshes_dst_shift_entries_written_long_ago() {
    use punctual_worker::schedule::server;
    let env = TestEnv::start("sched-dst-refresh").await;
    let name = job(&env, "ny");
    let cfg = config(
        &env,
        &format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"America/New_York\"\nat = \"02:30\"\n"),
    );
    ok(&env, &cfg, &["apply"]).await;
    let again = ok(&env, &cfg, &["apply"]).await;
    assert!(again.contains(&format!("= unchanged punctual-{name}")), "{again}");
    // The same schedule as an apply three years ago wrote it.
    let existing = server::describe(&env.client, &name).await.expect("describe").expect("exists");
    let spec = existing.spec.clone().expect("punctual's");
    let job = punctual_workflows::jobs::Job::resolve(spec).expect("resolves");
    let then = chrono::Utc::now() - chrono::Duration::days(3 * 365);
    server::update(&env.client, &job, &env.task_queue, then, &existing, &existing.earlier).await.expect("update");
    let out = ok(&env, &cfg, &["apply"]).await;
    assert!(out.contains(&format!("~ update punctual-{name}: DST-shift entries")), "{out}");
    let again = ok(&env, &cfg, &["apply"]).await;
    assert!(again.contains(&format!("= unchanged punctual-{name}")), "{again}");
    ok(&env, &cfg, &["delete", &name]).await;
}

#[tokio::test]
async fn a_phase_moves_an_every_jobs_fires_off_the_intervals_multiples() {
    let env = TestEnv::start("sched-phase").await;
    let name = job(&env, "tick");
    let text = format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{TZ}\"\nevery = \"10s\"\nphase = \"3s\"\n");
    let cfg = config(&env, &text);
    env.with_worker(async {
        ok(&env, &cfg, &["apply"]).await;
        let d = described(&env, &name).await;
        let interval = &d["schedule"]["spec"]["interval"][0];
        assert_eq!((interval["interval"].as_str(), interval["phase"].as_str()), (Some("10s"), Some("3s")), "{d}");
        // Each fire's business key names its own phased time: seconds 03, 13, 23 ...
        let done = eventually("two committed fires", WAIT, async || {
            let committed: Vec<_> = rows(&env, &name).await.into_iter().filter(|r| r.status == "committed").collect();
            (committed.len() >= 2).then_some(committed)
        })
        .await;
        ok(&env, &cfg, &["delete", &name]).await;
        for row in &done {
            assert!(
                row.key.ends_with('3') && row.key.len() == name.len() + 1 + "2026-11-24T00:00:03".len(),
                "{} is not a phased fire",
                row.key
            );
        }
    })
    .await;
}

/// A pause that reaches the scheduler before a due fire starts must not lose that fire. The
/// scheduler starts a fire at its nominal time plus jitter (and seconds later when busy); 30
/// minutes of jitter make it start this one long after the pause, which therefore nearly always
/// wins the race. `punctual schedule pause` then starts the occurrence itself, once.
#[tokio::test]
async fn a_pause_after_a_due_time_still_runs_the_occurrence_that_was_due() {
    let env = TestEnv::start("sched-pause-due").await;
    let name = job(&env, "due");
    let due = chrono::Utc::now().timestamp() + 30;
    let text = format!(
        "[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{TZ}\"\nevery = \"3600s\"\nphase = \"{}s\"\njitter = \"1800s\"\n",
        due.rem_euclid(3600)
    );
    let cfg = config(&env, &text);
    env.with_worker(async {
        ok(&env, &cfg, &["apply"]).await;
        let wait = due + 2 - chrono::Utc::now().timestamp();
        tokio::time::sleep(std::time::Duration::from_secs(wait.max(0) as u64)).await;
        let out = ok(&env, &cfg, &["pause", &name, "--reason", "freeze"]).await;
        // Which of the two won: the scheduler's fire (its jitter fell under 2 s) or the pause.
        let nominal = chrono::DateTime::from_timestamp(due, 0).expect("time").format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let d = described(&env, &name).await;
        assert_eq!(d["schedule"]["state"]["paused"], true, "{d}");
        let fired = d["info"]["recentActions"].as_array().is_some_and(|a| {
            a.iter().any(|x| x["startWorkflowResult"]["workflowId"].as_str().is_some_and(|id| id.ends_with(&nominal)))
        });
        let expected = if fired {
            "0 occurrence(s) due before the pause were not started by the scheduler: 0 started now (or joined a run still going), 0 already done"
        } else {
            "1 occurrence(s) due before the pause were not started by the scheduler: 1 started now (or joined a run still going), 0 already done"
        };
        assert!(out.contains(expected), "scheduler fired {nominal}: {fired}\n{out}");
        // Either way the occurrence of that time runs, once.
        let done = eventually_seen("the due occurrence settled", WAIT, async || {
            let all = rows(&env, &name).await;
            match all.iter().find(|r| r.status == "committed") {
                Some(row) => Ok((row.clone(), all)),
                None => Err(all),
            }
        })
        .await;
        let (row, all) = done;
        assert_eq!(all.len(), 1, "one occurrence, that of the due time: {all:?}");
        let tz: chrono_tz::Tz = TZ.parse().expect("zone");
        let local = chrono::DateTime::from_timestamp(due, 0).expect("time").with_timezone(&tz);
        assert_eq!(row.key, format!("{name}/{}", local.format("%Y-%m-%dT%H:%M:%S")), "the due time's key");
        assert_eq!(row.runs, 1, "run once: {row:?}");
        ok(&env, &cfg, &["delete", &name]).await;
    })
    .await;
}

/// `temporal schedule describe -o json` for a job's schedule.
async fn described(env: &TestEnv, name: &str) -> Value {
    env.cli_json(&["schedule", "describe", "--schedule-id", &format!("punctual-{name}")]).await
}

#[tokio::test]
async fn apply_is_idempotent_keeps_pauses_and_owns_only_its_schedules() {
    let env = TestEnv::start("sched-apply").await;
    let (a, b) = (job(&env, "a"), job(&env, "b"));
    let two = format!("{}{}", billing_job(&a, "at = \"00:30\""), billing_job(&b, "at = \"01:30\""));
    let cfg = config(&env, &two);
    let out = ok(&env, &cfg, &["apply", "--dry-run"]).await;
    assert!(out.contains(&format!("+ would create punctual-{a}")), "{out}");
    assert!(schedule(&env, &cfg, &["describe", &a]).await.stderr.contains("has no schedule"), "dry run created nothing");
    let out = ok(&env, &cfg, &["apply"]).await;
    assert!(out.contains(&format!("+ create punctual-{a}")) && out.contains(&format!("+ create punctual-{b}")), "{out}");
    // The schedule's memo records its queue, so applies for other queues pass it over unlooked.
    let d = described(&env, &a).await;
    let data = d["memo"]["fields"]["task-queue"]["data"].as_str().unwrap_or_else(|| panic!("no task-queue memo: {d}"));
    let recorded = base64::engine::general_purpose::STANDARD.decode(data).expect("base64 payload");
    assert_eq!(String::from_utf8_lossy(&recorded), format!("\"{}\"", env.task_queue), "{d}");
    let out = ok(&env, &cfg, &["apply"]).await;
    assert!(out.contains(&format!("= unchanged punctual-{a}")) && out.contains(&format!("= unchanged punctual-{b}")), "{out}");

    ok(&env, &cfg, &["pause", &a, "--reason", "month-end freeze"]).await;
    let d = described(&env, &a).await;
    assert_eq!(d["schedule"]["state"]["paused"], true, "{d}");
    assert_eq!(d["schedule"]["state"]["notes"], "month-end freeze", "{d}");

    // A change: dry run shows it and changes nothing; apply changes it and keeps the pause.
    let changed = two.replace("at = \"00:30\"", "at = \"00:45\"");
    let cfg = config(&env, &changed);
    let out = ok(&env, &cfg, &["apply", "--dry-run"]).await;
    assert!(out.contains(&format!("~ would update punctual-{a}: timing")), "{out}");
    assert_eq!(
        described(&env, &a).await["schedule"]["spec"]["structuredCalendar"][0]["minute"][0]["start"],
        30,
        "a dry run changes nothing"
    );
    let out = ok(&env, &cfg, &["apply"]).await;
    assert!(out.contains(&format!("~ update punctual-{a}: timing")), "{out}");
    let d = described(&env, &a).await;
    assert_eq!(d["schedule"]["spec"]["structuredCalendar"][0]["minute"][0]["start"], 45, "{d}");
    assert_eq!(d["schedule"]["state"]["paused"], true, "apply keeps a pause: {d}");
    ok(&env, &cfg, &["resume", &a]).await;
    assert_ne!(described(&env, &a).await["schedule"]["state"]["paused"], true);

    // A second daily time would rename every key of a (a/D becomes a/DT00:45): refused, for
    // both jobs of the file, before anything changes on the server.
    let twice = changed.replace("at = \"00:45\"", "at = [\"00:45\", \"12:00\"]").replace("at = \"01:30\"", "at = \"01:35\"");
    let refused = schedule(&env, &config(&env, &twice), &["apply"]).await;
    assert!(!refused.success, "a key-renaming timing was applied:\n{}", refused.stdout);
    assert!(refused.stderr.contains(&format!("job \"{a}\"")), "{}", refused.stderr);
    assert!(refused.stderr.contains("changes the shape of every business key"), "{}", refused.stderr);
    assert!(refused.stderr.contains(&format!("{a}/")) && refused.stderr.contains("T00:45"), "{}", refused.stderr);
    let calendar = &described(&env, &a).await["schedule"]["spec"]["structuredCalendar"];
    assert_eq!(calendar.as_array().map(Vec::len), Some(1), "a keeps its one time: {calendar}");
    let b_minute = &described(&env, &b).await["schedule"]["spec"]["structuredCalendar"][0]["minute"][0]["start"];
    assert_eq!(b_minute, 30, "b is not updated either");

    // Someone else's schedule under our prefix, on another queue: never touched.
    let foreign = format!("punctual-{}", job(&env, "foreign"));
    let made = env
        .cli(&[
            "schedule", "create", "--schedule-id", &foreign, "--interval", "1h", "--task-queue", "someone-else", "--type",
            "ScheduledJobWorkflow", "--workflow-id", "foreign",
        ])
        .await;
    assert!(made.success, "{}", made.stderr);
    // Removing b from the file deletes b's schedule, and only it.
    let cfg = config(&env, &billing_job(&a, "at = \"00:45\""));
    let out = ok(&env, &cfg, &["apply"]).await;
    eventually("b deleted", WAIT, async || {
        schedule(&env, &cfg, &["describe", &b]).await.stderr.contains("has no schedule").then_some(())
    })
    .await;
    assert!(!out.contains(&foreign), "{out}");
    assert!(env.cli(&["schedule", "describe", "--schedule-id", &foreign]).await.success, "the foreign schedule survives");
    ok(&env, &cfg, &["delete", &a]).await;
    env.cli(&["schedule", "delete", "--schedule-id", &foreign]).await;
}

#[tokio::test]
async fn config_errors_name_the_job_and_the_field() {
    let env = TestEnv::start("sched-config").await;
    let base = |extra: &str| format!("[jobs.x]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{TZ}\"\n{extra}\n");
    let cases = [
        (base("cron = \"0 24 * * *\""), ["job \"x\"", "\"cron\"", "24"]),
        (base("at = \"00:30\"").replace(TZ, "Mars/Olympus"), ["job \"x\"", "\"timezone\"", "Mars/Olympus"]),
        (base("at = \"00:30\"\ncalendar = \"atlantis\""), ["job \"x\"", "\"calendar\"", "atlantis"]),
        (base("at = \"00:30\"\ndepends_on = [\"nope\"]"), ["job \"x\"", "\"depends_on\"", "nope"]),
        (
            format!(
                "{}[jobs.y]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{TZ}\"\nat = \"01:00\"\ndepends_on = [\"x\"]\n",
                base("at = \"00:30\"\ndepends_on = [\"y\"]")
            ),
            ["depends_on", "x -> y -> x", "cycle"],
        ),
        (base("every = \"0s\""), ["job \"x\"", "\"every\"", "at least"]),
        (base("every = \"10s\"\nphase = \"10s\""), ["job \"x\"", "\"phase\"", "shorter than `every`"]),
        // A type no worker registers (its fires' workflow tasks would fail forever), and an input
        // the workflow would refuse at every fire.
        (base("at = \"00:30\"").replace("SlaCheckWorkflow", "NoSuchWorkflow"), ["job \"x\"", "\"workflow\"", "NoSuchWorkflow"]),
        (
            base("at = \"00:30\"\ninput = { timezone = \"Mars/Olympus\" }").replace("SlaCheckWorkflow", "BillingRunWorkflow"),
            ["job \"x\"", "\"input\"", "Mars/Olympus"],
        ),
    ];
    for (text, needles) in cases {
        let cfg = config(&env, &text);
        let out = schedule(&env, &cfg, &["apply"]).await;
        assert!(!out.success, "accepted:\n{text}");
        for needle in needles {
            assert!(out.stderr.contains(needle), "error for\n{text}\nlacks {needle:?}: {}", out.stderr);
        }
    }
    let missing = env.punctual(&["schedule", "--config", "/nonexistent/punctual.toml", "apply"]).await;
    assert!(!missing.success && missing.stderr.contains("/nonexistent/punctual.toml"), "{}", missing.stderr);
    // A mistyped date is named even with no server to reach (nothing listens on port 9).
    let nowhere = [("TEMPORAL_ADDRESS", "127.0.0.1:9".to_owned())];
    for (args, says) in [
        (
            vec!["audit", "--from", "2026-11-01", "--to", "2026-11-02", "--since", "2026-13-01"],
            "--since must be a date YYYY-MM-DD",
        ),
        (vec!["backfill", "x", "--from", "2026-11-31", "--to", "2026-12-01"], "--from must be a date YYYY-MM-DD"),
        (vec!["trigger", "x", "--business-date", "yesterday"], "--business-date must be a date YYYY-MM-DD"),
    ] {
        let out = env.punctual_with(&nowhere, &[&["schedule"][..], &args].concat()).await;
        assert!(!out.success && out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}

#[tokio::test]
async fn consecutive_failures_pause_the_schedule_and_failed_only_reruns_them_after_a_fix() {
    let env = TestEnv::start("sched-pause").await;
    let name = job(&env, "fails");
    let cfg = config(
        &env,
        &format!(
            "[jobs.{name}]\nworkflow = \"ReconciliationWorkflow\"\ninput = {{ timezone = \"{TZ}\" }}\ntimezone = \"{TZ}\"\nat = \"08:00\"\npause_after_failures = 2\n"
        ),
    );
    // Input that can never succeed, which `apply` refuses, on the server as an older punctual could
    // have left it: each occurrence fails (non-retryably, at once).
    apply_unchecked(&env, &cfg, &name, |job| {
        job.input.insert("timezone".into(), "Mars/Olympus".into());
    })
    .await;
    env.with_worker(async {
        ok(&env, &cfg, &["trigger", &name, "--business-date", "2026-11-18"]).await;
        let first = settled(&env, &name, &format!("{name}/2026-11-18")).await;
        assert_eq!(first.status, "failed");
        assert!(first.reason.as_deref().unwrap_or_default().contains("ReconciliationWorkflow failed"), "{first:?}");
        assert_ne!(described(&env, &name).await["schedule"]["state"]["paused"], true, "one failure does not pause");
        ok(&env, &cfg, &["trigger", &name, "--business-date", "2026-11-19"]).await;
        assert_eq!(settled(&env, &name, &format!("{name}/2026-11-19")).await.status, "failed");
        let d = eventually("paused after two failures", WAIT, async || {
            let d = described(&env, &name).await;
            (d["schedule"]["state"]["paused"] == true).then_some(d)
        })
        .await;
        let note = d["schedule"]["state"]["notes"].as_str().unwrap_or_default().to_owned();
        assert!(note.contains("2 consecutive failed occurrences") && note.contains(&format!("{name}/2026-11-19")), "{note}");

        // Apply the fixed job (the reload), and re-run only the failed dates.
        let out = ok(&env, &cfg, &["apply"]).await;
        assert!(out.contains(&format!("~ update punctual-{name}: input")), "{out}");
        for d in 18..=19 {
            closed(&env, &format!("{name}/2026-11-{d}")).await;
        }
        let out =
            ok(&env, &cfg, &["backfill", &name, "--from", "2026-11-17", "--to", "2026-11-19", "--mode", "missing_only"]).await;
        assert!(
            out.contains("1 started, 0 joined a run still going, 0 already done, 2 left alone"),
            "missing_only leaves failed dates alone: {out}"
        );
        let out =
            ok(&env, &cfg, &["backfill", &name, "--from", "2026-11-17", "--to", "2026-11-19", "--mode", "failed_only"]).await;
        assert!(out.contains("2 started, 0 joined a run still going, 0 already done, 1 left alone"), "{out}");
        for d in 17..=19 {
            let key = format!("{name}/2026-11-{d}");
            let row = eventually("re-run committed", WAIT, async || {
                rows(&env, &name).await.into_iter().find(|r| r.key == key && r.status == "committed")
            })
            .await;
            assert_eq!(row.runs, if d == 17 { 1 } else { 2 }, "{row:?}");
        }
        ok(&env, &cfg, &["delete", &name]).await;
    })
    .await;
}

#[tokio::test]
async fn overlap_policies_govern_fires_behind_a_waiting_occurrence() {
    let env = TestEnv::start("sched-overlap").await;
    let (never, skip, buffer) = (job(&env, "never"), job(&env, "skip"), job(&env, "buffer"));
    // Each fire's occurrence waits for `never`'s occurrence of its date, which never runs, so the
    // first fire keeps running and the following ones meet the overlap policy.
    let waiting = |name: &str, overlap: &str| {
        format!(
            "[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{TZ}\"\nevery = \"2s\"\noverlap = \"{overlap}\"\ndepends_on = [\"{never}\"]\n\n"
        )
    };
    let text = format!("[jobs.{never}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{TZ}\"\nat = \"08:00\"\n\n")
        + &waiting(&skip, "skip")
        + &waiting(&buffer, "buffer_all");
    let cfg = config(&env, &text);
    env.with_worker(async {
        ok(&env, &cfg, &["apply"]).await;
        let info = |d: &Value, field: &str| {
            d["info"][field].as_str().and_then(|n| n.parse::<u64>().ok()).or(d["info"][field].as_u64()).unwrap_or(0)
        };
        eventually("fires skipped behind the waiting one", WAIT, async || {
            (info(&described(&env, &skip).await, "overlapSkipped") >= 2).then_some(())
        })
        .await;
        eventually("fires buffered behind the waiting one", WAIT, async || {
            (info(&described(&env, &buffer).await, "bufferSize") >= 2).then_some(())
        })
        .await;
        for name in [&skip, &buffer] {
            let rows = rows(&env, name).await;
            assert_eq!(rows.len(), 1, "only the first fire's occurrence started: {rows:?}");
            assert_eq!(rows[0].status, "waiting");
        }
        for name in [&never, &skip, &buffer] {
            ok(&env, &cfg, &["delete", name]).await;
        }
    })
    .await;
}

/// A billing occurrence whose run completes with customers failed (here every one: the provider's
/// URL is wrong, so each saga stops with nothing undone) used to commit like any other: `audit`
/// said `done` and exited 0, and `backfill --mode failed_only` left it alone, so nothing ever
/// billed the date. The row now counts the failed customers: `audit` reports it PARTLY FAILED
/// and fails, and `failed_only` runs it again (forced: its run completed), which, with the URL
/// fixed, bills each customer once.
#[tokio::test]
async fn a_billing_occurrence_with_failed_customers_is_partly_failed_until_run_again() {
    let env = TestEnv::start("sched-partly-failed").await;
    let name = job(&env, "bill");
    let date = "2026-11-05";
    let key = format!("{name}/{date}");
    let cfg = config(&env, &billing_job(&name, "at = \"00:30\""));
    // An earlier run of the occurrence failed outright and is archived under its key.
    sqlx::query(
        "INSERT INTO failed_runs (business_key, job, workflow_type, workflow_id, run_id, error, attempts, status, \
           first_failed_at, last_failed_at) \
         VALUES ($1, $2, 'JobOccurrenceWorkflow', $1, 'earlier', 'worker lost', 1, 'failed', \
           '2026-11-05T00:00:00.000Z', '2026-11-05T00:00:00.000Z')",
    )
    .bind(&key)
    .bind(&name)
    .execute(env.world.ledger.pool())
    .await
    .expect("archive an earlier failure");
    let archived = async || -> String {
        sqlx::query_scalar("SELECT status FROM failed_runs WHERE business_key = $1")
            .bind(&key)
            .fetch_one(env.world.ledger.pool())
            .await
            .expect("the occurrence's archive row")
    };
    let typo = env.world.billing_activities_at(&format!("{}/v0", env.world.provider_url), &env.world.notify_url);
    let first = env
        .with_worker_using(typo, async {
            ok(&env, &cfg, &["apply"]).await;
            ok(&env, &cfg, &["trigger", &name, "--business-date", date]).await;
            settled(&env, &name, &key).await
        })
        .await;
    assert_eq!(archived().await, "failed", "a partly failed occurrence resolved the key's archived failure");
    let customers = chargeable(30, date).len() as i64;
    assert_eq!(first.status, "committed", "{first:#?}");
    assert!(first.failed_items.is_some_and(|n| n >= customers), "{first:#?}");
    assert!(env.world.charges().await.is_empty());

    let audit = schedule(&env, &cfg, &["audit", "--job", &name, "--from", date, "--to", date]).await;
    assert!(!audit.success, "an audit of a date nobody was billed for passed:\n{}", audit.stdout);
    assert!(audit.stdout.contains("PARTLY FAILED") && audit.stdout.contains("partly_failed=1"), "{}", audit.stdout);
    assert!(audit.stderr.contains("1 partly failed"), "{}", audit.stderr);

    let again = env
        .with_worker(async {
            let out = ok(&env, &cfg, &["backfill", &name, "--from", date, "--to", date, "--mode", "failed_only"]).await;
            assert!(out.contains("1 started") && out.contains("was committed, partly failed"), "{out}");
            eventually_seen("the run again committed clean", WAIT, async || {
                let row = rows(&env, &name).await.into_iter().find(|r| r.key == key);
                match row {
                    Some(r) if r.status == "committed" && r.failed_items.is_none() && r.run_id != first.run_id => Ok(r),
                    other => Err(other),
                }
            })
            .await
        })
        .await;
    assert_eq!(again.failed_items, None);
    assert_eq!(archived().await, "resolved", "the clean run resolves it");
    charged_once(&env, &[date.to_owned()]).await;
    let audit = schedule(&env, &cfg, &["audit", "--job", &name, "--from", date, "--to", date]).await;
    assert!(audit.success, "{}\n{}", audit.stdout, audit.stderr);
    ok(&env, &cfg, &["delete", &name]).await;
}

/// A schedule's fires go to its own task queue, whose workers keep its ledger. `apply` already
/// refused another queue's schedule; `trigger`, `backfill`, `pause`, `resume` and `delete` acted
/// on it: a trigger from the wrong queue started a fire where nothing polled, and the date's key
/// looked taken. Each now refuses, naming both queues, and starts nothing.
#[tokio::test]
async fn schedule_commands_refuse_another_queues_schedule() {
    let env = TestEnv::start("sched-other-queue").await;
    let name = job(&env, "owned");
    let cfg = config(&env, &billing_job(&name, "at = \"00:30\""));
    ok(&env, &cfg, &["apply"]).await;
    let elsewhere = [("PUNCTUAL_TASK_QUEUE", format!("{}-elsewhere", env.task_queue))];
    let path = cfg.display().to_string();
    for args in [
        vec!["trigger", name.as_str(), "--business-date", "2026-11-16"],
        vec!["trigger", name.as_str()],
        vec!["backfill", name.as_str(), "--from", "2026-11-16", "--to", "2026-11-16", "--mode", "force"],
        vec!["pause", name.as_str(), "--reason", "wrong queue"],
        vec!["resume", name.as_str()],
        vec!["delete", name.as_str()],
    ] {
        let mut all = vec!["schedule", "--config", path.as_str()];
        all.extend_from_slice(&args);
        let out = env.punctual_with(&elsewhere, &all).await;
        assert!(!out.success, "{args:?} acted on another queue's schedule:\n{}", out.stdout);
        assert!(out.stderr.contains(&format!("belongs to task queue `{}`", env.task_queue)), "{args:?}: {}", out.stderr);
    }
    let fires = format!("JobName='{name}'");
    let listed = env.cli_json(&["workflow", "list", "--query", &fires]).await;
    assert!(listed.as_array().is_none_or(Vec::is_empty), "a fire was started: {listed:#}");
    let described = ok(&env, &cfg, &["describe", &name]).await;
    assert!(!described.contains("PAUSED") && !described.contains("paused:"), "{described}");
    // From its own queue, a backfill of a date not due yet leaves it alone and says why.
    let out = ok(&env, &cfg, &["backfill", &name, "--from", "2099-01-05", "--to", "2099-01-05"]).await;
    assert!(out.contains(&format!("{name}/2099-01-05: not started: not due until 2099-01-05 00:30")), "{out}");
    assert!(out.contains("0 started") && out.contains("1 left alone"), "{out}");
    ok(&env, &cfg, &["delete", &name]).await;
}

/// `trigger JOB` (a fire now) ran the day's occurrence whatever its time: a 23:30 job triggered at
/// 14:00 billed nine hours early, which `trigger --business-date` refuses. Now it refuses too,
/// naming the occurrence and when it is due, unless `--allow-future`, and starts nothing.
#[tokio::test]
async fn a_trigger_now_refuses_an_occurrence_not_due_yet() {
    let env = TestEnv::start("sched-trigger-early").await;
    let name = job(&env, "early");
    // A zone where it is about noon: today's 18:00 slot is six hours ahead.
    let now = chrono::Utc::now();
    let tz = punctual_tests::clock::zone_at_noon(now);
    let zone = tz.name();
    let slot = (now.with_timezone(&tz) + chrono::Duration::hours(6)).format("%H:%M").to_string();
    let text = format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"{zone}\"\nat = \"{slot}\"\n");
    let cfg = config(&env, &text);
    ok(&env, &cfg, &["apply"]).await;
    let out = schedule(&env, &cfg, &["trigger", &name]).await;
    let today = now.with_timezone(&tz).date_naive();
    assert!(!out.success, "a trigger ran {name}/{today} six hours early:\n{}", out.stdout);
    assert!(out.stderr.contains(&format!("a fire now runs {name}/{today}, which is not due until")), "{}", out.stderr);
    assert!(out.stderr.contains("--allow-future"), "{}", out.stderr);
    let fires = format!("JobName='{name}'");
    let listed = env.cli_json(&["workflow", "list", "--query", &fires]).await;
    assert!(listed.as_array().is_none_or(Vec::is_empty), "a fire was started: {listed:#}");
    let out = ok(&env, &cfg, &["trigger", &name, "--allow-future"]).await;
    assert!(out.contains(&format!("runs or joins, in order: {name}/{today}")), "{out}");
    ok(&env, &cfg, &["delete", &name]).await;
}
