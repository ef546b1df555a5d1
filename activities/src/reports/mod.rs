//! Implementations of the reporting activity contracts (`punctual_workflows::ReportsContract`):
//! the payment reconciliation and the SLA check.
//!
//! Both read freely and write only through the ledger: the reconciliation's report is a row set
//! in our own database (exactly once by transaction, keyed `reconcile/{timezone}/{date}`), and
//! every alert is an external effect at the notification sink whose idempotency key is its
//! business key (`alert/reconcile/...`, `alert/sla/...`), claimed before the call and completed
//! after it. A retry or a re-run therefore replays instead of reporting or alerting again.

mod matching;
mod never_started;
mod periods;
mod reconcile;
mod sla;

use crate::billing::caller;
use crate::ledger::Ledger;
use crate::outside::{ProviderClient, SinkClient};
use punctual_workflows::names;
use punctual_workflows::reports::types::*;
use std::sync::Arc;
use temporalio_client::Client;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// The sink's delivery shape is an invoice notification; alerts go to operations, not to a
/// customer, so they name this recipient and channel, and carry their subject (the business
/// key they are about) where a receipt carries its invoice.
const OPS_RECIPIENT: &str = "ops";
const OPS_CHANNEL: &str = "ops";

/// The reporting activities with what they reach: the ledger database (invoices, payments,
/// job occurrences beside it), the provider (read only) and the sink (alerts).
#[derive(Clone)]
pub struct ReportActivities {
    ledger: Ledger,
    provider: ProviderClient,
    sink: SinkClient,
    /// The Temporal client and this worker's task queue, whose schedules the SLA check reads for
    /// occurrences that never started; without them it reads only `job_occurrences`.
    schedules: Option<(Client, String)>,
}

impl std::fmt::Debug for ReportActivities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.schedules.as_ref().map(|(_, queue)| queue.as_str());
        f.debug_struct("ReportActivities").field("schedules_of", &queue).finish_non_exhaustive()
    }
}

impl ReportActivities {
    /// Activities over `ledger`, `provider` and `sink`.
    pub fn new(ledger: Ledger, provider: ProviderClient, sink: SinkClient) -> Self {
        Self { ledger, provider, sink, schedules: None }
    }

    /// The same, with the SLA check also reading `task_queue`'s schedules through `client`.
    pub fn with_schedules(self, client: Client, task_queue: impl Into<String>) -> Self {
        Self { schedules: Some((client, task_queue.into())), ..self }
    }
}

#[activities]
impl ReportActivities {
    /// `ReconcilePayments`.
    #[activity(name = names::RECONCILE_PAYMENTS_ACTIVITY)]
    pub async fn reconcile_payments(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ReconciliationInput,
    ) -> Result<ReconciliationReport, ActivityError> {
        reconcile::run(&self.ledger, &self.provider, &self.sink, &caller(&ctx), &input).await
    }

    /// `CheckSla`.
    #[activity(name = names::CHECK_SLA_ACTIVITY)]
    pub async fn check_sla(self: Arc<Self>, ctx: ActivityContext, input: SlaCheckInput) -> Result<SlaReport, ActivityError> {
        let as_of = crate::server_clock::server_now(&ctx);
        let schedules = self.schedules.as_ref().map(|(client, queue)| (client, queue.as_str()));
        sla::run(&self.ledger, &self.sink, &caller(&ctx), &input, as_of, schedules).await
    }
}
