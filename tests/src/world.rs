//! The outside world of one test: its own provider, sink and database, and how to read them.
//!
//! Effects are counted where the outside world sees them — the provider's and sink's own
//! records, the business tables — not through the ledger's view of itself.

use punctual_activities::BillingActivities;
use punctual_activities::ledger::Ledger;
use punctual_activities::outside::{ProviderClient, SinkClient};
use serde_json::Value;
use tokio::net::TcpListener;

/// Provider, sink and database of one test.
#[derive(Clone)]
pub struct World {
    /// The database URL (`sqlite://...` or `postgres://...`).
    pub database_url: String,
    /// Base URL of this test's payment provider.
    pub provider_url: String,
    /// Base URL of this test's notification sink.
    pub notify_url: String,
    /// The ledger over `database_url`.
    pub ledger: Ledger,
    http: reqwest::Client,
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    (listener, url)
}

impl World {
    /// Starts a provider and a sink on loopback (living as long as the test's runtime), opens the
    /// database and seeds `customers` demo customers.
    pub async fn start(database_url: String, customers: u32) -> Self {
        let (provider, provider_url) = bind().await;
        let (sink, notify_url) = bind().await;
        tokio::spawn(punctual_worker::sandbox::serve_provider(provider, std::future::pending()));
        tokio::spawn(punctual_worker::sandbox::serve_sink(sink, std::future::pending()));
        let ledger = Ledger::connect(&database_url).await.expect("open test database");
        punctual_activities::seed::seed_customers(&ledger, customers).await.expect("seed");
        Self { database_url, provider_url, notify_url, ledger, http: reqwest::Client::new() }
    }

    /// The billing activities wired to this world, as the worker builds them.
    pub fn billing_activities(&self) -> BillingActivities {
        self.billing_activities_at(&self.provider_url, &self.notify_url)
    }

    /// The billing activities with this world's database and these provider and sink URLs.
    pub fn billing_activities_at(&self, provider_url: &str, notify_url: &str) -> BillingActivities {
        BillingActivities::new(
            self.ledger.clone(),
            ProviderClient::new(provider_url).expect("provider client"),
            SinkClient::new(notify_url).expect("sink client"),
        )
    }

    /// Environment for a `punctual worker` subprocess reaching this world.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PUNCTUAL_DATABASE_URL", self.database_url.clone()),
            ("PUNCTUAL_PROVIDER_URL", self.provider_url.clone()),
            ("PUNCTUAL_NOTIFY_URL", self.notify_url.clone()),
        ]
    }

    async fn get(&self, url: String) -> Vec<Value> {
        let reply = self.http.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        reply.json().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// Every request the provider received, duplicates included.
    pub async fn provider_requests(&self) -> Vec<Value> {
        self.get(format!("{}/requests", self.provider_url)).await
    }

    /// Charges the provider actually made.
    pub async fn charges(&self) -> Vec<Value> {
        self.get(format!("{}/charges", self.provider_url)).await
    }

    /// Refunds the provider actually made.
    pub async fn refunds(&self) -> Vec<Value> {
        self.get(format!("{}/refunds", self.provider_url)).await
    }

    /// Notifications the sink actually delivered.
    pub async fn delivered(&self) -> Vec<Value> {
        self.get(format!("{}/delivered", self.notify_url)).await
    }

    /// Sets provider faults (`{"latency_ms":..,"fail_next":..,"drop_next":..}`).
    pub async fn provider_faults(&self, faults: Value) {
        let url = format!("{}/faults", self.provider_url);
        let reply = self.http.put(&url).json(&faults).send().await.expect("PUT /faults");
        assert!(reply.status().is_success(), "PUT {url}: {}", reply.status());
    }

    /// Makes every delivery fail at the sink (503, nothing committed) until [`World::deliver_again`].
    pub async fn fail_deliveries(&self) {
        let url = format!("{}/faults", self.notify_url);
        let reply = self.http.put(&url).json(&serde_json::json!({"fail_next": 1_000_000})).send().await.expect("PUT /faults");
        assert!(reply.status().is_success(), "PUT {url}: {}", reply.status());
    }

    /// Clears the sink's faults: deliveries succeed again.
    pub async fn deliver_again(&self) {
        let url = format!("{}/faults", self.notify_url);
        let reply = self.http.delete(&url).send().await.expect("DELETE /faults");
        assert!(reply.status().is_success(), "DELETE {url}: {}", reply.status());
    }

    /// `(invoice id, status)` of every invoice row, ordered by id.
    pub async fn invoices(&self) -> Vec<(String, String)> {
        sqlx::query_as("SELECT id, status FROM invoices ORDER BY id").fetch_all(self.ledger.pool()).await.expect("read invoices")
    }

    /// `(invoice id, void reason)` of every voided invoice, by id.
    pub async fn void_reasons(&self) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT id, void_reason FROM invoices WHERE status = 'void' ORDER BY id")
            .fetch_all(self.ledger.pool())
            .await
            .expect("read voided invoices")
    }

    /// Number of payment rows for `invoice`.
    pub async fn payments_for(&self, invoice: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE invoice_id = $1")
            .bind(invoice)
            .fetch_one(self.ledger.pool())
            .await
            .expect("count payments")
    }
}
