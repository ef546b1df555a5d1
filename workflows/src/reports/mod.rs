//! The reporting jobs over the billing data: a daily payment reconciliation and an SLA check of
//! scheduled job occurrences. Each is one workflow around one activity; the activities read and
//! write only through the ledger, so a re-run of a business date makes no second report or alert.

pub mod contracts;
pub mod reconcile;
pub mod sla;
pub mod types;

pub use contracts::ReportsContract;
pub use reconcile::ReconciliationWorkflow;
pub use sla::SlaCheckWorkflow;

use crate::billing::options::retry_policy;
use std::time::Duration;
use temporalio_sdk::ActivityOptions;

/// Each attempt of a report activity may take this long: it reads a whole business date (and may
/// send a page of alerts), more than one billing effect. A killed worker's attempt is retried
/// elsewhere after this.
pub const START_TO_CLOSE: Duration = Duration::from_secs(120);

/// Options for a report activity whose activity ID is its business key: the billing retry
/// policy (retry outages forever, never bad input or an idempotency conflict).
pub fn activity(activity_id: String) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(START_TO_CLOSE).activity_id(activity_id).retry_policy(retry_policy()).build()
}

/// Business keys of the reporting jobs: ledger keys, activity IDs and sink idempotency keys.
pub mod keys {
    /// The reconciliation of `timezone`'s customers on `date`; ledger key of its report.
    pub fn reconcile(timezone: &str, date: &str) -> String {
        format!("reconcile/{timezone}/{date}")
    }

    /// Ledger and sink idempotency key of the one alert about a reconciliation's mismatches.
    pub fn reconcile_alert(timezone: &str, date: &str) -> String {
        format!("alert/reconcile/{timezone}/{date}")
    }

    /// Ledger key of a recheck's report: one per workflow run, so a retried attempt replays it
    /// and every new run reads the books again.
    pub fn reconcile_recheck(timezone: &str, date: &str, run_id: &str) -> String {
        format!("reconcile/{timezone}/{date}/recheck/{run_id}")
    }

    /// Ledger and sink key of a recheck's alert: one per distinct alert (`digest` of its body: the
    /// findings and the counts), so rechecks that find the same books alert once, and new damage
    /// alerts again.
    pub fn reconcile_recheck_alert(timezone: &str, date: &str, digest: &str) -> String {
        format!("alert/reconcile/{timezone}/{date}/{digest}")
    }

    /// The SLA check of `date`.
    pub fn sla_check(date: &str) -> String {
        format!("sla-check/{date}")
    }

    /// Ledger and sink idempotency key of the one alert about a late job occurrence.
    pub fn sla_alert(occurrence: &str) -> String {
        format!("alert/sla/{occurrence}")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn keys_read_like_the_business() {
            assert_eq!(super::reconcile("Asia/Shanghai", "2026-11-24"), "reconcile/Asia/Shanghai/2026-11-24");
            assert_eq!(super::reconcile_alert("Asia/Shanghai", "2026-11-24"), "alert/reconcile/Asia/Shanghai/2026-11-24");
            assert_eq!(super::sla_check("2026-11-24"), "sla-check/2026-11-24");
            assert_eq!(super::sla_alert("billing/2026-11-24"), "alert/sla/billing/2026-11-24");
        }
    }
}
