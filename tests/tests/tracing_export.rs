//! `punctual worker` with `OTEL_EXPORTER_OTLP_ENDPOINT` exports its spans over OTLP/HTTP: an
//! OTLP receiver in this test (a receiver of our output, decoding the protobuf the way a
//! collector or Jaeger does) gets a span for each activity of a billing run, carrying the
//! business key, workflow id and run id, and every span of the run is in one trace. The worker
//! is stopped with SIGTERM first, so this also checks that it flushes its spans on the way out.

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use punctual_activities::seed::{CARD_DECLINED, demo_customer};
use punctual_tests::{TestEnv, eventually};
use punctual_workflows::{BillingRunWorkflow, JsonInput, keys, names};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

const TZ: &str = "Asia/Shanghai";
const DATE: &str = "2026-12-03";
/// Generous bound on waiting (not a timing assertion).
const WAIT: Duration = Duration::from_secs(120);

/// One received span, reduced to what the assertions read.
#[derive(Debug, Clone)]
struct Span {
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    attributes: BTreeMap<String, String>,
}

impl Span {
    fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map(String::as_str).unwrap_or("")
    }
}

type Received = Arc<Mutex<Vec<Span>>>;

/// `POST /v1/traces`: decodes an `ExportTraceServiceRequest` and keeps its spans.
async fn receive(State(received): State<Received>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("OTLP/HTTP protobuf body");
    let mut spans = received.lock().expect("receiver lock");
    for span in request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
        let attributes = span
            .attributes
            .iter()
            .map(|kv| {
                let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Value::StringValue(s)) => s.clone(),
                    Some(Value::IntValue(i)) => i.to_string(),
                    Some(Value::BoolValue(b)) => b.to_string(),
                    Some(Value::DoubleValue(d)) => d.to_string(),
                    other => format!("{other:?}"),
                };
                (kv.key.clone(), value)
            })
            .collect();
        spans.push(Span {
            trace_id: hex::encode(&span.trace_id),
            span_id: hex::encode(&span.span_id),
            parent_span_id: hex::encode(&span.parent_span_id),
            name: span.name.clone(),
            attributes,
        });
    }
    // An empty ExportTraceServiceResponse.
    Vec::new()
}

/// Serves the receiver on a free loopback port; returns its base URL.
async fn otlp_receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind OTLP receiver");
    let addr = listener.local_addr().expect("receiver address");
    let app = Router::new().route("/v1/traces", post(receive)).with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await.expect("OTLP receiver") });
    format!("http://{addr}")
}

/// A `punctual worker` process that is killed when the test ends, however it ends.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

#[tokio::test]
async fn a_billing_run_is_one_trace_with_business_keys_on_its_activity_spans() {
    let env = TestEnv::start("tracing-export").await;
    let received = Received::default();
    let endpoint = otlp_receiver(received.clone()).await;
    let mut worker = Worker(env.spawn_worker_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)]));

    let customers: Vec<String> = (1..=30).map(demo_customer).filter(|c| c.timezone == TZ).map(|c| c.id.clone()).collect();
    let declined = (1..=30).map(demo_customer).filter(|c| c.timezone == TZ && c.payment_method == CARD_DECLINED).count();
    assert!(customers.len() > 1 && declined > 0, "demo data has customers in {TZ}, some declined");

    let run_key = keys::billing_run(TZ, DATE);
    let input = JsonInput::from(json!({"business_date": DATE, "timezone": TZ}));
    let options = WorkflowStartOptions::new(&env.task_queue, &run_key).build();
    let run = env.client.start_workflow(BillingRunWorkflow::run, input, options).await.expect("start billing run");
    let run_id = run.info().run_id.clone().expect("started run has a run id");
    run.get_result(WorkflowGetResultOptions::default()).await.expect("billing run result");

    // Stop the worker as Kubernetes would (SIGTERM): it drains, flushes every span still
    // buffered, then exits. After its exit the receiver holds all it will ever get.
    let pid = worker.0.id().to_string();
    let signalled = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(signalled.success(), "SIGTERM to the worker");
    let status = eventually("the worker to exit after SIGTERM", WAIT, async || worker.0.try_wait().expect("worker status")).await;
    assert!(status.success(), "worker exit after SIGTERM: {status}");
    let spans = received.lock().expect("receiver lock").clone();
    let activity_spans: Vec<&Span> = spans.iter().filter(|s| s.name == "activity").collect();
    let summary: Vec<_> = spans.iter().map(|s| (&s.name, s.attr("business_key"), &s.trace_id)).collect();

    // Every activity span carries its business key, workflow id, run id, type and attempt.
    for span in &activity_spans {
        for key in ["business_key", "workflow_id", "run_id", "activity_type", "attempt"] {
            assert!(!span.attr(key).is_empty(), "activity span without `{key}`: {span:#?}");
        }
    }
    // The bills: one span per customer, keyed like the activity ID, under the batch's workflow.
    let bill_keys: BTreeSet<&str> = activity_spans
        .iter()
        .filter(|s| s.attr("activity_type") == names::GENERATE_BILL_ACTIVITY)
        .map(|s| s.attr("business_key"))
        .collect();
    let expected: BTreeSet<String> = customers.iter().map(|c| keys::bill_activity(c, DATE)).collect();
    assert_eq!(bill_keys, expected.iter().map(String::as_str).collect(), "GenerateBill business keys");
    let batch_id = keys::billing_batch(TZ, DATE, &customers[0]);
    assert!(
        activity_spans
            .iter()
            .filter(|s| s.attr("activity_type") == names::GENERATE_BILL_ACTIVITY)
            .all(|s| s.attr("workflow_id") == batch_id),
        "GenerateBill spans name their batch {batch_id}: {activity_spans:#?}"
    );
    // The run's own activity names the run's workflow id and this very run id.
    let list = activity_spans
        .iter()
        .find(|s| s.attr("activity_type") == names::LIST_CUSTOMERS_ACTIVITY)
        .unwrap_or_else(|| panic!("no ListCustomersPage span: {summary:#?}"));
    assert_eq!((list.attr("workflow_id"), list.attr("run_id")), (run_key.as_str(), run_id.as_str()));
    // Saga steps (a grandchild workflow's activities) arrived too, keyed by invoice.
    let charges: Vec<_> = activity_spans.iter().filter(|s| s.attr("activity_type") == names::CHARGE_INVOICE_ACTIVITY).collect();
    assert!(!charges.is_empty(), "no ChargeInvoice spans: {summary:#?}");
    assert!(charges.iter().all(|s| s.attr("workflow_id").starts_with("payment/")), "{charges:#?}");

    // One trace: every span of the run (run, batch, sagas, all activities) shares its trace id,
    // and the run's span is the only root.
    let traces: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(traces.len(), 1, "spans spread over {} traces: {summary:#?}", traces.len());
    let roots: Vec<&str> = spans.iter().filter(|s| s.parent_span_id.is_empty()).map(|s| s.name.as_str()).collect();
    assert_eq!(roots, [format!("RunWorkflow:{}", names::BILLING_RUN_WORKFLOW)], "root spans");
    // The workflow spans carry the business key too.
    let run_span = spans
        .iter()
        .find(|s| s.name == format!("RunWorkflow:{}", names::BILLING_RUN_WORKFLOW))
        .unwrap_or_else(|| panic!("no span of the run's workflow: {summary:#?}"));
    assert_eq!((run_span.attr("business_key"), run_span.attr("run_id")), (run_key.as_str(), run_id.as_str()));

    // Each activity span hangs under the SDK's span of that activity execution.
    let ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    assert!(
        activity_spans.iter().all(|s| ids.contains(s.parent_span_id.as_str())),
        "activity spans whose parent never arrived: {summary:#?}"
    );
}
