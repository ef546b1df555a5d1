//! A worker whose clock is wrong by a day (NTP gone, a VM restored from a snapshot, a clock set
//! by hand) still fires on the server's business date and judges SLA deadlines by the server's
//! clock. The real `punctual worker` binary runs under libfaketime (`LD_PRELOAD`, installed by
//! `scripts/ensure-faketime.sh`; a failed install fails these tests, never skips them), against
//! the shared dev server, whose clock is the machine's.
//!
//! Each test also shows that the worker's clock really was moved: the occurrence row's
//! `created_at`, which the worker stamps with its own clock, is a day off.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use punctual_tests::TestEnv;
use punctual_tests::clock::{skewed_clock, zone_at_noon};
use punctual_tests::jobs::{job_name, schedule_ok, settled, write_config};
use punctual_workflows::JsonInput;
use punctual_workflows::reports::SlaCheckWorkflow;
use punctual_workflows::reports::types::SlaReport;
use serde_json::json;
use std::process::Child;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

/// The real worker with its clock moved by `offset`, `days` days (see [`skewed_clock`]).
fn skewed_worker(env: &TestEnv, offset: &str, days: i64) -> KillOnDrop {
    KillOnDrop(env.spawn_worker_with(&skewed_clock(offset, days)))
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The worker's own clock when it wrote `key`'s row: `created_at` is stamped by the activity.
async fn created_at(env: &TestEnv, key: &str) -> DateTime<Utc> {
    let text: String = sqlx::query_scalar("SELECT created_at FROM job_occurrences WHERE key = $1")
        .bind(key)
        .fetch_one(env.world.ledger.pool())
        .await
        .expect("created_at");
    DateTime::parse_from_rfc3339(&text).unwrap_or_else(|e| panic!("created_at {text}: {e}")).with_timezone(&Utc)
}

/// A job whose slot is six hours away (the schedule does not fire by itself while the test
/// runs), fired now through the server (`schedule trigger`), run by a worker a day ahead.
#[tokio::test]
async fn a_worker_a_day_ahead_fires_on_the_servers_business_date() {
    let env = TestEnv::start("clock-ahead-fire").await;
    let now = Utc::now();
    let zone = zone_at_noon(now);
    let today: NaiveDate = now.with_timezone(&zone).date_naive();
    let job = job_name(&env, "ahead");
    let slot = (now.with_timezone(&zone) + Duration::hours(6)).format("%H:%M");
    let config = write_config(
        &env,
        &format!(
            "[jobs.{job}]\nworkflow = \"SlaCheckWorkflow\"\ninput = {{ limit = 1 }}\ntimezone = \"{zone}\"\nat = \"{slot}\"\n"
        ),
    );
    schedule_ok(&env, &config, &["apply"]).await;
    let _worker = skewed_worker(&env, "+1d", 1);
    // The day's slot is six hours ahead: a trigger now runs it early, on purpose.
    schedule_ok(&env, &config, &["trigger", &job, "--allow-future"]).await;

    let key = format!("{job}/{today}");
    let row = settled(&env, &job, &key).await;
    assert_eq!(row.status, "committed", "{row:#?}");
    let rows = punctual_tests::jobs::occurrences(&env, &job).await;
    assert_eq!(rows.len(), 1, "one occurrence, on the server's date {today} in {zone}: {rows:#?}");
    let written = created_at(&env, &key).await;
    assert!(written - now > Duration::hours(20), "the worker's clock was not moved: it wrote {written}, the test began at {now}");
    schedule_ok(&env, &config, &["delete", &job]).await;
}

/// Inserts an occurrence still running with the given deadline.
async fn running_until(env: &TestEnv, key: &str, deadline: DateTime<Utc>) {
    let (job, date) = key.split_once('/').expect("job/date");
    sqlx::query(
        "INSERT INTO job_occurrences (key, job, business_date, effective_date, nominal_time, status, reason, \
           deadline_at, workflow_id, run_id, runs, alerted_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $3, NULL, 'running', NULL, $4, $1, 'run-1', 1, NULL, '2020-01-01T00:00:00.000Z', \
           '2020-01-01T00:00:00.000Z')",
    )
    .bind(key)
    .bind(job)
    .bind(date)
    .bind(deadline.to_rfc3339_opts(SecondsFormat::Millis, true))
    .execute(env.world.ledger.pool())
    .await
    .expect("insert occurrence");
}

/// One occurrence two hours past its deadline and one two hours before it, by the machine's
/// (and the server's) clock; an SLA check on a worker `offset` away alerts about the first only.
/// By the worker's clock, a day ahead it alerted about both, a day behind about neither.
async fn sla_check_alerts_by_the_servers_clock(name: &str, offset: &str, days: i64) {
    let env = TestEnv::start(name).await;
    let now = Utc::now();
    let late = "billing-run/2026-11-02";
    let not_yet = "billing-run/2026-11-03";
    running_until(&env, late, now - Duration::hours(2)).await;
    running_until(&env, not_yet, now + Duration::hours(2)).await;

    let _worker = skewed_worker(&env, offset, days);
    let input = JsonInput::from(json!({"business_date": "2026-11-30"}));
    let options = WorkflowStartOptions::new(&env.task_queue, format!("sla-check/{}", env.task_queue)).build();
    let run = env.client.start_workflow(SlaCheckWorkflow::run, input, options).await.expect("start SLA check");
    let report: SlaReport = run.get_result(WorkflowGetResultOptions::default()).await.expect("SLA check result");
    assert_eq!(report, SlaReport { late: vec![late.to_owned()], alerted: 1 }, "worker clock {offset}");
    let alerted: Vec<String> = sqlx::query_scalar("SELECT key FROM job_occurrences WHERE alerted_at IS NOT NULL ORDER BY key")
        .fetch_all(env.world.ledger.pool())
        .await
        .expect("alerted rows");
    assert_eq!(alerted, [late]);
}

#[tokio::test]
async fn a_worker_a_day_ahead_alerts_only_what_is_late() {
    sla_check_alerts_by_the_servers_clock("clock-ahead-sla", "+1d", 1).await;
}

#[tokio::test]
async fn a_worker_a_day_behind_still_alerts_what_is_late() {
    sla_check_alerts_by_the_servers_clock("clock-behind-sla", "-1d", -1).await;
}
