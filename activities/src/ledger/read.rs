//! The read side: single rows and key ranges, for tests, the audit and a verifier.

use super::Ledger;
use super::entry::{COLUMNS, LedgerEntry};
use super::error::LedgerError;
use super::store::{failed, select_entry};

impl Ledger {
    /// The row for `key`, if the key was ever claimed (committed claims only).
    pub async fn entry(&self, key: &str) -> Result<Option<LedgerEntry>, LedgerError> {
        let mut conn = self.pool.acquire().await.map_err(failed("reading", key))?;
        select_entry(&mut conn, key).await
    }

    /// Every row whose key starts with `prefix` (`bill/`, `charge/INV-C0042-`), ordered by key
    /// byte-wise (the same on every engine and collation).
    ///
    /// `prefix` is matched literally: `%` and `_` are ordinary characters here.
    pub async fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<LedgerEntry>, LedgerError> {
        // substr/length instead of LIKE: LIKE treats `%`/`_` as wildcards and is case-insensitive
        // on SQLite; a range on `key` depends on PostgreSQL's collation.
        let chars = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM ledger_entries WHERE substr(key, 1, CAST($2 AS INTEGER)) = $1"))
            .bind(prefix)
            .bind(chars)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("reading prefix", prefix))?;
        let mut entries = rows.iter().map(LedgerEntry::from_row).collect::<Result<Vec<_>, _>>()?;
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }
}
