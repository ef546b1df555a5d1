//! `punctual worker --metrics-addr`, scraped from a real worker process: the counters move by
//! exactly the effects a billing run made (counted from the demo data and at the provider), a
//! repeated run moves only the replayed side, schedule lag is observed once per scheduled start,
//! and the probes tell alive from ready.

use punctual_activities::seed::{CARD_DECLINED, demo_customer};
use punctual_tests::{TestEnv, eventually};
use punctual_workflows::billing::types::BillingRunSummary;
use punctual_workflows::{BillingRunWorkflow, JsonInput, PaymentSagaWorkflow, keys};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Child;
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

const TZ: &str = "Asia/Shanghai";
/// Generous bound on waiting (not a timing assertion).
const WAIT: Duration = Duration::from_secs(120);

/// A `punctual worker` process that is killed when the test ends, however it ends.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Starts the real worker binary serving metrics on a free loopback port; returns its base URL.
fn spawn_with_metrics(env: &TestEnv, extra: &[(&str, String)]) -> (Worker, String) {
    let addr = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
    let mut vars = vec![("PUNCTUAL_METRICS_ADDR", addr.to_string())];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    (Worker(env.spawn_worker_with(&vars)), format!("http://{addr}"))
}

/// GET `url`: status and body, or `None` while nothing answers.
async fn get(url: &str) -> Option<(u16, String)> {
    let reply = reqwest::get(url).await.ok()?;
    let status = reply.status().as_u16();
    Some((status, reply.text().await.ok()?))
}

/// One scrape, as `series -> value` (`name{label="v",...}` exactly as exposed).
async fn scrape(base: &str) -> Scrape {
    let (status, text) = get(&format!("{base}/metrics")).await.expect("/metrics answers");
    assert_eq!(status, 200, "{text}");
    let mut series = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("malformed line `{line}`"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("malformed value in `{line}`"));
        series.insert(name.to_owned(), value);
    }
    Scrape { series, text }
}

struct Scrape {
    series: BTreeMap<String, f64>,
    text: String,
}

/// One expectation: metric name, labels it must carry, how much it should have moved.
type Check<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

impl Scrape {
    /// Sum of the series of `name` carrying every label in `labels` (0 when there is none).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.series
            .iter()
            .filter(|(series, _)| {
                let (n, rest) = series.split_once('{').unwrap_or((series.as_str(), ""));
                n == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// How much each of `checks` moved since `before`, beside what it should have moved.
    fn deltas(&self, before: &Scrape, checks: &[Check<'_>]) -> Vec<(String, f64, f64)> {
        checks
            .iter()
            .map(|(name, labels, want)| (format!("{name}{labels:?}"), self.get(name, labels) - before.get(name, labels), *want))
            .collect()
    }
}

/// Asserts every delta equals what it should, listing all of them on failure.
fn assert_moved(what: &str, deltas: &[(String, f64, f64)]) {
    let wrong: Vec<_> = deltas.iter().filter(|(_, got, want)| got != want).collect();
    assert!(wrong.is_empty(), "{what}: (series, moved, expected) wrong: {wrong:#?}\nall: {deltas:#?}");
}

/// What a billing run of the first 30 demo customers in `TZ` does, from the demo data's rules.
struct Demo {
    invoices: f64,
    declined: f64,
    closed: f64,
}

impl Demo {
    fn of_30() -> Self {
        let customers: Vec<_> = (1..=30).map(demo_customer).filter(|c| c.timezone == TZ).collect();
        let declined = customers.iter().filter(|c| c.payment_method == CARD_DECLINED).count();
        let closed = customers.iter().filter(|c| c.payment_method != CARD_DECLINED && c.status == "closed").count();
        Demo { invoices: customers.len() as f64, declined: declined as f64, closed: closed as f64 }
    }

    fn paid(&self) -> f64 {
        self.invoices - self.declined - self.closed
    }
}

async fn run_billing(env: &TestEnv, id: &str, date: &str) -> BillingRunSummary {
    let input = JsonInput::from(json!({"business_date": date, "timezone": TZ}));
    let options = WorkflowStartOptions::new(&env.task_queue, id).build();
    let run = env.client.start_workflow(BillingRunWorkflow::run, input, options).await.expect("start billing run");
    run.get_result(WorkflowGetResultOptions::default()).await.expect("billing run result")
}

#[tokio::test]
async fn a_billing_run_moves_each_counter_by_exactly_its_effects() {
    let env = TestEnv::start("metrics-billing").await;
    let (_worker, base) = spawn_with_metrics(&env, &[]);
    eventually("/readyz to say ready", WAIT, async || get(&format!("{base}/readyz")).await.filter(|(status, _)| *status == 200))
        .await;
    let (status, body) = get(&format!("{base}/healthz")).await.expect("/healthz answers");
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let date = "2026-12-01";
    let demo = Demo::of_30();
    assert!(demo.declined > 0.0 && demo.closed > 0.0, "demo data has both kinds of refusal");
    let before = scrape(&base).await;
    let summary = run_billing(&env, &keys::billing_run(TZ, date), date).await;
    assert_eq!(summary.totals.customers as f64, demo.invoices);
    let after = scrape(&base).await;

    // Cross-check against the outside world: the provider made one charge per charged invoice.
    let charged = env.world.charges().await.len() as f64;
    assert_eq!(charged, demo.invoices - demo.declined, "charges at the provider");
    let effects = "punctual_effects_total";
    let claims = "punctual_external_claims_total";
    let comp = "punctual_compensations_total";
    let runs = "punctual_runs_total";
    assert_moved(
        "first run",
        &after.deltas(
            &before,
            &[
                (effects, &[("kind", "bill"), ("outcome", "performed")], demo.invoices),
                // A decline is a recorded outcome of a charge call, like a success.
                (effects, &[("kind", "charge"), ("outcome", "performed")], charged + demo.declined),
                (effects, &[("kind", "payment-record"), ("outcome", "performed")], demo.paid()),
                (effects, &[("kind", "notify"), ("outcome", "performed")], demo.paid()),
                (effects, &[("kind", "refund"), ("outcome", "performed")], demo.closed),
                (effects, &[("kind", "void"), ("outcome", "performed")], demo.declined + demo.closed),
                (effects, &[("outcome", "replayed")], 0.0),
                (claims, &[("kind", "charge"), ("claim", "first")], demo.invoices),
                (claims, &[("claim", "repeated")], 0.0),
                (claims, &[("claim", "done")], 0.0),
                (comp, &[("step", "refund"), ("outcome", "performed")], demo.closed),
                (comp, &[("step", "void"), ("outcome", "performed")], demo.declined + demo.closed),
                (comp, &[("outcome", "failed")], 0.0),
                (runs, &[("job", "payment"), ("outcome", "completed")], demo.paid()),
                (runs, &[("job", "payment"), ("outcome", "compensated")], demo.declined + demo.closed),
                (runs, &[("job", "payment"), ("outcome", "failed")], 0.0),
                (runs, &[("job", "billing-run"), ("outcome", "completed")], 1.0),
            ],
        ),
    );
    // The SDK's own worker metrics are merged in: one BillingRunWorkflow completed, polls made.
    // The SDK records its completion counter after it reports the completion, so a scrape right
    // after the result may not show it yet (seen under load in CI): wait for it, bounded.
    let sdk = eventually("the SDK's completion counter", Duration::from_secs(60), async || {
        let s = scrape(&base).await;
        (s.get("temporal_workflow_completed", &[("workflow_type", "BillingRunWorkflow")]) >= 1.0).then_some(s)
    })
    .await;
    let sdk_completed = sdk.get("temporal_workflow_completed", &[("workflow_type", "BillingRunWorkflow")]);
    assert_eq!(sdk_completed, 1.0, "SDK metrics in the scrape:\n{}", sdk.text);
    assert!(sdk.text.contains("temporal_num_pollers"), "{}", sdk.text);

    // The same date again, under another workflow ID: each completed page runs again (that is
    // how a re-run reaches a saga stopped by hand), so every bill is replayed from the ledger and
    // every saga is already done: nothing is performed, no claim made; the run itself is counted.
    let again = run_billing(&env, &format!("{}/again", keys::billing_run(TZ, date)), date).await;
    assert_eq!(again.totals.already_done as f64, demo.invoices);
    let third = scrape(&base).await;
    assert_moved(
        "second run of the date",
        &third.deltas(
            &after,
            &[
                (effects, &[("outcome", "performed")], 0.0),
                (effects, &[("kind", "bill"), ("outcome", "replayed")], demo.invoices),
                (claims, &[], 0.0),
                (comp, &[], 0.0),
                (runs, &[("job", "payment")], 0.0),
                (runs, &[("job", "billing-run"), ("outcome", "completed")], 1.0),
            ],
        ),
    );

    // One paid invoice's saga by hand under another ID: every step is replayed from the ledger,
    // nothing is performed, and the provider sees no new charge.
    let c = demo_customer(1);
    let invoice = keys::invoice_id(&c.id, date);
    let bill = json!({"invoice_id": invoice, "customer_id": c.id, "business_date": date,
                      "amount_cents": c.plan_cents, "payment_method": c.payment_method});
    let saga = env
        .client
        .start_workflow(
            PaymentSagaWorkflow::run,
            JsonInput::from(bill),
            WorkflowStartOptions::new(&env.task_queue, format!("{}/by-hand", keys::payment_saga(&invoice))).build(),
        )
        .await
        .expect("start saga");
    saga.get_result(WorkflowGetResultOptions::default()).await.expect("saga result");
    let fourth = scrape(&base).await;
    assert_moved(
        "a repeated saga",
        &fourth.deltas(
            &third,
            &[
                (effects, &[("outcome", "performed")], 0.0),
                (effects, &[("kind", "charge"), ("outcome", "replayed")], 1.0),
                (effects, &[("kind", "payment-record"), ("outcome", "replayed")], 1.0),
                (effects, &[("kind", "notify"), ("outcome", "replayed")], 1.0),
                (effects, &[("outcome", "replayed")], 3.0),
                (claims, &[("claim", "done")], 2.0),
                (claims, &[("claim", "first")], 0.0),
                (runs, &[("job", "payment"), ("outcome", "completed")], 1.0),
            ],
        ),
    );
    assert_eq!(env.world.charges().await.len() as f64, charged, "no new charge at the provider");
}

/// A job billing a zone with no customers (cheap fires, each its own occurrence) with `timing`,
/// named after the test's task queue, alone in its jobs file: `(job name, jobs file)`.
fn cheap_job(env: &TestEnv, prefix: &str, timing: &str) -> (String, String) {
    let job =
        format!("{prefix}-{}", env.task_queue).to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-");
    let config = punctual_tests::scratch::process_dir().join(format!("metrics-{}.toml", env.task_queue));
    let text = format!("[jobs.{job}]\nworkflow = \"BillingRunWorkflow\"\ninput = {{ timezone = \"Europe/Paris\" }}\n{timing}\n");
    std::fs::write(&config, text).expect("write jobs file");
    (job, config.display().to_string())
}

/// `punctual schedule --config CONFIG ARGS`, which must succeed.
async fn schedule_ok(env: &TestEnv, config: &str, args: &[&str]) {
    let mut all = vec!["schedule", "--config", config];
    all.extend_from_slice(args);
    let out = env.punctual(&all).await;
    assert!(out.success, "punctual {all:?}:\n{}\n{}", out.stdout, out.stderr);
}

#[tokio::test]
async fn each_scheduled_start_observes_its_lag_once() {
    let env = TestEnv::start("metrics-lag").await;
    let (count, _) = observe_lag(&env, &[]).await;
    assert!(count >= 2.0);
}

/// The lag is measured by the server's clock, like the nominal time it is measured from: a
/// worker whose clock is a day ahead reported a day of lag for every fire.
#[tokio::test]
async fn a_worker_a_day_ahead_reports_the_schedules_lag_not_its_clocks() {
    let env = TestEnv::start("metrics-lag-skewed").await;
    let (count, sum) = observe_lag(&env, &punctual_tests::clock::skewed_clock("+1d", 1)).await;
    // Not a timing bound: a fire of a 3 s schedule is seconds late on a loaded machine; a day
    // off is 86,400 s per fire.
    assert!(sum < 3_600.0 * count, "{count} fires observed {sum} s of lag in all");
}

/// Runs a job every 3 s on a worker with `extra` environment until two occurrences committed,
/// checks that each scheduled start observed its lag once, and returns the lag histogram's
/// count and sum.
async fn observe_lag(env: &TestEnv, extra: &[(&str, String)]) -> (f64, f64) {
    let (_worker, base) = spawn_with_metrics(env, extra);
    let (job, config) = cheap_job(env, "lag", &format!("timezone = \"{TZ}\"\nevery = \"3s\""));
    let schedule = async |args: &[&str]| schedule_ok(env, &config, args).await;
    schedule(&["apply"]).await;
    let rows = async || punctual_activities::jobs::rows_between(&env.world.ledger, &job, "0000", "9999").await.expect("rows");
    eventually("two committed occurrences", WAIT, async || {
        (rows().await.iter().filter(|r| r.status == "committed").count() >= 2).then_some(())
    })
    .await;
    schedule(&["delete", &job]).await;
    // Only once no fire is left open is the number of started occurrences final.
    let open = format!("JobName='{job}' AND ExecutionStatus='Running'");
    eventually("every fire and occurrence closed", WAIT, async || {
        let listed = env.cli_json(&["workflow", "list", "--query", &open]).await;
        listed.as_array().is_none_or(Vec::is_empty).then_some(())
    })
    .await;

    let rows = rows().await;
    let committed = rows.iter().filter(|r| r.status == "committed").count() as f64;
    assert_eq!(committed, rows.len() as f64, "every occurrence committed: {rows:#?}");
    let scraped = scrape(&base).await;
    let lag = "punctual_schedule_lag_seconds";
    assert_eq!(scraped.get(&format!("{lag}_count"), &[("job", &job)]), committed, "{}", scraped.text);
    assert_eq!(scraped.get(&format!("{lag}_bucket"), &[("job", &job), ("le", "+Inf")]), committed);
    let sum = scraped.get(&format!("{lag}_sum"), &[("job", &job)]);
    assert!(sum >= 0.0);
    assert_eq!(scraped.get("punctual_runs_total", &[("job", &job), ("outcome", "committed")]), committed);
    (committed, sum)
}

/// "Trigger now" on a daily job (`punctual schedule trigger JOB`, the server's TriggerImmediately)
/// runs the day's occurrence, but it is not a fire the calendar made late: the server gives it the
/// same nominal-time attribute as a real fire, so the fire's plan tells it apart and it counts as
/// `manual`. Before, each such trigger added its distance from the day's slot to the lag
/// histogram, hours for a job that fires once a day.
#[tokio::test]
async fn a_trigger_now_runs_the_occurrence_but_observes_no_schedule_lag() {
    let env = TestEnv::start("metrics-trigger-now").await;
    let (_worker, base) = spawn_with_metrics(&env, &[]);
    // A slot six hours from now: the trigger's instant is never one the job fires at, and the
    // schedule itself does not fire while the test runs.
    let slot = (chrono::Utc::now() - chrono::Duration::hours(6)).format("%H:%M");
    let (job, config) = cheap_job(&env, "now", &format!("timezone = \"UTC\"\nat = \"{slot}\""));
    let schedule = async |args: &[&str]| schedule_ok(&env, &config, args).await;
    schedule(&["apply"]).await;
    // --allow-future: before 06:00 UTC the day's slot is still ahead, and a trigger now would
    // run it early; what is tested here is the lag, not the clock.
    schedule(&["trigger", &job, "--allow-future"]).await;
    let rows = async || punctual_activities::jobs::rows_between(&env.world.ledger, &job, "0000", "9999").await.expect("rows");
    eventually("the triggered occurrence committed", WAIT, async || {
        (rows().await.iter().any(|r| r.status == "committed")).then_some(())
    })
    .await;
    schedule(&["delete", &job]).await;
    let fires = format!("JobName='{job}' AND WorkflowType='ScheduledJobWorkflow'");
    let fire = eventually("the fire closed", WAIT, async || {
        let listed = env.cli_json(&["workflow", "list", "--query", &fires]).await;
        let listed = listed.as_array()?.clone();
        (listed.len() == 1 && listed[0]["status"] != "WORKFLOW_EXECUTION_STATUS_RUNNING").then(|| listed[0].clone())
    })
    .await;
    let id = fire["execution"]["workflowId"].as_str().expect("fire's workflow id").to_owned();
    let result = env.cli_json(&["workflow", "result", "--workflow-id", &id]).await;
    assert_eq!(result["result"]["trigger"], "manual", "{result:#}");
    assert_eq!(result["result"]["occurrences"][0]["outcome"], "committed", "{result:#}");

    let scraped = scrape(&base).await;
    let lag = "punctual_schedule_lag_seconds";
    assert_eq!(scraped.get("punctual_runs_total", &[("job", &job), ("outcome", "committed")]), 1.0, "{}", scraped.text);
    assert_eq!(scraped.get(&format!("{lag}_count"), &[("job", &job)]), 0.0, "{}", scraped.text);
}

#[tokio::test]
async fn probes_say_alive_but_not_ready_while_temporal_is_unreachable() {
    let env = TestEnv::start("metrics-probes").await;
    // Nothing listens on port 1: the worker keeps dialling for a minute, alive but not ready.
    let unreachable = [("TEMPORAL_ADDRESS", "127.0.0.1:1".to_owned()), ("PUNCTUAL_CONNECT_TIMEOUT", "60s".to_owned())];
    let (_worker, base) = spawn_with_metrics(&env, &unreachable);
    let (status, _) = eventually("/healthz to answer", WAIT, async || get(&format!("{base}/healthz")).await).await;
    assert_eq!(status, 200);
    let (status, body) = get(&format!("{base}/readyz")).await.expect("/readyz answers");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
}
