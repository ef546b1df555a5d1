//! Payload encryption, end to end: a billing run made by the real `punctual` worker and starter
//! with `PUNCTUAL_PAYLOAD_KEY` set, its raw history read back with the real `temporal` CLI, then
//! read through `punctual` again after a key rotation and without any key.

use base64::Engine as _;
use punctual_activities::seed::{CARD_DECLINED, demo_customer};
use punctual_tests::{TestEnv, punctual_bin};
use punctual_workflows::keys;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::time::Duration;

const TZ: &str = "Asia/Shanghai";
/// Demo customers seeded by `TestEnv::start`.
const CUSTOMERS: u32 = 30;
// Two throwaway keys (`openssl rand -base64 32`); nothing else uses them.
const KEY_1: &str = "3wUg3t0fGxOfYpXmxLwY62bQ3cxT51atFhnZf7NOYvo=";
const KEY_2: &str = "U7QFlF7IUywLORhTR6xeha+w7Cdsori0GR3jWi2Ejzc=";

/// A throwaway pseudonym key, kept across the rotation (pseudonym keys do not rotate).
const PSEUDONYM_KEY: &str = "q0m3xXzJk8yqk1C5mZ1c7Yb3S9o0w9ZkVdQ2c3X2Jfs=";

/// Where customer ids show outside payloads without pseudonyms (the plain run): the names
/// Temporal indexes and shows, none of which the SDK hands to a codec. With the keys on, none.
const VISIBLE_WITHOUT_PSEUDONYMS: &[&str] = &[
    "workflowId", "activityId", "localActivityMarker.activity_id", "message", "searchAttributes.CustomerId",
    "searchAttributes.BusinessKey",
];

fn key_1() -> Vec<(&'static str, String)> {
    vec![
        ("PUNCTUAL_PAYLOAD_KEY", KEY_1.to_owned()),
        ("PUNCTUAL_PAYLOAD_KEY_ID", "k1".to_owned()),
        ("PUNCTUAL_PSEUDONYM_KEY", PSEUDONYM_KEY.to_owned()),
    ]
}

fn rotated() -> Vec<(&'static str, String)> {
    vec![
        ("PUNCTUAL_PAYLOAD_KEY", KEY_2.to_owned()),
        ("PUNCTUAL_PAYLOAD_KEY_ID", "k2".to_owned()),
        ("PUNCTUAL_PAYLOAD_OLD_KEYS", format!("k1={KEY_1}")),
        ("PUNCTUAL_PSEUDONYM_KEY", PSEUDONYM_KEY.to_owned()),
    ]
}

/// A `punctual worker` process with its log kept in a file; killed when the test ends.
struct Worker {
    child: Child,
    log: std::path::PathBuf,
}

impl Worker {
    fn spawn(env: &TestEnv, extra: &[(&'static str, String)]) -> Self {
        Self::spawn_command(env, extra, &["worker"])
    }

    /// Any long-running `punctual` command (`codec-server ...`), kept like a worker.
    fn spawn_command(env: &TestEnv, extra: &[(&'static str, String)], args: &[&str]) -> Self {
        let log = punctual_tests::scratch::process_dir().join(format!("{}-{}.log", args[0], env.task_queue));
        let child = std::process::Command::new("setpriv")
            .args(["--pdeathsig", "KILL"])
            .arg(punctual_bin())
            .args(args)
            .env_remove("PUNCTUAL_PAYLOAD_KEY")
            .env_remove("PUNCTUAL_PAYLOAD_KEY_ID")
            .env_remove("PUNCTUAL_PAYLOAD_OLD_KEYS")
            .env_remove("PUNCTUAL_PSEUDONYM_KEY")
            .envs(env.punctual_env())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("worker log file"))
            .spawn()
            .expect("spawn punctual worker");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).expect("read worker log")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The demo customers a run in `TZ` bills: `(id, amount in cents)`.
fn billed_customers() -> Vec<(String, i64)> {
    (1..=CUSTOMERS).map(demo_customer).filter(|c| c.timezone == TZ).map(|c| (c.id, c.plan_cents)).collect()
}

/// The JSON summary `punctual billing-run --wait` prints after its first line.
fn summary(stdout: &str) -> Value {
    let at = stdout.find('{').unwrap_or_else(|| panic!("no summary in: {stdout}"));
    serde_json::from_str(&stdout[at..]).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {stdout}"))
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_else(|e| panic!("not base64 ({e}): {text}"))
}

/// One payload of a raw history: where it is, its decoded metadata and its data bytes.
#[derive(Debug)]
struct RawPayload {
    path: String,
    metadata: BTreeMap<String, String>,
    data: Vec<u8>,
}

/// Walks a `temporal workflow show -o json` history: payloads (objects with an `encoding` in
/// their `metadata`) outside search attributes go to `payloads`; every search attribute and every
/// other string leaf that shows one of `needles` has its name counted in `leaks`.
fn walk(value: &Value, path: &str, needles: &[String], payloads: &mut Vec<RawPayload>, leaks: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(meta)) = map.get("metadata")
                && meta.contains_key("encoding")
            {
                let data = map.get("data").and_then(Value::as_str).map(b64).unwrap_or_default();
                if path.contains("searchAttributes") {
                    // Never encoded: the server indexes them. Counted as `searchAttributes.Name`.
                    if needles.iter().any(|n| contains(&data, n)) {
                        let name = path.rsplit('.').next().unwrap_or(path);
                        leaks.insert(format!("searchAttributes.{name}"));
                    }
                    return;
                }
                if path.ends_with("markerRecordedEventAttributes.details.data.payloads[0]") {
                    // A local activity's marker metadata (sequence, attempt, activity id and
                    // type, times), written by SDK core and never handed to the codec; its
                    // result is a separate payload, which is.
                    if needles.iter().any(|n| contains(&data, n)) {
                        leaks.insert("localActivityMarker.activity_id".to_owned());
                    }
                    return;
                }
                if path.ends_with("markerRecordedEventAttributes.details.patch-data.payloads[0]") {
                    // A patch marker (`ctx.patched`), written by SDK core and never handed to the
                    // codec: it holds the patch's name and nothing of the business.
                    let text = String::from_utf8_lossy(&data);
                    assert!(text.starts_with(r#"{"id":""#) && text.contains(r#""deprecated":"#), "{path}: {text}");
                    if needles.iter().any(|n| contains(&data, n)) {
                        leaks.insert("patchMarker".to_owned());
                    }
                    return;
                }
                payloads.push(RawPayload {
                    path: path.to_owned(),
                    metadata: meta
                        .iter()
                        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&b64(v.as_str().unwrap_or(""))).into_owned()))
                        .collect(),
                    data,
                });
                return;
            }
            for (key, v) in map {
                if let Value::String(text) = v
                    && needles.iter().any(|n| text.contains(n.as_str()))
                {
                    leaks.insert(key.clone());
                }
                walk(v, &format!("{path}.{key}"), needles, payloads, leaks);
            }
        }
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{path}[{i}]"), needles, payloads, leaks))
        }
        _ => {}
    }
}

/// The raw histories of `root` and every child workflow it (transitively) started.
async fn histories(env: &TestEnv, root: &str) -> BTreeMap<String, Value> {
    let mut todo = vec![root.to_owned()];
    let mut seen = BTreeMap::new();
    while let Some(id) = todo.pop() {
        let history = env.cli_json(&["workflow", "show", "--workflow-id", &id]).await;
        for event in history["events"].as_array().expect("events") {
            if let Some(child) = event["startChildWorkflowExecutionInitiatedEventAttributes"]["workflowId"].as_str()
                && !seen.contains_key(child)
            {
                todo.push(child.to_owned());
            }
        }
        seen.insert(id, history);
    }
    seen
}

/// The first payload (the workflow's input) of a raw `temporal workflow show -o json` history.
fn first_payload(history: &Value) -> Value {
    history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0].clone()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Payloads in `histories` whose data shows a customer id or an amount in the clear.
fn readable(histories: &BTreeMap<String, Value>, customers: &[(String, i64)]) -> Vec<String> {
    let ids: Vec<String> = customers.iter().map(|(id, _)| id.clone()).collect();
    let mut found = Vec::new();
    for (id, history) in histories {
        let (mut payloads, mut leaks) = (Vec::new(), BTreeSet::new());
        walk(history, "", &ids, &mut payloads, &mut leaks);
        for p in payloads {
            for (customer, amount) in customers {
                if contains(&p.data, customer) || contains(&p.data, &amount.to_string()) {
                    found.push(format!("{id} {}: {customer}/{amount}", p.path));
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn encrypted_payloads_hide_customers_and_amounts_and_survive_a_key_rotation() {
    let env = TestEnv::start("encryption").await;
    let customers = billed_customers();
    let ids: Vec<String> = customers.iter().map(|(id, _)| id.clone()).collect();

    // Before encryption: a run by the in-process worker and a client without a codec.
    let plain_date = "2026-11-23";
    let plain =
        env.with_worker(env.punctual(&["billing-run", "--allow-future", "--date", plain_date, "--timezone", TZ, "--wait"])).await;
    assert!(plain.success, "{}", plain.stderr);
    let plain_summary = summary(&plain.stdout);
    let plain_histories = histories(&env, &keys::billing_run(TZ, plain_date)).await;
    assert!(
        !readable(&plain_histories, &customers).is_empty(),
        "without a key the payload check sees customers in the clear (so it can fail)"
    );
    let mut plain_fields = BTreeSet::new();
    for history in plain_histories.values() {
        walk(history, "", &ids, &mut Vec::new(), &mut plain_fields);
    }
    let without: BTreeSet<String> = VISIBLE_WITHOUT_PSEUDONYMS.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(plain_fields, without, "without keys the field check sees customer ids (so it can fail)");

    // Encryption on: the real worker and starter, both with key k1.
    let date = "2026-11-24";
    let worker = Worker::spawn(&env, &key_1());
    let run = env.punctual_with(&key_1(), &["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"]).await;
    assert!(run.success, "{}\n{}", run.stderr, worker.log());
    let run_summary = summary(&run.stdout);

    // The business effects are those of any run: one invoice per customer, each charged once
    // (declined cards never), a receipt for each paid one.
    let invoices: Vec<String> = customers.iter().map(|(c, _)| keys::invoice_id(c, date)).collect();
    assert_eq!(run_summary["totals"]["customers"], customers.len(), "{run_summary:#}");
    let rows: Vec<String> =
        env.world.invoices().await.into_iter().map(|(id, _)| id).filter(|id| id.ends_with("20261124")).collect();
    assert_eq!(rows, invoices, "one invoice row per customer");
    let mut charged = BTreeMap::<String, usize>::new();
    for charge in env.world.charges().await {
        let invoice = charge["invoice_id"].as_str().unwrap_or_default().to_owned();
        if invoice.ends_with("20261124") {
            *charged.entry(invoice).or_default() += 1;
        }
    }
    let want: BTreeMap<String, usize> = (1..=CUSTOMERS)
        .map(demo_customer)
        .filter(|c| c.timezone == TZ && c.payment_method != CARD_DECLINED)
        .map(|c| (keys::invoice_id(&c.id, date), 1))
        .collect();
    assert_eq!(charged, want, "charges per invoice at the provider");
    assert_eq!(run_summary["totals"], plain_summary["totals"], "same customers, same outcomes as the plain run");

    // The raw history of the run and of every child: each payload encrypted under k1, none
    // showing a customer id or an amount.
    let encrypted = histories(&env, &keys::billing_run(TZ, date)).await;
    assert_eq!(encrypted.len(), 2 + customers.len(), "the run, its batch and a saga per customer: {:?}", encrypted.keys());
    let mut leaked_fields = BTreeSet::new();
    for (id, history) in &encrypted {
        let mut payloads = Vec::new();
        walk(history, "", &ids, &mut payloads, &mut leaked_fields);
        assert!(!payloads.is_empty(), "{id}: no payloads found at all");
        for p in &payloads {
            assert_eq!(p.metadata.get("encoding").map(String::as_str), Some("binary/encrypted"), "{id} {}: {p:?}", p.path);
            assert_eq!(p.metadata.get("encryption-key-id").map(String::as_str), Some("k1"), "{id} {}", p.path);
        }
    }
    assert_eq!(readable(&encrypted, &customers), Vec::<String>::new(), "payloads readable with encryption on");
    // Nor anything outside payloads: ids, activity ids, markers, search attributes and failure
    // messages name customers by pseudonym (messages are encoded, so encrypted).
    assert_eq!(leaked_fields, BTreeSet::new(), "fields outside payloads that show customer ids");

    // A customer's saga is found by its pseudonym, which `punctual pseudonym` prints.
    let (first, _) = &customers[0];
    let named = env.punctual_with(&key_1(), &["pseudonym", first]).await;
    assert!(named.success, "{}", named.stderr);
    let shown = named.stdout.split('\t').nth(1).unwrap_or_else(|| panic!("no pseudonym in: {}", named.stdout)).to_owned();
    assert!(shown.starts_with("c-") && !shown.contains(first.as_str()), "{shown}");
    let query = format!("CustomerId = '{shown}' AND BusinessDate = '{date}'");
    let found = env.cli_json(&["workflow", "list", "--query", &query]).await;
    let found_ids: Vec<&str> =
        found.as_array().map(|a| a.iter().filter_map(|w| w["execution"]["workflowId"].as_str()).collect()).unwrap_or_default();
    assert_eq!(found_ids, vec![keys::payment_saga(&keys::invoice_id(&shown, date))], "{found:#}");

    // The saga still decided on the decline's real message: it is what the void records.
    let declined: Vec<String> = (1..=CUSTOMERS)
        .map(demo_customer)
        .filter(|c| c.timezone == TZ && c.payment_method == CARD_DECLINED)
        .map(|c| keys::invoice_id(&c.id, date))
        .collect();
    assert!(!declined.is_empty(), "the demo customers of {TZ} include a declined card");
    let voids: BTreeMap<String, Option<String>> = env.world.void_reasons().await.into_iter().collect();
    for invoice in &declined {
        let reason = voids.get(invoice).cloned().flatten().unwrap_or_else(|| panic!("{invoice} not voided: {voids:?}"));
        assert!(reason.contains("declined") && !reason.contains("Encoded failure"), "{invoice}: {reason}");
    }

    // The worker logged which key it uses, and never a key.
    let log = worker.log();
    assert!(log.contains("payload_key_id") && log.contains("\"k1\""), "the worker names its key id: {log}");
    assert!(!log.contains(KEY_1) && !log.contains(KEY_2), "a key in the worker log");
    drop(worker);

    // The codec server: the `temporal` CLI shows the same saga decrypted through it, with the
    // right Authorization header only; browsers get CORS for the UI's origin only.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let url = format!("http://127.0.0.1:{port}");
    let token = "Bearer codec-test-token";
    let mut codec_env = key_1();
    codec_env.push(("PUNCTUAL_CODEC_AUTH", token.to_owned()));
    let codec = Worker::spawn_command(&env, &codec_env, &["codec-server", "--listen", &format!("127.0.0.1:{port}")]);
    let http = reqwest::Client::new();
    let mut tries = 0;
    while http.post(format!("{url}/decode")).body("{}").send().await.is_err() {
        tries += 1;
        assert!(tries < 600, "codec server never listened: {}", codec.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let saga = keys::payment_saga(&keys::invoice_id(&shown, date));
    let decoded =
        env.cli_json(&["workflow", "show", "--workflow-id", &saga, "--codec-endpoint", &url, "--codec-auth", token]).await;
    let mut payloads = Vec::new();
    walk(&decoded, "", &ids, &mut payloads, &mut BTreeSet::new());
    assert!(!payloads.is_empty(), "{decoded:#}");
    assert!(payloads.iter().all(|p| p.metadata.get("encoding").map(String::as_str) != Some("binary/encrypted")), "{payloads:?}");
    assert!(payloads.iter().any(|p| contains(&p.data, first)), "the saga's input names {first} once decoded: {payloads:?}");
    let raw = env.cli_json(&["workflow", "show", "--workflow-id", &saga]).await;
    let body = json!({ "payloads": [first_payload(&raw)] }).to_string();
    let refused = http.post(format!("{url}/decode")).body(body.clone()).send().await.expect("decode without auth");
    assert_eq!(refused.status(), 401, "decoding without the token");
    let opened = http.post(format!("{url}/decode")).header("Authorization", token).body(body).send().await.expect("decode");
    assert_eq!(opened.status(), 200);
    let opened: Value = opened.json().await.expect("decode answer");
    let data = b64(opened["payloads"][0]["data"].as_str().expect("decoded data"));
    assert!(contains(&data, first), "{opened}");
    for (origin, allowed) in [("http://localhost:8233", true), ("http://evil.example", false)] {
        let preflight = http
            .request(reqwest::Method::OPTIONS, format!("{url}/decode"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .expect("preflight");
        let echoed = preflight.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok());
        assert_eq!(echoed, allowed.then_some(origin), "CORS for {origin}");
    }
    assert!(!codec.log().contains(token) && !codec.log().contains(KEY_1), "a secret in the codec server's log");
    drop(codec);

    // A run started under k1 while no worker polls, then taken by a worker that has already
    // rotated (k2 current, k1 old): it reads the k1 input and writes everything new under k2.
    let handover_date = "2026-11-25";
    let started =
        env.punctual_with(&key_1(), &["billing-run", "--allow-future", "--date", handover_date, "--timezone", TZ]).await;
    assert!(started.success, "{}", started.stderr);
    let rotated_worker = Worker::spawn(&env, &rotated());
    let handover = env
        .punctual_with(&rotated(), &["billing-run", "--allow-future", "--date", handover_date, "--timezone", TZ, "--wait"])
        .await;
    assert!(handover.success, "{}\n{}", handover.stderr, rotated_worker.log());
    assert_eq!(summary(&handover.stdout)["totals"], plain_summary["totals"], "the handed-over run bills like the others");
    let handed = histories(&env, &keys::billing_run(TZ, handover_date)).await;
    let mut key_ids = BTreeMap::<String, usize>::new();
    for history in handed.values() {
        let mut payloads = Vec::new();
        walk(history, "", &ids, &mut payloads, &mut BTreeSet::new());
        for p in payloads {
            *key_ids.entry(p.metadata.get("encryption-key-id").cloned().unwrap_or_default()).or_default() += 1;
        }
    }
    assert_eq!(key_ids.get("k1"), Some(&1), "only the run's own input was written under k1: {key_ids:?}");
    assert!(key_ids.get("k2").is_some_and(|n| *n > customers.len()), "the rest under k2: {key_ids:?}");
    assert_eq!(key_ids.len(), 2, "nothing in the clear: {key_ids:?}");
    assert_eq!(readable(&handed, &customers), Vec::<String>::new());
    drop(rotated_worker);

    // Rotated: k2 current, k1 old. The k1 run and the plain one still read through punctual.
    for (d, want) in [(date, &run_summary), (plain_date, &plain_summary)] {
        let again =
            env.punctual_with(&rotated(), &["billing-run", "--allow-future", "--date", d, "--timezone", TZ, "--wait"]).await;
        assert!(again.success, "{d}: {}", again.stderr);
        assert!(again.stdout.contains("already completed: not started again"), "{}", again.stdout);
        assert_eq!(&summary(&again.stdout), want, "{d} read after the rotation");
    }

    // Without the key, or with only the new one, reading fails and says which key is missing.
    let args = ["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"];
    let no_key = env.punctual_with(&[], &args).await;
    assert!(!no_key.success, "{}", no_key.stdout);
    assert!(no_key.stderr.contains("PUNCTUAL_PAYLOAD_KEY") && no_key.stderr.contains("`k1`"), "{}", no_key.stderr);
    let new_only = env.punctual_with(&rotated()[..2], &args).await;
    assert!(!new_only.success, "{}", new_only.stdout);
    assert!(new_only.stderr.contains("`k1`") && new_only.stderr.contains("PUNCTUAL_PAYLOAD_OLD_KEYS"), "{}", new_only.stderr);
}

#[tokio::test]
async fn a_bulk_run_with_keys_shows_no_customer_in_the_clear() {
    let env = TestEnv::start("encryption-bulk").await;
    let customers = billed_customers();
    let ids: Vec<String> = customers.iter().map(|(id, _)| id.clone()).collect();

    // Without keys the bulk page's payloads and its workflow id show customers: the walk can fail.
    let plain_date = "2026-11-21";
    let plain = env
        .with_worker(env.punctual(&["billing-run", "--allow-future", "--date", plain_date, "--timezone", TZ, "--bulk", "--wait"]))
        .await;
    assert!(plain.success, "{}", plain.stderr);
    let plain_histories = histories(&env, &keys::billing_run(TZ, plain_date)).await;
    assert!(!readable(&plain_histories, &customers).is_empty(), "a plain bulk page shows customers");
    let mut plain_fields = BTreeSet::new();
    for history in plain_histories.values() {
        walk(history, "", &ids, &mut Vec::new(), &mut plain_fields);
    }
    assert!(plain_fields.contains("workflowId"), "{plain_fields:?}");

    // With keys: every payload of the run and its page encrypted, no customer outside them.
    let date = "2026-11-22";
    let worker = Worker::spawn(&env, &key_1());
    let run = env
        .punctual_with(&key_1(), &["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--bulk", "--wait"])
        .await;
    assert!(run.success, "{}\n{}", run.stderr, worker.log());
    assert_eq!(summary(&run.stdout)["totals"]["customers"], customers.len());
    let encrypted = histories(&env, &keys::billing_run(TZ, date)).await;
    assert_eq!(encrypted.len(), 2, "the run and its one bulk page, no saga: {:?}", encrypted.keys());
    let mut leaked_fields = BTreeSet::new();
    for (id, history) in &encrypted {
        let mut payloads = Vec::new();
        walk(history, "", &ids, &mut payloads, &mut leaked_fields);
        for p in &payloads {
            assert_eq!(p.metadata.get("encoding").map(String::as_str), Some("binary/encrypted"), "{id} {}: {p:?}", p.path);
        }
    }
    assert_eq!(readable(&encrypted, &customers), Vec::<String>::new(), "payloads readable with encryption on");
    assert_eq!(leaked_fields, BTreeSet::new(), "fields outside payloads that show customer ids");
}

#[tokio::test]
async fn bad_keys_stop_every_command_by_name_and_no_key_is_ever_printed() {
    let env = TestEnv::start("encryption-keys").await;
    let args = ["billing-run", "--allow-future", "--date", "2026-11-24", "--timezone", TZ];
    let short = "c2hvcnQta2V5"; // base64 of 9 bytes
    let cases: [(Vec<(&str, String)>, &str); 3] = [
        (
            vec![("PUNCTUAL_PAYLOAD_KEY", short.to_owned()), ("PUNCTUAL_PAYLOAD_KEY_ID", "k1".to_owned())],
            "PUNCTUAL_PAYLOAD_KEY decodes to 9 bytes",
        ),
        (
            vec![("PUNCTUAL_PAYLOAD_KEY", "%%%not-base64%%%".to_owned()), ("PUNCTUAL_PAYLOAD_KEY_ID", "k1".to_owned())],
            "PUNCTUAL_PAYLOAD_KEY is not valid base64",
        ),
        (vec![("PUNCTUAL_PAYLOAD_KEY", KEY_1.to_owned())], "PUNCTUAL_PAYLOAD_KEY is set but PUNCTUAL_PAYLOAD_KEY_ID is not"),
    ];
    for (vars, message) in cases {
        for command in [&args[..], &["schedule", "list"], &["worker"]] {
            // Bounded only so that a worker which wrongly starts polling fails the test, not hangs it.
            let out = tokio::time::timeout(Duration::from_secs(120), env.punctual_with(&vars, command))
                .await
                .unwrap_or_else(|_| panic!("{command:?} kept running with {message}"));
            assert!(!out.success, "{command:?} ran with {message}");
            assert!(out.stderr.contains(message), "{command:?}: {}", out.stderr);
            let said = out.stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
            assert_eq!(said.matches(message).count(), 1, "{command:?} says it once: {said}");
            for (_, value) in &vars {
                assert!(
                    !out.stderr.contains(value.as_str()) && !out.stdout.contains(value.as_str()),
                    "{command:?} printed a key: {}",
                    out.stderr
                );
            }
        }
    }
    for help in [&["--help"][..], &["worker", "--help"], &["billing-run", "--help"], &["schedule", "--help"]] {
        let out = env.punctual_with(&key_1(), help).await;
        assert!(out.success, "{help:?}: {}", out.stderr);
        assert!(!out.stdout.contains(KEY_1), "{help:?} shows the key");
    }
    // A worker that encrypts payloads but has no pseudonym key would leave customer ids in
    // workflow ids and search attributes: it does not start.
    let out = tokio::time::timeout(Duration::from_secs(120), env.punctual_with(&key_1()[..2], &["worker"]))
        .await
        .expect("a worker without a pseudonym key kept running");
    assert!(!out.success, "the worker ran without PUNCTUAL_PSEUDONYM_KEY");
    assert!(out.stderr.contains("PUNCTUAL_PSEUDONYM_KEY is not"), "{}", out.stderr);
    let out = env.punctual_with(&key_1(), &["--help"]).await;
    assert!(out.stdout.contains("PUNCTUAL_PAYLOAD_KEY"), "--help documents the variable: {}", out.stdout);
}
