//! The Temporal Web UI, seen in a real browser: a billing run appears in the workflow list when
//! filtered on its `BusinessDate`, shows its search attributes, and stays out of another date's
//! list. Debian's headless chromium, driven by playwright-core (`tests/ui/check-web-ui.mjs`);
//! `scripts/ensure-browser.sh` installs both, and a failed install fails this test, never skips
//! it. Screenshots are kept under `target/web-ui/` as the test's artifact.
//!
//! The shared test server runs headless, so this test starts a dev server of its own with the UI
//! on a port of its own, as `make run` does on 8233.

use punctual_tests::{DevServer, TestEnv, eventually, fresh_sqlite_url, workspace_root};
use punctual_workflows::billing::types::BillingRunSummary;
use punctual_workflows::{BillingRunWorkflow, JsonInput, keys};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

const TZ: &str = "Asia/Shanghai";
const DATE: &str = "2026-12-03";
const OTHER_DATE: &str = "2026-12-02";
/// Generous bound on waiting (not a timing assertion).
const WAIT: Duration = Duration::from_secs(120);

/// A `temporal server start-dev` with its Web UI, killed when the test ends.
struct UiServer {
    child: Child,
    ui_url: String,
    server: &'static DevServer,
}

impl Drop for UiServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

async fn start_ui_server() -> UiServer {
    let temporal_bin = punctual_tests::server::temporal_bin();
    let (port, ui_port) = (free_port(), free_port());
    let mut cmd = Command::new("setpriv");
    cmd.args(["--pdeathsig", "KILL"]).arg(&temporal_bin).args([
        "server", "start-dev", "--ip", "127.0.0.1", "--port", &port.to_string(), "--ui-port", &ui_port.to_string(),
        "--log-level", "error",
    ]);
    for (name, kind) in punctual_workflows::names::SEARCH_ATTRIBUTES {
        cmd.args(["--search-attribute", &format!("{name}={kind}")]);
    }
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("start temporal with UI");
    let server: &'static DevServer = Box::leak(Box::new(DevServer { address: format!("127.0.0.1:{port}"), temporal_bin }));
    let ui = UiServer { child, ui_url: format!("http://127.0.0.1:{ui_port}"), server };
    let health = ui.server.temporal_bin.clone();
    eventually("the dev server to answer", WAIT, async || {
        let out = tokio::process::Command::new(&health)
            .args(["operator", "cluster", "health", "--address", &ui.server.address])
            .output()
            .await
            .ok()?;
        out.status.success().then_some(())
    })
    .await;
    eventually("the Web UI to answer", WAIT, async || {
        reqwest::get(&ui.ui_url).await.ok().filter(|r| r.status().is_success()).map(|_| ())
    })
    .await;
    ui
}

/// Installs chromium and playwright-core if missing; panics with the script's words if it cannot.
fn ensure_browser() {
    let script = workspace_root().join("scripts/ensure-browser.sh");
    let out = Command::new("bash").arg(&script).output().unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: the Web UI test needs Debian's chromium and npm's playwright-core:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the browser check; returns what it saw.
async fn look(ui_url: &str, workflow_id: &str, shots: &Path) -> Value {
    let script = workspace_root().join("tests/ui/check-web-ui.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .args([ui_url, workflow_id, DATE, OTHER_DATE, &shots.display().to_string()])
        .current_dir(workspace_root().join("tests/ui"))
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "node {} failed:\n{stdout}\n{}", script.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("browser check printed non-JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn a_billing_run_is_listed_by_business_date_with_its_search_attributes() {
    ensure_browser();
    let ui = start_ui_server().await;
    let env = TestEnv::start_on("web-ui", ui.server, fresh_sqlite_url("web-ui"), 10).await;
    let id = keys::billing_run(TZ, DATE);
    let summary: BillingRunSummary = env
        .with_worker(async {
            let input = JsonInput::from(json!({"business_date": DATE, "timezone": TZ}));
            let run = env
                .client
                .start_workflow(BillingRunWorkflow::run, input, WorkflowStartOptions::new(&env.task_queue, &id).build())
                .await
                .expect("start billing run");
            run.get_result(WorkflowGetResultOptions::default()).await.expect("billing run result")
        })
        .await;
    assert_eq!(summary.business_key, id);
    // Visibility is eventually consistent: wait until the server lists it, then look.
    let query = format!("BusinessDate='{DATE}' AND WorkflowType='BillingRunWorkflow'");
    eventually("the run in visibility", WAIT, async || {
        let listed = env.cli_json(&["workflow", "list", "--query", &query]).await;
        listed.as_array().is_some_and(|l| l.iter().any(|w| w["execution"]["workflowId"] == id)).then_some(())
    })
    .await;

    let shots = workspace_root().join("target/web-ui");
    std::fs::remove_dir_all(&shots).ok(); // only this run's pictures
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let seen = look(&ui.ui_url, &id, &shots).await;
    assert!(seen.get("error").is_none(), "the browser check failed (see {}/failure.png): {seen:#}", shots.display());
    assert_eq!(seen["listed"], true, "{seen:#}");
    assert_eq!(seen["filter_chip"], format!("BusinessDate = \"{DATE}\""), "{seen:#}");
    let attributes = &seen["search_attributes"];
    assert_eq!(attributes["BusinessKey"], id, "{seen:#}");
    assert_eq!(attributes["BusinessDate"], DATE, "{seen:#}");
    assert_eq!(attributes["JobName"], "billing-run", "{seen:#}");
    assert_eq!(attributes["RunOutcome"], "completed", "{seen:#}");
    assert_eq!(seen["listed_under_other_date"], false, "the filter keeps other dates out: {seen:#}");
    for shot in ["list-filtered.png", "search-attributes.png", "list-other-date.png"] {
        let size = std::fs::metadata(shots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "screenshot {shot} kept ({size} bytes)");
    }
}
