//! `punctual worker --metrics-addr`: one HTTP port for Prometheus and for probes.
//!
//! - `GET /metrics`: punctual's own metrics (`punctual_*`, see `punctual_activities::metrics`)
//!   followed by the Temporal SDK's worker metrics (`temporal_*`, see [`crate::sdk_metrics`]).
//! - `GET /healthz`: 200 while the process serves HTTP at all (liveness).
//! - `GET /readyz`: 200 once the worker is connected to Temporal and polling its task queue,
//!   503 before that (opening the database, dialling the server) and again once it drains on
//!   SIGTERM (readiness: a load balancer or rollout should not count it).
//!
//! The server starts before the worker connects, so a probe gets an answer while the worker is
//! still waiting for the database or the Temporal server.

use crate::sdk_metrics::SdkMetrics;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

/// Content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the worker is connected and polling; shared by the run loop and `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the worker polling (`true`) or not (`false`: starting, draining, stopped).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    /// Whether the worker is polling.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct Endpoint {
    sdk: Option<SdkMetrics>,
    readiness: Readiness,
}

/// The routes, for [`serve`] and for tests.
pub fn router(sdk: Option<SdkMetrics>, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(Endpoint { sdk, readiness })
}

/// Serves [`router`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    sdk: Option<SdkMetrics>,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(sdk, readiness)).with_graceful_shutdown(shutdown).await
}

/// Binds `addr` for the metrics endpoint, warning when it is reachable beyond this host.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "metrics endpoint listening beyond loopback: anyone who can reach it can read the worker's metrics");
    }
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    Ok(listener)
}

async fn metrics(State(endpoint): State<Endpoint>) -> Response {
    let mut text = punctual_activities::metrics::encode();
    if let Some(sdk) = &endpoint.sdk {
        match sdk.scrape().await {
            Ok(theirs) => text.push_str(&theirs),
            Err(err) => {
                // Ours are still worth serving; the gap is logged and marked in the text.
                tracing::warn!(error = %err, "Temporal SDK metrics unavailable for this scrape");
                text.push_str("# Temporal SDK metrics unavailable for this scrape\n");
            }
        }
    }
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], text).into_response()
}

async fn ready(State(endpoint): State<Endpoint>) -> Response {
    if endpoint.readiness.is_ready() {
        (StatusCode::OK, "ready: connected to Temporal and polling\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: starting, or draining after a shutdown signal\n").into_response()
    }
}
