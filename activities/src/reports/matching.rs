//! The reconciliation rules as a pure function: what our books and the provider say about each
//! invoice of a business date, in, the mismatches out. No I/O, so every rule is tested here.

use crate::outside::ProviderCharge;
use punctual_workflows::keys;
use punctual_workflows::reports::types::{Mismatch, MismatchKind};
use std::collections::{BTreeMap, BTreeSet};

/// An invoice row with its payment row, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InvoiceRecord {
    pub(super) id: String,
    pub(super) amount_cents: i64,
    /// `open`, `paid` or `void`.
    pub(super) status: String,
    pub(super) payment: Option<PaymentRecord>,
    /// Whether the ledger records the invoice's receipt as delivered (`notify/{invoice}/email`
    /// done).
    pub(super) receipt_sent: bool,
}

/// A payment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PaymentRecord {
    pub(super) charge_id: String,
    pub(super) amount_cents: i64,
}

/// Everything read for one business date and zone, already narrowed to its invoices.
#[derive(Debug, Default)]
pub(super) struct Books {
    /// Our invoice rows.
    pub(super) invoices: Vec<InvoiceRecord>,
    /// The provider's charges for those invoices or for invoice ids of the date and zone.
    pub(super) charges: Vec<ProviderCharge>,
    /// Invoices whose ledger `charge/{invoice}` is still `claimed`.
    pub(super) open_claims: BTreeSet<String>,
}

/// The comparison's counts and findings.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Comparison {
    pub(super) invoices: u64,
    pub(super) charges: u64,
    /// Invoice rows with no mismatch.
    pub(super) matched: u64,
    /// At most one per invoice and kind, ordered by invoice id then kind.
    pub(super) mismatches: Vec<Mismatch>,
}

fn describe(charge: &ProviderCharge) -> String {
    let refunded = match (&charge.refunded, &charge.refund_id) {
        (true, Some(refund)) => format!(", refunded by {refund}"),
        (true, None) => ", refunded".to_owned(),
        (false, _) => String::new(),
    };
    format!("{} ({} cents{refunded})", charge.id, charge.amount_cents)
}

fn list(charges: &[&ProviderCharge]) -> String {
    charges.iter().map(|c| describe(c)).collect::<Vec<_>>().join(", ")
}

/// Compares each invoice of `books` with its charges, payment and ledger claim.
pub(super) fn compare(books: &Books) -> Comparison {
    let rows: BTreeMap<&str, &InvoiceRecord> = books.invoices.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut charges: BTreeMap<&str, Vec<&ProviderCharge>> = BTreeMap::new();
    for charge in &books.charges {
        charges.entry(charge.invoice_id.as_str()).or_default().push(charge);
    }
    let ids: BTreeSet<&str> =
        rows.keys().copied().chain(charges.keys().copied()).chain(books.open_claims.iter().map(String::as_str)).collect();

    let mut mismatches = Vec::new();
    let mut matched = 0;
    for id in ids {
        let found = invoice_mismatches(
            id,
            rows.get(id).copied(),
            charges.get(id).map(Vec::as_slice).unwrap_or_default(),
            books.open_claims.contains(id),
        );
        if found.is_empty() && rows.contains_key(id) {
            matched += 1;
        }
        mismatches.extend(found.into_iter().map(|(kind, detail)| Mismatch { invoice_id: id.to_owned(), kind, detail }));
    }
    mismatches.sort();
    Comparison { invoices: books.invoices.len() as u64, charges: books.charges.len() as u64, matched, mismatches }
}

/// The mismatches of one invoice id: its row (if any), its charges, whether its charge claim is
/// open.
fn invoice_mismatches(
    id: &str,
    invoice: Option<&InvoiceRecord>,
    charges: &[&ProviderCharge],
    open_claim: bool,
) -> Vec<(MismatchKind, String)> {
    let mut found = Vec::new();
    // Charges not refunded: a stray or wrong-amount charge a person refunded is the repair, not
    // a finding (every recheck flagged it for ever, and the date never read clean).
    let standing: Vec<&ProviderCharge> = charges.iter().copied().filter(|c| !c.refunded).collect();
    if standing.len() > 1 {
        found.push((MismatchKind::DuplicateCharge, format!("{} charges at the provider: {}", standing.len(), list(&standing))));
    }
    if open_claim {
        found.push((
            MismatchKind::OpenChargeClaim,
            format!("ledger key {} is still claimed: the provider was called and no outcome was recorded", keys::charge(id)),
        ));
    }
    let Some(invoice) = invoice else {
        if !charges.is_empty() {
            found.push((MismatchKind::ChargeWithoutPayment, format!("no invoice row; provider charged {}", list(charges))));
        }
        return found;
    };
    match invoice.status.as_str() {
        "void" => {
            if !standing.is_empty() {
                found
                    .push((MismatchKind::ChargeOnVoidInvoice, format!("invoice void; charge not refunded: {}", list(&standing))));
            }
        }
        status => {
            if status == "open" && charges.is_empty() && !open_claim {
                found.push((
                    MismatchKind::OpenNotCharged,
                    "invoice open; nothing charged it or tried to: its payment never reached the provider".to_owned(),
                ));
            }
            if status == "paid" && !invoice.receipt_sent {
                found.push((
                    MismatchKind::PaidWithoutReceipt,
                    format!("invoice paid; its receipt {} was never delivered", keys::receipt(id)),
                ));
            }
            if status == "paid" && standing.is_empty() {
                let detail = if charges.is_empty() {
                    "invoice paid; the provider holds no charge for it".to_owned()
                } else {
                    format!("invoice paid; every charge was refunded: {}", list(charges))
                };
                found.push((MismatchKind::PaidWithoutCharge, detail));
            }
            if invoice.payment.is_none() && !charges.is_empty() {
                found.push((
                    MismatchKind::ChargeWithoutPayment,
                    format!("invoice {status} with no payment row; provider charged {}", list(charges)),
                ));
            }
        }
    }
    if let Some(payment) = &invoice.payment
        && !charges.is_empty()
        && !charges.iter().any(|c| c.id == payment.charge_id)
    {
        found.push((
            MismatchKind::PaymentChargeUnknown,
            format!("payment row names {}; the provider holds {} for the invoice", payment.charge_id, list(charges)),
        ));
    } else if let Some(payment) = &invoice.payment
        && !standing.is_empty()
        && !standing.iter().any(|c| c.id == payment.charge_id)
    {
        // Of a duplicate pair, the recorded charge was refunded and the other stands: the books
        // name a refunded charge while the money is held under one nothing records.
        found.push((
            MismatchKind::PaymentChargeUnknown,
            format!(
                "payment row names {}, which was refunded; the provider holds {} for the invoice",
                payment.charge_id,
                list(&standing)
            ),
        ));
    }
    let mut amounts = Vec::new();
    for charge in standing.iter().filter(|c| c.amount_cents != invoice.amount_cents) {
        amounts.push(format!("charge {} is {} cents", charge.id, charge.amount_cents));
    }
    if let Some(payment) = invoice.payment.as_ref().filter(|p| p.amount_cents != invoice.amount_cents) {
        amounts.push(format!("payment row is {} cents", payment.amount_cents));
    }
    if !amounts.is_empty() {
        found.push((MismatchKind::AmountMismatch, format!("invoice is {} cents; {}", invoice.amount_cents, amounts.join("; "))));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(id: &str, status: &str, payment: Option<&str>) -> InvoiceRecord {
        InvoiceRecord {
            id: id.to_owned(),
            amount_cents: 1999,
            status: status.to_owned(),
            payment: payment.map(|charge_id| PaymentRecord { charge_id: charge_id.to_owned(), amount_cents: 1999 }),
            receipt_sent: status == "paid",
        }
    }

    fn charge(id: &str, invoice: &str, refunded: bool) -> ProviderCharge {
        ProviderCharge {
            id: id.to_owned(),
            invoice_id: invoice.to_owned(),
            customer_id: "C00001".to_owned(),
            amount_cents: 1999,
            refunded,
            refund_id: refunded.then(|| format!("re_{id}")),
        }
    }

    fn kinds(books: &Books) -> Vec<(String, &'static str)> {
        compare(books).mismatches.into_iter().map(|m| (m.invoice_id, m.kind.as_str())).collect()
    }

    #[test]
    fn what_a_billing_run_leaves_behind_matches() {
        // Paid; declined (void, no charge); closed account (void, charge refunded); receipt
        // failure after recording (void, payment row, charge refunded).
        let books = Books {
            invoices: vec![
                invoice("INV-1", "paid", Some("ch_1")),
                invoice("INV-2", "void", None),
                invoice("INV-3", "void", None),
                invoice("INV-4", "void", Some("ch_4")),
            ],
            charges: vec![charge("ch_1", "INV-1", false), charge("ch_3", "INV-3", true), charge("ch_4", "INV-4", true)],
            open_claims: BTreeSet::new(),
        };
        let comparison = compare(&books);
        assert_eq!(comparison.mismatches, []);
        assert_eq!((comparison.invoices, comparison.charges, comparison.matched), (4, 3, 4));
    }

    #[test]
    fn each_rule_flags_its_own_kind() {
        let mut other_amount = charge("ch_5", "INV-5", false);
        other_amount.amount_cents = 2000;
        let books = Books {
            invoices: vec![
                invoice("INV-1", "paid", None),
                invoice("INV-2", "paid", None),
                invoice("INV-3", "void", None),
                invoice("INV-4", "paid", Some("ch_4")),
                invoice("INV-5", "paid", Some("ch_5")),
                invoice("INV-6", "paid", Some("ch_6")),
                invoice("INV-7", "paid", Some("ch_9")),
                invoice("INV-8", "paid", Some("ch_8")),
            ],
            charges: vec![
                charge("ch_2", "INV-2", false),
                charge("ch_3", "INV-3", false),
                charge("ch_4", "INV-4", false),
                charge("ch_44", "INV-4", false),
                other_amount,
                charge("ch_6", "INV-6", false),
                charge("ch_7", "INV-7", false),
                charge("ch_8", "INV-8", true),
                charge("ch_x", "INV-X", false),
            ],
            open_claims: ["INV-6".to_owned()].into(),
        };
        assert_eq!(
            kinds(&books),
            [
                ("INV-1".to_owned(), "paid_without_charge"),
                ("INV-2".to_owned(), "charge_without_payment"),
                ("INV-3".to_owned(), "charge_on_void_invoice"),
                ("INV-4".to_owned(), "duplicate_charge"),
                ("INV-5".to_owned(), "amount_mismatch"),
                ("INV-6".to_owned(), "open_charge_claim"),
                ("INV-7".to_owned(), "payment_charge_unknown"),
                ("INV-8".to_owned(), "paid_without_charge"),
                ("INV-X".to_owned(), "charge_without_payment"),
            ]
        );
        let comparison = compare(&books);
        assert_eq!((comparison.invoices, comparison.charges, comparison.matched), (8, 9, 0));
        let amount = &comparison.mismatches[4];
        assert_eq!(amount.detail, "invoice is 1999 cents; charge ch_5 is 2000 cents");
    }

    #[test]
    fn a_refunded_stray_charge_is_the_repair_not_a_finding() {
        // A duplicate and a wrong-amount charge, each refunded by a person; the good charge stands.
        let mut other_amount = charge("ch_1c", "INV-1", true);
        other_amount.amount_cents = 2000;
        let books = Books {
            invoices: vec![invoice("INV-1", "paid", Some("ch_1")), invoice("INV-2", "paid", Some("ch_2"))],
            charges: vec![
                charge("ch_1", "INV-1", false),
                charge("ch_1b", "INV-1", true),
                other_amount,
                charge("ch_2", "INV-2", false),
            ],
            open_claims: BTreeSet::new(),
        };
        assert_eq!(kinds(&books), []);
        // Two standing charges are still a duplicate.
        let mut books = books;
        books.charges.push(charge("ch_2b", "INV-2", false));
        assert_eq!(kinds(&books), [("INV-2".to_owned(), "duplicate_charge")]);
        // Refunding the recorded charge of a pair, not the stray, is no repair.
        let books = Books {
            invoices: vec![invoice("INV-3", "paid", Some("ch_3"))],
            charges: vec![charge("ch_3", "INV-3", true), charge("ch_3b", "INV-3", false)],
            open_claims: BTreeSet::new(),
        };
        assert_eq!(kinds(&books), [("INV-3".to_owned(), "payment_charge_unknown")]);
    }

    #[test]
    fn a_bill_left_open_or_paid_in_silence_is_flagged() {
        // A saga terminated before its charge leaves the invoice open with nothing at the
        // provider; one terminated after recording the payment leaves it paid with no receipt.
        // An open invoice whose charge claim is open is the claim's finding alone.
        let mut silent = invoice("INV-2", "paid", Some("ch_2"));
        silent.receipt_sent = false;
        let books = Books {
            invoices: vec![invoice("INV-1", "open", None), silent, invoice("INV-3", "open", None)],
            charges: vec![charge("ch_2", "INV-2", false)],
            open_claims: ["INV-3".to_owned()].into(),
        };
        assert_eq!(
            kinds(&books),
            [
                ("INV-1".to_owned(), "open_not_charged"),
                ("INV-2".to_owned(), "paid_without_receipt"),
                ("INV-3".to_owned(), "open_charge_claim"),
            ]
        );
        let detail = &compare(&books).mismatches[1].detail;
        assert_eq!(detail, "invoice paid; its receipt notify/INV-2/email was never delivered");
    }

    #[test]
    fn a_refunded_charge_on_an_open_invoice_is_still_unaccounted() {
        // Refunded but never voided: a saga that stopped between its compensations.
        let books = Books {
            invoices: vec![invoice("INV-1", "open", None)],
            charges: vec![charge("ch_1", "INV-1", true)],
            open_claims: BTreeSet::new(),
        };
        assert_eq!(kinds(&books), [("INV-1".to_owned(), "charge_without_payment")]);
    }
}
