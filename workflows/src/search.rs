//! Typed search-attribute keys (names from [`crate::names`]) and the values workflows set.

use crate::billing::types::Outcome;
use crate::names;
use temporalio_common::search_attributes::{SearchAttributeKey, SearchAttributeUpdate};

/// `BusinessKey` keyword.
pub const BUSINESS_KEY: SearchAttributeKey<String> = SearchAttributeKey::keyword(names::SA_BUSINESS_KEY);
/// `BusinessDate` keyword.
pub const BUSINESS_DATE: SearchAttributeKey<String> = SearchAttributeKey::keyword(names::SA_BUSINESS_DATE);
/// `JobName` keyword.
pub const JOB_NAME: SearchAttributeKey<String> = SearchAttributeKey::keyword(names::SA_JOB_NAME);
/// `CustomerId` keyword.
pub const CUSTOMER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword(names::SA_CUSTOMER_ID);
/// `RunOutcome` keyword.
pub const RUN_OUTCOME: SearchAttributeKey<String> = SearchAttributeKey::keyword(names::SA_RUN_OUTCOME);

/// `JobName` values.
pub mod job {
    /// A whole billing run.
    pub const BILLING_RUN: &str = "billing-run";
    /// One page of a billing run.
    pub const BILLING_BATCH: &str = "billing-batch";
    /// One invoice's payment saga.
    pub const PAYMENT: &str = "payment";
    /// The payment reconciliation of a business date and zone.
    pub const RECONCILIATION: &str = "reconciliation";
    /// The SLA check of scheduled job occurrences.
    pub const SLA_CHECK: &str = "sla-check";
}

/// The `RunOutcome` update for `outcome`.
pub fn outcome(outcome: Outcome) -> SearchAttributeUpdate {
    RUN_OUTCOME.value_set(outcome.as_str().to_owned())
}
