//! Inputs and results of the reporting workflows and activities: plain JSON objects.

use serde::{Deserialize, Serialize};

/// Input of `ReconciliationWorkflow` and `ReconcilePayments`:
/// `{"business_date": "YYYY-MM-DD", "timezone": "Area/City"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationInput {
    /// Business date whose invoices are reconciled.
    pub business_date: String,
    /// IANA time zone whose customers are reconciled.
    pub timezone: String,
    /// Read the books as they are now instead of replaying the date's recorded report: after a
    /// repair, or to look for damage done since. Absent (false) in inputs from before it existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recheck: bool,
}

/// What disagrees between the provider, our invoices and payments, and the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// The invoice is `paid` but the provider holds no (unrefunded) charge for it.
    PaidWithoutCharge,
    /// The provider charged the invoice, we recorded no payment, and the invoice is not void
    /// with the charge refunded (money taken and not accounted for).
    ChargeWithoutPayment,
    /// Invoice, payment row and provider charge disagree on the amount.
    AmountMismatch,
    /// The invoice is void but its charge was never refunded.
    ChargeOnVoidInvoice,
    /// The provider holds more than one charge for the invoice.
    DuplicateCharge,
    /// The payment row names a charge the provider does not hold for the invoice.
    PaymentChargeUnknown,
    /// The ledger's `charge/{invoice}` is still `claimed`: a crash between the provider call and
    /// its record, to be settled by a person.
    OpenChargeClaim,
    /// The invoice is `open` and nothing charged it or tried to: its payment saga never reached
    /// the provider (terminated, or not run yet). The bill is neither paid nor voided.
    OpenNotCharged,
    /// The invoice is `paid` but its receipt (`notify/{invoice}/email`) was never delivered: the
    /// customer paid and was not told (a saga terminated after recording the payment, or a sink
    /// that has been refusing it).
    PaidWithoutReceipt,
}

impl MismatchKind {
    /// The stored and serialised spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaidWithoutCharge => "paid_without_charge",
            Self::ChargeWithoutPayment => "charge_without_payment",
            Self::AmountMismatch => "amount_mismatch",
            Self::ChargeOnVoidInvoice => "charge_on_void_invoice",
            Self::DuplicateCharge => "duplicate_charge",
            Self::PaymentChargeUnknown => "payment_charge_unknown",
            Self::OpenChargeClaim => "open_charge_claim",
            Self::OpenNotCharged => "open_not_charged",
            Self::PaidWithoutReceipt => "paid_without_receipt",
        }
    }
}

/// One flagged disagreement about one invoice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mismatch {
    /// The invoice (as our table or the provider's charge names it).
    pub invoice_id: String,
    /// What disagrees.
    pub kind: MismatchKind,
    /// The facts, for a person: ids, statuses and amounts on each side.
    pub detail: String,
}

/// Result of `ReconcilePayments` and `ReconciliationWorkflow`: the report as first recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationReport {
    /// `reconcile/{timezone}/{date}`.
    pub business_key: String,
    /// Business date reconciled.
    pub business_date: String,
    /// Time zone reconciled.
    pub timezone: String,
    /// Invoice rows of the zone's customers for the date.
    pub invoices: u64,
    /// Provider charges for those invoices (and for invoice ids of the zone and date we have no
    /// row for).
    pub charges: u64,
    /// Invoice rows with no mismatch.
    pub matched: u64,
    /// Every mismatch, ordered by invoice id and kind.
    pub mismatches: Vec<Mismatch>,
    /// Sink delivery id of the alert, when there were mismatches.
    pub alert_id: Option<String>,
    /// True when another run (an earlier fire, a re-run) recorded the report and this run
    /// replayed it from the ledger; a retried attempt of the same run does not count. Never true
    /// for a recheck.
    pub replayed: bool,
    /// Whether this is a recheck (the books now, recorded under the run's own key) rather than
    /// the date's record. Absent (false) in reports from before it existed.
    #[serde(default)]
    pub recheck: bool,
}

/// Input of `SlaCheckWorkflow` and `CheckSla`: `{"business_date": "YYYY-MM-DD"}`, optional
/// `"limit"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaCheckInput {
    /// Business date of the check itself (its business key and search attributes).
    pub business_date: String,
    /// Most new alerts one check sends; later ones wait for the next check.
    pub limit: u32,
}

/// Result of `CheckSla` and `SlaCheckWorkflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaReport {
    /// Keys of every occurrence still not committed past its deadline, alerted now or earlier,
    /// ordered by deadline then key.
    pub late: Vec<String>,
    /// Occurrences this check alerted about (each is alerted about once, ever).
    pub alerted: u64,
}

/// How a reporting run ended. Also the `RunOutcome` search attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    /// Nothing to flag.
    Completed,
    /// The reconciliation found mismatches (and alerted once).
    Mismatches,
    /// The SLA check found late occurrences.
    Alerted,
}

impl ReportOutcome {
    /// The search-attribute spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Mismatches => "mismatches",
            Self::Alerted => "alerted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_as_their_stored_names() {
        for kind in [
            MismatchKind::PaidWithoutCharge,
            MismatchKind::ChargeWithoutPayment,
            MismatchKind::AmountMismatch,
            MismatchKind::ChargeOnVoidInvoice,
            MismatchKind::DuplicateCharge,
            MismatchKind::PaymentChargeUnknown,
            MismatchKind::OpenChargeClaim,
            MismatchKind::OpenNotCharged,
            MismatchKind::PaidWithoutReceipt,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(ReportOutcome::Mismatches.as_str(), "mismatches");
    }
}
