//! Which ledger this is, so that a fleet can tell when its workers write to different books.
//!
//! Every worker of a task queue must record its effects in the same ledger. A worker pointed at
//! another database (a SQLite file on each host, a typo in a PostgreSQL URL, a fresh file after
//! `rm -rf .data`) sees none of the keys the others recorded, and performs their effects again:
//! the exactly-once claim broken by configuration, silently. The ledger therefore carries an id,
//! drawn at random the first time it is asked for and never changed; the worker compares it with
//! the id Temporal holds for its task queue before it polls (`worker/src/ledger_fence.rs`).

use super::Ledger;
use super::entry::now_text;
use super::error::LedgerError;
use super::store::failed;
use sqlx::Row;

/// The id of one ledger database and when it was drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerIdentity {
    /// 32 hex digits, random.
    pub id: String,
    /// When it was drawn (RFC 3339 UTC).
    pub created_at: String,
}

impl Ledger {
    /// This ledger's identity, drawn and stored on first use. Concurrent first calls from several
    /// processes agree: the row is inserted once and every caller reads what was stored. Once it
    /// exists this only reads: a worker starting while another process holds the write lock
    /// (a long transaction, a read-only replica) is not held up by it.
    pub async fn identity(&self) -> Result<LedgerIdentity, LedgerError> {
        if let Some(identity) = self.stored_identity().await? {
            return Ok(identity);
        }
        sqlx::query(
            "INSERT INTO ledger_identity (singleton, ledger_id, created_at) VALUES (1, $1, $2) ON CONFLICT (singleton) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(now_text())
        .execute(&self.pool)
        .await
        .map_err(failed("drawing", "ledger identity"))?;
        self.stored_identity()
            .await?
            .ok_or_else(|| LedgerError::Unavailable("the ledger identity row vanished after its insert".to_owned()))
    }

    /// The identity a worker drew, if one did: for commands that must not draw one.
    pub async fn stored_identity(&self) -> Result<Option<LedgerIdentity>, LedgerError> {
        let row = sqlx::query("SELECT ledger_id, created_at FROM ledger_identity WHERE singleton = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("reading", "ledger identity"))?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(LedgerIdentity {
            id: row.try_get("ledger_id").map_err(failed("reading", "ledger identity"))?,
            created_at: row.try_get("created_at").map_err(failed("reading", "ledger identity"))?,
        }))
    }

    /// Where this ledger is, as it may be shown: the database URL with its password as `***`.
    pub fn location(&self) -> &str {
        &self.shown
    }
}
