//! Every name that crosses the wire, written once.
//!
//! Workflow and activity type names are what users type in
//! `temporal workflow start --type ...`, so they are PascalCase and never derived from Rust paths.
//! Both sides of each contract (`#[run(name = ..)]` here, `#[activity(name = ..)]` in the
//! activities crate) use these constants; a test pins their values so a rename cannot slip by.

/// Default task queue polled by `punctual worker`.
pub const DEFAULT_TASK_QUEUE: &str = "punctual";

/// Workflow type of the fixed benchmark contract (see [`crate::bench`]).
pub const BENCH_WORKFLOW: &str = "BenchWorkflow";
/// Activity type of the fixed benchmark contract (see [`crate::bench`]).
pub const BENCH_ACTIVITY: &str = "BenchActivity";

/// Workflow type of a whole billing run for one business date and time zone.
pub const BILLING_RUN_WORKFLOW: &str = "BillingRunWorkflow";
/// Workflow type of one page of customers within a billing run (child of the run).
pub const BILLING_BATCH_WORKFLOW: &str = "BillingBatchWorkflow";
/// Workflow type of one invoice's charge → record → notify saga (child of a batch).
pub const PAYMENT_SAGA_WORKFLOW: &str = "PaymentSagaWorkflow";
/// Workflow type of one page of customers in a bulk billing run: one activity per step for the
/// whole page, a saga child only for the customers whose payment needs compensating.
pub const BILLING_BULK_BATCH_WORKFLOW: &str = "BillingBulkBatchWorkflow";
/// Workflow type of a small billing run per schedule fire, billed for the fire's own period.
pub const FIRE_BILLING_WORKFLOW: &str = "FireBillingWorkflow";

/// Activity: one page of customer ids in a time zone.
pub const LIST_CUSTOMERS_ACTIVITY: &str = "ListCustomersPage";
/// Activity: create a customer's bill (invoice row) for a business date, once.
pub const GENERATE_BILL_ACTIVITY: &str = "GenerateBill";
/// Activity: charge an invoice at the payment provider, once.
pub const CHARGE_INVOICE_ACTIVITY: &str = "ChargeInvoice";
/// Activity: record the payment against the invoice, once.
pub const RECORD_PAYMENT_ACTIVITY: &str = "RecordPayment";
/// Activity: deliver the payment receipt, once.
pub const SEND_RECEIPT_ACTIVITY: &str = "SendReceipt";
/// Bulk activity: create the bills of a page of customers, each once.
pub const GENERATE_BILLS_ACTIVITY: &str = "GenerateBills";
/// Bulk activity: charge a page of invoices, each once.
pub const CHARGE_INVOICES_ACTIVITY: &str = "ChargeInvoices";
/// Bulk activity: record a page of payments, each once.
pub const RECORD_PAYMENTS_ACTIVITY: &str = "RecordPayments";
/// Bulk activity: deliver a page of receipts, each once.
pub const SEND_RECEIPTS_ACTIVITY: &str = "SendReceipts";
/// Bulk compensation: refund a page's charges, each once.
pub const REFUND_CHARGES_ACTIVITY: &str = "RefundCharges";
/// Bulk compensation: void a page's invoices, each once.
pub const VOID_INVOICES_ACTIVITY: &str = "VoidInvoices";
/// Compensation: refund a charge, once.
pub const REFUND_CHARGE_ACTIVITY: &str = "RefundCharge";
/// Compensation: void an invoice, once.
pub const VOID_INVOICE_ACTIVITY: &str = "VoidInvoice";

/// Workflow type a job's schedule starts on every fire: maps the fire to business keys.
pub const SCHEDULED_JOB_WORKFLOW: &str = "ScheduledJobWorkflow";
/// Workflow type of one occurrence of a job; its workflow ID is the business key `{job}/{date}`.
pub const JOB_OCCURRENCE_WORKFLOW: &str = "JobOccurrenceWorkflow";
/// Activity: upsert an occurrence's row in the occurrence ledger.
pub const RECORD_OCCURRENCE_ACTIVITY: &str = "RecordOccurrence";
/// Activity: read an occurrence's status from the occurrence ledger.
pub const OCCURRENCE_STATUS_ACTIVITY: &str = "OccurrenceStatus";
/// Activity: start or join an occurrence workflow under its business key.
pub const START_OCCURRENCE_ACTIVITY: &str = "StartOccurrence";
/// Activity: pause a job's schedule (after repeated failures).
pub const PAUSE_SCHEDULE_ACTIVITY: &str = "PauseJobSchedule";

/// Workflow type of the payment reconciliation of one business date and time zone.
pub const RECONCILIATION_WORKFLOW: &str = "ReconciliationWorkflow";
/// Workflow type of the SLA check of scheduled job occurrences.
pub const SLA_CHECK_WORKFLOW: &str = "SlaCheckWorkflow";
/// Activity: reconcile provider charges against invoices, payments and ledger; report once.
pub const RECONCILE_PAYMENTS_ACTIVITY: &str = "ReconcilePayments";
/// Activity: alert once about each job occurrence past its deadline.
pub const CHECK_SLA_ACTIVITY: &str = "CheckSla";

/// Local activity: count a finished run by outcome and archive it when it failed for good.
pub const RECORD_RUN_OUTCOME_ACTIVITY: &str = "RecordRunOutcome";

/// Search attribute: the business key of the run (`billing-run/...`, `payment/...`).
pub const SA_BUSINESS_KEY: &str = "BusinessKey";
/// Search attribute: the business date `YYYY-MM-DD` the run works on.
pub const SA_BUSINESS_DATE: &str = "BusinessDate";
/// Search attribute: the job (`billing-run`, `billing-batch`, `payment`).
pub const SA_JOB_NAME: &str = "JobName";
/// Search attribute: the customer a payment belongs to.
pub const SA_CUSTOMER_ID: &str = "CustomerId";
/// Search attribute: how the run ended (`completed`, `compensated`, `failed`, ...).
pub const SA_RUN_OUTCOME: &str = "RunOutcome";

/// Custom search attributes punctual's workflows set, as (name, Temporal type). `make run` and the
/// test harness register exactly these on the server; `punctual search-attributes` prints them.
pub const SEARCH_ATTRIBUTES: &[(&str, &str)] = &[
    (SA_BUSINESS_KEY, "Keyword"),
    (SA_BUSINESS_DATE, "Keyword"),
    (SA_JOB_NAME, "Keyword"),
    (SA_CUSTOMER_ID, "Keyword"),
    (SA_RUN_OUTCOME, "Keyword"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_pinned() {
        assert_eq!(DEFAULT_TASK_QUEUE, "punctual");
        assert_eq!(BENCH_WORKFLOW, "BenchWorkflow");
        assert_eq!(BENCH_ACTIVITY, "BenchActivity");
        assert_eq!(BILLING_RUN_WORKFLOW, "BillingRunWorkflow");
        assert_eq!(BILLING_BATCH_WORKFLOW, "BillingBatchWorkflow");
        assert_eq!(PAYMENT_SAGA_WORKFLOW, "PaymentSagaWorkflow");
        assert_eq!(FIRE_BILLING_WORKFLOW, "FireBillingWorkflow");
        assert_eq!(BILLING_BULK_BATCH_WORKFLOW, "BillingBulkBatchWorkflow");
        assert_eq!(
            [
                GENERATE_BILLS_ACTIVITY, CHARGE_INVOICES_ACTIVITY, RECORD_PAYMENTS_ACTIVITY, SEND_RECEIPTS_ACTIVITY,
                REFUND_CHARGES_ACTIVITY, VOID_INVOICES_ACTIVITY
            ],
            ["GenerateBills", "ChargeInvoices", "RecordPayments", "SendReceipts", "RefundCharges", "VoidInvoices"]
        );
        let activities = [
            LIST_CUSTOMERS_ACTIVITY, GENERATE_BILL_ACTIVITY, CHARGE_INVOICE_ACTIVITY, RECORD_PAYMENT_ACTIVITY,
            SEND_RECEIPT_ACTIVITY, REFUND_CHARGE_ACTIVITY, VOID_INVOICE_ACTIVITY,
        ];
        assert_eq!(
            activities,
            ["ListCustomersPage", "GenerateBill", "ChargeInvoice", "RecordPayment", "SendReceipt", "RefundCharge", "VoidInvoice"]
        );
        assert_eq!(RECONCILIATION_WORKFLOW, "ReconciliationWorkflow");
        assert_eq!(SLA_CHECK_WORKFLOW, "SlaCheckWorkflow");
        assert_eq!(RECONCILE_PAYMENTS_ACTIVITY, "ReconcilePayments");
        assert_eq!(CHECK_SLA_ACTIVITY, "CheckSla");
        assert_eq!(RECORD_RUN_OUTCOME_ACTIVITY, "RecordRunOutcome");
        let names: Vec<_> = SEARCH_ATTRIBUTES.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["BusinessKey", "BusinessDate", "JobName", "CustomerId", "RunOutcome"]);
    }
}
