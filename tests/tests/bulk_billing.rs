//! Bulk billing runs (`"mode": "bulk"`), end to end on a real dev server: one activity per step
//! (compensations included) for each page of 500 customers — and still every customer's effect
//! once, counted where the outside world sees it, under the per-customer mode's own keys.

use punctual_tests::billing::{Expected, TZ, assert_exactly_once, expected};
use punctual_tests::{TestEnv, eventually, fresh_sqlite_url};
use punctual_workflows::billing::types::BillingRunSummary;
use punctual_workflows::{BillingRunWorkflow, JsonInput, keys};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

/// Demo customers seeded: 960 of them in `TZ`, so two bulk pages (500 and 460).
const CUSTOMERS: u32 = 1_200;

/// Activity types a workflow scheduled, in order, from its history.
async fn scheduled(env: &TestEnv, workflow_id: &str) -> Vec<String> {
    let history = env.cli_json(&["workflow", "show", "--workflow-id", workflow_id]).await;
    history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|ev| ev["activityTaskScheduledEventAttributes"]["activityType"]["name"].as_str())
        .map(str::to_owned)
        .collect()
}

/// `punctual billing-run --bulk --wait` over `date`, expecting every customer of `e` completed or
/// compensated as the demo data says, except `failed` customers, of which `failed_refused` were
/// declined or closed (so not compensated); returns the summary.
async fn bulk_run(env: &TestEnv, date: &str, e: &Expected, failed: usize, failed_refused: usize) -> Value {
    let out = env
        .with_worker(env.punctual(&["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--bulk", "--wait"]))
        .await;
    // Failed customers make the command fail, after it printed the summary.
    assert_eq!(out.success, failed == 0, "{}\n{}", out.stdout, out.stderr);
    if failed > 0 {
        assert!(out.stderr.contains(&format!("{failed} of {} customer(s) failed", e.invoices.len())), "{}", out.stderr);
    }
    let json = out.stdout.find('{').map(|at| &out.stdout[at..]).unwrap_or_default();
    let summary: Value = serde_json::from_str(json).unwrap_or_else(|err| panic!("summary JSON ({err}): {}", out.stdout));
    let refused = e.declined.len() + e.closed.len();
    assert_eq!(summary["totals"]["customers"], e.invoices.len(), "{summary:#}");
    assert_eq!(summary["totals"]["failed"], failed, "{summary:#}");
    assert_eq!(summary["totals"]["compensated"], refused - failed_refused, "{summary:#}");
    assert_eq!(summary["totals"]["completed"], e.invoices.len() - refused - (failed - failed_refused), "{summary:#}");
    summary
}

/// Workflow ids of `query` on this test's task queue, sorted, once visibility shows `want` of them.
async fn listed(env: &TestEnv, query: &str, want: usize) -> Vec<String> {
    let query = format!("{query} AND TaskQueue='{}'", env.task_queue);
    eventually(&format!("{want} workflows for {query}"), Duration::from_secs(60), async || {
        let out = env.cli(&["workflow", "list", "--query", &query, "-o", "json", "--limit", "2000"]).await;
        let list: Vec<Value> = serde_json::from_str(&out.stdout).ok()?;
        let ids: BTreeSet<String> =
            list.iter().filter_map(|w| w["execution"]["workflowId"].as_str().map(str::to_owned)).collect();
        (ids.len() == want).then(|| ids.into_iter().collect())
    })
    .await
}

#[tokio::test]
async fn a_bulk_run_makes_each_effect_once_and_compensates_in_bulk() {
    let env = TestEnv::start_with("bulk", fresh_sqlite_url("bulk"), CUSTOMERS).await;
    let date = "2026-12-01";
    let e = expected(CUSTOMERS, date);
    assert!(e.declined.len() > 10 && e.closed.len() > 10, "demo data has both refusals");

    let summary = bulk_run(&env, date, &e, 0, 0).await;
    assert_eq!(summary["batches"], 2, "{summary:#}");
    assert_exactly_once(&env, &e).await;
    // One provider call per invoice: nothing was charged twice, not even asked twice.
    let charge_posts = env.world.provider_requests().await.into_iter().filter(|r| r["endpoint"] == "POST /charges").count();
    assert_eq!(charge_posts, e.charged.len() + e.declined.len());

    // Each page is one workflow with one activity per step, compensations included, and no
    // saga child: every refusal here is a business one, compensated in bulk.
    let batches = listed(&env, &format!("WorkflowType='BillingBulkBatchWorkflow' AND BusinessDate='{date}'"), 2).await;
    for batch in &batches {
        let steps = ["GenerateBills", "ChargeInvoices", "RecordPayments", "SendReceipts", "RefundCharges", "VoidInvoices"];
        assert_eq!(scheduled(&env, batch).await, steps, "{batch}");
        let history = env.cli_json(&["workflow", "show", "--workflow-id", batch]).await;
        let children = history["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|ev| ev.get("startChildWorkflowExecutionInitiatedEventAttributes").is_some())
            .count();
        assert_eq!(children, 0, "{batch} started sagas");
    }
    // The saga's compensations, with the refusal as the void reason.
    for (invoice, reason) in env.world.void_reasons().await {
        let reason = reason.unwrap_or_default();
        let why = if e.declined.contains(&invoice) { "declined" } else { "is closed" };
        assert!(e.closed.contains(&invoice) || e.declined.contains(&invoice), "{invoice} voided");
        assert!(reason.contains(why) && reason.contains(&invoice), "{invoice}: {reason}");
    }

    // The same business key again, by hand under another workflow id: both completed pages run
    // again and replay every step from the ledger; nothing is redone, nor asked again.
    let input = json!({"business_date": date, "timezone": TZ, "mode": "bulk"}).to_string();
    let again_id = format!("{}/again", keys::billing_run(TZ, date));
    let again = env
        .with_worker(async {
            env.start_workflow("BillingRunWorkflow", &again_id, &input).await;
            env.cli_json(&["workflow", "result", "--workflow-id", &again_id]).await
        })
        .await;
    assert_eq!(again["status"], "COMPLETED", "{again:#}");
    let totals = &again["result"]["totals"];
    assert_eq!(totals["failed"], 0, "{again:#}");
    assert_eq!(totals["completed"].as_u64().unwrap_or(0) + totals["compensated"].as_u64().unwrap_or(0), e.invoices.len() as u64);
    assert_exactly_once(&env, &e).await;
    let posts_again = env.world.provider_requests().await.into_iter().filter(|r| r["endpoint"] == "POST /charges").count();
    assert_eq!(posts_again, charge_posts, "the re-run asked the provider again");
}

#[tokio::test]
async fn a_worker_killed_mid_bulk_step_loses_and_doubles_nothing() {
    let env = TestEnv::start_with("bulk-sigkill", fresh_sqlite_url("bulk-sigkill"), 600).await;
    let date = "2026-12-02";
    // A slow provider keeps the page's ChargeInvoices attempt running when the kill lands
    // (480 charges, 8 at a time, 200 ms each: about 12 s).
    env.world.provider_faults(json!({"latency_ms": 200})).await;
    let mut first = env.spawn_worker();
    let id = keys::billing_run(TZ, date);
    let input = json!({"business_date": date, "timezone": TZ, "mode": "bulk"}).to_string();
    env.start_workflow("BillingRunWorkflow", &id, &input).await;
    let e = expected(600, date);
    // The step records its answers as they come: some charges are in the ledger while it runs.
    let recorded = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries WHERE key LIKE 'charge/%' AND status = 'done'")
            .fetch_one(env.world.ledger.pool())
            .await
            .expect("count recorded charges")
    };
    eventually("charges recorded before the kill", Duration::from_secs(120), async || (recorded().await >= 1).then_some(()))
        .await;
    first.kill().expect("SIGKILL the worker");
    first.wait().expect("reap the killed worker");
    let charged_at_kill = env.world.charges().await.len();
    assert!(
        charged_at_kill < e.charged.len(),
        "the kill landed after the step ({charged_at_kill} charged): its answers were recorded only at its end"
    );
    assert!(recorded().await >= 1);

    let mut second = env.spawn_worker();
    let result = env.cli_json(&["workflow", "result", "--workflow-id", &id]).await;
    let kill = Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    assert!(kill.expect("kill").success());
    second.wait().expect("reap the second worker");

    assert_eq!(result["status"], "COMPLETED", "{result:#}");
    assert_eq!(result["result"]["totals"]["customers"], e.invoices.len(), "{result:#}");
    assert_eq!(result["result"]["totals"]["failed"], 0, "{result:#}");
    assert_exactly_once(&env, &e).await;
    // The killed attempt's step went to the second worker after its heartbeat timeout, and
    // replayed what the first had charged: the page's batch shows the retried attempt.
    let batch = keys::billing_batch(TZ, date, "C00001");
    let history = env.cli_json(&["workflow", "show", "--workflow-id", &batch]).await;
    let attempts: Vec<i64> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|ev| ev["activityTaskStartedEventAttributes"]["attempt"].as_i64())
        .collect();
    assert!(attempts.iter().any(|&a| a > 1), "a step was retried after the kill: {attempts:?}");
}

/// SIGTERM with a short `PUNCTUAL_SHUTDOWN_GRACE` while a bulk step is charging a slow provider:
/// the worker cancels the step once the grace is over and exits, instead of running the step to
/// its end past any grace a supervisor gives it; the next worker finishes it, each effect once.
#[tokio::test]
async fn a_worker_stopped_mid_bulk_step_stops_it_after_its_grace_and_doubles_nothing() {
    let env = TestEnv::start_with("bulk-sigterm", fresh_sqlite_url("bulk-sigterm"), 600).await;
    let date = "2026-12-04";
    let e = expected(600, date);
    // 480 charges, 8 at a time, a second each: the step has about a minute of calls left when
    // the signal lands, far more than the 1 s grace.
    env.world.provider_faults(json!({"latency_ms": 1000})).await;
    let mut first = env.spawn_worker_with(&[("PUNCTUAL_SHUTDOWN_GRACE", "1s".to_owned())]);
    let id = keys::billing_run(TZ, date);
    let input = json!({"business_date": date, "timezone": TZ, "mode": "bulk"}).to_string();
    env.start_workflow("BillingRunWorkflow", &id, &input).await;
    eventually("the bulk step charging", Duration::from_secs(120), async || {
        (env.world.charges().await.len() >= 16).then_some(())
    })
    .await;
    let term = Command::new("kill").args(["-TERM", &first.id().to_string()]).status();
    assert!(term.expect("kill").success());
    let exit = first.wait().expect("reap the stopped worker");
    assert!(exit.success(), "a stop after SIGTERM exits 0: {exit:?}");

    env.world.provider_faults(json!({"latency_ms": 0})).await;
    let mut second = env.spawn_worker();
    let result = env.cli_json(&["workflow", "result", "--workflow-id", &id]).await;
    let term = Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    assert!(term.expect("kill").success());
    second.wait().expect("reap the second worker");
    assert_eq!(result["status"], "COMPLETED", "{result:#}");
    assert_eq!(result["result"]["totals"]["failed"], 0, "{result:#}");
    assert_exactly_once(&env, &e).await;
    // The stopped worker handed the step back as cut off by its shutdown (the next attempt's
    // start carries that failure), not left it to run on until it finished or timed out.
    let batch = keys::billing_batch(TZ, date, "C00001");
    let history = env.cli_json(&["workflow", "show", "--workflow-id", &batch]).await;
    let retried: Vec<&Value> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|ev| ev.get("activityTaskStartedEventAttributes"))
        .filter(|started| started["attempt"].as_i64().is_some_and(|a| a > 1))
        .collect();
    assert!(
        retried.iter().any(|started| started["lastFailure"]["applicationFailureInfo"]["type"] == "WorkerShutdown"),
        "no step attempt ended with the worker's shutdown: {retried:#?}"
    );
}

#[tokio::test]
async fn a_bulk_batch_after_per_customer_sagas_replays_every_effect() {
    let env = TestEnv::start("bulk-after-sagas").await;
    let date = "2026-12-03";
    let e = expected(30, date);
    let per_customer =
        env.with_worker(env.punctual(&["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"])).await;
    assert!(per_customer.success, "{}", per_customer.stderr);
    assert_exactly_once(&env, &e).await;
    let requests_before = env.world.provider_requests().await.len();

    // The same customers as a bulk page under another workflow id: every key the sagas made
    // must replay — same keys, same requests — and nothing reach the provider again.
    let customers: Vec<String> =
        (1..=30u32).map(punctual_activities::seed::demo_customer).filter(|c| c.timezone == TZ).map(|c| c.id).collect();
    let input = json!({"business_date": date, "timezone": TZ, "customer_ids": customers}).to_string();
    let id = format!("{}-bulk-again", env.task_queue);
    let result = env
        .with_worker(async {
            env.start_workflow("BillingBulkBatchWorkflow", &id, &input).await;
            env.cli_json(&["workflow", "result", "--workflow-id", &id]).await
        })
        .await;
    assert_eq!(result["status"], "COMPLETED", "{result:#}");
    let totals = &result["result"];
    let refused = e.declined.len() + e.closed.len();
    assert_eq!(totals["completed"], e.invoices.len() - refused, "{result:#}");
    assert_eq!(totals["compensated"], refused, "{result:#}");
    assert_eq!(totals["failed"], 0, "{result:#}");
    assert_exactly_once(&env, &e).await;
    assert_eq!(env.world.provider_requests().await.len(), requests_before, "the provider was asked again");
}

#[tokio::test]
async fn on_postgresql_a_bulk_page_racing_per_customer_sagas_makes_each_effect_once() {
    let url = punctual_tests::fresh_database("bulk_pg").await;
    let env = TestEnv::start_with("bulk-pg", url, 30).await;
    let date = "2026-12-04";
    let e = expected(30, date);
    let customers: Vec<String> =
        e.invoices.iter().map(|i| i.split('-').nth(1).expect("INV-{customer}-{date}").to_owned()).collect();
    let bulk_input = json!({"business_date": date, "timezone": TZ, "customer_ids": customers}).to_string();
    let run_input = json!({"business_date": date, "timezone": TZ}).to_string();
    let (bulk_id, run_id) = (format!("{}-bulk", env.task_queue), keys::billing_run(TZ, date));
    // Both started before any worker polls, so their effects race on the same keys: the
    // batches' single-key transactions against the page's one transaction per step.
    for (kind, id, input) in [("BillingBulkBatchWorkflow", &bulk_id, &bulk_input), ("BillingRunWorkflow", &run_id, &run_input)] {
        env.start_workflow(kind, id, input).await;
    }
    let (bulk, run) = env
        .with_worker(async {
            let bulk = env.cli_json(&["workflow", "result", "--workflow-id", &bulk_id]).await;
            let run = env.cli_json(&["workflow", "result", "--workflow-id", &run_id]).await;
            (bulk, run)
        })
        .await;
    assert_eq!(bulk["status"], "COMPLETED", "{bulk:#}");
    assert_eq!(run["status"], "COMPLETED", "{run:#}");
    assert_eq!(bulk["result"]["failed"], 0, "{bulk:#}");
    assert_eq!(run["result"]["totals"]["failed"], 0, "{run:#}");
    assert_exactly_once(&env, &e).await;
}

/// A provider under a burst answers 429 to a bulk step's calls: "not now", so the step is retried
/// under the same keys, and no bill is voided or sent to a saga as if it had been refused.
#[tokio::test]
async fn a_rate_limited_provider_holds_up_a_bulk_step_and_voids_nothing() {
    let env = TestEnv::start("bulk-rate-limited").await;
    let date = "2026-12-11";
    env.world.provider_faults(json!({"rate_limit_next": 6})).await;
    let e = expected(30, date);
    bulk_run(&env, date, &e, 0, 0).await;
    assert_exactly_once(&env, &e).await;
    let limited = env.world.provider_requests().await.into_iter().filter(|r| r["outcome"] == "rate_limited").count();
    assert_eq!(limited, 6, "the fault fired");
    assert_eq!(
        listed(&env, &format!("WorkflowType='PaymentSagaWorkflow' AND BusinessDate='{date}'"), 0).await,
        Vec::<String>::new()
    );
}

/// Bulk steps retried after lost answers, at a provider that forgot their keys: each item claimed
/// again asks the provider for its invoice's charge (or refund) before making one.
#[tokio::test]
async fn a_bulk_step_retried_after_the_provider_forgot_its_keys_charges_each_invoice_once() {
    let env = TestEnv::start("bulk-forgotten-keys").await;
    let date = "2026-12-13";
    env.world.provider_faults(json!({"forget_keys": true, "drop_next": 5})).await;
    let e = expected(30, date);
    bulk_run(&env, date, &e, 0, 0).await;
    assert_exactly_once(&env, &e).await;
    let dropped =
        env.world.provider_requests().await.into_iter().filter(|r| r["outcome"] == "committed_response_dropped").count();
    assert_eq!(dropped, 5, "the fault fired");
}

/// A bill voided by a saga whose charge key was left open (a refusal that is not recorded, a crash
/// between the call and its record) is never charged by a bulk step either. A page of the date
/// billed in bulk alongside (a duplicate started by hand in the other mode, which runs its steps
/// while the saga voids) would otherwise charge it, then refund it.
#[tokio::test]
async fn a_bulk_step_does_not_charge_a_bill_a_saga_voided() {
    let env = TestEnv::start("bulk-voided").await;
    let date = "2026-12-12";
    let invoice = punctual_tests::billing::break_payment_method(&env, "C00002", date).await;
    let run = keys::billing_run(TZ, date);
    let page = format!("{}-page", env.task_queue);
    let page_input = json!({"business_date": date, "timezone": TZ, "customer_ids": ["C00002"]}).to_string();
    env.with_worker(async {
        env.start_workflow("BillingRunWorkflow", &run, &json!({"business_date": date, "timezone": TZ}).to_string()).await;
        let done = env.cli_json(&["workflow", "result", "--workflow-id", &run]).await;
        assert_eq!(done["result"]["totals"]["failed"], 1, "{done:#}");
        // The key open, as if the refusal had not been recorded: nothing but the void check
        // stands between the page and the provider.
        sqlx::query("UPDATE ledger_entries SET status = 'claimed', result = NULL, completed_at = NULL WHERE key = $1")
            .bind(keys::charge(&invoice))
            .execute(env.world.ledger.pool())
            .await
            .expect("reopen the charge key");
        env.start_workflow("BillingBulkBatchWorkflow", &page, &page_input).await;
        env.cli_json(&["workflow", "result", "--workflow-id", &page]).await
    })
    .await;
    assert!(!env.world.charges().await.iter().any(|c| c["invoice_id"] == invoice.as_str()), "{invoice} charged after its void");
    assert_eq!(
        punctual_tests::billing::charge_requests_for(&env, &invoice).await,
        1,
        "the provider was asked again for {invoice}"
    );
}

#[tokio::test]
async fn a_refusal_that_is_not_a_business_one_goes_to_a_saga_and_the_failed_run_archive() {
    let env = TestEnv::start("bulk-fallback").await;
    let date = "2026-12-05";
    // The provider rejects an unknown payment method (400): permanent, but not a decline.
    let invoice = punctual_tests::billing::break_payment_method(&env, "C00002", date).await;
    let saga = keys::payment_saga(&invoice);
    let e = expected(30, date);
    bulk_run(&env, date, &e, 1, 0).await;

    // Only that invoice went to a saga, which tried the charge again, voided, and failed.
    let sagas = listed(&env, &format!("WorkflowType='PaymentSagaWorkflow' AND BusinessDate='{date}'"), 1).await;
    assert_eq!(sagas, std::slice::from_ref(&saga));
    let described = env.cli_json(&["workflow", "describe", "--workflow-id", &saga]).await;
    assert_eq!(described["workflowExecutionInfo"]["status"], "WORKFLOW_EXECUTION_STATUS_FAILED", "{described:#}");
    assert_eq!(scheduled(&env, &saga).await, ["ChargeInvoice", "VoidInvoice"]);
    let void = env.world.void_reasons().await.into_iter().find(|(id, _)| *id == invoice);
    assert!(
        void.is_some_and(|(_, reason)| reason.unwrap_or_default().contains("No such PaymentMethod")),
        "{invoice} voided with the provider's reason"
    );
    assert!(!env.world.charges().await.iter().any(|c| c["invoice_id"] == invoice.as_str()), "{invoice} charged");
    // The refusal is the charge key's recorded outcome, not a claim left open for the
    // reconciliation to chase: the saga replayed it without asking the provider again.
    let charge_key = keys::charge(&invoice);
    let entry = env.world.ledger.entry(&charge_key).await.expect("read").expect("the charge key was claimed");
    assert_eq!(entry.status, punctual_activities::ledger::EntryStatus::Done, "{entry:?}");
    let asked = punctual_tests::billing::charge_requests_for(&env, &invoice).await;
    assert_eq!(asked, 1, "the provider was asked again for {invoice}");

    // And it is in the failed-run archive, for a person.
    let failures = env.punctual(&["failures", "list"]).await;
    assert!(failures.success, "{}", failures.stderr);
    assert!(failures.stdout.lines().any(|l| l.starts_with(&saga) && l.contains("failed")), "{}", failures.stdout);
}

#[tokio::test]
async fn a_row_left_behind_holds_up_only_its_own_customer_in_a_bulk_step() {
    let env = TestEnv::start("bulk-bad-row").await;
    let date = "2026-12-06";
    let e = expected(30, date);
    // An invoice row for a paying customer, there before the run and without its ledger row (a
    // hand-made fix, a restore): the bill's insert violates the primary key on every attempt.
    let invoice = e.charged.iter().find(|i| !e.closed.contains(i)).expect("a paying customer").clone();
    let customer = invoice.split('-').nth(1).expect("INV-{customer}-{date}").to_owned();
    sqlx::query("INSERT INTO invoices (id, customer_id, business_date, amount_cents, status, created_at) VALUES ($1, $2, $3, 1, 'open', '2026-12-01T00:00:00Z')")
        .bind(&invoice)
        .bind(&customer)
        .bind(date)
        .execute(env.world.ledger.pool())
        .await
        .expect("leave a row behind");
    bulk_run(&env, date, &e, 1, 0).await;

    // Everyone else once; that customer's row untouched, never charged, and its key still free.
    assert_exactly_once(&env, &e.clone().untouched(&invoice)).await;
    let amount: i64 = sqlx::query_scalar("SELECT amount_cents FROM invoices WHERE id = $1")
        .bind(&invoice)
        .fetch_one(env.world.ledger.pool())
        .await
        .expect("read the row left behind");
    assert_eq!(amount, 1, "the row left behind was overwritten");
    let bill_key = keys::bill(&customer, date);
    assert_eq!(env.world.ledger.entry(&bill_key).await.expect("read"), None, "{bill_key} recorded as made");

    // The page's GenerateBills step ran once: the refusal did not make it retry.
    let pages = listed(&env, &format!("WorkflowType='BillingBulkBatchWorkflow' AND BusinessDate='{date}'"), 1).await;
    let history = env.cli_json(&["workflow", "show", "--workflow-id", &pages[0]]).await;
    let attempts: Vec<i64> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["activityTaskStartedEventAttributes"]["attempt"].as_i64())
        .collect();
    assert!(attempts.iter().all(|a| *a == 1), "a step was retried: attempts {attempts:?}");

    // A person removes the row; running the date again bills that customer too (the completed
    // page runs again), and everyone else's effects replay.
    sqlx::query("DELETE FROM invoices WHERE id = $1").bind(&invoice).execute(env.world.ledger.pool()).await.expect("remove");
    let again = env.with_worker(bulk_run_by_hand(&env, date)).await;
    assert_eq!(again.totals.failed, 0, "{again:?}");
    assert_exactly_once(&env, &e).await;
}

/// `BillingRunWorkflow` over `date` in bulk, started by the test's client under the date's key
/// (a completed key runs again); returns its summary.
async fn bulk_run_by_hand(env: &TestEnv, date: &str) -> BillingRunSummary {
    let input = JsonInput::from(json!({"business_date": date, "timezone": TZ, "mode": "bulk"}));
    let options = WorkflowStartOptions::new(&env.task_queue, keys::billing_run(TZ, date)).build();
    let run = env.client.start_workflow(BillingRunWorkflow::run, input, options).await.expect("start");
    run.get_result(WorkflowGetResultOptions::default()).await.expect("billing run result")
}

/// A wrong provider URL fails every charge of a bulk page (each saga it falls back to stops with
/// nothing undone), and the page completes with every customer failed. Before, running the date
/// again once the URL was fixed counted that completed page `already_done`: nobody was ever
/// charged, and the run said all was done. Now the page runs again and finishes every bill once.
#[tokio::test]
async fn a_bulk_page_failed_over_a_wrong_provider_url_is_finished_by_a_rerun_of_its_date() {
    let env = TestEnv::start("bulk-wrong-url").await;
    let date = "2026-12-14";
    let e = expected(30, date);
    // An earlier run of the date that failed outright (archived under the run's own key).
    let run_key = keys::billing_run(TZ, date);
    sqlx::query(
        "INSERT INTO failed_runs (business_key, job, workflow_type, workflow_id, run_id, error, attempts, status, \
           first_failed_at, last_failed_at) \
         VALUES ($1, 'billing-run', 'BillingRunWorkflow', $1, 'earlier', 'worker lost', 1, 'failed', \
           '2026-12-14T00:00:00.000Z', '2026-12-14T00:00:00.000Z')",
    )
    .bind(&run_key)
    .execute(env.world.ledger.pool())
    .await
    .expect("archive an earlier failure");
    let archived = async || -> String {
        sqlx::query_scalar("SELECT status FROM failed_runs WHERE business_key = $1")
            .bind(&run_key)
            .fetch_one(env.world.ledger.pool())
            .await
            .expect("the run's archive row")
    };

    let typo = env.world.billing_activities_at(&format!("{}/v0", env.world.provider_url), &env.world.notify_url);
    let first = env.with_worker_using(typo, bulk_run_by_hand(&env, date)).await;
    assert_eq!(first.totals.failed as usize, e.invoices.len(), "every customer fails: {first:?}");
    assert!(env.world.charges().await.is_empty(), "charged through a wrong URL");
    let open = env.world.invoices().await;
    assert!(open.iter().all(|(_, status)| status == "open"), "a bill voided over a wrong provider URL: {open:?}");
    assert_eq!(archived().await, "failed", "a run with every customer failed resolved the date's archived failure");

    let again = env.with_worker(bulk_run_by_hand(&env, date)).await;
    assert_eq!(again.totals.failed, 0, "{again:?}");
    assert_eq!(again.totals.already_done, 0, "the completed page was skipped: {again:?}");
    assert_exactly_once(&env, &e).await;
    assert_eq!(archived().await, "resolved", "the clean run resolves the date's archived failure");
}

/// A customer row SQLite let through with `plan_cents` = 19.99 is that customer's refusal, named,
/// not a database hiccup: before, the page's `GenerateBills` was retried for ever and no one on
/// the page, or on any later page, was billed. Once the row is fixed, a re-run bills it.
#[tokio::test]
async fn an_unreadable_customer_row_is_refused_alone_and_billed_once_fixed() {
    let env = TestEnv::start("bulk-unreadable").await;
    let date = "2026-12-15";
    let e = expected(30, date);
    let invoice = e.charged.iter().find(|i| !e.closed.contains(i)).expect("a paying customer").clone();
    let customer = invoice.split('-').nth(1).expect("INV-{customer}-{date}").to_owned();
    sqlx::query("UPDATE customers SET plan_cents = 19.99 WHERE id = $1")
        .bind(&customer)
        .execute(env.world.ledger.pool())
        .await
        .expect("break the row");
    // Bounded only so that the old behaviour (retried for ever) fails instead of hanging.
    let bounded = Duration::from_secs(300);
    let first = tokio::time::timeout(bounded, env.with_worker(bulk_run_by_hand(&env, date)))
        .await
        .expect("the bulk run never finished: a step retried for ever");
    assert_eq!(first.totals.failed, 1, "{first:?}");
    assert!(!env.world.invoices().await.iter().any(|(id, _)| *id == invoice), "{invoice} billed from an unreadable row");
    let pages = listed(&env, &format!("WorkflowType='BillingBulkBatchWorkflow' AND BusinessDate='{date}'"), 1).await;
    let history = env.cli_json(&["workflow", "show", "--workflow-id", &pages[0]]).await;
    // The first completed activity is GenerateBills; its result lists the refusal.
    let bills = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|ev| ev["activityTaskCompletedEventAttributes"]["result"]["payloads"][0]["data"].as_str())
        .expect("GenerateBills completed");
    use base64::Engine as _;
    let bills = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(bills).expect("base64")).expect("utf-8");
    assert!(bills.contains("CustomerUnreadable") && bills.contains("plan_cents"), "the refusal names the column: {bills}");

    sqlx::query("UPDATE customers SET plan_cents = 1999 WHERE id = $1")
        .bind(&customer)
        .execute(env.world.ledger.pool())
        .await
        .expect("fix the row");
    let again = env.with_worker(bulk_run_by_hand(&env, date)).await;
    assert_eq!(again.totals.failed, 0, "{again:?}");
    assert_exactly_once(&env, &e).await;

    // Broken again after it was billed: a re-run of the date replays that customer's bill.
    sqlx::query("UPDATE customers SET plan_cents = 19.99 WHERE id = $1")
        .bind(&customer)
        .execute(env.world.ledger.pool())
        .await
        .expect("break the row again");
    let third = env.with_worker(bulk_run_by_hand(&env, date)).await;
    assert_eq!(third.totals.failed, 0, "a billed customer refused over its row: {third:?}");
    assert_exactly_once(&env, &e).await;
}

#[tokio::test]
async fn a_refused_compensation_goes_to_a_saga_and_the_failed_run_archive() {
    let env = TestEnv::start("bulk-refund-refused").await;
    let date = "2026-12-07";
    let e = expected(30, date);
    // A closed account is charged, refused at RecordPayments, then refunded in bulk. Its refund
    // key was already used with another request (a forged retry, a bug): the ledger refuses it.
    let invoice = e.closed.first().expect("demo data has a closed account").clone();
    let refund_key = keys::refund(&invoice);
    let forger = punctual_activities::ledger::Caller {
        workflow_id: "someone-else".into(),
        run_id: "r".into(),
        activity_type: "RefundCharge".into(),
        attempt: 1,
    };
    let forged = json!({"invoice_id": invoice, "charge_id": "ch_forged"});
    env.world.ledger.claim_external::<String>(&refund_key, &forged, &forger).await.expect("claim the refund key first");

    bulk_run(&env, date, &e, 1, 1).await;

    // That invoice alone went to a saga, which replayed the charge, met the closed account and
    // the same refusal of its refund, and failed: compensation failed, a person must act.
    let saga = keys::payment_saga(&invoice);
    let sagas = listed(&env, &format!("WorkflowType='PaymentSagaWorkflow' AND BusinessDate='{date}'"), 1).await;
    assert_eq!(sagas, std::slice::from_ref(&saga));
    let described = env.cli_json(&["workflow", "describe", "--workflow-id", &saga]).await;
    assert_eq!(described["workflowExecutionInfo"]["status"], "WORKFLOW_EXECUTION_STATUS_FAILED", "{described:#}");
    assert_eq!(scheduled(&env, &saga).await, ["ChargeInvoice", "RecordPayment", "RefundCharge"]);

    // Charged once, never refunded, not voided; every other closed account refunded once.
    let charges = env.world.charges().await;
    let charge = charges.iter().find(|c| c["invoice_id"] == invoice.as_str()).expect("charged");
    assert_eq!(charges.iter().filter(|c| c["invoice_id"] == invoice.as_str()).count(), 1, "{invoice} charged twice");
    let refunds = env.world.refunds().await;
    assert!(!refunds.iter().any(|r| r["charge_id"] == charge["id"]), "{invoice} refunded: {refunds:#?}");
    assert_eq!(refunds.len(), e.closed.len() - 1, "{refunds:#?}");
    let status = env.world.invoices().await.into_iter().find(|(id, _)| *id == invoice).map(|(_, s)| s);
    assert_eq!(status.as_deref(), Some("open"), "{invoice} must stay as it is for a person to settle");

    let failures = env.punctual(&["failures", "list"]).await;
    assert!(failures.success, "{}", failures.stderr);
    assert!(failures.stdout.lines().any(|l| l.starts_with(&saga) && l.contains("failed")), "{}", failures.stdout);
}

/// Starts `FireBillingWorkflow` for `period` in `mode` under `id` and returns its result.
async fn fire(env: &TestEnv, id: &str, date: &str, period: &str, mode: &str) -> Value {
    let input = json!({"business_date": date, "timezone": TZ, "period": period, "mode": mode}).to_string();
    env.with_worker(async {
        env.start_workflow("FireBillingWorkflow", id, &input).await;
        env.cli_json(&["workflow", "result", "--workflow-id", id]).await
    })
    .await
}

#[tokio::test]
async fn one_fire_billed_in_bulk_and_again_per_customer_makes_each_effect_once() {
    let env = TestEnv::start("bulk-fire-modes").await;
    let date = "2026-12-08";
    let period = "2026-12-08T10:00:05";
    let e = expected(30, period);
    let refused = e.declined.len() + e.closed.len();

    let bulk = fire(&env, &format!("{}-bulk", env.task_queue), date, period, "bulk").await;
    assert_eq!(bulk["status"], "COMPLETED", "{bulk:#}");
    assert_eq!(bulk["result"]["totals"]["failed"], 0, "{bulk:#}");
    assert_eq!(bulk["result"]["totals"]["compensated"], refused, "{bulk:#}");
    assert_exactly_once(&env, &e).await;
    let requests_before = env.world.provider_requests().await.len();

    // The same period per customer (a duplicate trigger after the job switched mode): every
    // saga replays the bulk steps' keys with the very same requests. Before the bulk fire
    // charged with the period as the bill's date, each saga met an idempotency conflict on
    // its charge and voided an invoice that was paid.
    let again = fire(&env, &format!("{}-per-customer", env.task_queue), date, period, "per_customer").await;
    assert_eq!(again["status"], "COMPLETED", "{again:#}");
    assert_eq!(again["result"]["totals"]["failed"], 0, "{again:#}");
    assert_eq!(again["result"]["totals"]["completed"], e.invoices.len() - refused, "{again:#}");
    assert_exactly_once(&env, &e).await;
    assert_eq!(env.world.provider_requests().await.len(), requests_before, "the provider was asked again");
}

#[tokio::test]
async fn a_saga_whose_charge_key_holds_other_data_stops_without_voiding_the_invoice() {
    let env = TestEnv::start("saga-conflict").await;
    let date = "2026-12-09";
    let e = expected(30, date);
    // A paying customer's charge key already holds a charge made for other data (another run of
    // the invoice with another amount, a restore): the saga cannot know whether money moved.
    let invoice = e.charged.iter().find(|i| !e.closed.contains(i)).expect("a paying customer").clone();
    let caller = punctual_activities::ledger::Caller {
        workflow_id: "someone-else".into(),
        run_id: "r".into(),
        activity_type: "ChargeInvoice".into(),
        attempt: 1,
    };
    let other = json!({"invoice_id": invoice, "amount_cents": 1});
    env.world
        .ledger
        .claim_external::<String>(&keys::charge(&invoice), &other, &caller)
        .await
        .expect("claim the charge key first");

    let run = env.with_worker(env.punctual(&["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"])).await;
    // One customer failed: the command says so in its exit code, after its summary.
    assert!(!run.success && run.stderr.contains("1 of "), "{}\n{}", run.stdout, run.stderr);

    // That saga stopped at the charge: no compensation, the invoice left open for a person.
    let saga = keys::payment_saga(&invoice);
    let described = env.cli_json(&["workflow", "describe", "--workflow-id", &saga]).await;
    assert_eq!(described["workflowExecutionInfo"]["status"], "WORKFLOW_EXECUTION_STATUS_FAILED", "{described:#}");
    assert_eq!(scheduled(&env, &saga).await, ["ChargeInvoice"], "{saga} compensated");
    let untouched = e.untouched(&invoice);
    assert_exactly_once(&env, &untouched).await;
    assert!(env.world.void_reasons().await.iter().all(|(id, _)| *id != invoice), "{invoice} voided");

    let failures = env.punctual(&["failures", "list"]).await;
    assert!(failures.success, "{}", failures.stderr);
    assert!(failures.stdout.lines().any(|l| l.starts_with(&saga) && l.contains("failed")), "{}", failures.stdout);

    // A person settles it at the provider and closes the row with a note. That makes and undoes
    // nothing, and a retry afterwards starts nothing.
    let blank = env.punctual(&["failures", "resolve", &saga, "--note", "  "]).await;
    assert!(!blank.success && blank.stderr.contains("--note"), "{}", blank.stderr);
    let note = "the charge under the key is this invoice's at its old amount; refunded by hand, OPS-1";
    let resolved = env.punctual(&["failures", "resolve", &saga, "--note", note]).await;
    assert!(resolved.success, "{}", resolved.stderr);
    assert!(resolved.stdout.contains(&format!("{saga} resolved by hand: {note}")), "{}", resolved.stdout);
    let open = env.punctual(&["failures", "list"]).await;
    assert!(!open.stdout.contains(&saga), "still listed as open:\n{}", open.stdout);
    let all = env.punctual(&["failures", "list", "--all"]).await;
    let line = all.stdout.lines().find(|l| l.starts_with(&saga)).unwrap_or_else(|| panic!("{saga} in:\n{}", all.stdout));
    assert!(line.contains("  resolved  ") && line.contains("[resolved by hand at ") && line.contains(note), "{line}");
    let retry = env.with_worker(env.punctual(&["failures", "retry", &saga, "--wait"])).await;
    assert!(retry.success && retry.stdout.contains("not started again"), "{}\n{}", retry.stdout, retry.stderr);
    assert_eq!(scheduled(&env, &saga).await, ["ChargeInvoice"], "{saga} ran again");
    assert_exactly_once(&env, &untouched).await;
}
