//! Kinds (b) and (c): effects outside our database. The ledger records intent (a committed
//! `claimed` row) before the call and the outcome (`done` with its result) after it.
//!
//! Neither step can span the call itself, so a crash between them leaves the key `claimed`. What
//! the retry then does is the caller's choice, made explicit by [`Claim::Proceed`]'s
//! `first_attempt`: call again with the same idempotency key (kind b, exactly once at the
//! provider), or refuse (kind c, at most once) and leave the key for a reconciler.

use super::Ledger;
use super::entry::{EntryKind, EntryStatus, now_text};
use super::error::LedgerError;
use super::hash::request_hash;
use super::outcome::{Caller, Claim};
use super::store::{check_reuse, failed, insert_claim, select_entry};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::AnyConnection;

impl Ledger {
    /// Step 1: records the intent to make an external call for `key`, in its own committed
    /// transaction.
    ///
    /// Returns [`Claim::Done`] with the recorded result if the call already completed (replay;
    /// a different request is [`LedgerError::Conflict`]), else [`Claim::Proceed`] with whether
    /// this is the first claim and how many claims there have been, this one included.
    pub async fn claim_external<R: DeserializeOwned>(
        &self,
        key: &str,
        request: &serde_json::Value,
        meta: &Caller,
    ) -> Result<Claim<R>, LedgerError> {
        let mut tx = self.begin_write(key, "claiming").await?;
        let claim = claim_in(&mut tx, key, &request_hash(request), meta).await;
        if claim.as_ref().is_err_and(LedgerError::is_retryable) {
            return claim; // dropping the transaction rolls it back
        }
        tx.commit().await.map_err(failed("claiming", key))?;
        claim
    }

    /// Step 2: records the outcome of the external call for a claimed `key`.
    ///
    /// Idempotent: recording the same result again is fine. A different result for a key that
    /// is already done is [`LedgerError::ResultMismatch`] (results are never overwritten); a key
    /// never claimed is [`LedgerError::NotClaimed`].
    pub async fn complete_external<R: Serialize>(&self, key: &str, result: &R) -> Result<(), LedgerError> {
        let value = result_value(key, result)?;
        let mut tx = self.begin_write(key, "completing").await?;
        let completed = complete_in(&mut tx, key, &value).await;
        if completed.as_ref().is_err_and(LedgerError::is_retryable) {
            return completed;
        }
        tx.commit().await.map_err(failed("completing", key))?;
        completed
    }
}

/// `result` as the JSON the ledger stores.
pub(super) fn result_value<R: Serialize>(key: &str, result: &R) -> Result<serde_json::Value, LedgerError> {
    serde_json::to_value(result).map_err(|e| LedgerError::Corrupt(format!("result of `{key}` cannot be stored as JSON: {e}")))
}

/// [`Ledger::claim_external`] inside the caller's write transaction, which the caller commits
/// (a retryable error means the transaction must be rolled back instead).
pub(super) async fn claim_in<R: DeserializeOwned>(
    tx: &mut AnyConnection,
    key: &str,
    hash: &str,
    meta: &Caller,
) -> Result<Claim<R>, LedgerError> {
    if insert_claim(tx, key, EntryKind::External, hash, meta).await.map_err(failed("claiming", key))? {
        tracing::debug!(key, "external effect claimed");
        crate::metrics::external_claim(key, "first");
        return Ok(Claim::Proceed { first_attempt: true, attempts: 1 });
    }
    let again: Option<i64> = sqlx::query_scalar(
        "UPDATE ledger_entries SET attempts = attempts + 1, last_attempt = $3, last_claimed_at = $4 \
         WHERE key = $1 AND kind = 'external' AND status = 'claimed' AND request_hash = $2 \
         RETURNING attempts",
    )
    .bind(key)
    .bind(hash)
    .bind(i64::from(meta.attempt))
    .bind(now_text())
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed("claiming", key))?;
    if let Some(attempts) = again {
        let attempts =
            u32::try_from(attempts).map_err(|_| LedgerError::Corrupt(format!("ledger row `{key}` has {attempts} attempts")))?;
        tracing::info!(key, attempts, attempt = meta.attempt, "external effect claimed again without an outcome");
        crate::metrics::external_claim(key, "repeated");
        return Ok(Claim::Proceed { first_attempt: false, attempts });
    }
    // Not a claimed external row with this request: done, or a misuse of the key.
    let entry = select_entry(tx, key)
        .await?
        .ok_or_else(|| LedgerError::Corrupt(format!("ledger row `{key}` conflicted on insert but cannot be read")))?;
    check_reuse(&entry, EntryKind::External, hash)?;
    match entry.status {
        EntryStatus::Done => {
            tracing::info!(key, "external effect already recorded; replaying");
            crate::metrics::external_claim(key, "done");
            crate::metrics::effect(key, true);
            Ok(Claim::Done(entry.decode_result()?))
        }
        EntryStatus::Claimed => {
            Err(LedgerError::Corrupt(format!("ledger row `{key}` is claimed but could not be claimed again")))
        }
    }
}

/// [`Ledger::complete_external`] inside the caller's write transaction, which the caller
/// commits (a retryable error means the transaction must be rolled back instead).
pub(super) async fn complete_in(tx: &mut AnyConnection, key: &str, value: &serde_json::Value) -> Result<(), LedgerError> {
    let marked = sqlx::query(
        "UPDATE ledger_entries SET status = 'done', result = $2, completed_at = $3 \
         WHERE key = $1 AND kind = 'external' AND status = 'claimed'",
    )
    .bind(key)
    .bind(value.to_string())
    .bind(now_text())
    .execute(&mut *tx)
    .await
    .map_err(failed("completing", key))?
    .rows_affected();
    if marked == 1 {
        tracing::info!(key, "external effect recorded");
        crate::metrics::effect(key, false);
        return Ok(());
    }
    let Some(entry) = select_entry(tx, key).await? else {
        return Err(LedgerError::NotClaimed { key: key.to_owned() });
    };
    if entry.kind != EntryKind::External {
        return Err(LedgerError::KindMismatch {
            key: key.to_owned(),
            stored: entry.kind.as_str().to_owned(),
            requested: EntryKind::External.as_str(),
        });
    }
    match entry.result {
        Some(stored) if stored == *value => Ok(()),
        Some(_) => Err(LedgerError::ResultMismatch { key: key.to_owned() }),
        None => Err(LedgerError::Corrupt(format!("ledger row `{key}` is claimed but could not be completed"))),
    }
}
