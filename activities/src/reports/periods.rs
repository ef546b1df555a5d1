//! Which invoices belong to a business date: the date's own bill, and the bills of every period
//! a per-fire job (`FireBillingWorkflow`) billed on that date.
//!
//! A once-a-day bill is `INV-{customer}-{YYYYMMDD}` with business date `YYYY-MM-DD`; a fire's bill
//! is `INV-{customer}-{YYYYMMDD}T{HH:MM[:SS]}[/repeat]` with the period as its business date (see
//! `punctual_workflows::keys::invoice_id`). Reconciling only the date's own bills left every
//! per-fire invoice unreconciled: a saga of a fire terminated by hand was never flagged.

use punctual_workflows::keys;
use std::collections::BTreeSet;
use std::ops::Bound;

/// What an invoice business date or id may add after the date to name a period of it.
const PERIOD_MARKS: [char; 2] = ['T', '/'];

/// The invoice ids of one date for a set of customers.
#[derive(Debug, Default)]
pub(super) struct DateInvoices {
    /// `INV-{customer}-{YYYYMMDD}` of every customer.
    dates: BTreeSet<String>,
    /// Ids of rows read from the database (already known to be the date's).
    rows: BTreeSet<String>,
}

impl DateInvoices {
    /// The date's invoices of `customers`, plus `rows`.
    pub(super) fn new<'a>(
        customers: impl IntoIterator<Item = &'a String>,
        date: &str,
        rows: impl IntoIterator<Item = String>,
    ) -> Self {
        Self { dates: customers.into_iter().map(|c| keys::invoice_id(c, date)).collect(), rows: rows.into_iter().collect() }
    }

    /// Whether `invoice` is one of the date's: a row we read, a customer's bill of the date, or
    /// of a period of it.
    pub(super) fn contains(&self, invoice: &str) -> bool {
        if self.rows.contains(invoice) {
            return true;
        }
        // The greatest date id not after `invoice` is the only one it can extend.
        self.dates.range::<str, _>((Bound::Unbounded, Bound::Included(invoice))).next_back().is_some_and(|day| {
            match invoice.strip_prefix(day.as_str()) {
                Some(rest) => rest.is_empty() || rest.starts_with(PERIOD_MARKS),
                None => false,
            }
        })
    }
}

/// The business-date values (`invoices.business_date`) that put an invoice on `date`: the date
/// itself, and prefixes `{date}T` / `{date}/` of its periods, for SQL `substr(business_date, 1,
/// 11)`.
pub(super) fn period_prefixes(date: &str) -> [String; 2] {
    PERIOD_MARKS.map(|mark| format!("{date}{mark}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_holds_its_own_bills_and_its_periods_bills_only() {
        let customers = ["C00001".to_owned(), "C00002".to_owned()];
        let ours = DateInvoices::new(&customers, "2026-11-24", ["INV-X-by-hand".to_owned()]);
        for yes in [
            "INV-C00001-20261124", "INV-C00002-20261124T10:00", "INV-C00001-20261124T10:00:05",
            "INV-C00001-20261124T01:00/repeat", "INV-C00001-20261124/repeat", "INV-X-by-hand",
        ] {
            assert!(ours.contains(yes), "{yes}");
        }
        for no in ["INV-C00001-20261125", "INV-C00001-2026112", "INV-C00003-20261124", "INV-C00001-202611240", "INV-C0000"] {
            assert!(!ours.contains(no), "{no}");
        }
        assert_eq!(period_prefixes("2026-11-24"), ["2026-11-24T".to_owned(), "2026-11-24/".to_owned()]);
    }
}
