//! The foundation, end to end: `BenchWorkflow` through the Rust client and the real `temporal`
//! CLI, bad input failing fast, and the `punctual` binary draining on SIGTERM.

use punctual_tests::{TestEnv, eventually};
use punctual_workflows::{BenchWorkflow, JsonInput};
use serde_json::{Value, json};
use std::process::{Child, Command};
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

#[tokio::test]
async fn bench_workflow_returns_n_times_m_through_the_rust_client() {
    let env = TestEnv::start("bench-client").await;
    let result = env
        .with_worker(async {
            let handle = env
                .client
                .start_workflow(
                    BenchWorkflow::run,
                    JsonInput::from(json!({"activities": 4, "payload_bytes": 16})),
                    WorkflowStartOptions::new(&env.task_queue, format!("{}-bench", env.task_queue)).build(),
                )
                .await
                .expect("start");
            handle.get_result(WorkflowGetResultOptions::default()).await.expect("result")
        })
        .await;
    assert_eq!(result, 64);
}

#[tokio::test]
async fn bench_workflow_runs_from_the_temporal_cli() {
    let env = TestEnv::start("bench-cli").await;
    let id = format!("{}-cli", env.task_queue);
    let result = env
        .with_worker(async {
            let started = env
                .cli(&[
                    "workflow", "start", "--type", "BenchWorkflow", "--task-queue", &env.task_queue, "--workflow-id", &id,
                    "--input", r#"{"activities":3,"payload_bytes":8}"#,
                ])
                .await;
            assert!(started.success, "start failed: {}", started.stderr);
            env.cli_json(&["workflow", "result", "--workflow-id", &id]).await
        })
        .await;
    assert_eq!(result["status"], "COMPLETED", "{result:#}");
    assert_eq!(result["result"], 24, "{result:#}");
}

#[tokio::test]
async fn bad_input_from_the_cli_fails_at_once_naming_the_problem() {
    let env = TestEnv::start("bad-input").await;
    // (extra CLI arguments, text the failure must contain)
    let cases: [(&[&str], &str); 5] = [
        (&["--input", r#"{"activities":3}"#], "missing field `payload_bytes`"),
        (&["--input", r#"{"activities":-1,"payload_bytes":8}"#], "field `activities` must be"),
        (&["--input", r#"{"activities":3,"payload_byte":8}"#], "unknown field `payload_byte`"),
        (&[], "no input given"),
        (&["--input", "abc", "--input-meta", "encoding=binary/plain"], "input is not JSON"),
    ];
    env.with_worker(async {
        for (i, (extra, expected)) in cases.iter().enumerate() {
            let id = format!("{}-{i}", env.task_queue);
            let mut args =
                vec!["workflow", "start", "--type", "BenchWorkflow", "--task-queue", &env.task_queue, "--workflow-id", &id];
            args.extend_from_slice(extra);
            let started = env.cli(&args).await;
            assert!(started.success, "start {extra:?} failed: {}", started.stderr);

            let result = env.cli(&["workflow", "result", "--workflow-id", &id, "-o", "json"]).await;
            let result: Value = serde_json::from_str(&result.stdout).expect("result JSON");
            assert_eq!(result["status"], "FAILED", "{extra:?}: {result:#}");
            let failure = &result["closeEvent"]["workflowExecutionFailedEventAttributes"]["failure"];
            let message = failure["message"].as_str().unwrap_or_default();
            assert!(message.contains(expected), "{extra:?}: `{message}` lacks `{expected}`");
            assert_eq!(failure["applicationFailureInfo"]["type"], "InvalidInput");
            assert_eq!(failure["applicationFailureInfo"]["nonRetryable"], true);

            // Failed on its first workflow task: started, task scheduled/started/completed, failed.
            // A retried task (the SDK's default for undecodable input) would add events.
            let described = env.cli_json(&["workflow", "describe", "--workflow-id", &id]).await;
            assert_eq!(described["workflowExecutionInfo"]["historyLength"], "5", "{extra:?}");
        }
    })
    .await;
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(status.expect("run kill").success(), "kill -TERM failed");
}

#[tokio::test]
async fn worker_binary_drains_in_flight_activities_on_sigterm() {
    let env = TestEnv::start("sigterm").await;
    let mut worker = env.spawn_worker();
    let ids: Vec<String> = (0..8).map(|i| format!("{}-{i}", env.task_queue)).collect();
    for id in &ids {
        env.client
            .start_workflow(
                BenchWorkflow::run,
                JsonInput::from(json!({"activities": 400, "payload_bytes": 64})),
                WorkflowStartOptions::new(&env.task_queue, id).build(),
            )
            .await
            .expect("start");
    }
    // Signal while the worker is busy: activities are being dispatched continuously.
    eventually("the worker to complete some activities", Duration::from_secs(60), async || {
        let d = env.cli_json(&["workflow", "describe", "--workflow-id", &ids[0]]).await;
        let len: u64 = d["workflowExecutionInfo"]["historyLength"].as_str()?.parse().ok()?;
        (len > 30).then_some(())
    })
    .await;
    sigterm(&worker);
    let status =
        eventually("the worker to exit after SIGTERM", Duration::from_secs(60), async || worker.try_wait().expect("wait worker"))
            .await;
    assert!(status.success(), "worker exited with {status} after SIGTERM");

    // Nothing the worker had taken was abandoned: no pending activity is left STARTED (a dropped
    // task would sit there until its 30 s start-to-close timeout), none failed or timed out.
    for id in &ids {
        let d = env.cli_json(&["workflow", "describe", "--workflow-id", id]).await;
        assert_eq!(d["workflowExecutionInfo"]["status"], "WORKFLOW_EXECUTION_STATUS_RUNNING");
        for pending in d["pendingActivities"].as_array().into_iter().flatten() {
            assert_ne!(pending["state"], "PENDING_ACTIVITY_STATE_STARTED", "{id}: {pending:#}");
            assert!(pending.get("lastFailure").is_none(), "{id}: {pending:#}");
        }
    }

    // A new worker finishes every run with the full result: nothing lost.
    let mut replacement = env.spawn_worker();
    for id in &ids {
        let result = env.cli_json(&["workflow", "result", "--workflow-id", id]).await;
        assert_eq!(result["result"], 400 * 64, "{id}: {result:#}");
        // An activity abandoned at shutdown shows up later as a timeout and a retry.
        let history = env.cli_json(&["workflow", "show", "--workflow-id", id]).await;
        for event in history["events"].as_array().expect("events") {
            let kind = event["eventType"].as_str().unwrap_or_default();
            assert!(!kind.contains("ACTIVITY_TASK_TIMED_OUT") && !kind.contains("ACTIVITY_TASK_FAILED"), "{id}: {event:#}");
        }
    }
    sigterm(&replacement);
    let status = eventually("the replacement worker to exit", Duration::from_secs(60), async || {
        replacement.try_wait().expect("wait worker")
    })
    .await;
    assert!(status.success());
}

#[tokio::test]
async fn worker_without_a_server_exits_naming_the_address_and_make_run() {
    let env = TestEnv::start("no-server").await;
    let out = tokio::process::Command::new(punctual_tests::punctual_bin())
        .args(["worker", "--connect-timeout", "1s"])
        .envs(env.punctual_env())
        .env("TEMPORAL_ADDRESS", "127.0.0.1:9")
        .output()
        .await
        .expect("run punctual");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1:9") && stderr.contains("make run"), "{stderr}");
}

#[tokio::test]
async fn worker_with_an_unusable_database_url_stops_before_polling() {
    let env = TestEnv::start("bad-db").await;
    let out = tokio::process::Command::new(punctual_tests::punctual_bin())
        .arg("worker")
        .envs(env.punctual_env())
        .env("PUNCTUAL_DATABASE_URL", "postgres://punctual:s3cret@127.0.0.1:9/ledger")
        .output()
        .await
        .expect("run punctual");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PUNCTUAL_DATABASE_URL") && stderr.contains("127.0.0.1:9"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "the password leaked: {stderr}");
}

/// A `punctual worker` for `env`'s queue whose stderr goes to a file, read by [`log_of`].
fn spawn_logged_worker(env: &TestEnv, name: &str, extra: &[(&str, &str)]) -> (Child, std::path::PathBuf) {
    let log = punctual_tests::scratch::process_dir().join(format!("{}-{name}.stderr", env.task_queue));
    let file = std::fs::File::create(&log).expect("create worker log");
    let child = Command::new("setpriv")
        .args(["--pdeathsig", "KILL"])
        .arg(punctual_tests::punctual_bin())
        .arg("worker")
        .envs(env.punctual_env())
        .envs(extra.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(file)
        .spawn()
        .expect("spawn punctual worker");
    (child, log)
}

fn log_of(log: &std::path::Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Two ledgers on one task queue split the books: an effect recorded in one is performed again
/// by a worker of the other. So a worker refuses a queue that Temporal's marker gives to another
/// ledger, a marker deleted by mistake is put back, and a queue handed to another ledger on
/// purpose stops the workers of the old one.
#[tokio::test]
async fn a_worker_on_other_books_refuses_the_queue_and_a_handover_stops_the_old_books_workers() {
    use punctual_activities::ledger::Ledger;
    use punctual_worker::ledger_fence::{self, Fenced, Marker};
    let env = TestEnv::start("ledger-fence").await;
    let marker = ledger_fence::marker_id(&env.task_queue);
    let ours = env.world.billing_activities().ledger().identity().await.expect("our ledger's id");
    let marker_names = async |ledger_id: &str| {
        let out = env.cli(&["schedule", "describe", "--schedule-id", &marker]).await;
        (out.success && out.stdout.contains(&format!("\"ledger_id\":\"{ledger_id}\""))).then_some(())
    };
    let every_second = [("PUNCTUAL_LEDGER_CHECK_INTERVAL", "1s")];
    let (mut first, first_log) = spawn_logged_worker(&env, "first", &every_second);
    eventually("the first worker to record its ledger for the queue", Duration::from_secs(60), async || {
        marker_names(&ours.id).await
    })
    .await;

    // Other books: refused before polling, naming both ledgers and the way to move the queue.
    let other_url = punctual_tests::fresh_sqlite_url("ledger-fence-other");
    let other_books = [("PUNCTUAL_DATABASE_URL", other_url.clone())];
    let refused = tokio::time::timeout(Duration::from_secs(120), env.punctual_with(&other_books, &["worker"]))
        .await
        .expect("a worker on other books was let in: it polls");
    let other = Ledger::open_existing(&other_url).await.expect("the refused worker's ledger").identity().await.expect("its id");
    assert!(!refused.success, "a worker on other books was let in: {}", refused.stderr);
    assert!(!refused.stderr.contains("worker polling"), "it polled before refusing: {}", refused.stderr);
    for part in ["served by another ledger", &ours.id, &other.id, &format!("temporal schedule delete --schedule-id '{marker}'")] {
        assert!(refused.stderr.contains(part), "{part:?} missing from: {}", refused.stderr);
    }
    // The file the refused worker left is not the queue's history either: an audit of it (a
    // typo in PUNCTUAL_DATABASE_URL) is refused, where it used to pass on an empty history.
    let cfg = punctual_tests::jobs::write_config(
        &env,
        "[jobs.x]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = \"00:30\"\n",
    );
    let path = cfg.display().to_string();
    let audit = ["schedule", "--config", path.as_str(), "audit", "--from", "2026-11-01", "--to", "2026-11-02"];
    let elsewhere = env.punctual_with(&other_books, &audit).await;
    assert!(!elsewhere.success && elsewhere.stderr.contains("served by another ledger"), "{}", elsewhere.stderr);
    let here = env.punctual(&audit).await;
    assert!(here.success, "{}\n{}", here.stdout, here.stderr);

    // The same books: let in.
    let (mut second, second_log) = spawn_logged_worker(&env, "second", &[]);
    eventually("the second worker, on the same ledger, to poll", Duration::from_secs(60), async || {
        log_of(&second_log).contains("worker polling").then_some(())
    })
    .await;
    assert!(log_of(&second_log).contains("fenced=Matched"), "{}", log_of(&second_log));
    sigterm(&second);
    let status =
        eventually("the second worker to exit", Duration::from_secs(60), async || second.try_wait().expect("wait")).await;
    assert!(status.success(), "{}", log_of(&second_log));

    // Deleted by mistake: the running worker puts it back.
    assert!(env.cli(&["schedule", "delete", "--schedule-id", &marker]).await.success);
    eventually("the running worker to make the marker again", Duration::from_secs(60), async || {
        log_of(&first_log).contains("the ledger marker was gone: made it again").then_some(())
    })
    .await;
    eventually("the marker to name our ledger again", Duration::from_secs(60), async || marker_names(&ours.id).await).await;

    // Handed over on purpose (deleted and claimed by the other ledger): the first worker stops.
    let theirs = Marker::of(&other, "sqlite://other");
    eventually("the other ledger to claim the queue", Duration::from_secs(60), async || {
        // The first worker may put its marker back between the two calls: then delete again.
        env.cli(&["schedule", "delete", "--schedule-id", &marker]).await;
        (ledger_fence::check(&env.client, &env.task_queue, &theirs).await.ok() == Some(Fenced::Claimed)).then_some(())
    })
    .await;
    let status = eventually("the first worker to stop", Duration::from_secs(60), async || first.try_wait().expect("wait")).await;
    assert!(!status.success(), "the old books' worker kept running after the handover: {}", log_of(&first_log));
    assert!(log_of(&first_log).contains("no longer serves its task queue"), "{}", log_of(&first_log));
}
