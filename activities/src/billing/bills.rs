//! Effects in our own database: bills (invoice rows), payment records, voids. Exactly once by
//! transaction: the ledger row and the effect's rows commit together or not at all.
//!
//! The single-key activities here and the bulk ones (`super::bulk`) share each effect's key,
//! request and SQL through the helpers below, so a bill made by either replays in the other.

use crate::failure;
use crate::ledger::{Caller, EffectError, EntryStatus, Ledger, Once};
use punctual_workflows::billing::types::*;
use punctual_workflows::failures::{ACCOUNT_CLOSED, INVOICE_VOID};
use punctual_workflows::keys;
use serde_json::json;
use sqlx::{AnyConnection, Row};
use temporalio_sdk::activities::ActivityError;

const UNKNOWN_CUSTOMER: &str = "UnknownCustomer";
/// Failure type of a customer whose row cannot be billed as it stands.
pub(super) const CUSTOMER_UNREADABLE: &str = "CustomerUnreadable";

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

pub(super) fn receipt(key: String, once: Once<String>, with_id: bool) -> EffectReceipt {
    let replayed = once.was_replayed();
    let id = once.into_inner();
    EffectReceipt { key, external_id: with_id.then_some(id), replayed }
}

/// The ledger request of a bill: who and which date.
pub(super) fn bill_request(input: &GenerateBillInput) -> serde_json::Value {
    json!({ "customer_id": input.customer_id, "business_date": input.business_date })
}

/// What a customer's row says about the bill `input` asks for.
#[derive(Debug, Clone)]
pub(super) enum Billable {
    /// The bill.
    Bill(Bill),
    /// No such customer.
    Unknown,
    /// The row is there but cannot be billed as it stands (a `plan_cents` stored as 19.99 or as
    /// text, which SQLite's column affinity lets through): this customer's refusal, naming the
    /// column. Retrying cannot fix it, and one such row must not hold up a page of others.
    Unreadable(String),
}

/// The bill `input` asks for, from the customer's row. Only reaching the database is an error.
pub(super) async fn bill_for(conn: &mut AnyConnection, input: &GenerateBillInput) -> Result<Billable, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT plan_cents, payment_method FROM customers WHERE id = $1")
        .bind(&input.customer_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(Billable::Unknown);
    };
    let unreadable =
        |column: &str, e: sqlx::Error| format!("customer `{}`: column `{column}` cannot be read ({e})", input.customer_id);
    let amount_cents: i64 = match row.try_get("plan_cents") {
        Ok(amount) => amount,
        Err(e) => return Ok(Billable::Unreadable(unreadable("plan_cents", e))),
    };
    let payment_method: String = match row.try_get("payment_method") {
        Ok(method) => method,
        Err(e) => return Ok(Billable::Unreadable(unreadable("payment_method", e))),
    };
    Ok(Billable::Bill(Bill {
        invoice_id: keys::invoice_id(&input.customer_id, &input.business_date),
        customer_id: input.customer_id.clone(),
        business_date: input.business_date.clone(),
        amount_cents,
        payment_method,
        customer_ref: String::new(),
        invoice_ref: String::new(),
    }))
}

/// The refusal for a customer with no row.
pub(super) fn unknown_customer(customer: &str) -> String {
    format!("{UNKNOWN_CUSTOMER}: no customer `{customer}`")
}

/// The refusal for a customer whose row cannot be billed, from [`Billable::Unreadable`].
pub(super) fn unreadable_customer(why: &str) -> String {
    format!("{CUSTOMER_UNREADABLE}: {why}; fix the row, then run the date again")
}

/// The effect of a bill: its open invoice row.
pub(super) async fn insert_invoice(conn: &mut AnyConnection, bill: &Bill) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoices (id, customer_id, business_date, amount_cents, status, created_at) \
         VALUES ($1, $2, $3, $4, 'open', $5)",
    )
    .bind(&bill.invoice_id)
    .bind(&bill.customer_id)
    .bind(&bill.business_date)
    .bind(bill.amount_cents)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `GenerateBill`: inserts the invoice once per `bill/{customer}/{date}`.
pub(super) async fn generate(ledger: &Ledger, caller: &Caller, input: &GenerateBillInput) -> Result<Bill, ActivityError> {
    let key = keys::bill(&input.customer_id, &input.business_date);
    let input = input.clone();
    let once = ledger
        .once(&key, &bill_request(&input), caller, move |conn| {
            Box::pin(async move {
                let bill = match bill_for(conn, &input).await? {
                    Billable::Bill(bill) => bill,
                    Billable::Unknown => return Err(EffectError::permanent(unknown_customer(&input.customer_id))),
                    Billable::Unreadable(why) => return Err(EffectError::permanent(unreadable_customer(&why))),
                };
                insert_invoice(conn, &bill).await?;
                Ok(bill)
            })
        })
        .await
        .map_err(failure::from_ledger)?;
    Ok(once.into_inner())
}

/// Whether `input`'s invoice may be paid: a closed account refuses the payment, and so does a
/// voided invoice (both non-retryable). The void is final: run again after its account reopened,
/// a compensated saga replays its refunded charge, and recording that as a payment would mark the
/// bill paid and send a receipt with no money collected.
pub(super) async fn check_payable(ledger: &Ledger, input: &RecordPaymentInput) -> Result<(), ActivityError> {
    let invoice: Option<String> = sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(&input.invoice_id)
        .fetch_optional(ledger.pool())
        .await
        .map_err(|e| failure::retryable(format!("reading invoice: {e}")))?;
    if invoice.as_deref() == Some("void") {
        return Err(failure::permanent(
            INVOICE_VOID,
            format!("invoice {} was voided: a voided bill is not paid again (bill the customer anew)", input.invoice_id),
        ));
    }
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM customers WHERE id = $1")
        .bind(&input.customer_id)
        .fetch_optional(ledger.pool())
        .await
        .map_err(|e| failure::retryable(format!("reading customer: {e}")))?;
    match status.as_deref() {
        None => Err(failure::permanent(UNKNOWN_CUSTOMER, format!("no customer `{}`", input.customer_id))),
        Some("closed") => Err(failure::permanent(
            ACCOUNT_CLOSED,
            format!("account {} is closed: payment for {} cannot be recorded", input.customer_id, input.invoice_id),
        )),
        Some(_) => Ok(()),
    }
}

/// [`check_payable`], except that a payment already recorded replays though its account was
/// closed since. Attempt 1 records the payment and its worker dies before reporting; the account
/// is closed before attempt 2. Refusing attempt 2 would refund and void a bill whose payment the
/// books hold. A *voided* invoice is still refused, recorded payment or not: it was refunded and
/// voided (by a saga that compensated after its payment was recorded, as receipt failures once
/// did), and replaying its payment would send a "payment received" for it. Only an account
/// refusal pays for the extra read.
pub(super) async fn check_payable_unless_recorded(
    ledger: &Ledger,
    input: &RecordPaymentInput,
    key: &str,
) -> Result<(), ActivityError> {
    let refusal = match check_payable(ledger, input).await {
        Err(ActivityError::Application(app)) if app.is_non_retryable() && app.type_name() == Some(ACCOUNT_CLOSED) => {
            ActivityError::Application(app)
        }
        checked => return checked,
    };
    let entry = ledger.entry(key).await.map_err(failure::from_ledger)?;
    if entry.is_some_and(|e| e.status == EntryStatus::Done) { Ok(()) } else { Err(refusal) }
}

/// The effect of a payment record: the payment row, and the invoice marked paid.
pub(super) async fn insert_payment(conn: &mut AnyConnection, p: &RecordPaymentInput) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO payments (invoice_id, charge_id, amount_cents, recorded_at) VALUES ($1, $2, $3, $4)")
        .bind(&p.invoice_id)
        .bind(&p.charge_id)
        .bind(p.amount_cents)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE invoices SET status = 'paid' WHERE id = $1").bind(&p.invoice_id).execute(&mut *conn).await?;
    Ok(())
}

/// `RecordPayment`: marks the invoice paid and stores the payment once per
/// `payment-record/{invoice}`. A closed account refuses the payment (non-retryable).
pub(super) async fn record_payment(
    ledger: &Ledger,
    caller: &Caller,
    input: &RecordPaymentInput,
) -> Result<EffectReceipt, ActivityError> {
    let key = keys::payment_record(&input.invoice_id);
    check_payable_unless_recorded(ledger, input, &key).await?;
    let request = serde_json::to_value(input).expect("plain struct");
    let p = input.clone();
    let once = ledger
        .once(&key, &request, caller, move |conn| {
            Box::pin(async move {
                insert_payment(conn, &p).await?;
                Ok(p.charge_id.clone())
            })
        })
        .await
        .map_err(failure::from_ledger)?;
    Ok(receipt(key, once, true))
}

/// The ledger request of a void: which invoice (the reason is kept on the row, not compared).
pub(super) fn void_request(input: &VoidInput) -> serde_json::Value {
    json!({ "invoice_id": input.invoice_id })
}

/// The effect of a void: the invoice marked void, with the reason. A *paid* invoice is refused
/// (permanently, nothing changed): no compensation punctual runs today voids a bill whose payment
/// the books hold, so such a void is a race (an account closed while a per-customer saga and a
/// bulk page of the same date both recorded its payment) and voiding would hide a paid bill from
/// the reconciliation. Left paid, a refunded charge shows as `paid_without_charge`.
pub(super) async fn void_rows(conn: &mut AnyConnection, v: &VoidInput) -> Result<(), EffectError> {
    let voided = sqlx::query("UPDATE invoices SET status = 'void', void_reason = $2 WHERE id = $1 AND status <> 'paid'")
        .bind(&v.invoice_id)
        .bind(&v.reason)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if voided == 0 {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
            .bind(&v.invoice_id)
            .fetch_optional(&mut *conn)
            .await?;
        if status.as_deref() == Some("paid") {
            return Err(EffectError::permanent(format!(
                "invoice {} is paid: a paid bill is not voided (its payment is recorded; refund and void it by hand if that is meant)",
                v.invoice_id
            )));
        }
    }
    Ok(())
}

/// `VoidInvoice` (compensation): voids the invoice once per `void/{invoice}`.
pub(super) async fn void(ledger: &Ledger, caller: &Caller, input: &VoidInput) -> Result<EffectReceipt, ActivityError> {
    let key = keys::void(&input.invoice_id);
    let v = input.clone();
    let once = ledger
        .once(&key, &void_request(input), caller, move |conn| {
            Box::pin(async move {
                void_rows(conn, &v).await?;
                Ok(v.invoice_id.clone())
            })
        })
        .await
        .map_err(failure::from_ledger)?;
    Ok(receipt(key, once, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_paid_invoice_is_not_voided() {
        let dir = std::env::temp_dir().join(format!("punctual-void-{}", std::process::id()));
        let ledger = Ledger::connect(&format!("sqlite://{}", dir.join("ledger.db").display())).await.unwrap();
        crate::seed::seed_customers(&ledger, 2).await.unwrap();
        for (id, status) in [("INV-C00001-20261130", "paid"), ("INV-C00002-20261130", "open")] {
            sqlx::query("INSERT INTO invoices (id, customer_id, business_date, amount_cents, status, created_at) VALUES ($1, $2, '2026-11-30', 1999, $3, '2026-11-30T00:00:00Z')")
                .bind(id)
                .bind(&id[4..10])
                .bind(status)
                .execute(ledger.pool())
                .await
                .unwrap();
        }
        let caller = Caller { workflow_id: "w".into(), run_id: "r".into(), activity_type: "VoidInvoice".into(), attempt: 1 };
        let void_of = |id: &str| VoidInput { invoice_id: id.into(), reason: "account closed".into() };
        let status = async |id: &str| -> String {
            sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1").bind(id).fetch_one(ledger.pool()).await.unwrap()
        };

        let refused = void(&ledger, &caller, &void_of("INV-C00001-20261130")).await.unwrap_err();
        assert!(format!("{refused:?}").contains("is paid"), "{refused:?}");
        assert_eq!(status("INV-C00001-20261130").await, "paid");
        assert_eq!(ledger.entry(&keys::void("INV-C00001-20261130")).await.unwrap(), None, "the refusal left its key claimed");

        void(&ledger, &caller, &void_of("INV-C00002-20261130")).await.unwrap();
        assert_eq!(status("INV-C00002-20261130").await, "void");
        std::fs::remove_dir_all(dir).ok();
    }

    /// SQLite keeps 19.99 (or text) in a BIGINT column: the bill is refused for good, naming the
    /// column, where the decode error used to count as a database hiccup, retried for ever.
    #[tokio::test]
    async fn a_customer_row_that_cannot_be_read_is_refused_for_good() {
        let dir = std::env::temp_dir().join(format!("punctual-unreadable-{}", std::process::id()));
        let ledger = Ledger::connect(&format!("sqlite://{}", dir.join("ledger.db").display())).await.unwrap();
        crate::seed::seed_customers(&ledger, 3).await.unwrap();
        sqlx::query("UPDATE customers SET plan_cents = 19.99 WHERE id = 'C00001'").execute(ledger.pool()).await.unwrap();
        sqlx::query("UPDATE customers SET plan_cents = '1999 cents' WHERE id = 'C00002'").execute(ledger.pool()).await.unwrap();
        let caller = Caller { workflow_id: "w".into(), run_id: "r".into(), activity_type: "GenerateBill".into(), attempt: 1 };
        for customer in ["C00001", "C00002"] {
            let input = GenerateBillInput { customer_id: customer.into(), business_date: "2026-11-30".into() };
            let err = generate(&ledger, &caller, &input).await.unwrap_err();
            let ActivityError::Application(app) = &err else { panic!("{err:?}") };
            assert!(app.is_non_retryable(), "{customer}: retried: {err:?}");
            assert!(format!("{err:?}").contains("column `plan_cents`"), "{err:?}");
        }
        let fine = GenerateBillInput { customer_id: "C00003".into(), business_date: "2026-11-30".into() };
        generate(&ledger, &caller, &fine).await.unwrap();
        std::fs::remove_dir_all(dir).ok();
    }
}
