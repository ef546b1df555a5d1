//! Histories recorded by earlier releases replay on today's workflow code.
//!
//! A worker upgraded in the middle of a billing run or a schedule fire replays the history the
//! old code wrote; if today's code would issue different commands, Temporal fails that run's
//! workflow tasks until someone rolls back. So every change to workflow code must keep these
//! histories replaying, or guard itself with a patch (`ctx.patched`).
//!
//! `tests/histories/` holds histories written by a real worker and server, exported with
//! `punctual history export` (`scripts/record-histories.sh OLD_BINARY LABEL` records a set), each
//! named after what it is and the commit that wrote it: a billing run, its
//! batch, a completed and a compensated payment saga (before customer pseudonyms), and a schedule
//! fire with its occurrence.

use punctual_tests::workspace_root;
use punctual_worker::registration;
use serde_json::Value;
use std::path::PathBuf;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayError, WorkflowReplayFailure};

fn histories() -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = workspace_root().join("tests/histories");
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read history"))
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn histories_of_earlier_releases_replay_on_todays_code() {
    let all = histories();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    let kinds = [
        "billing-run", "billing-batch", "payment-completed", "payment-compensated", "fire", "occurrence", "billing-run-bulk",
        "billing-bulk-batch",
    ];
    for kind in kinds {
        assert!(names.iter().any(|n| n.starts_with(kind)), "no {kind} history among {names:?}");
    }
    let replayer = registration::replayer().expect("replayer");
    let mut failures = Vec::new();
    for (name, bytes) in &all {
        let history = WorkflowHistory::from_json(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(history.workflow_id().is_some(), "{name}: the replay needs the workflow id (keys derive from it)");
        if let Err(err) = replayer.replay_workflow(history).await {
            failures.push(format!("{name}: {err}"));
        }
    }
    assert!(failures.is_empty(), "histories that no longer replay:\n{}", failures.join("\n"));
}

/// The check above can fail: the fire's history with its `StartOccurrence` activity id changed
/// is a history today's code would not have written.
#[tokio::test]
async fn a_history_the_code_would_not_write_fails_replay() {
    let (name, bytes) = histories().into_iter().find(|(n, _)| n.starts_with("fire")).expect("a fire history");
    let mut json: Value = serde_json::from_slice(&bytes).expect("history JSON");
    let mut changed = 0;
    for event in json["events"].as_array_mut().expect("events") {
        let Some(id) = event.pointer_mut("/attributes/ActivityTaskScheduledEventAttributes/activity_id") else {
            continue;
        };
        if id.as_str().is_some_and(|id| id.starts_with("start/")) {
            *id = Value::String("start/some-other-key".to_owned());
            changed += 1;
        }
    }
    assert_eq!(changed, 1, "{name} has one StartOccurrence activity");
    let history = WorkflowHistory::from_json(json.to_string().as_bytes()).expect("history");
    let err = registration::replayer().expect("replayer").replay_workflow(history).await.expect_err("replayed a changed history");
    assert!(matches!(err, WorkflowReplayError::Replay(WorkflowReplayFailure::Nondeterminism { .. })), "{name}: {err}");
}

/// The commands a person runs before an upgrade: `history export` of a real run, then
/// `history replay` of it and of a history the code would not write.
#[tokio::test]
async fn history_export_then_replay_from_the_cli() {
    let env = punctual_tests::TestEnv::start("history-cli").await;
    let (tz, date) = ("Asia/Shanghai", "2026-11-24");
    let run = env.with_worker(env.punctual(&["billing-run", "--allow-future", "--date", date, "--timezone", tz, "--wait"])).await;
    assert!(run.success, "{}", run.stderr);
    let id = punctual_workflows::keys::billing_run(tz, date);
    let exported = env.punctual(&["history", "export", &id]).await;
    assert!(exported.success, "{}", exported.stderr);
    let dir = punctual_tests::scratch::process_dir().join(format!("history-{}", env.task_queue));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("run.json");
    std::fs::write(&good, &exported.stdout).expect("write export");

    let replayed = env.punctual(&["history", "replay", &good.display().to_string()]).await;
    assert!(replayed.success, "{}\n{}", replayed.stdout, replayed.stderr);
    assert!(replayed.stdout.contains("ok") && replayed.stdout.contains(&id), "{}", replayed.stdout);

    // The same run with its first activity renamed: the binary must refuse it, naming the file.
    let mut json: Value = serde_json::from_str(&exported.stdout).expect("export is JSON");
    let renamed = json["events"]
        .as_array_mut()
        .expect("events")
        .iter_mut()
        .find_map(|e| e.pointer_mut("/attributes/ActivityTaskScheduledEventAttributes/activity_id"))
        .map(|id| *id = Value::String("list-customers-after-someone-else".to_owned()));
    assert!(renamed.is_some(), "the run scheduled an activity");
    let bad = dir.join("changed.json");
    std::fs::write(&bad, json.to_string()).expect("write changed history");
    let refused = env.punctual(&["history", "replay", &good.display().to_string(), &bad.display().to_string()]).await;
    assert!(!refused.success, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("FAILED") && refused.stderr.contains("1 of 2 histories"),
        "{}\n{}",
        refused.stdout,
        refused.stderr
    );
    assert!(refused.stderr.contains("changed.json") && !refused.stderr.contains("run.json"), "{}", refused.stderr);
}
