//! Kind (a): effects that are rows in our own database, made exactly once by putting the ledger
//! row and the effect's rows in one transaction.
//!
//! Claim, effect and result commit together or not at all. A worker killed midway leaves an
//! uncommitted transaction, which the database discards: no ledger row, no effect rows, and the
//! retry performs the effect from scratch.

use super::Ledger;
use super::entry::{EntryKind, EntryStatus};
use super::error::{EffectError, LedgerError};
use super::hash::request_hash;
use super::outcome::{Caller, Once};
use super::store::{check_reuse, failed, insert_claim, mark_done, select_entry};
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::AnyConnection;

impl Ledger {
    /// Runs `effect` once for `key`: claims the key and runs `effect` inside ONE transaction with
    /// the ledger row, storing the result (as JSON) in that same transaction.
    ///
    /// - Key already done with the same request: [`Once::Replayed`] with the stored result;
    ///   `effect` does not run.
    /// - Key already used with a different request: [`LedgerError::Conflict`]; nothing runs.
    /// - Two callers racing on one key (in one process or many): exactly one runs `effect` and
    ///   commits; the other waits for that commit and gets [`Once::Replayed`].
    /// - `effect` fails: the transaction rolls back, nothing is recorded, the key is free again,
    ///   and the error comes back as [`LedgerError::Effect`].
    ///
    /// `effect` must do all its work through the connection it is given; work done elsewhere is
    /// not covered by the transaction. It holds the key's lock while it runs (on SQLite, the
    /// whole file's write lock), so it should be short.
    pub async fn once<R, F>(
        &self,
        key: &str,
        request: &serde_json::Value,
        meta: &Caller,
        effect: F,
    ) -> Result<Once<R>, LedgerError>
    where
        R: Serialize + DeserializeOwned + Send,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<R, EffectError>> + Send,
    {
        let hash = request_hash(request);
        let mut tx = self.begin_write(key, "claiming").await?;
        if !insert_claim(&mut tx, key, EntryKind::Local, &hash, meta).await.map_err(failed("claiming", key))? {
            tx.rollback().await.map_err(failed("claiming", key))?;
            return self.replay_local(key, &hash).await;
        }
        let result = match effect(&mut tx).await {
            Ok(result) => result,
            Err(err) => {
                tracing::debug!(key, error = %err, "effect failed; rolled back, key free");
                // Dropping would roll back too; doing it here frees the key before returning.
                tx.rollback().await.ok();
                return Err(LedgerError::Effect(err));
            }
        };
        let json = serde_json::to_string(&result).map_err(|e| {
            LedgerError::Effect(EffectError::permanent(format!("result of `{key}` cannot be stored as JSON: {e}")))
        })?;
        if !mark_done(&mut tx, key, &json).await.map_err(failed("recording", key))? {
            return Err(LedgerError::Corrupt(format!("ledger row `{key}` vanished inside its own transaction")));
        }
        tx.commit().await.map_err(failed("committing", key))?;
        tracing::info!(key, workflow_id = %meta.workflow_id, attempt = meta.attempt, "effect performed once");
        crate::metrics::effect(key, false);
        Ok(Once::Performed(result))
    }

    /// The key exists: replay its recorded result, or say why not.
    pub(super) async fn replay_local<R: DeserializeOwned>(&self, key: &str, hash: &str) -> Result<Once<R>, LedgerError> {
        let mut conn = self.pool.acquire().await.map_err(failed("reading", key))?;
        let entry = select_entry(&mut conn, key)
            .await?
            .ok_or_else(|| LedgerError::Corrupt(format!("ledger row `{key}` conflicted on insert but cannot be read")))?;
        check_reuse(&entry, EntryKind::Local, hash)?;
        if entry.status != EntryStatus::Done {
            return Err(LedgerError::Corrupt(format!("local ledger row `{key}` is committed without a result")));
        }
        tracing::info!(key, "effect already made; replaying its result");
        crate::metrics::effect(key, true);
        Ok(Once::Replayed(entry.decode_result()?))
    }
}
