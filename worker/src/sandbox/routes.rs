//! What every sandbox serves besides its own POSTs (`/healthz`, `/faults` and its request log)
//! and how a sandbox runs until shutdown.

use super::{answer::Answer, exchange::Sandbox, faults::Faults};
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::header::CONTENT_TYPE,
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};
use serde::Serialize;
use serde_json::json;
use std::{future::Future, sync::Arc};
use tokio::net::TcpListener;

/// `/healthz`, `/faults` and the request log at `log_path` (`GET` only).
pub(crate) fn common_routes<L, F>(log_path: &str) -> Router<Arc<Sandbox<L, F>>>
where
    L: Send + 'static,
    F: Serialize + Send + 'static,
{
    Router::new()
        .route("/healthz", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/faults", get(get_faults).put(put_faults).delete(reset_faults))
        .route(log_path, get(request_log))
}

/// A `GET` route answering with what `read` takes from the ledger (the effects made).
pub(crate) fn ledger_view<L, F, T>(read: fn(&L) -> T) -> MethodRouter<Arc<Sandbox<L, F>>>
where
    L: Send + 'static,
    F: Send + 'static,
    T: Serialize + 'static,
{
    get(move |State(sandbox): State<Arc<Sandbox<L, F>>>| async move { Json(sandbox.read_ledger(read)) })
}

/// Serves a fresh, empty sandbox called `name` with `routes` on `listener` until `shutdown`
/// resolves, then lets in-flight requests finish.
pub(crate) async fn serve<L, F>(
    name: &'static str,
    routes: Router<Arc<Sandbox<L, F>>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Default + Send + 'static,
    F: Send + 'static,
{
    let router = routes.with_state(Sandbox::new(name));
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        let warning = "listening beyond loopback: anyone who can reach it can change its faults";
        tracing::warn!(sandbox = name, %addr, "{warning}");
    }
    tracing::info!(sandbox = name, %addr, "listening");
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await?;
    tracing::info!(sandbox = name, "stopped");
    Ok(())
}

async fn get_faults<L, F>(State(sandbox): State<Arc<Sandbox<L, F>>>) -> Json<Faults> {
    Json(sandbox.faults())
}

async fn put_faults<L, F>(State(sandbox): State<Arc<Sandbox<L, F>>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            sandbox.set_faults(faults);
            tracing::info!(sandbox = sandbox.name(), ?faults, "faults set");
            Json(faults).into_response()
        }
        Err(err) => {
            let message = format!("invalid faults (latency_ms, fail_next, drop_next): {err}");
            Answer::invalid("parameter_invalid", message, ()).into_response(false)
        }
    }
}

async fn reset_faults<L, F>(State(sandbox): State<Arc<Sandbox<L, F>>>) -> Json<Faults> {
    sandbox.set_faults(Faults::default());
    tracing::info!(sandbox = sandbox.name(), "faults reset");
    Json(Faults::default())
}

async fn request_log<L, F: Serialize>(State(sandbox): State<Arc<Sandbox<L, F>>>) -> Response {
    ([(CONTENT_TYPE, "application/json")], sandbox.log_json()).into_response()
}
