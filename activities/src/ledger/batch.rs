//! Many keys in one transaction: what lets a bulk step commit a page of effects at once.
//!
//! Each key keeps its own row, request hash and result, exactly as [`Ledger::once`] and
//! [`Ledger::claim_external`] record them, so a key made in a batch replays in a single call and
//! vice versa. What a batch shares is the transaction, and so the commit: on SQLite every commit
//! waits for the disk (4-8 ms here), which capped a page's step at ~150 keys a second when each
//! key committed alone. A batch is all-or-nothing like a single key: a crash or an outage midway
//! leaves none of its rows, and the retry performs them all again.

use super::Ledger;
use super::entry::EntryKind;
use super::error::{EffectError, LedgerError};
use super::external::{claim_in, complete_in, result_value};
use super::hash::request_hash;
use super::outcome::{Caller, Claim, Once};
use super::store::{failed, insert_claim, mark_done};
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::Any;
use sqlx::{AnyConnection, Transaction};

/// Local effects (kind a) of many keys in one transaction: [`LocalBatch::once`] each key (its
/// claim, effect and result), then [`LocalBatch::commit`], which also replays the keys that were
/// already made.
pub struct LocalBatch<'l> {
    ledger: &'l Ledger,
    tx: Transaction<'static, Any>,
    /// Keys claimed earlier (by another batch or a single call), with this call's request hash.
    existing: Vec<(String, String)>,
    /// Keys whose effect this batch made.
    performed: Vec<String>,
}

impl Ledger {
    /// Begins a batch of local effects: one write transaction (on SQLite, the file's write lock
    /// until [`LocalBatch::commit`]; keep the effects short).
    pub async fn local_batch(&self, what: &str) -> Result<LocalBatch<'_>, LedgerError> {
        let tx = self.begin_write(what, "beginning a batch for").await?;
        Ok(LocalBatch { ledger: self, tx, existing: Vec::new(), performed: Vec::new() })
    }

    /// Step 1 of [`Ledger::claim_external`] for many keys in one committed transaction: one
    /// claim per `(key, request)`, in order. An outage fails the whole batch (nothing is
    /// claimed); a key's own refusal (a conflicting request) is that key's `Err`.
    pub async fn claim_external_batch<R: DeserializeOwned>(
        &self,
        items: &[(String, serde_json::Value)],
        meta: &Caller,
    ) -> Result<Vec<Result<Claim<R>, LedgerError>>, LedgerError> {
        let what = format!("{} keys", items.len());
        let mut tx = self.begin_write(&what, "claiming").await?;
        let mut out = Vec::with_capacity(items.len());
        for (key, request) in items {
            out.push(kept_unless_outage(claim_in(&mut tx, key, &request_hash(request), meta).await)?);
        }
        tx.commit().await.map_err(failed("claiming", &what))?;
        Ok(out)
    }

    /// Step 2 of [`Ledger::complete_external`] for many claimed keys in one transaction.
    pub async fn complete_external_batch<R: Serialize>(
        &self,
        items: &[(String, R)],
    ) -> Result<Vec<Result<(), LedgerError>>, LedgerError> {
        let what = format!("{} keys", items.len());
        let mut tx = self.begin_write(&what, "completing").await?;
        let mut out = Vec::with_capacity(items.len());
        for (key, result) in items {
            let completed = match result_value(key, result) {
                Ok(value) => complete_in(&mut tx, key, &value).await,
                Err(err) => Err(err),
            };
            out.push(kept_unless_outage(completed)?);
        }
        tx.commit().await.map_err(failed("completing", &what))?;
        Ok(out)
    }
}

/// A key's outcome inside a batch: kept (a refusal is that key's), unless it is an outage, which
/// aborts the batch (the caller returns, dropping and so rolling back the transaction).
fn kept_unless_outage<T>(outcome: Result<T, LedgerError>) -> Result<Result<T, LedgerError>, LedgerError> {
    match outcome {
        Err(err) if err.is_retryable() => Err(err),
        outcome => Ok(outcome),
    }
}

impl LocalBatch<'_> {
    /// Claims `key` for `request`. `true`: the key is new, and its effect is to be made and
    /// [`LocalBatch::done`]; `false`: it was made before, and [`LocalBatch::commit`] replays it.
    async fn claim(&mut self, key: &str, request: &serde_json::Value, meta: &Caller) -> Result<bool, LedgerError> {
        let hash = request_hash(request);
        let new = insert_claim(&mut self.tx, key, EntryKind::Local, &hash, meta).await.map_err(failed("claiming", key))?;
        if !new {
            self.existing.push((key.to_owned(), hash));
        }
        Ok(new)
    }

    /// [`LocalBatch::claim`], the effect and [`LocalBatch::done`] for one key, under a savepoint
    /// of the batch's transaction, like [`Ledger::once`] for a single key:
    /// - `Ok(Ok(true))`: `effect` ran and its result is recorded (committed by
    ///   [`LocalBatch::commit`]); `Ok(Ok(false))`: the key was made before, and `commit` replays it;
    /// - `Ok(Err(refusal))`: `effect` failed for good (a permanent [`EffectError`], a violated
    ///   constraint, say). Its claim and rows roll back to the savepoint, the key stays free,
    ///   and the rest of the batch goes on: one customer's bad data must not hold up a page,
    ///   nor make the whole step retry forever;
    /// - `Err(..)`: anything retryable; the caller abandons the batch (dropping it rolls back).
    ///
    /// The savepoint is what lets the batch go on after a failed statement on PostgreSQL, which
    /// otherwise refuses every later statement of the transaction.
    pub async fn once<R, F>(
        &mut self,
        key: &str,
        request: &serde_json::Value,
        meta: &Caller,
        effect: F,
    ) -> Result<Result<bool, LedgerError>, LedgerError>
    where
        R: Serialize + Send,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<R, EffectError>> + Send,
    {
        self.statement("SAVEPOINT punctual_key", key).await?;
        if !self.claim(key, request, meta).await? {
            self.statement("RELEASE SAVEPOINT punctual_key", key).await?;
            return Ok(Ok(false));
        }
        match effect(&mut self.tx).await {
            Ok(result) => {
                self.done(key, &result).await?;
                self.statement("RELEASE SAVEPOINT punctual_key", key).await?;
                Ok(Ok(true))
            }
            Err(err) if err.is_retryable() => Err(LedgerError::Effect(err)),
            Err(err) => {
                tracing::warn!(key, error = %err, "effect refused; its rows rolled back, the rest of the batch goes on");
                self.statement("ROLLBACK TO SAVEPOINT punctual_key", key).await?;
                self.statement("RELEASE SAVEPOINT punctual_key", key).await?;
                Ok(Err(LedgerError::Effect(err)))
            }
        }
    }

    async fn statement(&mut self, sql: &str, key: &str) -> Result<(), LedgerError> {
        sqlx::query(sql).execute(&mut *self.tx).await.map_err(failed("claiming", key))?;
        Ok(())
    }

    /// Records the result of a claimed key's effect.
    async fn done<R: Serialize>(&mut self, key: &str, result: &R) -> Result<(), LedgerError> {
        let json = serde_json::to_string(result)
            .map_err(|e| LedgerError::Corrupt(format!("result of `{key}` cannot be stored as JSON: {e}")))?;
        if !mark_done(&mut self.tx, key, &json).await.map_err(failed("recording", key))? {
            return Err(LedgerError::Corrupt(format!("ledger row `{key}` vanished inside its own transaction")));
        }
        self.performed.push(key.to_owned());
        Ok(())
    }

    /// Commits every performed effect with its ledger row, then reads back the keys made before:
    /// `(key, Once::Replayed(result))`, or the key's refusal (a different request, say).
    pub async fn commit<R: DeserializeOwned>(self) -> Result<Vec<(String, Result<Once<R>, LedgerError>)>, LedgerError> {
        let what = format!("a batch of {} effects", self.performed.len());
        self.tx.commit().await.map_err(failed("committing", &what))?;
        for key in &self.performed {
            crate::metrics::effect(key, false);
        }
        tracing::info!(performed = self.performed.len(), replayed = self.existing.len(), "batch of effects committed");
        let mut replayed = Vec::with_capacity(self.existing.len());
        for (key, hash) in self.existing {
            let outcome = kept_unless_outage(self.ledger.replay_local(&key, &hash).await)?;
            replayed.push((key, outcome));
        }
        Ok(replayed)
    }
}
