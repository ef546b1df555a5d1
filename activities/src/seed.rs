//! `punctual seed`: a deterministic demo data set of customers.
//!
//! Deterministic so that tests, the chaos verifier and a person reading the README all expect
//! the same customers: `C00001`..`C{n}`. Some are set up so their payment fails, making
//! compensation visible: every 17th customer's card is declined, every 23rd customer's account
//! was closed after the bill was issued (payment cannot be recorded, the charge is refunded).
//! Every 5th customer is billed in `America/New_York`, the others in `Asia/Shanghai`.

use crate::ledger::Ledger;

/// Payment method that the sandbox provider always accepts.
pub const CARD_OK: &str = "pm_card_visa";
/// Payment method that the sandbox provider always declines.
pub const CARD_DECLINED: &str = "pm_card_chargeDeclined";

/// One demo customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCustomer {
    /// `C00042`.
    pub id: String,
    /// IANA zone the customer is billed in.
    pub timezone: &'static str,
    /// Amount billed per business date, in cents.
    pub plan_cents: i64,
    /// Provider payment method.
    pub payment_method: &'static str,
    /// `active` or `closed`.
    pub status: &'static str,
}

/// The `i`-th demo customer (1-based).
pub fn demo_customer(i: u32) -> DemoCustomer {
    DemoCustomer {
        id: format!("C{i:05}"),
        timezone: if i.is_multiple_of(5) { "America/New_York" } else { "Asia/Shanghai" },
        plan_cents: 1_000 + i64::from(i * 7_919 % 9_000),
        payment_method: if i.is_multiple_of(17) { CARD_DECLINED } else { CARD_OK },
        status: if i.is_multiple_of(23) && !i.is_multiple_of(17) { "closed" } else { "active" },
    }
}

/// Inserts demo customers `1..=count` that do not exist yet; returns how many were inserted.
pub async fn seed_customers(ledger: &Ledger, count: u32) -> Result<u64, sqlx::Error> {
    let mut inserted = 0;
    let ids: Vec<u32> = (1..=count).collect();
    for chunk in ids.chunks(500) {
        let mut tx = ledger.pool().begin().await?;
        for &i in chunk {
            let c = demo_customer(i);
            inserted += sqlx::query(
                "INSERT INTO customers (id, name, timezone, plan_cents, payment_method, status) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&c.id)
            .bind(format!("Demo customer {i}"))
            .bind(c.timezone)
            .bind(c.plan_cents)
            .bind(c.payment_method)
            .bind(c.status)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    }
    Ok(inserted)
}

/// Number of customers in the database.
pub async fn customer_count(ledger: &Ledger) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(ledger.pool()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_customers_are_deterministic_and_mixed() {
        assert_eq!(demo_customer(1).id, "C00001");
        assert_eq!(demo_customer(17).payment_method, CARD_DECLINED);
        assert_eq!(demo_customer(23).status, "closed");
        assert_eq!(demo_customer(5).timezone, "America/New_York");
        assert_eq!(demo_customer(1), demo_customer(1));
        assert!((1..=1000).all(|i| demo_customer(i).plan_cents > 0));
    }
}
