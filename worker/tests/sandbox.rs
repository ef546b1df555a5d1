//! The sandbox provider and notification sink over real HTTP, as punctual and the chaos verifier
//! see them: every count is exact, because a duplicate effect is precisely the bug they exist to
//! reveal.

use punctual_worker::sandbox::{serve_provider, serve_sink};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::{net::SocketAddr, pin::Pin};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinHandle,
};

/// A sandbox running on an ephemeral loopback port; dropping it stops the server.
struct Running {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// What the sandboxes wait on to stop.
type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

async fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

async fn provider() -> Running {
    provider_on(loopback().await)
}

fn provider_on(listener: TcpListener) -> Running {
    Running::start(listener, |listener, shutdown| tokio::spawn(serve_provider(listener, shutdown)))
}

async fn sink() -> Running {
    Running::start(loopback().await, |listener, shutdown| tokio::spawn(serve_sink(listener, shutdown)))
}

impl Running {
    fn start(listener: TcpListener, spawn: impl FnOnce(TcpListener, Shutdown) -> JoinHandle<std::io::Result<()>>) -> Self {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = spawn(listener, Box::pin(async move { stopped.await.unwrap_or_default() }));
        Self { base, client: reqwest::Client::new(), stop: Some(stop), server: Some(server) }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await
    }

    async fn get(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    async fn list(&self, path: &str) -> Vec<Value> {
        match self.get(path).await {
            Value::Array(items) => items,
            other => panic!("GET {path} is not an array: {other}"),
        }
    }

    async fn set_faults(&self, faults: Value) {
        let response = self.client.put(self.url("/faults")).json(&faults).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// Sends the request and reads the answer; panics on a transport error.
async fn answer(response: Result<reqwest::Response, reqwest::Error>) -> (StatusCode, bool, Value) {
    let response = response.expect("an HTTP response");
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|value| value == "true");
    (status, replayed, response.json().await.unwrap())
}

fn charge(invoice: &str, amount_cents: i64, payment_method: &str) -> Value {
    json!({
        "invoice_id": invoice,
        "customer_id": "cus_1",
        "amount_cents": amount_cents,
        "payment_method": payment_method,
    })
}

/// Opens a connection and writes one whole `Connection: close` POST, without reading the answer.
async fn send_raw(addr: SocketAddr, path: &str, key: &str, body: &Value) -> TcpStream {
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nIdempotency-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    socket
}

/// Everything the server sent on `socket` until it closed (EOF or reset alike).
async fn read_raw(mut socket: TcpStream) -> String {
    let mut received = Vec::new();
    let _eof_or_reset = socket.read_to_end(&mut received).await;
    String::from_utf8(received).unwrap()
}

fn field<'a>(items: &'a [Value], name: &str) -> Vec<&'a Value> {
    items.iter().map(|item| &item[name]).collect()
}

#[tokio::test]
async fn a_charge_succeeds_once_and_its_retry_is_replayed() {
    let provider = provider().await;
    let body = charge("inv_1", 1250, "pm_card_visa");

    let (status, replayed, first) = answer(provider.post("/charges", Some("charge-inv_1"), &body).await).await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    assert_eq!(first["object"], "charge");
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["amount_cents"], 1250);
    assert_eq!(first["refunded"], false);
    let (status, replayed, second) = answer(provider.post("/charges", Some("charge-inv_1"), &body).await).await;
    assert_eq!((status, replayed), (StatusCode::OK, true));
    assert_eq!(second, first);

    let charges = provider.list("/charges").await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["id"], first["id"]);
    assert_eq!(charges[0]["idempotency_key"], "charge-inv_1");
    let requests = provider.list("/requests").await;
    assert_eq!(field(&requests, "seq"), [&json!(1), &json!(2)]);
    assert_eq!(field(&requests, "replay"), [&json!(false), &json!(true)]);
    assert_eq!(field(&requests, "outcome"), [&json!("succeeded"), &json!("succeeded")]);
    assert_eq!(field(&requests, "charge_id"), [&first["id"], &first["id"]]);
    assert_eq!(requests[0]["endpoint"], "POST /charges");
    assert_eq!(requests[0]["invoice_id"], "inv_1");
    assert_eq!(requests[0]["status"], 200);
    let received_at = requests[0]["received_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(received_at).is_ok(), "{received_at}");
}

/// A provider that forgot a key (`forget_keys`, as Stripe after 24 hours) charges its retry
/// again: the double charge punctual must not make. Listing one invoice's charges is how a retry
/// finds the first.
#[tokio::test]
async fn a_forgotten_key_charges_again_and_an_invoices_charges_can_be_listed() {
    let provider = provider().await;
    provider.set_faults(json!({ "forget_keys": true })).await;
    for _ in 0..2 {
        let (status, replayed, _) =
            answer(provider.post("/charges", Some("charge-inv/1"), &charge("inv/1", 100, "pm_card_visa")).await).await;
        assert_eq!((status, replayed), (StatusCode::OK, false));
    }
    answer(provider.post("/charges", Some("charge-inv_2"), &charge("inv_2", 100, "pm_card_visa")).await).await;
    assert_eq!(provider.list("/charges").await.len(), 3);
    let of_one = provider.list("/charges?invoice_id=inv%2F1").await;
    assert_eq!(field(&of_one, "invoice_id"), [&json!("inv/1"), &json!("inv/1")]);
    assert_eq!(provider.list("/charges?invoice_id=nothing").await.len(), 0);
}

#[tokio::test]
async fn the_same_key_with_another_amount_is_refused_and_charges_nothing() {
    let provider = provider().await;
    let (status, ..) = answer(provider.post("/charges", Some("k"), &charge("inv_1", 1000, "pm_card_visa")).await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, replayed, body) =
        answer(provider.post("/charges", Some("k"), &charge("inv_1", 1001, "pm_card_visa")).await).await;
    assert_eq!((status, replayed), (StatusCode::BAD_REQUEST, false));
    assert_eq!(body["error"]["type"], "idempotency_error");

    let charges = provider.list("/charges").await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["amount_cents"], 1000);
    let requests = provider.list("/requests").await;
    assert_eq!(field(&requests, "outcome"), [&json!("succeeded"), &json!("idempotency_conflict")]);
    assert_eq!(requests[1]["charge_id"], Value::Null);
}

#[tokio::test]
async fn a_decline_is_a_stored_outcome_and_is_replayed() {
    let provider = provider().await;
    let body = charge("inv_1", 500, "pm_card_chargeDeclined");

    let (status, replayed, first) = answer(provider.post("/charges", Some("k"), &body).await).await;
    assert_eq!((status, replayed), (StatusCode::PAYMENT_REQUIRED, false));
    assert_eq!(first["error"]["type"], "card_error");
    assert_eq!(first["error"]["code"], "card_declined");
    assert!(first["error"]["message"].is_string());
    let (status, replayed, second) = answer(provider.post("/charges", Some("k"), &body).await).await;
    assert_eq!((status, replayed), (StatusCode::PAYMENT_REQUIRED, true));
    assert_eq!(second, first);

    assert_eq!(provider.list("/charges").await.len(), 0);
    let requests = provider.list("/requests").await;
    assert_eq!(field(&requests, "outcome"), [&json!("declined"), &json!("declined")]);
    assert_eq!(field(&requests, "status"), [&json!(402), &json!(402)]);
}

#[tokio::test]
async fn a_dropped_response_is_a_transport_error_and_the_retry_replays_the_committed_charge() {
    let provider = provider().await;
    provider.set_faults(json!({ "drop_next": 1 })).await;
    let body = charge("inv_1", 700, "pm_card_visa");

    let lost = provider.post("/charges", Some("k"), &body).await;
    let err = lost.expect_err("a dropped response must not reach the client");
    assert_eq!(err.status(), None, "{err}");
    let charges = provider.list("/charges").await;
    assert_eq!(charges.len(), 1, "the charge is committed although its response was lost");
    let requests = provider.list("/requests").await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["outcome"], "committed_response_dropped");
    assert_eq!(requests[0]["status"], Value::Null);
    assert_eq!(requests[0]["charge_id"], charges[0]["id"]);
    assert_eq!(provider.get("/faults").await["drop_next"], 0);

    let (status, replayed, retried) = answer(provider.post("/charges", Some("k"), &body).await).await;
    assert_eq!((status, replayed), (StatusCode::OK, true));
    assert_eq!(retried["id"], charges[0]["id"]);
    assert_eq!(provider.list("/charges").await.len(), 1);
    let requests = provider.list("/requests").await;
    assert_eq!(field(&requests, "replay"), [&json!(false), &json!(true)]);
}

#[tokio::test]
async fn a_dropped_response_sends_not_a_single_byte() {
    let provider = provider().await;
    provider.set_faults(json!({ "drop_next": 1 })).await;
    let addr = provider.base.trim_start_matches("http://").parse().unwrap();

    let socket = send_raw(addr, "/charges", "raw", &charge("inv_1", 100, "pm_card_visa")).await;
    assert_eq!(read_raw(socket).await, "", "not even a status line may reach the client");
    assert_eq!(provider.list("/charges").await.len(), 1);
}

/// A fault that refuses a POST before anything is looked at (`fault` armed once) answers
/// `status` with error `kind`, commits nothing and stores nothing to replay: the retry under the
/// same key executes.
async fn an_injected_refusal_commits_nothing(fault: &str, status: StatusCode, kind: &str, outcome: &str) {
    let provider = provider().await;
    provider.set_faults(json!({ fault: 1 })).await;
    let body = charge("inv_1", 900, "pm_card_visa");

    let (answered, replayed, refused) = answer(provider.post("/charges", Some("k"), &body).await).await;
    assert_eq!((answered, replayed), (status, false));
    assert_eq!(refused["error"]["type"], kind);
    assert_eq!(provider.list("/charges").await.len(), 0);

    let (answered, replayed, _) = answer(provider.post("/charges", Some("k"), &body).await).await;
    assert_eq!((answered, replayed), (StatusCode::OK, false), "a {status} stores nothing to replay");
    assert_eq!(provider.list("/charges").await.len(), 1);
    let requests = provider.list("/requests").await;
    assert_eq!(field(&requests, "outcome"), [&json!(outcome), &json!("succeeded")]);
    assert_eq!(field(&requests, "status"), [&json!(status.as_u16()), &json!(200)]);
}

#[tokio::test]
async fn an_injected_503_commits_nothing_and_the_retry_executes() {
    an_injected_refusal_commits_nothing("fail_next", StatusCode::SERVICE_UNAVAILABLE, "api_error", "injected_5xx").await;
}

/// A rate limit (429, as Stripe answers a burst) likewise.
#[tokio::test]
async fn an_injected_429_commits_nothing_and_the_retry_executes() {
    an_injected_refusal_commits_nothing("rate_limit_next", StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", "rate_limited")
        .await;
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_make_one_charge() {
    // All twenty requests are queued in the kernel before the server starts, so they arrive
    // together: the single-threaded runtime then interleaves their handlers at every await, and
    // any gap between "is this key new?" and "commit" would let several of them charge.
    let listener = loopback().await;
    let addr = listener.local_addr().unwrap();
    let body = charge("inv_1", 4200, "pm_card_visa");
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(send_raw(addr, "/charges", "same", &body).await);
    }
    let provider = provider_on(listener);
    let mut answers = Vec::new();
    for socket in sockets {
        answers.push(read_raw(socket).await);
    }

    let charges = provider.list("/charges").await;
    assert_eq!(charges.len(), 1);
    let charge_id = format!(r#""id":"{}""#, charges[0]["id"].as_str().unwrap());
    assert!(answers.iter().all(|raw| raw.starts_with("HTTP/1.1 200 ") && raw.contains(&charge_id)));
    let replayed = answers.iter().filter(|raw| raw.contains("idempotent-replayed: true")).count();
    assert_eq!(replayed, 19);
    let log = provider.list("/requests").await;
    assert_eq!(log.len(), 20);
    assert_eq!(log.iter().filter(|entry| entry["replay"] == false).count(), 1);
}

#[tokio::test]
async fn refunds_need_an_existing_charge_and_happen_once() {
    let provider = provider().await;
    let (status, _, missing) = answer(provider.post("/refunds", Some("r0"), &json!({ "charge_id": "ch_404" })).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "resource_missing");

    let (_, _, charged) = answer(provider.post("/charges", Some("c"), &charge("inv_1", 300, "pm_card_visa")).await).await;
    let refund = json!({ "charge_id": charged["id"] });
    let (status, replayed, refunded) = answer(provider.post("/refunds", Some("r1"), &refund).await).await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    assert_eq!(refunded["object"], "refund");
    assert_eq!(refunded["amount_cents"], 300);
    let (status, replayed, again) = answer(provider.post("/refunds", Some("r1"), &refund).await).await;
    assert_eq!((status, replayed, &again), (StatusCode::OK, true, &refunded));
    let (status, _, twice) = answer(provider.post("/refunds", Some("r2"), &refund).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(twice["error"]["code"], "charge_already_refunded");

    let refunds = provider.list("/refunds").await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["charge_id"], charged["id"]);
    let charges = provider.list("/charges").await;
    assert_eq!((&charges[0]["refunded"], &charges[0]["refund_id"]), (&json!(true), &refunded["id"]));
    let outcomes = field(&provider.list("/requests").await, "outcome").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(outcomes, ["not_found", "succeeded", "refunded", "refunded", "already_refunded"]);
}

#[tokio::test]
async fn requests_without_a_key_or_with_a_bad_body_are_rejected_without_effect() {
    let provider = provider().await;
    let (status, _, no_key) = answer(provider.post("/charges", None, &charge("inv_1", 100, "pm_card_visa")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(no_key["error"]["type"], "invalid_request_error");
    assert!(no_key["error"]["message"].as_str().unwrap().contains("Idempotency-Key"));

    let (status, _, unknown) = answer(provider.post("/charges", Some("a"), &charge("inv_1", 100, "pm_card_bogus")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(unknown["error"]["message"].as_str().unwrap().contains("pm_card_bogus"));
    let (status, ..) = answer(provider.post("/charges", Some("b"), &charge("inv_1", 0, "pm_card_visa")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, ..) = answer(provider.post("/charges", Some("c"), &json!({ "invoice_id": "inv_1" })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert_eq!(provider.list("/charges").await.len(), 0);
    let requests = provider.list("/requests").await;
    assert_eq!(field(&requests, "outcome"), [&json!("invalid"); 4]);
    assert_eq!(requests[0]["idempotency_key"], Value::Null);
    // A rejected request stores nothing: the corrected request may use the same key.
    let (status, replayed, _) = answer(provider.post("/charges", Some("a"), &charge("inv_1", 100, "pm_card_visa")).await).await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
}

#[tokio::test]
async fn faults_are_read_set_validated_and_reset_over_http() {
    let provider = provider().await;
    assert_eq!(
        provider.get("/faults").await,
        json!({ "latency_ms": 0, "fail_next": 0, "drop_next": 0, "rate_limit_next": 0, "forget_keys": false })
    );
    provider.set_faults(json!({ "fail_next": 2, "drop_next": 1 })).await;
    assert_eq!(
        provider.get("/faults").await,
        json!({ "latency_ms": 0, "fail_next": 2, "drop_next": 1, "rate_limit_next": 0, "forget_keys": false })
    );

    let typo = provider.client.put(provider.url("/faults")).json(&json!({ "fail_nxt": 1 })).send().await.unwrap();
    assert_eq!(typo.status(), StatusCode::BAD_REQUEST);
    let reset = provider.client.delete(provider.url("/faults")).send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(
        provider.get("/faults").await,
        json!({ "latency_ms": 0, "fail_next": 0, "drop_next": 0, "rate_limit_next": 0, "forget_keys": false })
    );
    assert_eq!(provider.get("/healthz").await["status"], "ok");
}

fn notification(message: &str) -> Value {
    json!({
        "invoice_id": "inv_1",
        "customer_id": "cus_1",
        "channel": "email",
        "kind": "payment_receipt",
        "message": message,
    })
}

#[tokio::test]
async fn the_sink_delivers_once_replays_and_refuses_a_changed_message() {
    let sink = sink().await;
    let (status, replayed, first) = answer(sink.post("/deliveries", Some("n1"), &notification("Paid")).await).await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    assert_eq!(first["id"], "dl_1");
    let (status, replayed, second) = answer(sink.post("/deliveries", Some("n1"), &notification("Paid")).await).await;
    assert_eq!((status, replayed, &second), (StatusCode::OK, true, &first));
    let (status, _, conflict) = answer(sink.post("/deliveries", Some("n1"), &notification("Paid!")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(conflict["error"]["type"], "idempotency_error");
    let (status, ..) = answer(sink.post("/deliveries", None, &notification("Paid")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let delivered = sink.list("/delivered").await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["idempotency_key"], "n1");
    let log = sink.list("/deliveries").await;
    let outcomes = [json!("delivered"), json!("delivered"), json!("idempotency_conflict"), json!("invalid")];
    assert_eq!(field(&log, "outcome"), outcomes.iter().collect::<Vec<_>>());
    assert_eq!(field(&log, "replay"), [&json!(false), &json!(true), &json!(false), &json!(false)]);
    assert_eq!(log[0]["channel"], "email");
    assert_eq!(log[0]["kind"], "payment_receipt");
}

#[tokio::test]
async fn the_sink_takes_the_same_faults() {
    let sink = sink().await;
    sink.set_faults(json!({ "fail_next": 1, "drop_next": 1 })).await;
    let (status, ..) = answer(sink.post("/deliveries", Some("n1"), &notification("Paid")).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sink.list("/delivered").await.len(), 0);
    assert!(sink.post("/deliveries", Some("n1"), &notification("Paid")).await.is_err());
    assert_eq!(sink.list("/delivered").await.len(), 1);
    let (status, replayed, _) = answer(sink.post("/deliveries", Some("n1"), &notification("Paid")).await).await;
    assert_eq!((status, replayed), (StatusCode::OK, true));
    assert_eq!(sink.list("/delivered").await.len(), 1);
    let outcomes = field(&sink.list("/deliveries").await, "outcome").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(outcomes, ["injected_5xx", "committed_response_dropped", "delivered"]);
}

#[tokio::test]
async fn a_sandbox_stops_cleanly_when_asked() {
    let mut provider = provider().await;
    assert_eq!(provider.get("/healthz").await["status"], "ok");
    provider.stop.take().unwrap().send(()).unwrap();
    let served = provider.server.take().unwrap().await.unwrap();
    assert!(served.is_ok(), "{served:?}");
}

/// A notification API that accepts with 202 or 204 and no body ("queued") has delivered: the
/// client takes it as such. Taken as "no answer", it was retried for ever under a key that could
/// only replay the same answer, holding a bulk page's receipts up with it.
#[tokio::test]
async fn a_sink_that_accepts_without_a_body_has_delivered() {
    let listener = loopback().await;
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/deliveries", axum::routing::post(|| async { StatusCode::NO_CONTENT }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sink = punctual_activities::outside::SinkClient::new(&base).unwrap();
    let delivered = sink.deliver("notify/INV-1/email", &json!({ "message": "paid" })).await;
    assert_eq!(delivered.unwrap(), "accepted (204 No Content)");
}
