//! What a billing run over the demo customers must leave in the outside world, and the check
//! that it did: every effect counted where it lands (provider, sink, business tables), once.

use crate::TestEnv;
use punctual_activities::seed::{CARD_DECLINED, demo_customer};
use punctual_workflows::keys;
use serde_json::Value;
use std::collections::BTreeMap;

/// The time zone the billing tests bill.
pub const TZ: &str = "Asia/Shanghai";

/// What a billing run over the first `n` demo customers in `TZ` must leave behind.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Every invoice, ascending.
    pub invoices: Vec<String>,
    /// Invoices the provider charges (declines excluded).
    pub charged: Vec<String>,
    /// Invoices whose card is declined.
    pub declined: Vec<String>,
    /// Charged invoices of closed accounts (refunded, voided).
    pub closed: Vec<String>,
    /// Invoices the run must leave alone: open, never charged (see [`Expected::untouched`]).
    pub untouched: Vec<String>,
}

impl Expected {
    /// The same, except that the run must not touch `invoice` (its row was there before, by
    /// other hands): it stays open, uncharged, unpaid.
    pub fn untouched(mut self, invoice: &str) -> Self {
        for list in [&mut self.charged, &mut self.declined, &mut self.closed] {
            list.retain(|i| i != invoice);
        }
        self.untouched.push(invoice.to_owned());
        self
    }
}

/// What a run of `date` over demo customers `1..=n` must leave.
pub fn expected(n: u32, date: &str) -> Expected {
    let mut e = Expected { invoices: vec![], charged: vec![], declined: vec![], closed: vec![], untouched: vec![] };
    for c in (1..=n).map(demo_customer).filter(|c| c.timezone == TZ) {
        let inv = keys::invoice_id(&c.id, date);
        e.invoices.push(inv.clone());
        if c.payment_method == CARD_DECLINED {
            e.declined.push(inv);
        } else {
            e.charged.push(inv.clone());
            if c.status == "closed" {
                e.closed.push(inv);
            }
        }
    }
    e
}

/// Counts values of `field` across `items`.
pub fn count_by(items: &[Value], field: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item[field].as_str().unwrap_or("<none>").to_owned()).or_default() += 1;
    }
    counts
}

/// Asserts every expected effect happened exactly once, and no other.
pub async fn assert_exactly_once(env: &TestEnv, e: &Expected) {
    let charges = count_by(&env.world.charges().await, "invoice_id");
    let want: BTreeMap<_, _> = e.charged.iter().map(|i| (i.clone(), 1)).collect();
    assert_eq!(charges, want, "charges per invoice at the provider");

    let refunds = env.world.refunds().await;
    assert_eq!(refunds.len(), e.closed.len(), "refunds: {refunds:#?}");

    let delivered = count_by(&env.world.delivered().await, "invoice_id");
    let paid: Vec<_> = e.charged.iter().filter(|i| !e.closed.contains(i)).collect();
    let want: BTreeMap<_, _> = paid.iter().map(|i| ((*i).clone(), 1)).collect();
    assert_eq!(delivered, want, "receipts per invoice at the sink");

    let invoices = env.world.invoices().await;
    let ids: Vec<_> = invoices.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, e.invoices, "one invoice row per customer");
    for (id, status) in &invoices {
        let want = if paid.contains(&id) {
            "paid"
        } else if e.untouched.contains(id) {
            "open"
        } else {
            "void"
        };
        assert_eq!(status, want, "{id}");
        let payments = env.world.payments_for(id).await;
        assert_eq!(payments, i64::from(paid.contains(&id)), "payment rows of {id}");
    }
}

/// Gives `customer` a payment method the provider does not know, so its charge is refused as such
/// (400, not a decline); returns the customer's invoice id for `date`.
pub async fn break_payment_method(env: &TestEnv, customer: &str, date: &str) -> String {
    sqlx::query("UPDATE customers SET payment_method = 'pm_card_unknown' WHERE id = $1")
        .bind(customer)
        .execute(env.world.ledger.pool())
        .await
        .unwrap_or_else(|e| panic!("break {customer}'s payment method: {e}"));
    keys::invoice_id(customer, date)
}

/// How many charge requests the provider received for `invoice`.
pub async fn charge_requests_for(env: &TestEnv, invoice: &str) -> usize {
    let requests = env.world.provider_requests().await;
    requests.iter().filter(|r| r["endpoint"] == "POST /charges" && r["invoice_id"] == invoice).count()
}
