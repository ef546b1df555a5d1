//! Settings for what the activities reach — the ledger database, the payment provider, the
//! notification sink — parsed once and turned into ready clients.

use anyhow::Context;
use clap::Args;
use punctual_activities::BillingActivities;
use punctual_activities::ledger::Ledger;
use punctual_activities::outside::{ProviderClient, SinkClient};

/// Where the effects go. All three have loopback defaults matching `make run`.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Ledger and business database: `sqlite://PATH` (one host) or `postgres://...` (a fleet).
    /// Never printed: it may hold a password.
    #[arg(long, env = "PUNCTUAL_DATABASE_URL", default_value = "sqlite://.data/ledger.db", hide_env_values = true)]
    pub database_url: String,

    /// Base URL of the payment provider. Its value is not shown in `--help`: a real provider's
    /// URL may carry credentials.
    #[arg(long, env = "PUNCTUAL_PROVIDER_URL", default_value = "http://127.0.0.1:8081", hide_env_values = true)]
    pub provider_url: String,

    /// Base URL of the notification sink (its value is not shown in `--help`, as above).
    #[arg(long, env = "PUNCTUAL_NOTIFY_URL", default_value = "http://127.0.0.1:8082", hide_env_values = true)]
    pub notify_url: String,
}

impl BackendArgs {
    /// Opens the ledger (running its migrations).
    pub async fn ledger(&self) -> anyhow::Result<Ledger> {
        Ledger::connect(&self.database_url).await.context("opening the ledger database (PUNCTUAL_DATABASE_URL)")
    }

    /// Ledger plus provider and sink clients, ready to register.
    pub async fn billing_activities(&self) -> anyhow::Result<BillingActivities> {
        let ledger = self.ledger().await?;
        let provider =
            ProviderClient::new(&self.provider_url).with_context(|| format!("PUNCTUAL_PROVIDER_URL `{}`", self.provider_url))?;
        let sink = SinkClient::new(&self.notify_url).with_context(|| format!("PUNCTUAL_NOTIFY_URL `{}`", self.notify_url))?;
        Ok(BillingActivities::new(ledger, provider, sink))
    }
}
