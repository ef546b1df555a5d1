//! Exactly-once business effects, end to end on a real dev server: effects are counted at the
//! provider, the sink and the business tables — where the outside world sees them.

use punctual_activities::seed::demo_customer;
use punctual_tests::billing::{TZ, assert_exactly_once, expected};
use punctual_tests::{TestEnv, eventually, fresh_sqlite_url};
use punctual_workflows::billing::types::BillingRunSummary;
use punctual_workflows::{BillingRunWorkflow, JsonInput, keys};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use temporalio_client::WorkflowIdConflictPolicy;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

fn run_input(date: &str) -> JsonInput {
    JsonInput::from(json!({"business_date": date, "timezone": TZ}))
}

/// Starts the billing run of `date` under its business key and waits for its summary.
async fn run_to_completion(env: &TestEnv, date: &str) -> BillingRunSummary {
    let options = WorkflowStartOptions::new(&env.task_queue, keys::billing_run(TZ, date)).build();
    let run = env.client.start_workflow(BillingRunWorkflow::run, run_input(date), options).await.expect("start");
    run.get_result(WorkflowGetResultOptions::default()).await.expect("billing run result")
}

#[tokio::test]
async fn a_billing_run_started_three_times_has_each_effect_once() {
    let env = TestEnv::start("billing-twice").await;
    let date = "2026-11-24";
    let id = keys::billing_run(TZ, date);
    env.with_worker(async {
        // Our own starter (use-existing on conflict) and someone else's, under another ID,
        // both while the first run is running.
        let ours = env
            .client
            .start_workflow(
                BillingRunWorkflow::run,
                run_input(date),
                WorkflowStartOptions::new(&env.task_queue, &id).id_conflict_policy(WorkflowIdConflictPolicy::UseExisting).build(),
            )
            .await
            .expect("start");
        let again = env
            .client
            .start_workflow(
                BillingRunWorkflow::run,
                run_input(date),
                WorkflowStartOptions::new(&env.task_queue, &id).id_conflict_policy(WorkflowIdConflictPolicy::UseExisting).build(),
            )
            .await
            .expect("start again");
        assert_eq!(again.info().run_id, ours.info().run_id, "use-existing joins the running run");
        let theirs = env
            .client
            .start_workflow(
                BillingRunWorkflow::run,
                run_input(date),
                WorkflowStartOptions::new(&env.task_queue, format!("{id}/by-hand")).build(),
            )
            .await
            .expect("start duplicate");
        let first: BillingRunSummary = ours.get_result(WorkflowGetResultOptions::default()).await.expect("first");
        let second: BillingRunSummary = theirs.get_result(WorkflowGetResultOptions::default()).await.expect("second");
        let e = expected(30, date);
        assert_eq!(first.totals.customers as usize, e.invoices.len());
        assert_eq!(second.totals.customers as usize, e.invoices.len());

        // And once more after completion, by hand through the temporal CLI (which allows
        // reusing a closed workflow ID).
        let input = json!({"business_date": date, "timezone": TZ}).to_string();
        env.start_workflow("BillingRunWorkflow", &id, &input).await;
        let third = env.cli_json(&["workflow", "result", "--workflow-id", &id]).await;
        assert_eq!(third["status"], "COMPLETED", "{third:#}");
        assert_eq!(third["result"]["totals"]["already_done"], e.invoices.len(), "{third:#}");

        assert_exactly_once(&env, &e).await;
        // Replays never reach the provider: one charge request per charged invoice.
        let charge_posts = env.world.provider_requests().await.into_iter().filter(|r| r["endpoint"] == "POST /charges").count();
        assert_eq!(charge_posts, e.charged.len() + e.declined.len());
    })
    .await;
}

#[tokio::test]
async fn a_charge_committed_with_its_response_lost_is_charged_once() {
    let env = TestEnv::start("dropped-response").await;
    let date = "2026-11-25";
    // The provider commits the next 5 requests but the worker never hears back.
    env.world.provider_faults(json!({"drop_next": 5})).await;
    env.with_worker(run_to_completion(&env, date)).await;
    let e = expected(30, date);
    assert_exactly_once(&env, &e).await;
    let requests = env.world.provider_requests().await;
    let dropped: Vec<&Value> = requests.iter().filter(|r| r["outcome"] == "committed_response_dropped").collect();
    assert_eq!(dropped.len(), 5, "the fault fired");
    // Each retry found its charge at the provider (`GET /charges?invoice_id=`) and asked for no
    // other: one charge request per invoice whose answer was lost.
    for lost in dropped {
        let invoice = lost["invoice_id"].as_str().expect("a charge's invoice");
        assert_eq!(punctual_tests::billing::charge_requests_for(&env, invoice).await, 1, "{invoice}");
    }
}

/// The provider forgets idempotency keys (Stripe after 24 hours; `forget_keys` here forgets them
/// at once). A charge or refund whose answer was lost, retried after that, used to be made a
/// second time under the same key. The retry now asks the provider for the invoice's charges
/// first and records what it finds: still one charge per invoice, one refund per closed account.
#[tokio::test]
async fn a_charge_retried_after_the_provider_forgot_its_key_is_found_not_made_again() {
    let env = TestEnv::start("forgotten-keys").await;
    let date = "2026-12-26";
    env.world.provider_faults(json!({"forget_keys": true, "drop_next": 5})).await;
    env.with_worker(run_to_completion(&env, date)).await;
    assert_exactly_once(&env, &expected(30, date)).await;
    let requests = env.world.provider_requests().await;
    let dropped = requests.iter().filter(|r| r["outcome"] == "committed_response_dropped").count();
    assert_eq!(dropped, 5, "the fault fired");
}

/// A provider under a burst answers 429, which means "not now": asked again under the same keys,
/// every invoice is charged once, and none is voided as if the provider had refused it.
#[tokio::test]
async fn a_rate_limited_provider_is_asked_again_and_no_bill_is_voided() {
    let env = TestEnv::start("rate-limited").await;
    let date = "2026-12-21";
    env.world.provider_faults(json!({"rate_limit_next": 8})).await;
    let summary = env.with_worker(run_to_completion(&env, date)).await;
    let e = expected(30, date);
    assert_eq!(summary.totals.failed, 0, "{summary:?}");
    assert_eq!(summary.totals.compensated as usize, e.declined.len() + e.closed.len(), "{summary:?}");
    assert_exactly_once(&env, &e).await;
    let limited = env.world.provider_requests().await.into_iter().filter(|r| r["outcome"] == "rate_limited").count();
    assert_eq!(limited, 8, "the fault fired");
}

/// A charge the provider refused as such (400: an unknown payment method) is recorded, not left
/// claimed: the saga voids the bill and fails for a person. Running the date again restarts
/// that saga, which meets the voided bill and settles as compensated, without asking the
/// provider again or failing a second time.
#[tokio::test]
async fn a_refused_charge_is_recorded_once_and_a_rerun_settles_its_voided_bill() {
    let env = TestEnv::start("refused-charge").await;
    let date = "2026-12-22";
    let invoice = punctual_tests::billing::break_payment_method(&env, "C00002", date).await;
    let (first, again) =
        env.with_worker(async { (run_to_completion(&env, date).await, run_to_completion(&env, date).await) }).await;
    assert_eq!(first.totals.failed, 1, "{first:?}");
    let entry = env.world.ledger.entry(&keys::charge(&invoice)).await.expect("read").expect("claimed");
    assert_eq!(entry.status, punctual_activities::ledger::EntryStatus::Done, "{entry:?}");
    assert_eq!(again.totals.failed, 0, "the re-run failed the voided bill's saga again: {again:?}");
    assert_eq!(
        punctual_tests::billing::charge_requests_for(&env, &invoice).await,
        1,
        "the provider was asked again for {invoice}"
    );
    let saga = env.cli_json(&["workflow", "describe", "--workflow-id", &keys::payment_saga(&invoice)]).await;
    assert_eq!(saga["workflowExecutionInfo"]["status"], "WORKFLOW_EXECUTION_STATUS_COMPLETED", "{saga:#}");
}

/// A typo in the provider's or the sink's URL is not the provider refusing a bill. Before, each
/// charge's 404 voided its bill and each receipt's 404 refunded a paid one: a whole day's
/// revenue undone over a configuration mistake. Now each saga stops with nothing undone, for a
/// person; once the URLs are right, running the dates again finishes every bill, each effect once.
#[tokio::test]
async fn a_mistyped_provider_or_sink_url_undoes_nothing_and_a_rerun_finishes_the_dates() {
    let env = TestEnv::start("wrong-urls").await;
    let (no_provider, no_sink) = ("2026-12-23", "2026-12-24");
    let (provider, sink) = (env.world.provider_url.clone(), env.world.notify_url.clone());
    let (e_provider, e_sink) = (expected(30, no_provider), expected(30, no_sink));

    let typo = env.world.billing_activities_at(&format!("{provider}/v0"), &sink);
    let first = env.with_worker_using(typo, run_to_completion(&env, no_provider)).await;
    assert_eq!(first.totals.failed as usize, e_provider.invoices.len(), "every saga stops: {first:?}");
    assert_eq!(first.totals.compensated, 0, "{first:?}");
    let open = env.world.invoices().await;
    assert!(open.iter().all(|(_, status)| status == "open"), "a bill voided over a wrong provider URL: {open:?}");

    let typo = env.world.billing_activities_at(&provider, &format!("{sink}/v0"));
    let second = env.with_worker_using(typo, run_to_completion(&env, no_sink)).await;
    let paid = e_sink.charged.len() - e_sink.closed.len();
    assert_eq!(second.totals.failed as usize, paid, "each paid bill's saga stops at its receipt: {second:?}");
    let refunds = env.world.refunds().await;
    assert_eq!(refunds.len(), e_sink.closed.len(), "only closed accounts are refunded: {refunds:#?}");
    let invoices = env.world.invoices().await;
    let paid_now = invoices.iter().filter(|(id, status)| id.ends_with("20261224") && status == "paid").count();
    assert_eq!(paid_now, paid, "{invoices:?}");

    let again =
        env.with_worker(async { (run_to_completion(&env, no_provider).await, run_to_completion(&env, no_sink).await) }).await;
    assert_eq!((again.0.totals.failed, again.1.totals.failed), (0, 0), "{again:?}");
    let mut both = e_provider;
    for (list, more) in [
        (&mut both.invoices, e_sink.invoices),
        (&mut both.charged, e_sink.charged),
        (&mut both.declined, e_sink.declined),
        (&mut both.closed, e_sink.closed),
    ] {
        list.extend(more);
        list.sort();
    }
    assert_exactly_once(&env, &both).await;
}

#[tokio::test]
async fn declines_and_closed_accounts_compensate_in_reverse_once() {
    let env = TestEnv::start("compensation").await;
    let date = "2026-11-26";
    let e = expected(30, date);
    assert!(!e.declined.is_empty() && !e.closed.is_empty(), "demo data has both failure kinds");
    let summary = env.with_worker(run_to_completion(&env, date)).await;
    assert_eq!(summary.totals.compensated as usize, e.declined.len() + e.closed.len());
    assert_eq!(summary.totals.failed, 0);
    assert_exactly_once(&env, &e).await;

    // The order and count of activities each saga scheduled, from its history.
    let scheduled = async |invoice: &str| -> Vec<String> {
        let history = env.cli_json(&["workflow", "show", "--workflow-id", &keys::payment_saga(invoice)]).await;
        history["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|ev| ev["activityTaskScheduledEventAttributes"]["activityType"]["name"].as_str())
            .map(str::to_owned)
            .collect()
    };
    for inv in &e.closed {
        assert_eq!(scheduled(inv).await, ["ChargeInvoice", "RecordPayment", "RefundCharge", "VoidInvoice"], "{inv}");
    }
    for inv in &e.declined {
        assert_eq!(scheduled(inv).await, ["ChargeInvoice", "VoidInvoice"], "{inv}");
    }

    // Every effect is scheduled with the heartbeat timeout that bounds how long a dead worker
    // holds it (5 s, not the 30 s start-to-close), and it heartbeats, so none timed out here.
    for inv in e.closed.iter().chain(&e.declined) {
        let history = env.cli_json(&["workflow", "show", "--workflow-id", &keys::payment_saga(inv)]).await;
        let events = history["events"].as_array().expect("events");
        for attrs in events.iter().map(|ev| &ev["activityTaskScheduledEventAttributes"]).filter(|a| !a.is_null()) {
            assert_eq!(attrs["heartbeatTimeout"], "5s", "{inv}: {attrs}");
        }
        assert!(!events.iter().any(|ev| ev.get("activityTaskTimedOutEventAttributes").is_some()), "{inv}: an effect timed out");
    }

    // Visible to a person: the compensated runs of the date, by search attribute.
    let mut want: Vec<String> = e.declined.iter().chain(&e.closed).map(|i| keys::payment_saga(i)).collect();
    want.sort();
    let query = format!("BusinessDate='{date}' AND RunOutcome='compensated' AND TaskQueue='{}'", env.task_queue);
    let found = eventually("compensated runs in visibility", Duration::from_secs(30), async || {
        let out = env.cli(&["workflow", "list", "--query", &query, "-o", "json"]).await;
        let list: Vec<Value> = serde_json::from_str(&out.stdout).ok()?;
        let mut ids: Vec<String> = list.iter().filter_map(|w| w["execution"]["workflowId"].as_str().map(str::to_owned)).collect();
        ids.sort();
        (ids == want).then_some(ids)
    })
    .await;
    assert_eq!(found, want);

    // The void is final. The account reopens and someone runs the compensated saga again by
    // hand: its charge (refunded) replays, and the payment is refused, so the invoice stays void,
    // unpaid, with no receipt. Before, it was marked paid on the refunded charge and a receipt
    // went out with no money collected.
    let inv = &e.closed[0];
    let (customer, input) = saga_input(&env, inv, date).await;
    sqlx::query("UPDATE customers SET status = 'active' WHERE id = $1")
        .bind(&customer)
        .execute(env.world.ledger.pool())
        .await
        .expect("reopen the account");
    let (charges, refunds, delivered) =
        (env.world.charges().await.len(), env.world.refunds().await.len(), env.world.delivered().await.len());
    let again = saga_by_hand(&env, inv, &input).await;
    assert_eq!(again["result"]["outcome"], "compensated", "{again:#}");
    assert!(again["result"]["reason"].as_str().is_some_and(|r| r.contains("voided")), "{again:#}");
    let status = env.world.invoices().await.into_iter().find(|(id, _)| id == inv).map(|(_, status)| status);
    assert_eq!(status.as_deref(), Some("void"), "{inv} stays void");
    assert_eq!(env.world.payments_for(inv).await, 0, "no payment recorded for {inv}");
    assert_eq!(
        (env.world.charges().await.len(), env.world.refunds().await.len(), env.world.delivered().await.len()),
        (charges, refunds, delivered),
        "no new charge, refund or receipt"
    );

    // A voided bill whose charge key holds no outcome (the provider refused the request as such,
    // which leaves the key claimed) is not charged anew when its saga runs again (a re-run of
    // the date restarts failed sagas): the provider is not even asked. Before, it was asked
    // again, and had it accepted now, the payment would have been refused and the charge
    // refunded: money moved on a bill that no longer exists.
    let declined = &e.declined[0];
    let (_, input) = saga_input(&env, declined, date).await;
    let reclaimed =
        sqlx::query("UPDATE ledger_entries SET status = 'claimed', result = NULL, completed_at = NULL WHERE key = $1")
            .bind(keys::charge(declined))
            .execute(env.world.ledger.pool())
            .await
            .expect("leave the charge claimed");
    assert_eq!(reclaimed.rows_affected(), 1);
    let posts = |requests: Vec<Value>| {
        requests.iter().filter(|r| r["endpoint"] == "POST /charges" && r["invoice_id"] == declined.as_str()).count()
    };
    let asked = posts(env.world.provider_requests().await);
    let rerun = saga_by_hand(&env, declined, &input).await;
    assert_eq!(rerun["result"]["outcome"], "compensated", "{rerun:#}");
    assert!(rerun["result"]["reason"].as_str().is_some_and(|r| r.contains("voided")), "{rerun:#}");
    assert_eq!(posts(env.world.provider_requests().await), asked, "the provider was asked to charge {declined} again");
    assert_eq!(env.world.refunds().await.len(), refunds, "no refund");
}

/// The customer of invoice `inv` of `date`, and the `PaymentSagaWorkflow` input that pays it.
async fn saga_input(env: &TestEnv, inv: &str, date: &str) -> (String, Value) {
    let (customer, amount, method): (String, i64, String) = sqlx::query_as(
        "SELECT i.customer_id, i.amount_cents, c.payment_method FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE i.id = $1",
    )
    .bind(inv)
    .fetch_one(env.world.ledger.pool())
    .await
    .unwrap_or_else(|e| panic!("invoice {inv}: {e}"));
    let input = json!({"invoice_id": inv, "customer_id": customer, "business_date": date, "amount_cents": amount,
                       "payment_method": method});
    (customer, input)
}

/// Runs `inv`'s saga again by hand, as a person would, under its own key; returns its result.
async fn saga_by_hand(env: &TestEnv, inv: &str, input: &Value) -> Value {
    env.with_worker(async {
        env.start_workflow("PaymentSagaWorkflow", &keys::payment_saga(inv), &input.to_string()).await;
        env.cli_json(&["workflow", "result", "--workflow-id", &keys::payment_saga(inv)]).await
    })
    .await
}

#[tokio::test]
async fn bad_billing_input_fails_at_once_with_no_effect() {
    let env = TestEnv::start("billing-bad-input").await;
    let cases = [
        (r#"{"business_date":"2026-02-30","timezone":"Asia/Shanghai"}"#, "field `business_date`"),
        (r#"{"business_date":"2026-11-24","timezone":"Asia/Shangai"}"#, "field `timezone`"),
        (r#"{"business_date":"2026-11-24"}"#, "missing field `timezone`"),
        (r#"{"business_date":"2026-11-24","timezone":"Asia/Shanghai","mode":"fast"}"#, "field `mode`"),
        // A continuation's own state from a caller would skip customers and complete the date.
        (
            r#"{"business_date":"2026-11-24","timezone":"Asia/Shanghai","resume":{"after":"C99999","batches":0,"totals":{"customers":0,"completed":0,"compensated":0,"failed":0,"already_done":0}}}"#,
            "field `resume`",
        ),
    ];
    // A per-fire billing started by hand: `/repeat` on a time Shanghai shows once would bill the
    // 10:00 period a second time under new keys.
    let fire_cases = [(
        r#"{"business_date":"2026-11-24","timezone":"Asia/Shanghai","period":"2026-11-24T10:00/repeat"}"#,
        "/repeat only for a time Asia/Shanghai shows twice",
    )];
    let all = cases.iter().map(|c| ("BillingRunWorkflow", c)).chain(fire_cases.iter().map(|c| ("FireBillingWorkflow", c)));
    env.with_worker(async {
        for (i, (workflow, (input, expected))) in all.enumerate() {
            let id = format!("{}-{i}", env.task_queue);
            env.start_workflow(workflow, &id, input).await;
            let out = env.cli(&["workflow", "result", "--workflow-id", &id, "-o", "json"]).await;
            let result: Value = serde_json::from_str(&out.stdout).expect("JSON");
            assert_eq!(result["status"], "FAILED");
            let failure = &result["closeEvent"]["workflowExecutionFailedEventAttributes"]["failure"];
            assert!(failure["message"].as_str().unwrap_or_default().contains(expected), "{failure:#}");
            assert_eq!(failure["applicationFailureInfo"]["nonRetryable"], true);
        }
    })
    .await;
    assert!(env.world.provider_requests().await.is_empty());
    assert!(env.world.invoices().await.is_empty());
}

/// A saga started by hand for a bill punctual never issued (a typo, a made-up invoice, a paid
/// invoice misquoted) is refused by its charge before any effect: no charge, refund or void, no
/// ledger key, nothing archived for a person, and the real invoice untouched.
#[tokio::test]
async fn a_saga_for_a_bill_that_was_never_issued_is_refused_before_any_effect() {
    let env = TestEnv::start("saga-not-issued").await;
    let date = "2026-12-10";
    let e = expected(30, date);
    let paid = (1..=30)
        .map(demo_customer)
        .find(|c| {
            c.timezone == TZ
                && e.charged.contains(&keys::invoice_id(&c.id, date))
                && !e.closed.contains(&keys::invoice_id(&c.id, date))
        })
        .expect("a paying customer");
    let other = (1..=30).map(demo_customer).find(|c| c.timezone == TZ && c.id != paid.id).expect("another customer");
    let invoice = keys::invoice_id(&paid.id, date);
    let bill = |invoice: &str, customer: &str, date: &str, amount: i64| {
        json!({"invoice_id": invoice, "customer_id": customer, "business_date": date, "amount_cents": amount,
               "payment_method": paid.payment_method})
        .to_string()
    };
    let cases = [
        ("typo", bill("INV-TYPO-1", "NOBODY", date, 123_456), "field `invoice_id`"),
        ("made-up", bill("INV-GHOST", &paid.id, date, paid.plan_cents), "field `invoice_id`"),
        ("amount", bill(&invoice, &paid.id, date, 1), "field `amount_cents`"),
        ("customer", bill(&invoice, &other.id, date, paid.plan_cents), "field `customer_id`"),
        ("date", bill(&invoice, &paid.id, "2026-12-11", paid.plan_cents), "field `business_date`"),
    ];
    env.with_worker(async {
        let out = env.punctual(&["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"]).await;
        assert!(out.success, "{}", out.stderr);
        let before = env.world.provider_requests().await.len();
        for (name, input, field) in &cases {
            let id = format!("{}-{name}", env.task_queue);
            env.start_workflow("PaymentSagaWorkflow", &id, input).await;
            let out = env.cli(&["workflow", "result", "--workflow-id", &id, "-o", "json"]).await;
            let result: Value = serde_json::from_str(&out.stdout).expect("JSON");
            assert_eq!(result["status"], "FAILED", "{name}: {result:#}");
            let failure = &result["closeEvent"]["workflowExecutionFailedEventAttributes"]["failure"];
            let message = failure["message"].as_str().unwrap_or_default();
            assert!(message.contains(field) && message.contains("nothing charged"), "{name}: {failure:#}");
            assert_eq!(failure["applicationFailureInfo"]["type"], "InvalidInput", "{name}: {failure:#}");
            assert_eq!(failure["applicationFailureInfo"]["nonRetryable"], true, "{name}");
            let history = env.cli_json(&["workflow", "show", "--workflow-id", &id]).await;
            let steps: Vec<&str> = history["events"]
                .as_array()
                .expect("events")
                .iter()
                .filter_map(|ev| ev["activityTaskScheduledEventAttributes"]["activityType"]["name"].as_str())
                .collect();
            assert_eq!(steps, ["ChargeInvoice"], "{name}: nothing after the refused charge, no compensation");
        }
        assert_eq!(env.world.provider_requests().await.len(), before, "the provider was asked");
    })
    .await;
    let (refund, void) = (keys::refund(&invoice), keys::void(&invoice));
    for prefix in ["charge/INV-TYPO-1", "charge/INV-GHOST", "void/INV-TYPO-1", "void/INV-GHOST", &refund, &void] {
        let found = env.world.ledger.entries_with_prefix(prefix).await.expect("ledger");
        assert!(found.is_empty(), "{prefix}: {found:?}");
    }
    assert_exactly_once(&env, &e).await;
    let failures = env.punctual(&["failures", "list"]).await;
    assert!(failures.stdout.contains("no unresolved failed runs"), "a refused input archived:\n{}", failures.stdout);
}

#[tokio::test]
async fn a_worker_killed_mid_run_loses_and_doubles_nothing() {
    let env = TestEnv::start_with("sigkill", fresh_sqlite_url("sigkill"), 150).await;
    let date = "2026-11-27";
    // A slow provider keeps charges in flight when the kill lands.
    env.world.provider_faults(json!({"latency_ms": 100})).await;
    let mut first = env.spawn_worker();
    let id = keys::billing_run(TZ, date);
    let input = json!({"business_date": date, "timezone": TZ}).to_string();
    env.start_workflow("BillingRunWorkflow", &id, &input).await;
    eventually("some charges before the kill", Duration::from_secs(120), async || {
        (env.world.charges().await.len() >= 10).then_some(())
    })
    .await;
    first.kill().expect("SIGKILL the worker");
    first.wait().expect("reap the killed worker");
    let charged_at_kill = env.world.charges().await.len();

    let mut second = env.spawn_worker();
    let result = env.cli_json(&["workflow", "result", "--workflow-id", &id]).await;
    let kill = Command::new("kill").args(["-TERM", &second.id().to_string()]).status();
    assert!(kill.expect("kill").success());
    second.wait().expect("reap the second worker");

    let e = expected(150, date);
    assert!(charged_at_kill < e.charged.len(), "the kill landed mid-run ({charged_at_kill} charged)");
    assert_eq!(result["status"], "COMPLETED", "{result:#}");
    assert_eq!(result["result"]["totals"]["customers"], e.invoices.len());
    assert_exactly_once(&env, &e).await;
}

#[tokio::test]
async fn our_starter_never_starts_a_completed_business_key_again() {
    let env = TestEnv::start("starter").await;
    let date = "2026-11-28";
    env.with_worker(async {
        let first = env.punctual(&["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"]).await;
        assert!(first.success, "{}", first.stderr);
        assert!(first.stdout.contains(&format!("running {}", keys::billing_run(TZ, date))), "{}", first.stdout);

        let again = env.punctual(&["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"]).await;
        assert!(again.success, "{}", again.stderr);
        assert!(again.stdout.contains("already completed: not started again"), "{}", again.stdout);

        let bad = env.punctual(&["billing-run", "--allow-future", "--date", "2026-13-01", "--timezone", TZ]).await;
        assert!(!bad.success);
        assert!(bad.stderr.contains("--date must be"), "{}", bad.stderr);
    })
    .await;
    let query = format!("WorkflowType='BillingRunWorkflow' AND TaskQueue='{}'", env.task_queue);
    let runs = eventually("the run in visibility", Duration::from_secs(30), async || {
        let runs = env.cli_json(&["workflow", "list", "--query", &query]).await;
        runs.as_array().filter(|r| !r.is_empty()).map(Vec::len)
    })
    .await;
    assert_eq!(runs, 1, "exactly one run of the business key");
    assert_exactly_once(&env, &expected(30, date)).await;
}

/// `punctual billing-run --wait` over a date whose customers all failed (a wrong provider URL)
/// prints its summary and exits non-zero. Run again once the URL is fixed, it starts the date
/// again (before, it said "already completed" and the date was never billed), bills each customer
/// once and exits 0; a third start finds the key done. A date after today is refused unless
/// `--allow-future`, before anything is started.
#[tokio::test]
async fn our_starter_runs_a_date_with_failed_customers_again_and_refuses_a_future_date() {
    let env = TestEnv::start("starter-failed").await;
    let date = "2026-12-15";
    let args = ["billing-run", "--allow-future", "--date", date, "--timezone", TZ, "--wait"];
    let customers = expected(30, date).invoices.len();
    let typo = env.world.billing_activities_at(&format!("{}/v0", env.world.provider_url), &env.world.notify_url);
    let first = env.with_worker_using(typo, env.punctual(&args)).await;
    assert!(!first.success, "a run with every customer failed exited 0:\n{}", first.stdout);
    assert!(first.stderr.contains(&format!("{customers} of {customers} customer(s) failed")), "{}", first.stderr);
    assert!(env.world.charges().await.is_empty());

    let (again, third) = env.with_worker(async { (env.punctual(&args).await, env.punctual(&args).await) }).await;
    assert!(again.success, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains(&format!("completed with {customers} customer(s) failed: running it again")),
        "{}",
        again.stdout
    );
    assert_exactly_once(&env, &expected(30, date)).await;
    assert!(third.success && third.stdout.contains("already completed: not started again"), "{}", third.stdout);

    let future = env.punctual(&["billing-run", "--date", "2099-01-01", "--timezone", TZ]).await;
    assert!(!future.success, "{}", future.stdout);
    assert!(
        future.stderr.contains("--date 2099-01-01 is after today") && future.stderr.contains("--allow-future"),
        "{}",
        future.stderr
    );
    let described = env.cli(&["workflow", "describe", "--workflow-id", &keys::billing_run(TZ, "2099-01-01")]).await;
    assert!(!described.success, "a future date was started: {}", described.stdout);
}

#[tokio::test]
async fn on_postgresql_a_duplicated_billing_run_has_each_effect_once() {
    let url = punctual_tests::fresh_database("billing_pg").await;
    let env = TestEnv::start_with("billing-pg", url, 30).await;
    let date = "2026-11-29";
    env.with_worker(async {
        let by_hand = WorkflowStartOptions::new(&env.task_queue, format!("{}/by-hand", keys::billing_run(TZ, date))).build();
        let duplicate = env.client.start_workflow(BillingRunWorkflow::run, run_input(date), by_hand).await.expect("start");
        run_to_completion(&env, date).await;
        duplicate.get_result(WorkflowGetResultOptions::default()).await.expect("duplicate result");
    })
    .await;
    assert_exactly_once(&env, &expected(30, date)).await;
}

/// An activity re-run after its effect was recorded (the worker died before reporting it)
/// replays from the ledger: the provider and sink see one request, the database one row.
#[tokio::test]
async fn a_repeated_effect_activity_replays_from_the_ledger() {
    use punctual_activities::BillingActivities;
    use punctual_workflows::billing::types::{GenerateBillInput, ReceiptInput, RecordPaymentInput};
    use temporalio_sdk::testing::ActivityEnvironment;

    let env = TestEnv::start("activity-replay").await;
    let activities = ActivityEnvironment::builder().register_activities(env.world.billing_activities()).build();
    let input = GenerateBillInput { customer_id: "C00001".into(), business_date: "2026-11-30".into() };
    let bill = activities.run(BillingActivities::generate_bill, input.clone()).await.expect("bill");
    let again = activities.run(BillingActivities::generate_bill, input).await.expect("bill again");
    assert_eq!(again, bill);
    assert_eq!(env.world.invoices().await.len(), 1);

    let first = activities.run(BillingActivities::charge_invoice, bill.clone()).await.expect("charge");
    let second = activities.run(BillingActivities::charge_invoice, bill.clone()).await.expect("charge again");
    assert_eq!(first, second);
    let receipt = ReceiptInput {
        invoice_id: bill.invoice_id.clone(),
        customer_id: bill.customer_id.clone(),
        amount_cents: bill.amount_cents,
    };
    let sent = activities.run(BillingActivities::send_receipt, receipt.clone()).await.expect("receipt");
    let resent = activities.run(BillingActivities::send_receipt, receipt).await.expect("receipt again");
    assert!(!sent.replayed && resent.replayed);

    // A payment recorded, then the account closed before the attempt's report arrived: the
    // retry replays the record. Refusing it would have the saga refund and void a paid bill.
    let record = RecordPaymentInput {
        invoice_id: bill.invoice_id.clone(),
        customer_id: bill.customer_id.clone(),
        charge_id: first.charge_id.clone(),
        amount_cents: bill.amount_cents,
    };
    let recorded = activities.run(BillingActivities::record_payment, record.clone()).await.expect("record");
    sqlx::query("UPDATE customers SET status = 'closed' WHERE id = $1")
        .bind(&bill.customer_id)
        .execute(env.world.ledger.pool())
        .await
        .expect("close the account");
    let replayed = activities.run(BillingActivities::record_payment, record).await.expect("record again, account closed");
    assert!(!recorded.replayed && replayed.replayed, "{replayed:?}");
    assert_eq!(env.world.payments_for(&bill.invoice_id).await, 1);

    let requests = env.world.provider_requests().await;
    assert_eq!(requests.len(), 1, "the replayed charge never reached the provider: {requests:#?}");
    let deliveries = reqwest::get(format!("{}/deliveries", env.world.notify_url))
        .await
        .expect("GET")
        .json::<Vec<Value>>()
        .await
        .expect("JSON");
    assert_eq!(deliveries.len(), 1, "the replayed receipt never reached the sink: {deliveries:#?}");
}

/// A bill refunded and voided after its payment was recorded (how a refused receipt used to
/// end) is not paid again by a re-run: `RecordPayment` refuses the voided invoice though its
/// payment is on record, so no "payment received" goes out for a refunded bill. And a refund
/// whose answer was lost, retried after the provider forgot its key, finds the refund at the
/// provider and records it: one refund.
#[tokio::test]
async fn a_voided_bill_is_not_paid_again_and_a_forgotten_refund_is_found() {
    use punctual_activities::BillingActivities;
    use punctual_workflows::billing::types::{GenerateBillInput, RecordPaymentInput, RefundInput, VoidInput};
    use temporalio_sdk::testing::ActivityEnvironment;

    let env = TestEnv::start("voided-legacy").await;
    let activities = ActivityEnvironment::builder().register_activities(env.world.billing_activities()).build();
    let input = GenerateBillInput { customer_id: "C00001".into(), business_date: "2026-12-28".into() };
    let bill = activities.run(BillingActivities::generate_bill, input).await.expect("bill");
    let charge = activities.run(BillingActivities::charge_invoice, bill.clone()).await.expect("charge");
    let record = RecordPaymentInput {
        invoice_id: bill.invoice_id.clone(),
        customer_id: bill.customer_id.clone(),
        charge_id: charge.charge_id.clone(),
        amount_cents: bill.amount_cents,
    };
    activities.run(BillingActivities::record_payment, record.clone()).await.expect("record");

    env.world.provider_faults(json!({"forget_keys": true, "drop_next": 1})).await;
    let refund = RefundInput { invoice_id: bill.invoice_id.clone(), charge_id: charge.charge_id.clone() };
    assert!(activities.run(BillingActivities::refund_charge, refund.clone()).await.is_err(), "the answer was lost");
    let found = activities.run(BillingActivities::refund_charge, refund).await.expect("refund retried");
    let refunds = env.world.refunds().await;
    assert_eq!(refunds.len(), 1, "{refunds:#?}");
    assert_eq!(found.external_id.as_ref(), refunds[0]["id"].as_str().map(str::to_owned).as_ref());

    // An old saga voided the paid bill; today's `VoidInvoice` refuses a paid invoice, so the
    // state is made as that saga left it.
    let void = VoidInput { invoice_id: bill.invoice_id.clone(), reason: "receipt refused (old saga)".into() };
    let refused = activities.run(BillingActivities::void_invoice, void).await.expect_err("a paid bill is not voided");
    assert!(format!("{refused:?}").contains("is paid"), "{refused:?}");
    sqlx::query("UPDATE invoices SET status = 'void', void_reason = 'receipt refused (old saga)' WHERE id = $1")
        .bind(&bill.invoice_id)
        .execute(env.world.ledger.pool())
        .await
        .expect("void as an old saga did");
    let again = activities.run(BillingActivities::record_payment, record).await.expect_err("a voided bill is not paid again");
    assert!(format!("{again:?}").contains("InvoiceVoid"), "{again:?}");
}

/// A charge claimed again finds only a refunded charge of its invoice at the provider (an earlier
/// attempt charged, and a person refunded that stray charge): it neither takes that charge for
/// this bill's payment nor charges again, and stops on an idempotency conflict for a person.
#[tokio::test]
async fn a_retried_charge_that_finds_only_a_refunded_one_stops_for_a_person() {
    use punctual_activities::BillingActivities;
    use punctual_activities::ledger::Caller;
    use punctual_workflows::billing::types::GenerateBillInput;
    use temporalio_sdk::testing::ActivityEnvironment;

    let env = TestEnv::start("refunded-stray").await;
    let activities = ActivityEnvironment::builder().register_activities(env.world.billing_activities()).build();
    let input = GenerateBillInput { customer_id: "C00001".into(), business_date: "2026-12-29".into() };
    let bill = activities.run(BillingActivities::generate_bill, input).await.expect("bill");
    let key = keys::charge(&bill.invoice_id);
    // Attempt 1 claimed the key and charged, and its worker died before recording the answer.
    let caller = Caller { workflow_id: "w".into(), run_id: "r".into(), activity_type: "ChargeInvoice".into(), attempt: 1 };
    let request = json!({"invoice_id": bill.invoice_id, "customer_id": bill.customer_id, "business_date": bill.business_date,
        "amount_cents": bill.amount_cents, "payment_method": bill.payment_method});
    env.world.ledger.claim_external::<Value>(&key, &request, &caller).await.expect("claim");
    let http = reqwest::Client::new();
    let post = async |path: &str, key: &str, body: Value| -> Value {
        let url = format!("{}{path}", env.world.provider_url);
        http.post(url).header("Idempotency-Key", key).json(&body).send().await.expect("POST").json().await.expect("JSON")
    };
    let body = json!({"invoice_id": bill.invoice_id, "customer_id": bill.customer_id, "amount_cents": bill.amount_cents,
        "payment_method": bill.payment_method});
    let stray = post("/charges", &key, body).await;
    post("/refunds", "refund-by-hand", json!({"charge_id": stray["id"]})).await;

    let err = activities.run(BillingActivities::charge_invoice, bill.clone()).await.expect_err("not charged again");
    let text = format!("{err:?}");
    assert!(text.contains("IdempotencyConflict") && text.contains("refunded"), "{text}");
    assert_eq!(env.world.charges().await.len(), 1, "charged again");
}

/// The pseudonyms Temporal shows depend on the worker's key; the charge's ledger request does
/// not. A bill charged before a key was set, charged again by a saga that carries the pseudonyms
/// (a re-run after the key was turned on), replays: before, its request hash differed and the
/// saga stopped on an idempotency conflict for good. A key claimed by an older worker, whose
/// request held the pseudonyms, replays too.
#[tokio::test]
async fn a_charge_replays_whatever_pseudonyms_the_saga_carries() {
    use punctual_activities::BillingActivities;
    use punctual_activities::ledger::Caller;
    use punctual_workflows::billing::types::GenerateBillInput;
    use temporalio_sdk::testing::ActivityEnvironment;

    let env = TestEnv::start("pseudonym-hash").await;
    let activities = ActivityEnvironment::builder().register_activities(env.world.billing_activities()).build();
    let with_refs = |bill: &punctual_workflows::billing::types::Bill| punctual_workflows::billing::types::Bill {
        customer_ref: format!("cus_{}", bill.customer_id.len()),
        invoice_ref: format!("INV-cus-{}", bill.business_date),
        ..bill.clone()
    };
    let bill = |customer: &str| GenerateBillInput { customer_id: customer.into(), business_date: "2026-12-27".into() };

    let plain = activities.run(BillingActivities::generate_bill, bill("C00001")).await.expect("bill");
    let first = activities.run(BillingActivities::charge_invoice, plain.clone()).await.expect("charge");
    let again = activities.run(BillingActivities::charge_invoice, with_refs(&plain)).await.expect("charge with pseudonyms");
    assert_eq!(again, first);

    // An older worker's claim: the whole bill, pseudonyms included, was its request.
    let older = with_refs(&activities.run(BillingActivities::generate_bill, bill("C00002")).await.expect("bill"));
    let key = keys::charge(&older.invoice_id);
    let caller = Caller { workflow_id: "old".into(), run_id: "old".into(), activity_type: "ChargeInvoice".into(), attempt: 1 };
    let whole = serde_json::to_value(&older).expect("json");
    env.world.ledger.claim_external::<Value>(&key, &whole, &caller).await.expect("old claim");
    env.world.ledger.complete_external(&key, &json!({"outcome": "charged", "charge_id": "ch_old"})).await.expect("old record");
    let replayed = activities.run(BillingActivities::charge_invoice, older).await.expect("replay of the old claim");
    assert_eq!(replayed.charge_id, "ch_old");
    assert_eq!(env.world.provider_requests().await.len(), 1, "only the first bill reached the provider");
}

/// tzdata keeps old names of renamed zones (`PRC` is `Asia/Shanghai`). A customer row under the
/// old name is billed by the zone's run, and a run started under the old name bills the zone's
/// customers as replays: before, compared as text, the first customer was silently skipped and
/// the `PRC` run billed nobody and completed its key.
#[tokio::test]
async fn customers_under_an_old_name_of_the_zone_are_billed_once_by_either_name() {
    let env = TestEnv::start("billing-zone-names").await;
    let date = "2026-12-12";
    sqlx::query(
        "INSERT INTO customers (id, name, timezone, plan_cents, payment_method, status) \
         VALUES ('C90001', 'Stored under PRC', 'PRC', 1000, 'pm_card_visa', 'active')",
    )
    .execute(env.world.ledger.pool())
    .await
    .expect("insert customer");
    let old_name_invoice = keys::invoice_id("C90001", date);
    let zone_customers = expected(30, date).invoices.len() as u64 + 1;
    env.with_worker(async {
        let first = run_to_completion(&env, date).await;
        assert_eq!(first.totals.customers, zone_customers, "the demo customers and the one stored under PRC: {first:?}");
        let invoices = env.world.invoices().await;
        assert!(invoices.iter().any(|(id, _)| *id == old_name_invoice), "no invoice for C90001: {invoices:?}");
        let charges_before = env.world.charges().await.len();

        let key = keys::billing_run("PRC", date);
        env.start_workflow("BillingRunWorkflow", &key, &json!({"business_date": date, "timezone": "PRC"}).to_string()).await;
        let again = env.cli_json(&["workflow", "result", "--workflow-id", &key]).await;
        assert_eq!(again["status"], "COMPLETED", "{again:#}");
        assert_eq!(again["result"]["totals"]["customers"], zone_customers, "{again:#}");
        assert_eq!(again["result"]["totals"]["already_done"], zone_customers, "every bill replayed: {again:#}");
        assert_eq!(env.world.invoices().await.len(), invoices.len(), "no invoice added by the second name");
        assert_eq!(env.world.charges().await.len(), charges_before, "no charge made twice");

        // Reconciliation reads the zone's books under every name too: the PRC customer's
        // invoice is in the report, matched, with no mismatch.
        let key = format!("reconcile-zone-names/{date}");
        env.start_workflow("ReconciliationWorkflow", &key, &json!({"business_date": date, "timezone": TZ}).to_string()).await;
        let report = env.cli_json(&["workflow", "result", "--workflow-id", &key]).await;
        assert_eq!(report["status"], "COMPLETED", "{report:#}");
        let billed = invoices.iter().filter(|(id, _)| id.ends_with(&date.replace('-', ""))).count();
        assert_eq!(report["result"]["invoices"], billed, "{report:#}");
        assert_eq!(report["result"]["matched"], billed, "{report:#}");
    })
    .await;
    assert_eq!(env.world.payments_for(&old_name_invoice).await, 1);
}

/// A run started under a mistyped workflow ID starts the date's batch; the real run counts that
/// batch as its own (`already_done`) and completes; then someone terminates the mistyped run.
/// The batch and its sagas outlive it and finish every bill. With Temporal's default parent close
/// policy they were terminated with it, half done, after the real run had reported success.
#[tokio::test]
async fn terminating_a_mistyped_run_leaves_the_work_the_real_run_counted_on_to_finish() {
    let env = TestEnv::start("billing-abandon").await;
    let date = "2026-12-13";
    let e = expected(30, date);
    // Every receipt fails for now, so the mistyped run's sagas wait in their retries.
    env.world.fail_deliveries().await;
    let typo = format!("{}-typo", keys::billing_run(TZ, date));
    env.with_worker(async {
        env.start_workflow("BillingRunWorkflow", &typo, &json!({"business_date": date, "timezone": TZ}).to_string()).await;
        let query = format!("WorkflowType='PaymentSagaWorkflow' AND TaskQueue='{}'", env.task_queue);
        eventually("the mistyped run's first saga", Duration::from_secs(60), async || {
            let listed = env.cli_json(&["workflow", "list", "--query", &query]).await;
            listed.as_array().is_some_and(|l| !l.is_empty()).then_some(())
        })
        .await;
        let real = run_to_completion(&env, date).await;
        assert_eq!(real.totals.already_done as usize, e.invoices.len(), "the real run counts the batch: {real:?}");

        let terminated = env.cli(&["workflow", "terminate", "--workflow-id", &typo, "--reason", "mistyped ID"]).await;
        assert!(terminated.success, "{}", terminated.stderr);
        env.world.deliver_again().await;
        let paid = e.charged.len() - e.closed.len();
        eventually("every receipt delivered", Duration::from_secs(240), async || {
            (env.world.delivered().await.len() >= paid).then_some(())
        })
        .await;
        // The last saga may still be closing its invoice after its receipt.
        eventually("every saga closed", Duration::from_secs(60), async || {
            let open = format!("{query} AND ExecutionStatus='Running'");
            env.cli_json(&["workflow", "list", "--query", &open]).await.as_array().is_none_or(Vec::is_empty).then_some(())
        })
        .await;
    })
    .await;
    assert_exactly_once(&env, &e).await;
}

/// `temporal workflow cancel` of a payment saga in the middle of its effects: the effects run to
/// their end. Before, the cancel cancelled its remaining activities (the receipt, or a refund and
/// a void) the moment they were scheduled and even the record of its outcome, so a paid invoice
/// kept no receipt and no tool reported it.
#[tokio::test]
async fn a_cancelled_saga_still_finishes_its_effects() {
    let env = TestEnv::start("billing-cancel-saga").await;
    let date = "2026-12-14";
    let e = expected(30, date);
    env.world.fail_deliveries().await;
    let key = keys::billing_run(TZ, date);
    env.with_worker(async {
        env.start_workflow("BillingRunWorkflow", &key, &json!({"business_date": date, "timezone": TZ}).to_string()).await;
        // A paid invoice's saga, stuck on its receipt while the sink fails.
        let paid: Vec<&String> = e.charged.iter().filter(|i| !e.closed.contains(i)).collect();
        let saga = keys::payment_saga(paid[0]);
        eventually("the saga waiting on its receipt", Duration::from_secs(60), async || {
            let shown = env.cli(&["workflow", "show", "--workflow-id", &saga, "-o", "json"]).await;
            (shown.success && shown.stdout.contains("\"SendReceipt\"")).then_some(())
        })
        .await;
        let cancelled = env.cli(&["workflow", "cancel", "--workflow-id", &saga]).await;
        assert!(cancelled.success, "{}", cancelled.stderr);
        env.world.deliver_again().await;
        let run = env.cli_json(&["workflow", "result", "--workflow-id", &key]).await;
        assert_eq!(run["status"], "COMPLETED", "{run:#}");
        let described = env.cli_json(&["workflow", "describe", "--workflow-id", &saga]).await;
        assert_eq!(described["workflowExecutionInfo"]["status"], "WORKFLOW_EXECUTION_STATUS_COMPLETED", "{described:#}");
    })
    .await;
    assert_exactly_once(&env, &e).await;
}
