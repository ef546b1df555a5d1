//! Talking to the run's payment provider and notification sink from outside: switching their
//! faults (`/faults`) and reading what they hold (`/charges`, `/refunds`, `/requests`,
//! `/delivered`) for the verifier.

use super::plan::Service;
use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Base URLs of both sandboxes, and one HTTP client.
#[derive(Debug, Clone)]
pub struct Sandboxes {
    /// The payment provider, `http://127.0.0.1:PORT`.
    pub provider: String,
    /// The notification sink.
    pub sink: String,
    http: reqwest::Client,
}

/// What a fault change does to the current settings.
#[derive(Debug, Clone, Copy)]
pub enum FaultChange {
    /// Add `n` to `drop_next`.
    Drop(u32),
    /// Add `n` to `fail_next`.
    Fail(u32),
    /// Set `latency_ms`.
    Latency(u64),
}

impl Sandboxes {
    /// Clients for the two services.
    pub fn new(provider: String, sink: String) -> Self {
        Self { provider, sink, http: reqwest::Client::new() }
    }

    fn base(&self, service: Service) -> &str {
        match service {
            Service::Provider => &self.provider,
            Service::Sink => &self.sink,
        }
    }

    /// Changes one setting and keeps the others: `PUT /faults` replaces them all, so the current
    /// ones are read first (the harness is the only writer).
    pub async fn change(&self, service: Service, change: FaultChange) -> anyhow::Result<Value> {
        let url = format!("{}/faults", self.base(service));
        let mut faults: Value = self.get_json(&url).await?;
        let add = |v: &Value, n: u32| json!(v.as_u64().unwrap_or(0) + u64::from(n));
        match change {
            FaultChange::Drop(n) => faults["drop_next"] = add(&faults["drop_next"], n),
            FaultChange::Fail(n) => faults["fail_next"] = add(&faults["fail_next"], n),
            FaultChange::Latency(ms) => faults["latency_ms"] = json!(ms),
        }
        let reply = self.http.put(&url).json(&faults).send().await.with_context(|| format!("PUT {url}"))?;
        if !reply.status().is_success() {
            bail!("PUT {url} answered {}: {}", reply.status(), reply.text().await.unwrap_or_default());
        }
        reply.json().await.with_context(|| format!("PUT {url}: reading the answer"))
    }

    /// Every fault off, on both services.
    pub async fn reset(&self) -> anyhow::Result<()> {
        for base in [&self.provider, &self.sink] {
            let url = format!("{base}/faults");
            let reply = self.http.delete(&url).send().await.with_context(|| format!("DELETE {url}"))?;
            if !reply.status().is_success() {
                bail!("DELETE {url} answered {}", reply.status());
            }
        }
        Ok(())
    }

    /// A JSON list the provider serves (`/charges`, `/refunds`, `/requests`).
    pub async fn provider_list(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        self.get_json(&format!("{}{path}", self.provider)).await
    }

    /// A JSON list the sink serves (`/delivered`, `/deliveries`).
    pub async fn sink_list(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        self.get_json(&format!("{}{path}", self.sink)).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let reply = self.http.get(url).send().await.with_context(|| format!("GET {url}"))?;
        if !reply.status().is_success() {
            bail!("GET {url} answered {}", reply.status());
        }
        reply.json().await.with_context(|| format!("GET {url}: reading JSON"))
    }
}
