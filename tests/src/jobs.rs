//! Helpers for the schedule tests: a jobs file per test, `punctual schedule ...` against the
//! shared server, and the occurrence ledger as the test's database holds it.
//!
//! Schedule IDs and business keys are namespace-wide, so every test names its jobs after its own
//! task queue ([`job_name`]).

use crate::{CliOutput, TestEnv, eventually, eventually_seen};
use punctual_activities::jobs::{OccurrenceRow, rows_between};
use punctual_worker::schedule::server;
use punctual_workflows::jobs::{Job, JobSpec};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Generous bound on waiting for a fire or an occurrence (not a timing assertion).
pub const WAIT: Duration = Duration::from_secs(120);

/// A job name unique to this test (job names are [a-z0-9_-]).
pub fn job_name(env: &TestEnv, what: &str) -> String {
    format!("{what}-{}", env.task_queue).to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
}

/// Writes `text` as this test's jobs file.
pub fn write_config(env: &TestEnv, text: &str) -> PathBuf {
    let dir = crate::scratch::process_dir().join(format!("config-{}", env.task_queue));
    std::fs::create_dir_all(&dir).expect("config dir");
    let path = dir.join("punctual.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// `punctual schedule --config CONFIG ARGS...`.
pub async fn schedule(env: &TestEnv, config: &Path, args: &[&str]) -> CliOutput {
    let path = config.display().to_string();
    let mut all = vec!["schedule", "--config", &path];
    all.extend_from_slice(args);
    env.punctual(&all).await
}

/// Like [`schedule`], asserting success; returns standard output.
pub async fn schedule_ok(env: &TestEnv, config: &Path, args: &[&str]) -> String {
    let out = schedule(env, config, args).await;
    assert!(out.success, "punctual schedule {args:?} failed:\n{}\n{}", out.stdout, out.stderr);
    out.stdout
}

/// Every `job_occurrences` row of `job`.
pub async fn occurrences(env: &TestEnv, job: &str) -> Vec<OccurrenceRow> {
    rows_between(&env.world.ledger, job, "0000", "9999").await.expect("read job_occurrences")
}

/// Waits until `key`'s occurrence is committed, failed or skipped, and returns its row.
pub async fn settled(env: &TestEnv, job: &str, key: &str) -> OccurrenceRow {
    eventually_seen(&format!("{key} settled"), WAIT, async || {
        let rows = occurrences(env, job).await;
        match rows.iter().find(|r| r.key == key && matches!(r.status.as_str(), "committed" | "failed" | "skipped")) {
            Some(row) => Ok(row.clone()),
            None => Err(rows),
        }
    })
    .await
}

/// Waits until the workflow with ID `workflow_id` (an occurrence's business key) is closed.
///
/// An occurrence records its outcome one step before its workflow closes; a start meeting the
/// workflow still open joins it, so tests that mean a *new* run wait for this first.
pub async fn closed(env: &TestEnv, workflow_id: &str) {
    eventually(&format!("{workflow_id} closed"), WAIT, async || {
        let d = env.cli_json(&["workflow", "describe", "--workflow-id", workflow_id]).await;
        let status = d["workflowExecutionInfo"]["status"].as_str().unwrap_or_else(|| panic!("no status in {d}")).to_owned();
        (status != "WORKFLOW_EXECUTION_STATUS_RUNNING").then_some(())
    })
    .await;
}

/// Puts `job`'s schedule on the server as the jobs file `config` has it, with `edit` applied to the
/// job first and without the checks of `punctual schedule apply`: a schedule as an older punctual
/// (or another hand) could have left it, e.g. with a workflow input that fails every fire, which
/// `apply` now refuses. The file itself must hold `job` valid; applying it again is the fix.
pub async fn apply_unchecked(env: &TestEnv, config: &Path, job: &str, edit: impl FnOnce(&mut JobSpec)) {
    let text = std::fs::read_to_string(config).expect("read config");
    let specs = punctual_worker::jobs::config::parse("test", &text).expect("a valid jobs file");
    let mut spec = specs.into_iter().find(|s| s.name == job).unwrap_or_else(|| panic!("job {job} in {}", config.display()));
    edit(&mut spec);
    let job = Job::resolve(spec).expect("the edited job still resolves");
    let now = chrono::Utc::now();
    match server::describe(&env.client, job.name()).await.expect("describe") {
        Some(existing) => {
            server::update(&env.client, &job, &env.task_queue, now, &existing, &existing.earlier).await.expect("update schedule")
        }
        None => server::create(&env.client, &job, &env.task_queue, now).await.expect("create schedule"),
    }
}
