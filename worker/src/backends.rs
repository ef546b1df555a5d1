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

    /// Ledger plus provider and sink clients, ready to register. A URL that cannot be called is
    /// refused here, naming its variable, before the ledger opens: otherwise the worker started
    /// and every charge failed and was retried with a bare "builder error".
    pub async fn billing_activities(&self) -> anyhow::Result<BillingActivities> {
        http_url("PUNCTUAL_PROVIDER_URL", &self.provider_url)?;
        http_url("PUNCTUAL_NOTIFY_URL", &self.notify_url)?;
        let ledger = self.ledger().await?;
        let provider =
            ProviderClient::new(&self.provider_url).with_context(|| format!("PUNCTUAL_PROVIDER_URL `{}`", self.provider_url))?;
        let sink = SinkClient::new(&self.notify_url).with_context(|| format!("PUNCTUAL_NOTIFY_URL `{}`", self.notify_url))?;
        Ok(BillingActivities::new(ledger, provider, sink))
    }
}

/// Checks that `value` (the setting `name`) is an absolute `http` or `https` URL with a host. The
/// value is not echoed: a real provider's URL may carry credentials.
fn http_url(name: &str, value: &str) -> anyhow::Result<()> {
    let url = reqwest::Url::parse(value)
        .map_err(|e| anyhow::anyhow!("{name} is not a URL ({e}); expected e.g. http://127.0.0.1:8081"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty()),
        "{name} must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8081 (got scheme `{}`)",
        url.scheme()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::http_url;

    #[test]
    fn only_absolute_http_urls_with_a_host_pass_and_the_error_names_the_variable() {
        for ok in ["http://127.0.0.1:8081", "https://provider.example.com/v1", "http://user:secret@host:1"] {
            http_url("PUNCTUAL_PROVIDER_URL", ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["not-a-url", "127.0.0.1:8081", "ftp://host/x", "file:///tmp/x", "http://", ""] {
            let err = http_url("PUNCTUAL_PROVIDER_URL", bad).expect_err(bad).to_string();
            assert!(err.starts_with("PUNCTUAL_PROVIDER_URL "), "{bad}: {err}");
        }
        let err = http_url("PUNCTUAL_NOTIFY_URL", "http://user:s3cret@").expect_err("no host").to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
