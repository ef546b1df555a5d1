//! One POST from arrival to answer, the same for every sandbox, so the provider and the sink differ
//! only in what their [`Operation`]s do.
//!
//! Order: injected latency (outside the lock), then under one lock: injected 503, idempotency
//! key check, body check, replay or conflict, execution and commit, the log entry, and finally
//! whether the response is dropped. Everything from the key lookup to the commit happens under
//! that lock with no `.await` in between, so concurrent requests with one key make one effect and
//! a cancelled request cannot leave half a commit.

use super::{
    answer::{Answer, lost_response},
    faults::Faults,
    idempotency::{IdempotencyStore, Lookup, fingerprint},
    request_log::{LogEntry, Outcome, RequestLog},
};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use chrono::Utc;
use serde::{Serialize, de::DeserializeOwned};
use std::sync::{Arc, Mutex, PoisonError};

/// Longest idempotency key accepted, as at Stripe.
const MAX_KEY_LEN: usize = 255;

/// A POST endpoint's request body and what executing it does to the sandbox's ledger.
pub(crate) trait Operation: DeserializeOwned + Serialize + Send + 'static {
    /// The sandbox's effects (charges, deliveries...).
    type Ledger: Send + 'static;
    /// The service's own request-log fields.
    type Fields: Serialize + Clone + Default + Send + 'static;
    /// `"POST /charges"` and the like; part of the idempotency fingerprint.
    const ENDPOINT: &'static str;

    /// Log fields known from the request alone.
    fn fields(&self) -> Self::Fields;

    /// Executes the request made under idempotency `key`. `Ok` answers, success or business
    /// failure such as a decline, are stored and replayed for the key; `Err` answers reject the
    /// request before anything happened and are not stored, so a corrected retry may run.
    fn execute(&self, key: &str, ledger: &mut Self::Ledger) -> Result<Answer<Self::Fields>, Answer<Self::Fields>>;
}

/// One sandbox's whole state, in memory behind one lock: a restart forgets it all.
#[derive(Debug)]
pub(crate) struct Sandbox<L, F> {
    name: &'static str,
    inner: Mutex<Inner<L, F>>,
}

#[derive(Debug)]
struct Inner<L, F> {
    faults: Faults,
    keys: IdempotencyStore<F>,
    log: RequestLog<F>,
    ledger: L,
}

impl<L: Default, F> Sandbox<L, F> {
    /// An empty sandbox called `name` in logs.
    pub(crate) fn new(name: &'static str) -> Arc<Self> {
        let inner = Inner {
            faults: Faults::default(),
            keys: IdempotencyStore::default(),
            log: RequestLog::default(),
            ledger: L::default(),
        };
        Arc::new(Self { name, inner: Mutex::new(inner) })
    }
}

impl<L, F> Sandbox<L, F> {
    /// The sandbox's name in logs.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<L, F>> {
        // No code panics while holding the lock; if some did, the state is still consistent
        // because every change is made in one synchronous step.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current fault settings.
    pub(crate) fn faults(&self) -> Faults {
        self.lock().faults
    }

    /// Replaces the fault settings.
    pub(crate) fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Reads the ledger.
    pub(crate) fn read_ledger<T>(&self, read: impl FnOnce(&L) -> T) -> T {
        read(&self.lock().ledger)
    }
}

impl<L, F: Serialize> Sandbox<L, F> {
    /// The request log as a JSON array, fields in declaration order (`seq` first).
    pub(crate) fn log_json(&self) -> String {
        // Serialising strings, integers and timestamps cannot fail.
        serde_json::to_string(self.lock().log.entries()).unwrap_or_default()
    }
}

/// The axum handler of a POST endpoint executing `Op`.
pub(crate) async fn handle<Op: Operation>(
    State(sandbox): State<Arc<Sandbox<Op::Ledger, Op::Fields>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received_at = Utc::now();
    let latency = sandbox.faults().latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let key = idempotency_key(&headers);
    let request = serde_json::from_slice::<Op>(&body);
    let mut inner = sandbox.lock();
    let (answer, replay) = inner.decide(&key, request);
    let dropped = answer.outcome != Outcome::Injected5xx && inner.faults.take_drop();
    let entry = LogEntry {
        endpoint: Op::ENDPOINT,
        idempotency_key: key.ok(),
        fields: answer.fields.clone(),
        received_at,
        outcome: if dropped { Outcome::CommittedResponseDropped } else { answer.outcome },
        replay,
        status: (!dropped).then_some(answer.status.as_u16()),
    };
    tracing::info!(
        sandbox = sandbox.name(),
        endpoint = entry.endpoint,
        idempotency_key = entry.idempotency_key.as_deref(),
        outcome = ?entry.outcome,
        replay,
        status = entry.status,
        "request"
    );
    inner.log.record(entry);
    drop(inner);
    if dropped { lost_response() } else { answer.into_response(replay) }
}

/// Why the `Idempotency-Key` header cannot be used: error code and message.
type KeyProblem = (&'static str, &'static str);

fn idempotency_key(headers: &HeaderMap) -> Result<String, KeyProblem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Err(("idempotency_key_missing", "the Idempotency-Key header is required"));
    };
    match value.to_str() {
        Ok(key) if !key.trim().is_empty() && key.len() <= MAX_KEY_LEN => Ok(key.to_owned()),
        _ => Err(("idempotency_key_invalid", "the Idempotency-Key header must be 1 to 255 visible ASCII characters")),
    }
}

impl<L, F: Clone + Default> Inner<L, F> {
    /// The answer to one request and whether it is a replay; commits what the request does.
    fn decide<Op: Operation<Ledger = L, Fields = F>>(
        &mut self,
        key: &Result<String, KeyProblem>,
        request: Result<Op, serde_json::Error>,
    ) -> (Answer<F>, bool) {
        let fields = request.as_ref().map(Op::fields).unwrap_or_default();
        if let Some((status, kind, code, message, outcome)) = injected_fault(&mut self.faults) {
            return (Answer::error(status, kind, code, message, outcome, fields), false);
        }
        let key = match key {
            Ok(key) => key,
            Err((code, message)) => return (Answer::invalid(code, *message, fields), false),
        };
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                let message = format!("invalid request body: {err}");
                return (Answer::invalid("parameter_invalid", message, fields), false);
            }
        };
        let fingerprint = fingerprint(Op::ENDPOINT, &request);
        match self.keys.lookup(key, &fingerprint) {
            Lookup::Replay(stored) => return (stored.clone(), true),
            Lookup::Conflict => return (conflict(key, fields), false),
            Lookup::New => {}
        }
        match request.execute(key, &mut self.ledger) {
            Ok(answer) => {
                // `forget_keys`: the key is not kept, as if it had expired before any retry.
                if !self.faults.forget_keys {
                    self.keys.remember(key.clone(), fingerprint, answer.clone());
                }
                (answer, false)
            }
            Err(rejected) => (rejected, false),
        }
    }
}

/// The answer of a fault that refuses a POST before anything is looked at or committed, if one
/// is armed (using it up): status, error type, code, message and log outcome.
fn injected_fault(faults: &mut Faults) -> Option<(StatusCode, &'static str, &'static str, &'static str, Outcome)> {
    if faults.take_fail() {
        let message = "injected fault (fail_next): nothing was committed; retry the request";
        return Some((StatusCode::SERVICE_UNAVAILABLE, "api_error", "service_unavailable", message, Outcome::Injected5xx));
    }
    if faults.take_rate_limit() {
        let message = "injected fault (rate_limit_next): too many requests hit the API too quickly; nothing was committed";
        return Some((StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", "rate_limit", message, Outcome::RateLimited));
    }
    None
}

fn conflict<F>(key: &str, fields: F) -> Answer<F> {
    let message = format!(
        "Keys for idempotent requests can only be used with the same parameters they were first \
         used with. Try using a key other than '{key}' if you meant to execute a different request."
    );
    Answer::error(
        StatusCode::BAD_REQUEST,
        "idempotency_error",
        "idempotency_key_reused",
        message,
        Outcome::IdempotencyConflict,
        fields,
    )
}
