//! What can go wrong with the ledger, split by what a caller should do about it.
//!
//! The split matters more than the wording: an activity turns a retryable error into a Temporal
//! retry (safe, because every effect is keyed) and a permanent one into a non-retryable failure
//! the workflow can branch on. A reused key with a different request must never be retried into
//! success, so it is permanent and loud.

/// A failure of the effect a caller asked the ledger to run once.
///
/// Returned from the closure given to [`Ledger::once`](super::Ledger::once); the transaction is
/// rolled back, nothing is recorded and the key stays free.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EffectError {
    permanent: bool,
    message: String,
}

impl EffectError {
    /// A failure that will not go away on retry (unknown customer, invalid input).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { permanent: true, message: message.into() }
    }

    /// A failure worth retrying (database hiccup, lock timeout).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { permanent: false, message: message.into() }
    }

    /// Whether retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        !self.permanent
    }

    /// The message the effect gave.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Database errors inside an effect are retryable — the transaction rolled back, so a retry
/// starts from a clean slate — except a violated constraint (unique, foreign key, not null,
/// check). The ledger already serialises callers of one key, so such a violation means the
/// database holds rows that contradict the effect (an invoice row without its ledger row, say):
/// the same statement would fail on every retry, forever. It is permanent, and says so.
impl From<sqlx::Error> for EffectError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::Database(db)
                if matches!(
                    db.kind(),
                    ErrorKind::UniqueViolation
                        | ErrorKind::ForeignKeyViolation
                        | ErrorKind::NotNullViolation
                        | ErrorKind::CheckViolation
                ) =>
            {
                Self::permanent(format!("the effect contradicts rows already in the database ({err}); retrying cannot fix it"))
            }
            _ => Self::retryable(err.to_string()),
        }
    }
}

/// Why a ledger operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The key was already used with a different request: a bug or a forged retry, never replayed.
    #[error(
        "idempotency conflict on `{key}`: it was first used with request {stored_hash}, \
         now with request {request_hash}; the first outcome is kept and nothing was done"
    )]
    Conflict {
        /// The business key.
        key: String,
        /// Hash of the request the key was first used with.
        stored_hash: String,
        /// Hash of the request of this call.
        request_hash: String,
    },
    /// The key belongs to the other kind of effect (`once` on an external claim or vice versa).
    #[error("ledger key `{key}` records a {stored} effect but was used for a {requested} one")]
    KindMismatch {
        /// The business key.
        key: String,
        /// Kind recorded on the row (`local` or `external`).
        stored: String,
        /// Kind of this call.
        requested: &'static str,
    },
    /// `complete_external` with a result different from the one already recorded.
    #[error("ledger key `{key}` is already done with a different result; results are never overwritten")]
    ResultMismatch {
        /// The business key.
        key: String,
    },
    /// `complete_external` on a key nobody claimed.
    #[error("ledger key `{key}` was never claimed: call claim_external before complete_external")]
    NotClaimed {
        /// The business key.
        key: String,
    },
    /// The database could not be reached or failed mid-operation; retrying may succeed.
    #[error("ledger database unavailable: {0}")]
    Unavailable(String),
    /// The schema could not be brought up to date.
    #[error("ledger migration failed: {0}")]
    Migration(String),
    /// A stored row cannot be read back (bad JSON, bad timestamp, impossible state).
    #[error("ledger data is corrupt: {0}")]
    Corrupt(String),
    /// The effect failed; nothing was recorded.
    // Not a `source` too: its text is in the message, and a cause chain (`{:#}`) would repeat it.
    #[error("effect failed: {0}")]
    Effect(EffectError),
    /// The database URL is not one the ledger can open.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// A command that reads an existing ledger was pointed at a SQLite file that does not exist
    /// (a typo would otherwise create an empty ledger and report that nothing ever ran).
    #[error(
        "no ledger at {0}: the file does not exist (check PUNCTUAL_DATABASE_URL; the worker creates it when it first starts)"
    )]
    Missing(String),
}

impl From<EffectError> for LedgerError {
    fn from(err: EffectError) -> Self {
        Self::Effect(err)
    }
}

impl LedgerError {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Effect(err) => err.is_retryable(),
            Self::Conflict { .. }
            | Self::KindMismatch { .. }
            | Self::ResultMismatch { .. }
            | Self::NotClaimed { .. }
            | Self::Migration(_)
            | Self::Corrupt(_)
            | Self::InvalidUrl(_)
            | Self::Missing(_) => false,
        }
    }

    /// A database error outside an effect: the operation did not complete, retry.
    pub(crate) fn unavailable(context: &str, err: sqlx::Error) -> Self {
        Self::Unavailable(format!("{context}: {err}"))
    }
}
