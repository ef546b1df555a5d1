//! What callers hand the ledger and what they get back.

/// Who is performing an effect, recorded on its ledger row for the audit.
///
/// The row keeps the first claimant (workflow, run, activity type) and the Temporal attempt
/// number of the latest claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Temporal workflow ID.
    pub workflow_id: String,
    /// Temporal run ID.
    pub run_id: String,
    /// Temporal activity type.
    pub activity_type: String,
    /// Temporal attempt number (1 on the first try).
    pub attempt: u32,
}

/// Outcome of [`Ledger::once`](super::Ledger::once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once<R> {
    /// This call ran the effect and recorded its result.
    Performed(R),
    /// The effect had already been made; this is its recorded result, and nothing ran.
    Replayed(R),
}

impl<R> Once<R> {
    /// The result, performed or replayed.
    pub fn into_inner(self) -> R {
        match self {
            Self::Performed(r) | Self::Replayed(r) => r,
        }
    }

    /// Whether the result came from the ledger rather than from running the effect.
    pub fn was_replayed(&self) -> bool {
        matches!(self, Self::Replayed(_))
    }
}

/// Outcome of [`Ledger::claim_external`](super::Ledger::claim_external).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim<R> {
    /// A result is already recorded: do not call out again, use this.
    Done(R),
    /// No result yet: the caller may make the external call, then record it with
    /// [`Ledger::complete_external`](super::Ledger::complete_external).
    Proceed {
        /// Whether this is the first claim of the key. When it is not, an earlier claimant may
        /// have made the call already; a call with no idempotency of its own must then refuse
        /// (at-most-once) or accept a duplicate (at-least-once).
        first_attempt: bool,
        /// How many times the key has been claimed, this claim included.
        attempts: u32,
    },
}
