//! Business keys: readable, deterministic names for one business effect or run.
//!
//! The same key is the workflow ID (so Temporal rejects a second concurrent run), the activity ID
//! (so histories read like the business), the ledger key (so a repeated attempt replays instead
//! of repeating the effect) and the provider's `Idempotency-Key` (so the outside world dedupes).

/// Workflow ID of the billing run for `timezone` on `date`.
pub fn billing_run(timezone: &str, date: &str) -> String {
    format!("billing-run/{timezone}/{date}")
}

/// Workflow ID of the batch of a billing run that starts after customer `after` (or at the start).
pub fn billing_batch(timezone: &str, date: &str, first_customer: &str) -> String {
    format!("billing-batch/{timezone}/{date}/{first_customer}")
}

/// Invoice id of a customer's bill for a business date.
pub fn invoice_id(customer: &str, date: &str) -> String {
    format!("INV-{customer}-{}", date.replace('-', ""))
}

/// Ledger key of bill generation.
pub fn bill(customer: &str, date: &str) -> String {
    format!("bill/{customer}/{date}")
}

/// Activity ID of bill generation (the article's `bill-generation-{customer}-{period}`).
pub fn bill_activity(customer: &str, date: &str) -> String {
    format!("bill-generation-{customer}-{date}")
}

/// Workflow ID of an invoice's payment saga.
pub fn payment_saga(invoice: &str) -> String {
    format!("payment/{invoice}")
}

/// Ledger and provider idempotency key of an invoice's charge.
pub fn charge(invoice: &str) -> String {
    format!("charge/{invoice}")
}

/// Ledger key of recording an invoice's payment.
pub fn payment_record(invoice: &str) -> String {
    format!("payment-record/{invoice}")
}

/// Ledger and sink idempotency key of a notification about an invoice on a channel.
pub fn notify(invoice: &str, channel: &str) -> String {
    format!("notify/{invoice}/{channel}")
}

/// Channel of an invoice's receipt.
pub const RECEIPT_CHANNEL: &str = "email";

/// Ledger and sink key of an invoice's receipt: its notification on [`RECEIPT_CHANNEL`].
pub fn receipt(invoice: &str) -> String {
    notify(invoice, RECEIPT_CHANNEL)
}

/// Ledger and provider idempotency key of an invoice's refund.
pub fn refund(invoice: &str) -> String {
    format!("refund/{invoice}")
}

/// Ledger key of voiding an invoice.
pub fn void(invoice: &str) -> String {
    format!("void/{invoice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_like_the_business() {
        assert_eq!(billing_run("Asia/Shanghai", "2026-11-24"), "billing-run/Asia/Shanghai/2026-11-24");
        assert_eq!(invoice_id("C00042", "2026-11-24"), "INV-C00042-20261124");
        assert_eq!(bill("C00042", "2026-11-24"), "bill/C00042/2026-11-24");
        assert_eq!(charge("INV-C00042-20261124"), "charge/INV-C00042-20261124");
        assert_eq!(notify("INV-1", "email"), "notify/INV-1/email");
        assert_eq!(receipt("INV-1"), "notify/INV-1/email");
        assert_eq!(payment_saga("INV-1"), "payment/INV-1");
    }
}
