//! The verdict: expected bills against what the outside world and the database actually hold.
//!
//! One *unit* is one customer's bill for one fire. For each, the effects are counted where they
//! landed — charges and refunds at the provider, receipts at the sink, the invoice and payment
//! rows in the database — and compared with the customer's [`Fate`]:
//! - more than one charge, refund or receipt for the invoice: **duplicated**;
//! - an expected effect missing, or the invoice not settled: **lost**;
//! - exactly what the fate says: **completed** (and **compensated** when the fate is a
//!   declined card or a closed account);
//! - anything else (a refund of a bill that should be paid, ...): **mismatched**.
//!
//! Effects for invoices of no expected unit are **unexpected**, and every required fire's
//! occurrence must be `committed` in `job_occurrences`. Pure: the reading is elsewhere, so the
//! rules are tested here with hand-made observations, including ones that must fail.

use super::expected::{Customer, Fate, Fire, Fires};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Problems listed in full; beyond this, only counted.
const SHOWN_PROBLEMS: usize = 20;

/// What the run's world holds after the drain.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Provider charges: (charge id, invoice id).
    pub charges: Vec<(String, String)>,
    /// Provider refunds: the charge id each refunds.
    pub refunds: Vec<String>,
    /// Sink deliveries: the invoice id each is about.
    pub deliveries: Vec<String>,
    /// Invoice rows: id → status.
    pub invoices: BTreeMap<String, String>,
    /// Payment rows: invoice ids (the table's primary key).
    pub payments: BTreeSet<String>,
    /// The job's `job_occurrences` rows: key → status.
    pub occurrences: BTreeMap<String, String>,
}

/// The outcome of the comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Units expected (fires × customers).
    pub expected: usize,
    /// Units whose effects are exactly right.
    pub completed: usize,
    /// Of those, units settled by compensation.
    pub compensated: usize,
    /// Units with an expected effect missing.
    pub lost: usize,
    /// Units with an effect made more than once.
    pub duplicated: usize,
    /// Units whose effects are wrong in another way.
    pub mismatched: usize,
    /// Effects or occurrences belonging to no expected fire.
    pub unexpected: usize,
    /// Required occurrences, and how many are committed.
    pub occurrences: usize,
    pub occurrences_committed: usize,
    /// The first problems, one line each.
    pub problems: Vec<String>,
    /// How many problems there were in all.
    pub problem_count: usize,
}

impl Verdict {
    /// Whether the promise held: every unit completed exactly once, every occurrence committed.
    pub fn passed(&self) -> bool {
        self.problem_count == 0 && self.completed == self.expected && self.occurrences_committed == self.occurrences
    }

    /// `expected=N completed=N lost=0 duplicated=0 compensated=K ...`.
    pub fn summary(&self) -> String {
        format!(
            "expected={} completed={} lost={} duplicated={} compensated={} mismatched={} unexpected={} occurrences={}/{}",
            self.expected,
            self.completed,
            self.lost,
            self.duplicated,
            self.compensated,
            self.mismatched,
            self.unexpected,
            self.occurrences_committed,
            self.occurrences
        )
    }

    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < SHOWN_PROBLEMS {
            self.problems.push(text);
        }
    }
}

/// Effect counts of one invoice.
#[derive(Debug, Default)]
struct Seen {
    charges: usize,
    refunds: usize,
    deliveries: usize,
}

/// Compares `observed` with `fires` × `customers`.
pub fn verify(fires: &Fires, customers: &[Customer], observed: &Observed) -> Verdict {
    let mut verdict = Verdict::default();
    // Optional fires count when any trace of them exists.
    let traced = |fire: &Fire| {
        observed.occurrences.contains_key(&fire.key)
            || customers.iter().any(|c| observed.invoices.contains_key(&fire.invoice(&c.id)))
    };
    let fired: Vec<&Fire> = fires.required.iter().chain(fires.optional.iter().filter(|f| traced(f))).collect();

    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut invoice_of_charge: HashMap<&str, &str> = HashMap::new();
    for (charge, invoice) in &observed.charges {
        seen.entry(invoice.clone()).or_default().charges += 1;
        invoice_of_charge.insert(charge, invoice);
    }
    for charge in &observed.refunds {
        match invoice_of_charge.get(charge.as_str()) {
            Some(invoice) => seen.entry((*invoice).to_owned()).or_default().refunds += 1,
            None => {
                verdict.unexpected += 1;
                verdict.problem(format!("refund of unknown charge {charge}"));
            }
        }
    }
    for invoice in &observed.deliveries {
        seen.entry(invoice.clone()).or_default().deliveries += 1;
    }

    let mut expected_invoices = BTreeSet::new();
    for fire in &fired {
        for customer in customers {
            let invoice = fire.invoice(&customer.id);
            let counts = seen.get(&invoice).map_or((0, 0, 0), |s| (s.charges, s.refunds, s.deliveries));
            judge(&mut verdict, &invoice, customer.fate, counts, observed);
            expected_invoices.insert(invoice);
        }
    }
    let stray: BTreeSet<&String> = seen
        .keys()
        .chain(observed.invoices.keys())
        .chain(observed.payments.iter())
        .filter(|invoice| !expected_invoices.contains(*invoice))
        .collect();
    for invoice in stray {
        verdict.unexpected += 1;
        verdict.problem(format!("{invoice}: effects for a fire that was not expected"));
    }

    let fired_keys: BTreeSet<&str> = fired.iter().map(|f| f.key.as_str()).collect();
    for key in observed.occurrences.keys().filter(|k| !fired_keys.contains(k.as_str())) {
        verdict.unexpected += 1;
        verdict.problem(format!("occurrence {key} was not expected"));
    }
    verdict.occurrences = fires.required.len();
    for fire in &fires.required {
        match observed.occurrences.get(&fire.key).map(String::as_str) {
            Some("committed") => verdict.occurrences_committed += 1,
            status => verdict.problem(format!("occurrence {} is {}", fire.key, status.unwrap_or("missing"))),
        }
    }
    verdict
}

/// Judges one unit: invoice `invoice` of a customer whose bill must end as `fate`.
fn judge(
    verdict: &mut Verdict,
    invoice: &str,
    fate: Fate,
    (charges, refunds, deliveries): (usize, usize, usize),
    observed: &Observed,
) {
    verdict.expected += 1;
    let status = observed.invoices.get(invoice).map(String::as_str);
    let paid = observed.payments.contains(invoice);
    let (want_charges, want_refunds, want_deliveries, want_paid, want_status) = match fate {
        Fate::Paid => (1, 0, 1, true, "paid"),
        Fate::Declined => (0, 0, 0, false, "void"),
        Fate::Closed => (1, 1, 0, false, "void"),
    };
    let found = format!(
        "invoice {}, {charges} charge(s), {refunds} refund(s), {deliveries} receipt(s), payment {}",
        status.unwrap_or("missing"),
        if paid { "recorded" } else { "none" }
    );
    if charges > 1 || refunds > 1 || deliveries > 1 {
        verdict.duplicated += 1;
        verdict.problem(format!("DUPLICATED {invoice} ({fate:?}): {found}"));
    } else if charges == want_charges
        && refunds == want_refunds
        && deliveries == want_deliveries
        && paid == want_paid
        && status == Some(want_status)
    {
        verdict.completed += 1;
        if fate.compensated() {
            verdict.compensated += 1;
        }
    } else if charges < want_charges
        || refunds < want_refunds
        || deliveries < want_deliveries
        || (want_paid && !paid)
        || status.is_none_or(|s| s == "open")
    {
        verdict.lost += 1;
        verdict.problem(format!("LOST {invoice} ({fate:?}): {found}"));
    } else {
        verdict.mismatched += 1;
        verdict.problem(format!("MISMATCHED {invoice} ({fate:?}): {found}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn fire(key: &str) -> Fire {
        Fire { at: DateTime::<Utc>::UNIX_EPOCH, key: key.to_owned() }
    }

    fn customers() -> Vec<Customer> {
        vec![
            Customer { id: "C00001".into(), fate: Fate::Paid },
            Customer { id: "C00017".into(), fate: Fate::Declined },
            Customer { id: "C00023".into(), fate: Fate::Closed },
        ]
    }

    /// Everything right for fire `key`.
    fn perfect(observed: &mut Observed, key: &str) {
        let f = fire(key);
        let (paid, declined, closed) = (f.invoice("C00001"), f.invoice("C00017"), f.invoice("C00023"));
        observed.charges.push((format!("ch-{paid}"), paid.clone()));
        observed.charges.push((format!("ch-{closed}"), closed.clone()));
        observed.refunds.push(format!("ch-{closed}"));
        observed.deliveries.push(paid.clone());
        observed.invoices.insert(paid.clone(), "paid".into());
        observed.invoices.insert(declined, "void".into());
        observed.invoices.insert(closed, "void".into());
        observed.payments.insert(paid);
        observed.occurrences.insert(key.to_owned(), "committed".into());
    }

    fn two_fires() -> (Fires, Observed) {
        let fires =
            Fires { required: vec![fire("chaos/2026-11-24T10:00:05"), fire("chaos/2026-11-24T10:00:10")], optional: vec![] };
        let mut observed = Observed::default();
        perfect(&mut observed, "chaos/2026-11-24T10:00:05");
        perfect(&mut observed, "chaos/2026-11-24T10:00:10");
        (fires, observed)
    }

    #[test]
    fn exactly_once_everywhere_passes() {
        let (fires, observed) = two_fires();
        let verdict = verify(&fires, &customers(), &observed);
        assert!(verdict.passed(), "{verdict:?}");
        assert_eq!(
            verdict.summary(),
            "expected=6 completed=6 lost=0 duplicated=0 compensated=4 mismatched=0 unexpected=0 occurrences=2/2"
        );
    }

    #[test]
    fn a_second_charge_is_duplicated() {
        let (fires, mut observed) = two_fires();
        let invoice = fire("chaos/2026-11-24T10:00:10").invoice("C00001");
        observed.charges.push(("ch-again".into(), invoice.clone()));
        let verdict = verify(&fires, &customers(), &observed);
        assert!(!verdict.passed());
        assert_eq!((verdict.duplicated, verdict.completed), (1, 5));
        assert!(verdict.problems[0].contains(&invoice), "{:?}", verdict.problems);
    }

    #[test]
    fn a_second_receipt_or_refund_is_duplicated_too() {
        let (fires, mut observed) = two_fires();
        observed.deliveries.push(fire("chaos/2026-11-24T10:00:05").invoice("C00001"));
        observed.refunds.push(format!("ch-{}", fire("chaos/2026-11-24T10:00:05").invoice("C00023")));
        assert_eq!(verify(&fires, &customers(), &observed).duplicated, 2);
    }

    #[test]
    fn a_missing_receipt_or_a_whole_missing_fire_is_lost() {
        let (mut fires, mut observed) = two_fires();
        observed.deliveries.pop();
        fires.required.push(fire("chaos/2026-11-24T10:00:15"));
        let verdict = verify(&fires, &customers(), &observed);
        assert_eq!((verdict.lost, verdict.completed, verdict.expected), (4, 5, 9));
        assert_eq!(verdict.occurrences_committed, 2);
        assert!(verdict.problems.iter().any(|p| p.contains("occurrence chaos/2026-11-24T10:00:15 is missing")));
        assert!(!verdict.passed());
    }

    #[test]
    fn a_refund_of_a_paid_bill_is_mismatched() {
        let (fires, mut observed) = two_fires();
        let paid = fire("chaos/2026-11-24T10:00:05").invoice("C00001");
        observed.refunds.push(format!("ch-{paid}"));
        let verdict = verify(&fires, &customers(), &observed);
        assert_eq!(verdict.mismatched, 1);
        assert!(!verdict.passed());
    }

    #[test]
    fn effects_of_an_unplanned_fire_are_unexpected_and_optional_fires_count_only_when_seen() {
        let (mut fires, mut observed) = two_fires();
        fires.optional.push(fire("chaos/2026-11-24T10:00:15"));
        fires.optional.push(fire("chaos/2026-11-24T10:00"));
        perfect(&mut observed, "chaos/2026-11-24T10:00:15");
        let verdict = verify(&fires, &customers(), &observed);
        assert!(verdict.passed(), "{verdict:?}");
        assert_eq!(verdict.expected, 9);
        perfect(&mut observed, "chaos/2026-11-24T10:00:20");
        let verdict = verify(&fires, &customers(), &observed);
        assert_eq!(verdict.unexpected, 4, "{verdict:?}");
        assert!(!verdict.passed());
    }
}
