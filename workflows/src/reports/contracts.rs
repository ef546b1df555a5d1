//! Contracts of the reporting activities, implemented in `punctual_activities::reports`.

use super::types::*;
use crate::names;
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// Reporting activity contracts.
pub struct ReportsContract;

#[activity_definitions]
impl ReportsContract {
    /// `ReconcilePayments`: reads the provider, invoices, payments and ledger for a date and
    /// zone; records the report once per `reconcile/{timezone}/{date}` and alerts once per
    /// `alert/reconcile/{timezone}/{date}`. A re-run replays the first report.
    #[activity(name = names::RECONCILE_PAYMENTS_ACTIVITY)]
    pub fn reconcile_payments(input: ReconciliationInput) -> Result<ReconciliationReport, ActivityError> {
        unimplemented!()
    }

    /// `CheckSla`: alerts once per `alert/sla/{occurrence}` about each job occurrence past its
    /// deadline and marks it alerted.
    #[activity(name = names::CHECK_SLA_ACTIVITY)]
    pub fn check_sla(input: SlaCheckInput) -> Result<SlaReport, ActivityError> {
        unimplemented!()
    }
}
