//! The reporting jobs end to end on a real dev server: the reconciliation finds what a billing
//! run left behind consistent, flags each kind of broken data, and reports and alerts once per
//! business date; the SLA check alerts once per late occurrence. Effects are counted at the sink
//! and in the business tables.

use punctual_tests::{TestEnv, eventually};
use punctual_workflows::billing::types::BillingRunSummary;
use punctual_workflows::reports::keys as report_keys;
use punctual_workflows::reports::types::{ReconciliationReport, SlaReport};
use punctual_workflows::reports::{ReconciliationWorkflow, SlaCheckWorkflow};
use punctual_workflows::{BillingRunWorkflow, JsonInput, keys};
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

const TZ: &str = "Asia/Shanghai";

async fn bill(env: &TestEnv, date: &str) -> BillingRunSummary {
    let input = JsonInput::from(json!({"business_date": date, "timezone": TZ}));
    let options = WorkflowStartOptions::new(&env.task_queue, keys::billing_run(TZ, date)).build();
    let run = env.client.start_workflow(BillingRunWorkflow::run, input, options).await.expect("start billing");
    run.get_result(WorkflowGetResultOptions::default()).await.expect("billing run result")
}

/// Runs the reconciliation of `date` under workflow ID `id` (a schedule gives each fire its own).
async fn reconcile(env: &TestEnv, date: &str, id: &str) -> ReconciliationReport {
    run_reconciliation(env, json!({"business_date": date, "timezone": TZ}), id).await
}

/// Runs a recheck of `date` (the books now) under workflow ID `id`.
async fn recheck(env: &TestEnv, date: &str, id: &str) -> ReconciliationReport {
    run_reconciliation(env, json!({"business_date": date, "timezone": TZ, "recheck": true}), id).await
}

async fn run_reconciliation(env: &TestEnv, input: Value, id: &str) -> ReconciliationReport {
    let input = JsonInput::from(input);
    let options = WorkflowStartOptions::new(&env.task_queue, id).build();
    let run = env.client.start_workflow(ReconciliationWorkflow::run, input, options).await.expect("start reconciliation");
    run.get_result(WorkflowGetResultOptions::default()).await.expect("reconciliation result")
}

async fn check_sla(env: &TestEnv, id: &str) -> SlaReport {
    let input = JsonInput::from(json!({"business_date": "2026-12-10"}));
    let options = WorkflowStartOptions::new(&env.task_queue, id).build();
    let run = env.client.start_workflow(SlaCheckWorkflow::run, input, options).await.expect("start SLA check");
    run.get_result(WorkflowGetResultOptions::default()).await.expect("SLA check result")
}

/// Deliveries of `kind` the sink actually made, as `(idempotency key, subject)`.
async fn delivered(env: &TestEnv, kind: &str) -> Vec<(String, String)> {
    env.world
        .delivered()
        .await
        .into_iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| {
            (
                d["idempotency_key"].as_str().unwrap_or_default().to_owned(),
                d["invoice_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The next response of the sink is lost after it committed the delivery: the activity retries
/// the same key, exactly the window between an external call and its record.
async fn drop_next_sink_response(env: &TestEnv) {
    let url = format!("{}/faults", env.world.notify_url);
    let reply = reqwest::Client::new().put(&url).json(&json!({"drop_next": 1})).send().await.expect("PUT /faults");
    assert!(reply.status().is_success(), "PUT {url}: {}", reply.status());
}

/// The sink received the first alert of `kind` twice under one key: the committed request whose
/// response was lost, then the retry, answered by replay. One delivery was made.
async fn assert_lost_then_replayed(env: &TestEnv, kind: &str) {
    let url = format!("{}/deliveries", env.world.notify_url);
    let log: Vec<Value> = reqwest::get(&url).await.expect("GET /deliveries").json().await.expect("JSON");
    let first_key = log.iter().find(|r| r["kind"] == kind).map(|r| &r["idempotency_key"]);
    let posts: Vec<(&Value, &Value)> = log
        .iter()
        .filter(|r| r["kind"] == kind && Some(&r["idempotency_key"]) == first_key)
        .map(|r| (&r["outcome"], &r["replay"]))
        .collect();
    assert_eq!(posts, [(&json!("committed_response_dropped"), &json!(false)), (&json!("delivered"), &json!(true))], "{log:#?}");
}

async fn sql(env: &TestEnv, statement: &str, binds: &[&str]) -> u64 {
    let mut query = sqlx::query(statement);
    for bind in binds {
        query = query.bind(*bind);
    }
    query.execute(env.world.ledger.pool()).await.unwrap_or_else(|e| panic!("{statement}: {e}")).rows_affected()
}

/// A charge made at the provider outside punctual (through its ordinary idempotent POST).
async fn charge_by_hand(env: &TestEnv, key: &str, invoice: &str, customer: &str, amount_cents: i64) {
    let body =
        json!({"invoice_id": invoice, "customer_id": customer, "amount_cents": amount_cents, "payment_method": "pm_card_visa"});
    let reply = reqwest::Client::new()
        .post(format!("{}/charges", env.world.provider_url))
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("POST /charges");
    assert!(reply.status().is_success(), "manual charge: {}", reply.status());
}

/// A customer of the zone added by hand, with an invoice of 1000 cents on `date` in `status`.
async fn customer_with_invoice(env: &TestEnv, customer: &str, date: &str, status: &str) {
    sql(
        env,
        "INSERT INTO customers (id, name, timezone, plan_cents, payment_method, status) \
               VALUES ($1, 'Added by hand', $2, 1000, 'pm_card_visa', 'active')",
        &[customer, TZ],
    )
    .await;
    sql(
        env,
        "INSERT INTO invoices (id, customer_id, business_date, amount_cents, status, created_at) \
               VALUES ($1, $2, $3, 1000, $4, '2026-12-02T00:00:00.000Z')",
        &[&keys::invoice_id(customer, date), customer, date, status],
    )
    .await;
}

async fn amount_of(env: &TestEnv, invoice: &str) -> i64 {
    sqlx::query_scalar("SELECT amount_cents FROM invoices WHERE id = $1")
        .bind(invoice)
        .fetch_one(env.world.ledger.pool())
        .await
        .expect("invoice amount")
}

async fn count(env: &TestEnv, query: &str, bind: &str) -> i64 {
    sqlx::query_scalar(query).bind(bind).fetch_one(env.world.ledger.pool()).await.expect(query)
}

/// Workflow IDs of this test's runs matching `query`, once visibility shows `want` of them.
async fn runs_where(env: &TestEnv, query: &str, want: usize) -> Vec<String> {
    let query = format!("{query} AND TaskQueue='{}'", env.task_queue);
    eventually(&format!("{want} runs where {query}"), Duration::from_secs(30), async || {
        let runs = env.cli_json(&["workflow", "list", "--query", &query]).await;
        let mut ids: Vec<String> =
            runs.as_array()?.iter().filter_map(|w| w["execution"]["workflowId"].as_str().map(str::to_owned)).collect();
        ids.sort();
        (ids.len() == want).then_some(ids)
    })
    .await
}

#[tokio::test]
async fn reconciliation_flags_each_kind_of_broken_data_and_reports_and_alerts_once() {
    let env = TestEnv::start("reconcile").await;
    let (clean, broken) = ("2026-12-01", "2026-12-02");
    let inv = |customer: &str| keys::invoice_id(customer, broken);
    env.with_worker(async {
        // What a billing run leaves behind (payments, a decline, a refunded closed account) agrees.
        let billed = bill(&env, clean).await;
        let report = reconcile(&env, clean, &report_keys::reconcile(TZ, clean)).await;
        assert_eq!(report.mismatches, [], "{report:#?}");
        assert_eq!(report.invoices, billed.totals.customers);
        assert_eq!((report.matched, report.charges), (report.invoices, env.world.charges().await.len() as u64));
        assert_eq!(report.alert_id, None);

        // Break the books of another date, one kind of mismatch per invoice.
        bill(&env, broken).await;
        let deleted = sql(&env, "DELETE FROM payments WHERE invoice_id = $1", &[&inv("C00001")]).await;
        let twice = amount_of(&env, &inv("C00002")).await;
        charge_by_hand(&env, "by-hand/twice", &inv("C00002"), "C00002", twice).await;
        sql(&env, "UPDATE invoices SET amount_cents = amount_cents + 1 WHERE id = $1", &[&inv("C00003")]).await;
        // A crash between the provider call and its record leaves the claim open.
        sql(
            &env,
            "UPDATE ledger_entries SET status = 'claimed', result = NULL, completed_at = NULL WHERE key = $1",
            &[&keys::charge(&inv("C00004"))],
        )
        .await;
        let void = amount_of(&env, &inv("C00017")).await; // declined card: void, never charged
        charge_by_hand(&env, "by-hand/void", &inv("C00017"), "C00017", void).await;
        // A bill added by hand, marked paid with nothing behind it.
        customer_with_invoice(&env, "C90001", broken, "paid").await;
        // A saga terminated between recording the payment and sending the receipt: paid, and
        // the customer never told.
        let receipt = keys::receipt(&inv("C00007"));
        assert_eq!(sql(&env, "DELETE FROM ledger_entries WHERE key = $1", &[&receipt]).await, 1);
        // A saga terminated before its charge: the bill stays open and nothing was charged.
        customer_with_invoice(&env, "C90002", broken, "open").await;
        assert_eq!(deleted, 1);

        drop_next_sink_response(&env).await;
        let key = report_keys::reconcile(TZ, broken);
        let first = reconcile(&env, broken, &key).await;
        let found: Vec<(String, &str)> = first.mismatches.iter().map(|m| (m.invoice_id.clone(), m.kind.as_str())).collect();
        assert_eq!(
            found,
            [
                (inv("C00001"), "charge_without_payment"),
                (inv("C00002"), "duplicate_charge"),
                (inv("C00003"), "amount_mismatch"),
                (inv("C00004"), "open_charge_claim"),
                (inv("C00007"), "paid_without_receipt"),
                (inv("C00017"), "charge_on_void_invoice"),
                (inv("C90001"), "paid_without_charge"),
                (inv("C90001"), "paid_without_receipt"),
                (inv("C90002"), "open_not_charged"),
            ],
            "{first:#?}"
        );
        assert_eq!(first.invoices, billed.totals.customers + 2);
        assert_eq!(first.matched, first.invoices - 8);
        assert!(!first.replayed && first.alert_id.is_some());
        let alert_key = report_keys::reconcile_alert(TZ, broken);
        assert_eq!(delivered(&env, "reconciliation_alert").await, [(alert_key.clone(), key.clone())]);

        // The data changes again and the date is reconciled again (a second fire): the first
        // report is the record, replayed as it was; no second report, no second alert.
        let payment: (String, String, i64, String) =
            sqlx::query_as("SELECT invoice_id, charge_id, amount_cents, recorded_at FROM payments WHERE invoice_id = $1")
                .bind(inv("C00006"))
                .fetch_one(env.world.ledger.pool())
                .await
                .expect("C00006's payment");
        sql(&env, "DELETE FROM payments WHERE invoice_id = $1", &[&inv("C00006")]).await;
        let again = reconcile(&env, broken, &format!("{key}/again")).await;
        assert_eq!(ReconciliationReport { replayed: false, ..again.clone() }, first);
        assert!(again.replayed);
        assert_eq!(delivered(&env, "reconciliation_alert").await, [(alert_key.clone(), key.clone())]);

        // A recheck reads the books now: the new damage is there, alerted once under the
        // alert's own key; a second recheck finding the same alerts nothing new.
        let now = recheck(&env, broken, &format!("{key}/recheck-1")).await;
        let new_damage: Vec<&str> =
            now.mismatches.iter().filter(|m| !first.mismatches.contains(m)).map(|m| m.kind.as_str()).collect();
        assert_eq!(new_damage, ["charge_without_payment"], "{now:#?}");
        assert_eq!(now.mismatches.len(), first.mismatches.len() + 1);
        assert!(now.recheck && !now.replayed && now.alert_id.is_some(), "{now:#?}");
        let same = recheck(&env, broken, &format!("{key}/recheck-2")).await;
        assert_eq!((&same.mismatches, &same.alert_id), (&now.mismatches, &now.alert_id));
        let alerts = delivered(&env, "reconciliation_alert").await;
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert!(alerts[1].0.starts_with(&format!("{alert_key}/")), "{alerts:#?}");

        // Repaired (the payment row restored), a recheck no longer finds it; the clean date's
        // recheck is clean and alerts nothing.
        sqlx::query("INSERT INTO payments (invoice_id, charge_id, amount_cents, recorded_at) VALUES ($1, $2, $3, $4)")
            .bind(&payment.0)
            .bind(&payment.1)
            .bind(payment.2)
            .bind(&payment.3)
            .execute(env.world.ledger.pool())
            .await
            .expect("restore the payment");
        let repaired = recheck(&env, broken, &format!("{key}/recheck-3")).await;
        assert_eq!(repaired.mismatches, first.mismatches);
        let clean_now = recheck(&env, clean, &format!("{}/recheck", report_keys::reconcile(TZ, clean))).await;
        assert_eq!((clean_now.mismatches.len(), clean_now.alert_id.clone()), (0, None), "{clean_now:#?}");
        assert_eq!(delivered(&env, "reconciliation_alert").await.len(), 3, "the repaired findings differ from the last alert's");
    })
    .await;
    let rechecks = count(&env, "SELECT COUNT(*) FROM ledger_entries WHERE key LIKE $1", "reconcile/%/recheck/%").await;
    assert_eq!(rechecks, 4, "one recorded report per recheck run");

    let reports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reconciliation_reports")
        .fetch_one(env.world.ledger.pool())
        .await
        .expect("count reports");
    assert_eq!(reports, 2, "one report per business date");
    let key = report_keys::reconcile(TZ, broken);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM reconciliation_mismatches WHERE business_key = $1", &key).await, 9);
    let stored = count(&env, "SELECT mismatches FROM reconciliation_reports WHERE business_key = $1", &key).await;
    assert_eq!(stored, 9);
    // The lost response was retried under the same key and replayed by the sink, not re-sent.
    assert_lost_then_replayed(&env, "reconciliation_alert").await;

    let completed = runs_where(&env, "JobName='reconciliation' AND RunOutcome='completed'", 2).await;
    let clean_key = report_keys::reconcile(TZ, clean);
    assert_eq!(completed, [clean_key.clone(), format!("{clean_key}/recheck")]);
    let flagged = runs_where(&env, &format!("BusinessKey='{key}' AND RunOutcome='mismatches'"), 5).await;
    let rechecks = (1..=3).map(|n| format!("{key}/recheck-{n}"));
    assert_eq!(flagged, [key.clone(), format!("{key}/again")].into_iter().chain(rechecks).collect::<Vec<_>>());
}

/// The proof loop for a saga stopped outright: terminated between recording its payment and
/// sending the receipt (terminate runs no code, and its batch counts it failed and completes),
/// it leaves a customer who paid and was never told. The date's reconciliation flags exactly
/// that; running the date again finishes the saga (every other effect replays from the ledger),
/// and a recheck is clean. Each charge and each receipt happened once.
#[tokio::test]
async fn a_terminated_saga_is_flagged_and_a_rerun_of_its_date_finishes_it_once() {
    let env = TestEnv::start("reconcile-terminated").await;
    let date = "2026-12-04";
    let invoice = keys::invoice_id("C00001", date);
    let saga = keys::payment_saga(&invoice);
    env.with_worker(async {
        env.world.fail_deliveries().await;
        let options = WorkflowStartOptions::new(&env.task_queue, keys::billing_run(TZ, date)).build();
        let input = JsonInput::from(json!({"business_date": date, "timezone": TZ}));
        let run = env.client.start_workflow(BillingRunWorkflow::run, input, options).await.expect("start billing");
        eventually(&format!("{invoice} paid, its receipt refused by the sink"), Duration::from_secs(120), async || {
            env.world.invoices().await.into_iter().any(|(id, status)| id == invoice && status == "paid").then_some(())
        })
        .await;
        let terminated = env.cli(&["workflow", "terminate", "--workflow-id", &saga, "--reason", "stopped by hand"]).await;
        assert!(terminated.success, "{}", terminated.stderr);
        env.world.deliver_again().await;
        let summary = run.get_result(WorkflowGetResultOptions::default()).await.expect("billing run result");
        assert_eq!(summary.totals.failed, 1, "the terminated saga counts as failed: {summary:#?}");

        let report = reconcile(&env, date, &report_keys::reconcile(TZ, date)).await;
        let found: Vec<(String, &str)> = report.mismatches.iter().map(|m| (m.invoice_id.clone(), m.kind.as_str())).collect();
        assert_eq!(found, [(invoice.clone(), "paid_without_receipt")], "{report:#?}");

        let again = bill(&env, date).await;
        assert_eq!(again.totals.failed, 0, "{again:#?}");
        let now = recheck(&env, date, &format!("{}/after-rerun", report_keys::reconcile(TZ, date))).await;
        assert_eq!(now.mismatches, [], "{now:#?}");
    })
    .await;
    let receipts: Vec<String> = env
        .world
        .delivered()
        .await
        .iter()
        .filter(|d| d["kind"] != "reconciliation_alert")
        .filter_map(|d| d["idempotency_key"].as_str().map(str::to_owned))
        .collect();
    let mut once = receipts.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), receipts.len(), "a receipt delivered twice: {receipts:#?}");
    assert!(receipts.contains(&keys::receipt(&invoice)), "{receipts:#?}");
    let charges = env.world.charges().await;
    let mut charged: Vec<&str> = charges.iter().filter_map(|c| c["invoice_id"].as_str()).collect();
    let all = charged.len();
    charged.dedup();
    assert_eq!(charged.len(), all, "an invoice charged twice: {charges:#?}");
}

/// The receipt rule reads the ledger by a key built in SQL; PostgreSQL spells that differently
/// from SQLite, so the rule is checked there too: a clean run matches, a lost receipt is flagged.
#[tokio::test]
async fn on_postgresql_a_paid_invoice_without_its_receipt_is_flagged() {
    let url = punctual_tests::fresh_database("reconcile_pg").await;
    let env = TestEnv::start_with("reconcile-pg", url, 30).await;
    let date = "2026-12-03";
    let silent = keys::invoice_id("C00007", date);
    env.with_worker(async {
        bill(&env, date).await;
        assert_eq!(sql(&env, "DELETE FROM ledger_entries WHERE key = $1", &[&keys::receipt(&silent)]).await, 1);
        let report = reconcile(&env, date, &report_keys::reconcile(TZ, date)).await;
        let found: Vec<(String, &str)> = report.mismatches.iter().map(|m| (m.invoice_id.clone(), m.kind.as_str())).collect();
        assert_eq!(found, [(silent.clone(), "paid_without_receipt")], "{report:#?}");
        assert_eq!(report.matched, report.invoices - 1);
    })
    .await;
}

/// A per-fire job bills periods of a date (`{date}T10:00`, by `FireBillingWorkflow`): the date's
/// reconciliation reads their invoices too, so what a stopped fire's saga left behind is flagged
/// like a daily bill's. They used to be left out: the report below found nothing.
async fn per_fire_invoices_are_reconciled_with_their_date(env: &TestEnv, date: &str) {
    let period = format!("{date}T10:00");
    let fire = format!("fire-billing/{TZ}/{period}");
    let (unpaid, silent) = (keys::invoice_id("C00001", &period), keys::invoice_id("C00007", &period));
    env.with_worker(async {
        let input = json!({"business_date": date, "timezone": TZ, "period": period}).to_string();
        env.start_workflow("FireBillingWorkflow", &fire, &input).await;
        let done = env.cli_json(&["workflow", "result", "--workflow-id", &fire]).await;
        assert_eq!(done["status"], "COMPLETED", "{done:#}");
        assert_eq!(sql(env, "DELETE FROM payments WHERE invoice_id = $1", &[&unpaid]).await, 1);
        assert_eq!(sql(env, "DELETE FROM ledger_entries WHERE key = $1", &[&keys::receipt(&silent)]).await, 1);
        let report = reconcile(env, date, &report_keys::reconcile(TZ, date)).await;
        let found: Vec<(String, &str)> = report.mismatches.iter().map(|m| (m.invoice_id.clone(), m.kind.as_str())).collect();
        assert_eq!(found, [(unpaid.clone(), "charge_without_payment"), (silent.clone(), "paid_without_receipt")], "{report:#?}");
        assert_eq!(report.invoices, count(env, "SELECT COUNT(*) FROM invoices WHERE business_date = $1", &period).await as u64);
        assert_eq!(report.matched, report.invoices - 2);
    })
    .await;
}

#[tokio::test]
async fn per_fire_invoices_are_reconciled_with_their_date_on_sqlite() {
    per_fire_invoices_are_reconciled_with_their_date(&TestEnv::start("reconcile-fire").await, "2026-12-06").await;
}

/// The same on PostgreSQL, whose SQL for the period prefixes is spelt by the same query.
#[tokio::test]
async fn per_fire_invoices_are_reconciled_with_their_date_on_postgresql() {
    let url = punctual_tests::fresh_database("reconcile_fire_pg").await;
    per_fire_invoices_are_reconciled_with_their_date(&TestEnv::start_with("reconcile-fire-pg", url, 30).await, "2026-12-07")
        .await;
}

#[tokio::test]
async fn sla_check_alerts_once_per_late_occurrence() {
    let env = TestEnv::start("sla-check").await;
    let insert = async |key: &str, status: &str, deadline: &str, alerted: Option<&str>| {
        let (job, date) = key.split_once('/').expect("job/date");
        sqlx::query(
            "INSERT INTO job_occurrences (key, job, business_date, effective_date, nominal_time, status, reason, \
               deadline_at, workflow_id, run_id, runs, alerted_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $3, NULL, $4, NULL, $5, $1, 'run-1', 1, $6, '2020-01-01T00:00:00.000Z', \
               '2020-01-01T00:00:00.000Z')",
        )
        .bind(key)
        .bind(job)
        .bind(date)
        .bind(status)
        .bind(deadline)
        .bind(alerted)
        .execute(env.world.ledger.pool())
        .await
        .expect("insert occurrence");
    };
    // Deadlines far in the past or future: no race with the clock.
    insert("billing-run/2026-11-20", "running", "2020-01-01T00:00:00.000Z", None).await;
    insert("billing-run/2026-11-19", "committed", "2020-01-01T00:00:00.000Z", None).await;
    insert("billing-run/2999-01-01", "running", "2999-01-01T00:00:00.000Z", None).await;
    insert("reconciliation/2026-11-18", "waiting", "2020-01-02T00:00:00.000Z", Some("2020-01-03T00:00:00.000Z")).await;

    let late = ["billing-run/2026-11-20".to_owned(), "reconciliation/2026-11-18".to_owned()];
    let (first, second) = env
        .with_worker(async {
            drop_next_sink_response(&env).await;
            let first = check_sla(&env, "sla-check/2026-12-10").await;
            let second = check_sla(&env, "sla-check/2026-12-10/again").await;
            (first, second)
        })
        .await;
    assert_eq!(first, SlaReport { late: late.to_vec(), alerted: 1 });
    assert_eq!(second, SlaReport { late: late.to_vec(), alerted: 0 });
    let alerts = delivered(&env, "sla_alert").await;
    assert_eq!(alerts, [(report_keys::sla_alert("billing-run/2026-11-20"), "billing-run/2026-11-20".to_owned())]);

    assert_lost_then_replayed(&env, "sla_alert").await;

    let alerted_at = async |key: &str| -> Option<String> {
        sqlx::query_scalar("SELECT alerted_at FROM job_occurrences WHERE key = $1")
            .bind(key)
            .fetch_one(env.world.ledger.pool())
            .await
            .expect("alerted_at")
    };
    assert!(alerted_at("billing-run/2026-11-20").await.is_some());
    assert_eq!(alerted_at("reconciliation/2026-11-18").await.as_deref(), Some("2020-01-03T00:00:00.000Z"));
    assert_eq!(alerted_at("billing-run/2026-11-19").await, None);
    assert_eq!(alerted_at("billing-run/2999-01-01").await, None);

    let runs = runs_where(&env, "JobName='sla-check' AND RunOutcome='alerted' AND BusinessDate='2026-12-10'", 2).await;
    assert_eq!(runs, ["sla-check/2026-12-10", "sla-check/2026-12-10/again"]);
}

#[tokio::test]
async fn report_inputs_are_strict_and_fail_at_once() {
    let env = TestEnv::start("reports-bad-input").await;
    let cases = [
        ("ReconciliationWorkflow", r#"{"business_date":"2026-12-01"}"#, "missing field `timezone`"),
        (
            "ReconciliationWorkflow",
            r#"{"business_date":"2026-12-01","timezone":"Asia/Shanghai","limit":1}"#,
            "unknown field `limit`",
        ),
        ("SlaCheckWorkflow", r#"{"business_date":"2026-12-01","limit":0}"#, "field `limit`"),
        ("SlaCheckWorkflow", r#"{"business_date":"2026-12-01","timezone":"UTC"}"#, "unknown field `timezone`"),
    ];
    env.with_worker(async {
        for (i, (workflow, input, expected)) in cases.iter().enumerate() {
            let id = format!("{}-{i}", env.task_queue);
            env.start_workflow(workflow, &id, input).await;
            let out = env.cli(&["workflow", "result", "--workflow-id", &id, "-o", "json"]).await;
            let result: Value = serde_json::from_str(&out.stdout).expect("JSON");
            assert_eq!(result["status"], "FAILED", "{workflow} {input}");
            let failure = &result["closeEvent"]["workflowExecutionFailedEventAttributes"]["failure"];
            assert!(failure["message"].as_str().unwrap_or_default().contains(expected), "{failure:#}");
            assert_eq!(failure["applicationFailureInfo"]["nonRetryable"], true);
        }
    })
    .await;
    assert!(env.world.delivered().await.is_empty());
}

/// A schedule paused from outside (the Web UI, `temporal schedule toggle`) fires nothing and
/// leaves no row: the SLA check used to see nothing wrong. It now reads this queue's schedules
/// and alerts once about each occurrence of a job with an `sla` that never started and is past
/// its deadline; a job without an `sla` is not judged.
#[tokio::test]
async fn sla_check_alerts_once_about_occurrences_that_never_started() {
    use punctual_tests::jobs::{job_name, schedule_ok, write_config};
    let env = TestEnv::start("sla-never-started").await;
    let (watched, unwatched) = (job_name(&env, "watched"), job_name(&env, "unwatched"));
    let job = |name: &str, sla: &str| {
        format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nevery = \"5s\"\n{sla}\n")
    };
    let old = job_name(&env, "old-made");
    let config = write_config(&env, &(job(&watched, "sla = \"2s\"") + &job(&unwatched, "") + &job(&old, "sla = \"2s\"")));
    schedule_ok(&env, &config, &["apply"]).await;
    // A schedule as a punctual before the task-queue memo made it: recreated without the memo.
    made_without_queue_memo(&env, &config, &old).await;
    for name in [&watched, &unwatched, &old] {
        let id = punctual_workflows::jobs::types::schedule_id(name);
        let out = env.cli(&["schedule", "toggle", "--schedule-id", &id, "--pause", "--reason", "by hand"]).await;
        assert!(out.success, "{}", out.stderr);
    }
    let row_count = async |key: &str| -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM job_occurrences WHERE key = $1")
            .bind(key)
            .fetch_one(env.world.ledger.pool())
            .await
            .expect("count rows")
    };

    let (first, second) = env
        .with_worker(async {
            // Paused fires are planned every 5 s; wait until one is past its 2 s deadline.
            let first = eventually("an occurrence that never started reported", Duration::from_secs(120), async || {
                let report = check_sla_as(&env, "never-started-1").await;
                let of = |name: &str| report.late.iter().any(|k| k.starts_with(&format!("{name}/")));
                (of(&watched) && of(&old)).then_some(report)
            })
            .await;
            let second = check_sla_as(&env, "never-started-2").await;
            (first, second)
        })
        .await;
    assert!(first.alerted >= 1, "{first:?}");
    assert!(first.late.iter().all(|k| !k.starts_with(&format!("{unwatched}/"))), "a job without an sla judged: {first:?}");
    let mut never_started = 0;
    for key in first.late.iter().filter(|k| k.starts_with(&format!("{watched}/"))) {
        never_started += usize::from(row_count(key).await == 0);
        assert!(second.late.contains(key), "{key} no longer listed: {second:?}");
    }
    assert!(never_started >= 1, "every reported key had a row: {first:?}");
    // One alert per occurrence key, however many checks saw it.
    let alerts = delivered(&env, "sla_alert").await;
    let mut keys: Vec<&String> = alerts.iter().map(|(key, _)| key).collect();
    let all = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), all, "an occurrence alerted twice: {alerts:?}");
    assert!(alerts.iter().any(|(_, subject)| first.late.contains(subject)), "{alerts:?}");
    for name in [&watched, &unwatched, &old] {
        schedule_ok(&env, &config, &["delete", name]).await;
    }
}

/// Deletes `name`'s schedule and makes it again as `apply` does, but without the memo naming its
/// task queue (as punctual made schedules before it recorded that).
async fn made_without_queue_memo(env: &TestEnv, config: &std::path::Path, name: &str) {
    use punctual_worker::schedule::{proto, server};
    use temporalio_client::NamespacedClient;
    use temporalio_client::grpc::WorkflowService;
    use temporalio_client::tonic::IntoRequest;
    use temporalio_common::protos::temporal::api::workflowservice::v1::CreateScheduleRequest;
    let text = std::fs::read_to_string(config).expect("read config");
    let spec =
        punctual_worker::jobs::config::parse("test", &text).expect("jobs").into_iter().find(|s| s.name == name).expect("job");
    let job = punctual_workflows::jobs::Job::resolve(spec).expect("job resolves");
    let id = punctual_workflows::jobs::types::schedule_id(name);
    server::delete(&env.client, &id).await.expect("delete");
    let request = CreateScheduleRequest {
        namespace: env.client.namespace(),
        schedule_id: id,
        schedule: Some(proto::schedule_for(&job, &env.task_queue, chrono::Utc::now(), false, String::new(), &[])),
        identity: env.client.identity(),
        request_id: format!("{name}-memo-less"),
        ..Default::default()
    };
    WorkflowService::create_schedule(&mut env.client.clone(), request.into_request()).await.expect("create without memo");
}

async fn check_sla_as(env: &TestEnv, suffix: &str) -> SlaReport {
    check_sla(env, &format!("sla-check/{}/{suffix}", env.task_queue)).await
}
