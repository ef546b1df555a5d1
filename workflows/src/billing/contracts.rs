//! Contracts of the billing activities, implemented in `punctual_activities::billing`.
//!
//! Every effectful activity here is idempotent at the effect through the ledger and the business
//! key (see `punctual_activities::ledger`), so Temporal's at-least-once retries are safe.

use super::bulk_types::*;
use super::types::*;
use crate::names;
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// Billing activity contracts.
pub struct BillingContract;

#[activity_definitions]
impl BillingContract {
    /// `ListCustomersPage`: read-only.
    #[activity(name = names::LIST_CUSTOMERS_ACTIVITY)]
    pub fn list_customers(input: ListCustomersInput) -> Result<CustomerPage, ActivityError> {
        unimplemented!()
    }

    /// `GenerateBill`: inserts the invoice row once per `bill/{customer}/{date}`.
    #[activity(name = names::GENERATE_BILL_ACTIVITY)]
    pub fn generate_bill(input: GenerateBillInput) -> Result<Bill, ActivityError> {
        unimplemented!()
    }

    /// `ChargeInvoice`: charges once per `charge/{invoice}` (provider idempotency key). A decline
    /// fails non-retryably with type `PaymentDeclined`.
    #[activity(name = names::CHARGE_INVOICE_ACTIVITY)]
    pub fn charge_invoice(input: PaymentInput) -> Result<Charge, ActivityError> {
        unimplemented!()
    }

    /// `RecordPayment`: marks the invoice paid once per `payment-record/{invoice}`. A closed
    /// account fails non-retryably with type `AccountClosed`.
    #[activity(name = names::RECORD_PAYMENT_ACTIVITY)]
    pub fn record_payment(input: RecordPaymentInput) -> Result<EffectReceipt, ActivityError> {
        unimplemented!()
    }

    /// `SendReceipt`: delivers once per `notify/{invoice}/email` (sink idempotency key).
    #[activity(name = names::SEND_RECEIPT_ACTIVITY)]
    pub fn send_receipt(input: ReceiptInput) -> Result<EffectReceipt, ActivityError> {
        unimplemented!()
    }

    /// `RefundCharge` (compensation): refunds once per `refund/{invoice}`.
    #[activity(name = names::REFUND_CHARGE_ACTIVITY)]
    pub fn refund_charge(input: RefundInput) -> Result<EffectReceipt, ActivityError> {
        unimplemented!()
    }

    /// `VoidInvoice` (compensation): voids once per `void/{invoice}`.
    #[activity(name = names::VOID_INVOICE_ACTIVITY)]
    pub fn void_invoice(input: VoidInput) -> Result<EffectReceipt, ActivityError> {
        unimplemented!()
    }
}

/// Contracts of the bulk billing activities, implemented in
/// `punctual_activities::billing::BulkBillingActivities`: each takes a page and makes every
/// customer's effect once under the same ledger key as its per-customer activity above, so a
/// bulk run and a per-customer run of one business key can never both make an effect.
pub struct BulkBillingContract;

#[activity_definitions]
impl BulkBillingContract {
    /// `GenerateBills`: `GenerateBill` for each customer of a page.
    #[activity(name = names::GENERATE_BILLS_ACTIVITY)]
    pub fn generate_bills(input: GenerateBillsInput) -> Result<Bulk<Bill>, ActivityError> {
        unimplemented!()
    }

    /// `ChargeInvoices`: `ChargeInvoice` for each bill; declines are refusals.
    #[activity(name = names::CHARGE_INVOICES_ACTIVITY)]
    pub fn charge_invoices(input: ChargeInvoicesInput) -> Result<Bulk<ChargedInvoice>, ActivityError> {
        unimplemented!()
    }

    /// `RecordPayments`: `RecordPayment` for each charge; closed accounts are refusals.
    #[activity(name = names::RECORD_PAYMENTS_ACTIVITY)]
    pub fn record_payments(input: RecordPaymentsInput) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        unimplemented!()
    }

    /// `SendReceipts`: `SendReceipt` for each recorded payment.
    #[activity(name = names::SEND_RECEIPTS_ACTIVITY)]
    pub fn send_receipts(input: SendReceiptsInput) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        unimplemented!()
    }

    /// `RefundCharges` (compensation): `RefundCharge` for each charge.
    #[activity(name = names::REFUND_CHARGES_ACTIVITY)]
    pub fn refund_charges(input: RefundChargesInput) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        unimplemented!()
    }

    /// `VoidInvoices` (compensation): `VoidInvoice` for each invoice.
    #[activity(name = names::VOID_INVOICES_ACTIVITY)]
    pub fn void_invoices(input: VoidInvoicesInput) -> Result<Bulk<InvoiceReceipt>, ActivityError> {
        unimplemented!()
    }
}
