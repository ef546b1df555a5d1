//! Heartbeats around an effect, so a dead worker's attempt is given to another worker after the
//! heartbeat timeout (seconds) instead of the start-to-close timeout (half a minute).
//!
//! The effect activities are short: most finish before the SDK would send any heartbeat at all
//! (it throttles them to one per 80 % of the timeout), so a healthy run costs the server nothing
//! extra. A slow provider call, a ledger waiting on a lock or a retried database connection keep
//! the attempt alive by beating; a SIGKILLed worker, or one cut off the network, stops beating
//! and the server retries the activity elsewhere. The ledger makes the overlap harmless: if the
//! cut-off attempt still finishes its call, the new attempt finds the key and replays it.

use std::future::Future;
use std::time::Duration;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// How often the attempt reports it is alive; well under the workflows' heartbeat timeout.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);

/// Runs `effect`, heartbeating every [`BEAT_EVERY`] until it finishes, or until the attempt is
/// cancelled: the worker is shutting down and its grace (`PUNCTUAL_SHUTDOWN_GRACE`) has run out,
/// the server no longer knows the attempt (its heartbeat timed out: another attempt may already
/// run), or its workflow asked. Then the effect is dropped where it stands, which is what a
/// killed worker does to it anyway: the ledger's claim and the provider's idempotency key make the
/// next attempt finish it once. Without this a long effect (a bulk step over hundreds of
/// customers) ran on past the grace and held the worker's exit for as long as it took.
pub async fn while_running<T>(
    ctx: &ActivityContext,
    effect: impl Future<Output = Result<T, ActivityError>>,
) -> Result<T, ActivityError> {
    tokio::pin!(effect);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + BEAT_EVERY, BEAT_EVERY);
    loop {
        tokio::select! {
            done = &mut effect => return done,
            () = ctx.cancelled() => {
                tracing::warn!("attempt cancelled (shutdown grace over, heartbeat lost or cancel requested): effect stopped, the next attempt resumes it");
                return Err(ActivityError::cancelled());
            }
            _ = ticks.tick() => {
                // A heartbeat that cannot be serialised is only a lost beat: the effect goes on,
                // and at worst the attempt is retried elsewhere (the ledger replays it).
                if let Err(err) = ctx.record_heartbeat(()).await {
                    tracing::warn!(error = %err, "could not record a heartbeat");
                }
            }
        }
    }
}
