//! The failed-run archive end to end: a job occurrence that fails for real (its schedule carries a
//! workflow input that can never succeed, as an older punctual could have left it) is archived with its key, run and error; `punctual failures retry` before the fix
//! fails again and counts the attempt; after fixing the jobs file it runs under the same key,
//! commits, resolves the row, and every invoice is charged once.

use punctual_activities::runs::archive::{self, ArchivedRun};
use punctual_activities::seed::{CARD_DECLINED, demo_customer};
use punctual_tests::jobs::apply_unchecked;
use punctual_tests::{CliOutput, TestEnv, eventually};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const TZ: &str = "Asia/Shanghai";
const DATE: &str = "2026-11-20";
/// Generous bound on waiting (not a timing assertion).
const WAIT: Duration = Duration::from_secs(120);

fn job_file(name: &str, timezone: &str) -> String {
    // Fires at 03:00 only: nothing but this test's trigger and retries runs it.
    format!(
        "[jobs.{name}]\nworkflow = \"BillingRunWorkflow\"\ninput = {{ timezone = \"{timezone}\" }}\ntimezone = \"{TZ}\"\nat = \"03:00\"\n"
    )
}

async fn punctual(env: &TestEnv, args: &[&str]) -> CliOutput {
    env.punctual(args).await
}

async fn schedule_ok(env: &TestEnv, config: &Path, args: &[&str]) -> String {
    let path = config.display().to_string();
    let mut all = vec!["schedule", "--config", &path];
    all.extend_from_slice(args);
    let out = punctual(env, &all).await;
    assert!(out.success, "punctual {all:?}:\n{}\n{}", out.stdout, out.stderr);
    out.stdout
}

async fn archived(env: &TestEnv, key: &str) -> Option<ArchivedRun> {
    let mut conn = env.world.ledger.pool().acquire().await.expect("connection");
    archive::get(&mut conn, key).await.expect("read failed_runs")
}

/// Charges at the provider per invoice.
async fn charges_per_invoice(env: &TestEnv) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in env.world.charges().await {
        *counts.entry(c["invoice_id"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_failed_occurrence_is_archived_and_a_retry_after_the_fix_runs_it_once() {
    let env = TestEnv::start("failures").await;
    let name = format!("arch-{}", env.task_queue).to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-");
    let key = format!("{name}/{DATE}");
    let config = punctual_tests::scratch::process_dir().join(format!("failures-{}.toml", env.task_queue));
    // `apply` refuses an input that can never succeed, so the broken job is put on the server as an
    // older punctual could have left it; the file holds the fixed job.
    std::fs::write(&config, job_file(&name, TZ)).expect("write jobs file");
    apply_unchecked(&env, &config, &name, |job| {
        job.input.insert("timezone".into(), "Mars/Olympus".into());
    })
    .await;
    env.with_worker(async {
        schedule_ok(&env, &config, &["trigger", &name, "--business-date", DATE]).await;
        let first = eventually("the occurrence archived", WAIT, async || archived(&env, &key).await).await;
        assert_eq!((first.status.as_str(), first.attempts), ("failed", 1), "{first:#?}");
        assert_eq!(first.run.workflow_id, key);
        assert_eq!(first.run.workflow_type, "JobOccurrenceWorkflow");
        assert!(!first.run.run_id.is_empty());
        assert!(first.run.error.contains("timezone") && first.run.error.contains("Mars/Olympus"), "{}", first.run.error);
        assert!(env.world.charges().await.is_empty(), "a failed run made no effect");

        let listed = punctual(&env, &["failures", "list"]).await;
        assert!(listed.success, "{}", listed.stderr);
        let line =
            listed.stdout.lines().find(|l| l.starts_with(&key)).unwrap_or_else(|| panic!("{key} listed:\n{}", listed.stdout));
        assert!(line.contains("  failed  attempts=1") && line.contains(&first.run.run_id), "{line}");

        // Retried before the cause is fixed: it fails again, under the same key, and counts.
        let again = punctual(&env, &["failures", "retry", &key, "--wait"]).await;
        assert!(!again.success, "a retry that fails again exits non-zero:\n{}", again.stdout);
        assert!(again.stderr.contains("Mars/Olympus"), "{}", again.stderr);
        let second = eventually("the second failure archived", WAIT, async || {
            archived(&env, &key).await.filter(|r| r.attempts == 2 && r.status == "failed")
        })
        .await;
        assert_ne!(second.run.run_id, first.run.run_id, "a new run of the same key");
        assert_eq!(second.run.workflow_id, key);

        // Apply the fixed jobs file, retry: the schedule's job is what runs now.
        schedule_ok(&env, &config, &["apply"]).await;
        let fixed = punctual(&env, &["failures", "retry", &key, "--wait"]).await;
        assert!(fixed.success, "retry after the fix:\n{}\n{}", fixed.stdout, fixed.stderr);
        assert!(fixed.stdout.contains("as its schedule carries it now"), "{}", fixed.stdout);
        assert!(fixed.stdout.contains(&format!("retrying {key} (run ")), "{}", fixed.stdout);
        assert!(fixed.stdout.contains("\"outcome\": \"committed\""), "{}", fixed.stdout);
        let resolved = archived(&env, &key).await.expect("row kept");
        assert_eq!((resolved.status.as_str(), resolved.attempts), ("resolved", 2), "{resolved:#?}");
        let by = resolved.resolved_by.clone().expect("resolved by a run");
        assert!(by != first.run.run_id && by != second.run.run_id, "resolved by the retry's run");

        let open = punctual(&env, &["failures", "list"]).await;
        assert!(open.stdout.contains("no unresolved failed runs"), "{}", open.stdout);
        let all = punctual(&env, &["failures", "list", "--all"]).await;
        assert!(all.stdout.contains(&format!("{key}  resolved  attempts=2")), "{}", all.stdout);

        // A resolved key is not started again, and every invoice of the date was charged once.
        let charged: BTreeMap<String, usize> = (1..=30)
            .map(demo_customer)
            .filter(|c| c.timezone == TZ && c.payment_method != CARD_DECLINED)
            .map(|c| (punctual_workflows::keys::invoice_id(&c.id, DATE), 1))
            .collect();
        assert_eq!(charges_per_invoice(&env).await, charged);
        let once_more = punctual(&env, &["failures", "retry", &key, "--wait"]).await;
        assert!(once_more.success, "{}", once_more.stderr);
        assert!(once_more.stdout.contains("not started again"), "{}", once_more.stdout);
        assert_eq!(charges_per_invoice(&env).await, charged, "nothing doubled");

        let unknown = punctual(&env, &["failures", "retry", "no-such/key"]).await;
        assert!(
            !unknown.success && unknown.stderr.contains("no failed run is archived under `no-such/key`"),
            "{}",
            unknown.stderr
        );
        schedule_ok(&env, &config, &["delete", &name]).await;
    })
    .await;
}

/// Archives a failed run of `key` by hand, as a run that failed after the key's real run had
/// finished leaves it (a run under a mistyped workflow ID, say).
async fn archive_failure(env: &TestEnv, key: &str, workflow_type: &str, input: &str) {
    sqlx::query(
        "INSERT INTO failed_runs (business_key, job, workflow_type, workflow_id, run_id, error, input, attempts, status, \
           first_failed_at, last_failed_at) \
         VALUES ($1, 'test', $2, $1, 'twin', 'failed after the real run', $3, 1, 'failed', \
           '2026-11-21T00:00:00.000Z', '2026-11-21T00:00:00.000Z')",
    )
    .bind(key)
    .bind(workflow_type)
    .bind(input)
    .execute(env.world.ledger.pool())
    .await
    .expect("archive a failure");
}

/// A key whose run finished before a failed twin of it was archived: `failures retry` finds it
/// completed and settles its row (before, it stayed open for ever), a saga's as a billing run's
/// (whose last run billed every customer: one with failed customers is run again instead).
#[tokio::test]
async fn a_retry_that_finds_the_key_completed_settles_its_archived_failure() {
    let env = TestEnv::start("failures-done").await;
    let date = "2026-11-21";
    let e = punctual_tests::billing::expected(30, date);
    let saga = punctual_workflows::keys::payment_saga(&e.invoices[0]);
    let run = punctual_workflows::keys::billing_run(TZ, date);
    env.with_worker(async {
        let out = punctual(&env, &["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"]).await;
        assert!(out.success, "{}", out.stderr);
        let saga_input = serde_json::json!({"invoice_id": e.invoices[0]}).to_string();
        archive_failure(&env, &saga, "PaymentSagaWorkflow", &saga_input).await;
        let run_input = serde_json::json!({"business_date": date, "timezone": TZ}).to_string();
        archive_failure(&env, &run, "BillingRunWorkflow", &run_input).await;

        let retried = punctual(&env, &["failures", "retry", &saga]).await;
        assert!(retried.success, "{}", retried.stderr);
        assert!(retried.stdout.contains("not started again; marked resolved"), "{}", retried.stdout);
        let row = archived(&env, &saga).await.expect("row kept");
        assert_eq!(row.status, "resolved", "{row:#?}");
        assert!(row.resolution.as_deref().is_some_and(|r| r.contains("already finished")), "{row:#?}");

        let retried = punctual(&env, &["failures", "retry", &run]).await;
        assert!(retried.success, "{}", retried.stderr);
        assert!(retried.stdout.contains("not started again; marked resolved"), "{}", retried.stdout);
        assert_eq!(archived(&env, &run).await.expect("row kept").status, "resolved");
    })
    .await;
}
