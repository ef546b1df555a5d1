//! One ledger row as the audit sees it, and how it is read from either database.
//!
//! Rows are read by column name through `sqlx::any`, so the same code serves SQLite and
//! PostgreSQL; anything that does not parse is reported as corrupt rather than guessed at.

use super::error::LedgerError;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt;

/// The columns of a ledger row, in [`LedgerEntry`] order, for `SELECT`s.
pub(crate) const COLUMNS: &str = "key, kind, request_hash, status, result, attempts, created_at, \
     completed_at, workflow_id, run_id, activity_type, last_attempt, last_claimed_at";

/// Which kind of effect a key records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Rows in our own database, written in the ledger's transaction (`once`).
    Local,
    /// A call outside the database, claimed before and completed after (`claim_external`).
    External,
}

impl EntryKind {
    /// `local` or `external`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::External => "external",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "local" => Some(Self::Local),
            "external" => Some(Self::External),
            _ => None,
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// Intent recorded, no outcome yet (only external effects are ever seen in this state).
    Claimed,
    /// Outcome recorded; the row never changes again.
    Done,
}

impl EntryStatus {
    /// `claimed` or `done`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Done => "done",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "claimed" => Some(Self::Claimed),
            "done" => Some(Self::Done),
            _ => None,
        }
    }
}

impl fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// The business key (`bill/C0042/2026-11`).
    pub key: String,
    /// Local or external effect.
    pub kind: EntryKind,
    /// [`request_hash`](super::request_hash) of the request the key was first used with.
    pub request_hash: String,
    /// Claimed or done.
    pub status: EntryStatus,
    /// The recorded result, once done.
    pub result: Option<serde_json::Value>,
    /// How many times the key was claimed (always 1 for local effects).
    pub attempts: u32,
    /// When the key was first claimed.
    pub created_at: DateTime<Utc>,
    /// When the result was recorded.
    pub completed_at: Option<DateTime<Utc>>,
    /// Workflow of the first claimant.
    pub workflow_id: String,
    /// Run of the first claimant.
    pub run_id: String,
    /// Activity type of the first claimant.
    pub activity_type: String,
    /// Temporal attempt number of the latest claim.
    pub last_attempt: u32,
    /// When the key was last claimed.
    pub last_claimed_at: DateTime<Utc>,
}

/// Now, as stored: RFC 3339 UTC with milliseconds, fixed width so text order is time order.
pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn corrupt(key: &str, what: &str, err: impl fmt::Display) -> LedgerError {
    LedgerError::Corrupt(format!("ledger row `{key}`: {what}: {err}"))
}

fn timestamp(key: &str, column: &str, text: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| corrupt(key, &format!("{column} `{text}`"), e))
}

fn count(key: &str, column: &str, value: i64) -> Result<u32, LedgerError> {
    u32::try_from(value).map_err(|e| corrupt(key, &format!("{column} {value}"), e))
}

impl LedgerEntry {
    /// Reads a row selected with [`COLUMNS`].
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, LedgerError> {
        let key: String = row.try_get("key").map_err(|e| corrupt("?", "key", e))?;
        let get = |column: &str| -> Result<String, LedgerError> {
            row.try_get::<String, _>(column).map_err(|e| corrupt(&key, column, e))
        };
        let get_opt = |column: &str| -> Result<Option<String>, LedgerError> {
            row.try_get::<Option<String>, _>(column).map_err(|e| corrupt(&key, column, e))
        };
        let get_int = |column: &str| -> Result<u32, LedgerError> {
            let value: i64 = row.try_get(column).map_err(|e| corrupt(&key, column, e))?;
            count(&key, column, value)
        };
        let kind = get("kind")?;
        let status = get("status")?;
        let result =
            get_opt("result")?.map(|text| serde_json::from_str(&text).map_err(|e| corrupt(&key, "result", e))).transpose()?;
        let completed_at = get_opt("completed_at")?.map(|text| timestamp(&key, "completed_at", &text)).transpose()?;
        Ok(Self {
            kind: EntryKind::parse(&kind).ok_or_else(|| corrupt(&key, "kind", &kind))?,
            status: EntryStatus::parse(&status).ok_or_else(|| corrupt(&key, "status", &status))?,
            request_hash: get("request_hash")?,
            result,
            attempts: get_int("attempts")?,
            created_at: timestamp(&key, "created_at", &get("created_at")?)?,
            completed_at,
            workflow_id: get("workflow_id")?,
            run_id: get("run_id")?,
            activity_type: get("activity_type")?,
            last_attempt: get_int("last_attempt")?,
            last_claimed_at: timestamp(&key, "last_claimed_at", &get("last_claimed_at")?)?,
            key,
        })
    }

    /// The recorded result as `R`, if done.
    pub(crate) fn decode_result<R: serde::de::DeserializeOwned>(&self) -> Result<R, LedgerError> {
        let value = self
            .result
            .clone()
            .ok_or_else(|| LedgerError::Corrupt(format!("ledger row `{}` is done but has no result", self.key)))?;
        serde_json::from_value(value)
            .map_err(|e| corrupt(&self.key, &format!("result is not a {}", std::any::type_name::<R>()), e))
    }
}
