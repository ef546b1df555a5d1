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

async fn start_ui_server(extra: &[String]) -> UiServer {
    let temporal_bin = punctual_tests::server::temporal_bin();
    let (port, ui_port) = (free_port(), free_port());
    let mut cmd = Command::new("setpriv");
    cmd.args(["--pdeathsig", "KILL"]).arg(&temporal_bin).args([
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--ui-port",
        &ui_port.to_string(),
        "--log-level",
        "error",
    ]);
    cmd.args(extra);
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

/// Runs the browser script `tests/ui/{script}` with `args`; returns the JSON line it printed.
async fn browser_check(script: &str, args: &[&str]) -> Value {
    let script = workspace_root().join("tests/ui").join(script);
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .args(args)
        .current_dir(workspace_root().join("tests/ui"))
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "node {} failed:\n{stdout}\n{}", script.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("browser check printed non-JSON ({e}): {stdout}"))
}

/// The list and search-attribute check; returns what it saw.
async fn look(ui_url: &str, workflow_id: &str, shots: &Path) -> Value {
    browser_check("check-web-ui.mjs", &[ui_url, workflow_id, DATE, OTHER_DATE, &shots.display().to_string()]).await
}

#[tokio::test]
async fn a_billing_run_is_listed_by_business_date_with_its_search_attributes() {
    ensure_browser();
    let ui = start_ui_server(&[]).await;
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

/// A `punctual` process (worker, codec server) with the given environment; killed on drop.
struct Punctual(Child);

impl Punctual {
    fn spawn(env: &TestEnv, extra: &[(&str, String)], args: &[&str]) -> Self {
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL"])
            .arg(punctual_tests::punctual_bin())
            .args(args)
            .envs(env.punctual_env())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn punctual");
        Self(child)
    }
}

impl Drop for Punctual {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Opens `workflow_id` in the UI; returns what the page showed of `text`.
async fn look_for(ui_url: &str, workflow_id: &str, text: &str, shot: &Path) -> Value {
    browser_check("check-codec.mjs", &[ui_url, workflow_id, text, &shot.display().to_string()]).await
}

#[tokio::test]
async fn with_encryption_the_ui_shows_a_saga_decrypted_through_the_codec_server_and_only_then() {
    ensure_browser();
    let codec_port = free_port();
    let codec_url = format!("http://127.0.0.1:{codec_port}");
    let ui = start_ui_server(&["--ui-codec-endpoint".to_owned(), codec_url.clone()]).await;
    let env = TestEnv::start_on("web-ui-codec", ui.server, fresh_sqlite_url("web-ui-codec"), 10).await;
    // Throwaway keys (`openssl rand -base64 32`), used nowhere else.
    let secrets = vec![
        ("PUNCTUAL_PAYLOAD_KEY", "kV3yq0mP9c4s1d8XrT2bW6nH5jL7aE0fG3iK9oU1zQ4=".to_owned()),
        ("PUNCTUAL_PAYLOAD_KEY_ID", "ui-test".to_owned()),
        ("PUNCTUAL_PSEUDONYM_KEY", "Zp0wQ8rT3yU6iO9pA2sD5fG8hJ1kL4zX7cV0bN3mQ6E=".to_owned()),
    ];
    let _worker = Punctual::spawn(&env, &secrets, &["worker"]);
    let date = "2026-12-04";
    let run = env.punctual_with(&secrets, &["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"]).await;
    assert!(run.success, "{}", run.stderr);

    let customer =
        (1..=10).map(punctual_activities::seed::demo_customer).find(|c| c.timezone == TZ).expect("a customer in TZ").id;
    let named = env.punctual_with(&secrets, &["pseudonym", &customer]).await;
    assert!(named.success, "{}", named.stderr);
    let shown = named.stdout.split('\t').nth(1).expect("a pseudonym").to_owned();
    let saga = keys::payment_saga(&keys::invoice_id(&shown, date));

    let shots = workspace_root().join("target/web-ui-codec");
    std::fs::remove_dir_all(&shots).ok();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let mut codec_env = secrets.clone();
    codec_env.push(("PUNCTUAL_CODEC_ORIGINS", ui.ui_url.clone()));
    let codec = Punctual::spawn(&env, &codec_env, &["codec-server", "--listen", &format!("127.0.0.1:{codec_port}")]);
    eventually("the codec server to listen", WAIT, async || {
        reqwest::Client::new().post(format!("{codec_url}/decode")).body("{}").send().await.ok().map(|_| ())
    })
    .await;
    let seen = look_for(&ui.ui_url, &saga, &customer, &shots.join("decrypted.png")).await;
    assert!(seen.get("error").is_none(), "the browser check failed (see {}): {seen:#}", shots.display());
    assert_eq!(seen["shows_text"], true, "the saga page shows {customer} from its decrypted input: {seen:#}");

    // Without the codec server the same page cannot show it: it is only inside ciphertext.
    drop(codec);
    let seen = look_for(&ui.ui_url, &saga, &customer, &shots.join("encrypted.png")).await;
    assert_eq!(seen["opened"], true, "{seen:#}");
    assert_eq!(seen["shows_text"], false, "{customer} readable without the codec server: {seen:#}");
}
