//! One way to reach Temporal: the SDK's environment configuration, retried for a bounded time.
//!
//! `ClientOptions::load_from_config` reads exactly what the `temporal` CLI reads
//! (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`,
//! `TEMPORAL_PROFILE` and `temporal.toml`), so a worker and the CLI pointed at the same
//! environment always talk to the same cluster. The API key and TLS material are never logged:
//! only the address and namespace are.
//!
//! Every client made here carries punctual's payload codec ([`crate::codec`]), configured from
//! `PUNCTUAL_PAYLOAD_KEY*`: the worker and each `punctual` command encrypt and decrypt alike, so
//! turning encryption on for one turns it on for all.

use crate::codec::{EncryptionCodec, KeyError, KeyRing};
use std::time::Duration;
use temporalio_client::{
    Client, ClientOptions, ConnectionOptions, GrpcCompression,
    envconfig::{ConfigError, LoadClientConfigProfileOptions},
};
use tokio::time::Instant;

/// First pause between connection attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The TEMPORAL_* variables or the temporal.toml profile are malformed. (The SDK's error is
    /// not `Send`, so its text is kept.)
    #[error("invalid Temporal connection settings (TEMPORAL_* variables or temporal.toml): {0}")]
    Config(String),
    /// The PUNCTUAL_PAYLOAD_KEY* variables are malformed (the message names which, never a key).
    // Its text is in the message, so it is not also a `source`: `{:#}` would print it twice.
    #[error("invalid payload encryption settings: {0}")]
    PayloadKeys(KeyError),
    /// Nothing answered at the address for the whole retry window.
    #[error(
        "no Temporal server answered at {address} (namespace `{namespace}`) within {waited:?}: \
         {last_error}. Start a local one with `make run` (or `temporal server start-dev`), \
         or point TEMPORAL_ADDRESS at your cluster"
    )]
    Unreachable { address: String, namespace: String, waited: Duration, last_error: String },
    /// PUNCTUAL_GRPC_COMPRESSION holds something else than `gzip` or `none`.
    #[error("PUNCTUAL_GRPC_COMPRESSION=`{0}`: expected `gzip` or `none`")]
    Compression(String),
}

/// Environment variable choosing the gRPC compression of every connection to Temporal.
pub const GRPC_COMPRESSION_ENV: &str = "PUNCTUAL_GRPC_COMPRESSION";

/// Reads [`GRPC_COMPRESSION_ENV`]: `none` (the default) or `gzip`.
///
/// Why not the SDK's default (gzip): the SDK builds a fresh deflate compressor, ~300 KB of
/// zeroed buffers, for every request, and the server must inflate each one and deflate its
/// reply. `make bench` measured that as the single largest cost of a worker next to the server
/// it talks to (see BENCHMARKS.md). Gzip pays off only on slow links with big payloads: set
/// `gzip` for Temporal Cloud over a thin WAN link if bandwidth, not CPU, is what you pay for.
pub fn grpc_compression(value: Option<&str>) -> Result<GrpcCompression, ConnectError> {
    match value.map(str::trim) {
        None | Some("") => Ok(GrpcCompression::None),
        Some(v) if v.eq_ignore_ascii_case("none") => Ok(GrpcCompression::None),
        Some(v) if v.eq_ignore_ascii_case("gzip") => Ok(GrpcCompression::Gzip),
        Some(other) => Err(ConnectError::Compression(other.to_owned())),
    }
}

/// Connection settings resolved from the environment, ready to dial.
#[derive(Clone)]
pub struct TemporalTarget {
    connection: ConnectionOptions,
    client: ClientOptions,
    /// Id of the key new payloads are encrypted with; `None` when encryption is off.
    payload_key_id: Option<String>,
}

impl std::fmt::Debug for TemporalTarget {
    // Deliberately not derived: ConnectionOptions holds the API key and TLS keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporalTarget")
            .field("address", &self.address())
            .field("namespace", &self.namespace())
            .field("payload_key_id", &self.payload_key_id)
            .finish_non_exhaustive()
    }
}

impl TemporalTarget {
    /// Reads the standard Temporal environment configuration and punctual's payload keys.
    pub fn from_env() -> Result<Self, ConnectError> {
        let (mut connection, mut client) = ClientOptions::load_from_config(LoadClientConfigProfileOptions::default())
            .map_err(|err: ConfigError| ConnectError::Config(err.to_string()))?;
        connection.grpc_compression = grpc_compression(std::env::var(GRPC_COMPRESSION_ENV).ok().as_deref())?;
        let keys = KeyRing::from_env().map_err(ConnectError::PayloadKeys)?;
        let payload_key_id = keys.current_id().map(str::to_owned);
        // Installed even without keys: then it passes everything through, but an encrypted
        // payload fails with an error naming PUNCTUAL_PAYLOAD_KEY instead of as unreadable JSON.
        client.data_converter = EncryptionCodec::data_converter(keys);
        Ok(Self { connection, client, payload_key_id })
    }

    /// Id of the key new payloads are encrypted with, safe to print; `None` when off.
    pub fn payload_key_id(&self) -> Option<&str> {
        self.payload_key_id.as_deref()
    }

    /// The server address, safe to print.
    pub fn address(&self) -> String {
        let url = &self.connection.target;
        match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => url.to_string(),
        }
    }

    /// The namespace this worker serves.
    pub fn namespace(&self) -> &str {
        &self.client.namespace
    }

    /// Dials until the server answers or `timeout` has passed, backing off between attempts.
    pub async fn connect(&self, timeout: Duration) -> Result<Client, ConnectError> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            match Client::connect(self.connection.clone(), self.client.clone()).await {
                Ok(client) => return Ok(client),
                Err(err) => {
                    let waited = started.elapsed();
                    let Some(pause) = next_pause(waited, backoff, timeout) else {
                        return Err(ConnectError::Unreachable {
                            address: self.address(),
                            namespace: self.namespace().to_owned(),
                            waited,
                            last_error: err.to_string(),
                        });
                    };
                    tracing::warn!(
                        address = %self.address(),
                        retry_in_ms = pause.as_millis() as u64,
                        error = %err,
                        "Temporal server not reachable yet"
                    );
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// The pause before the next dial, or `None` once `timeout` has passed. The last pause is cut
/// to what is left, so the last dial happens at the timeout: giving up when the next full
/// backoff would overshoot gave up after 7.75 s of a 10 s timeout.
fn next_pause(waited: Duration, backoff: Duration, timeout: Duration) -> Option<Duration> {
    let left = timeout.checked_sub(waited).filter(|left| !left.is_zero())?;
    Some(backoff.min(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dials that fail at once: the pauses add up to the whole timeout, then it gives up.
    #[test]
    fn the_dialling_lasts_the_whole_timeout() {
        for secs in [1, 2, 10, 30, 61] {
            let timeout = Duration::from_secs(secs);
            let (mut waited, mut backoff, mut dials) = (Duration::ZERO, FIRST_BACKOFF, 1);
            while let Some(pause) = next_pause(waited, backoff, timeout) {
                waited += pause;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                dials += 1;
            }
            assert_eq!(waited, timeout, "{secs}s timeout");
            assert!(dials >= 2, "{secs}s timeout: {dials} dials");
        }
        assert_eq!(next_pause(Duration::from_secs(11), FIRST_BACKOFF, Duration::from_secs(10)), None);
    }

    #[test]
    fn compression_defaults_to_none_and_names_a_bad_value() {
        assert_eq!(grpc_compression(None).unwrap(), GrpcCompression::None);
        assert_eq!(grpc_compression(Some("")).unwrap(), GrpcCompression::None);
        assert_eq!(grpc_compression(Some("GZIP")).unwrap(), GrpcCompression::Gzip);
        assert_eq!(grpc_compression(Some(" none ")).unwrap(), GrpcCompression::None);
        let err = grpc_compression(Some("zstd")).unwrap_err().to_string();
        assert!(err.contains("PUNCTUAL_GRPC_COMPRESSION") && err.contains("zstd") && err.contains("gzip"), "{err}");
    }
}
