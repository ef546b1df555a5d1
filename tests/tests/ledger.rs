//! The ledger's guarantees, checked on SQLite and on a real PostgreSQL alike.
//!
//! Effects are counted twice over: how often the effect closure ran, and how many rows it left in
//! a table of its own, written on the ledger's connection like a business table would be.

use futures::future::{BoxFuture, join_all};
use punctual_activities::ledger::{
    Backend, Caller, Claim, EffectError, EntryKind, EntryStatus, Ledger, LedgerError, Once, request_hash,
};
use serde_json::{Value, json};
use sqlx::AnyConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs each case once on a fresh SQLite file and once on a fresh PostgreSQL database.
macro_rules! on_both_engines {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$case(punctual_tests::fresh_sqlite_url(stringify!($case))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$case(punctual_tests::fresh_database(stringify!($case)).await).await;
            }
        }
    )*};
}

on_both_engines!(
    performs_once_then_replays,
    same_key_with_another_request_conflicts,
    failed_effect_rolls_back_and_frees_the_key,
    racing_workers_perform_once,
    crash_mid_effect_leaves_nothing,
    external_claims_and_completions,
    keys_mix_kinds_only_loudly,
    prefix_listing_is_literal_and_ordered,
    a_batch_goes_on_past_a_key_whose_rows_contradict_it,
    the_identity_is_drawn_once_and_differs_between_databases,
);

type Effect<R> = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<R, EffectError>> + Send>;

async fn open(url: &str) -> Ledger {
    let ledger = connect(url).await;
    create_effects_table(&ledger).await;
    ledger
}

async fn connect(url: &str) -> Ledger {
    Ledger::connect(url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// The table the test effects write to (created once per database: PostgreSQL's
/// `CREATE TABLE IF NOT EXISTS` is not safe against itself running concurrently).
async fn create_effects_table(ledger: &Ledger) {
    sqlx::query("CREATE TABLE IF NOT EXISTS effects (key TEXT NOT NULL, note TEXT NOT NULL)")
        .execute(ledger.pool())
        .await
        .expect("create effects table");
}

fn caller(run: &str, attempt: u32) -> Caller {
    Caller { workflow_id: "billing-2026-11".into(), run_id: run.into(), activity_type: "GenerateBill".into(), attempt }
}

/// An effect that counts its runs, writes one `effects` row and returns `result`.
fn write_effect(runs: &Arc<AtomicUsize>, key: &str, result: &str) -> Effect<String> {
    let (runs, key, result) = (runs.clone(), key.to_owned(), result.to_owned());
    Box::new(move |conn| {
        Box::pin(async move {
            runs.fetch_add(1, Ordering::SeqCst);
            sqlx::query("INSERT INTO effects (key, note) VALUES ($1, $2)").bind(&key).bind(&result).execute(&mut *conn).await?;
            Ok(result)
        })
    })
}

/// Committed `effects` rows for `key`, read outside any ledger transaction.
async fn effect_rows(ledger: &Ledger, key: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM effects WHERE key = $1")
        .bind(key)
        .fetch_one(ledger.pool())
        .await
        .expect("count effects")
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

async fn performs_once_then_replays(url: String) {
    let ledger = open(&url).await;
    let key = "bill/C0042/2026-11";
    let request = json!({"customer_id": "C0042", "business_date": "2026-11", "lines": [{"sku": "plan", "cents": 1200}]});

    let first = counter();
    let once = ledger.once(key, &request, &caller("run-1", 1), write_effect(&first, key, "INV-C0042-2026-11")).await;
    assert_eq!(once.expect("first call"), Once::Performed("INV-C0042-2026-11".to_owned()));
    assert_eq!((first.load(Ordering::SeqCst), effect_rows(&ledger, key).await), (1, 1));

    // The same request with its fields in another order is the same request.
    let reordered = json!({"lines": [{"cents": 1200, "sku": "plan"}], "business_date": "2026-11", "customer_id": "C0042"});
    let second = counter();
    let once = ledger.once(key, &reordered, &caller("run-1", 2), write_effect(&second, key, "another")).await;
    let once = once.expect("second call");
    assert!(once.was_replayed());
    assert_eq!(once.into_inner(), "INV-C0042-2026-11");
    assert_eq!(second.load(Ordering::SeqCst), 0, "a replay must not run the effect");
    assert_eq!(effect_rows(&ledger, key).await, 1);

    let entry = ledger.entry(key).await.expect("read").expect("row exists");
    assert_eq!(entry.key, key);
    assert_eq!(entry.kind, EntryKind::Local);
    assert_eq!(entry.status, EntryStatus::Done);
    assert_eq!(entry.request_hash, request_hash(&request));
    assert_eq!(entry.result, Some(json!("INV-C0042-2026-11")));
    assert_eq!(entry.attempts, 1);
    assert_eq!((entry.workflow_id.as_str(), entry.run_id.as_str()), ("billing-2026-11", "run-1"));
    assert_eq!((entry.activity_type.as_str(), entry.last_attempt), ("GenerateBill", 1));
    assert!(entry.completed_at.is_some_and(|done| done >= entry.created_at));
    assert_eq!(ledger.entries_with_prefix("bill/").await.expect("list").len(), 1);
}

async fn same_key_with_another_request_conflicts(url: String) {
    let ledger = open(&url).await;
    let key = "charge-record/INV-C0007-2026-11";
    let original = json!({"invoice": "INV-C0007-2026-11", "amount_cents": 1000});
    let altered = json!({"invoice": "INV-C0007-2026-11", "amount_cents": 1001});
    let runs = counter();
    ledger.once(key, &original, &caller("r", 1), write_effect(&runs, key, "first")).await.expect("first");

    let again = counter();
    let err = ledger
        .once(key, &altered, &caller("r", 1), write_effect(&again, key, "second"))
        .await
        .expect_err("a different request under the same key must be refused");
    match &err {
        LedgerError::Conflict { key: k, stored_hash, request_hash: h } => {
            assert_eq!(k, key);
            assert_eq!(stored_hash, &request_hash(&original));
            assert_eq!(h, &request_hash(&altered));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.to_string().contains(key), "{err}");
    assert_eq!(again.load(Ordering::SeqCst), 0);
    assert_eq!(effect_rows(&ledger, key).await, 1);
    let entry = ledger.entry(key).await.expect("read").expect("row");
    assert_eq!(entry.result, Some(json!("first")));
}

async fn failed_effect_rolls_back_and_frees_the_key(url: String) {
    let ledger = open(&url).await;
    let key = "void/INV-C0003-2026-11";
    let request = json!({"invoice": "INV-C0003-2026-11"});
    let runs = counter();
    let failing: Effect<String> = {
        let runs = runs.clone();
        Box::new(move |conn| {
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                sqlx::query("INSERT INTO effects (key, note) VALUES ($1, 'half-done')").bind(key).execute(&mut *conn).await?;
                Err(EffectError::permanent("account closed"))
            })
        })
    };
    let err = ledger.once(key, &request, &caller("r", 1), failing).await.expect_err("effect fails");
    match &err {
        LedgerError::Effect(e) => assert_eq!(e.message(), "account closed"),
        other => panic!("expected Effect, got {other:?}"),
    }
    assert!(!err.is_retryable(), "a permanent effect error stays permanent");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(ledger.entry(key).await.expect("read"), None, "nothing recorded");
    assert_eq!(effect_rows(&ledger, key).await, 0, "the effect's row rolled back with the claim");

    // A database error inside the effect is retryable and rolls back the same way.
    let broken: Effect<String> = Box::new(|conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO no_such_table VALUES (1)").execute(&mut *conn).await?;
            Ok("unreachable".to_owned())
        })
    });
    let err = ledger.once(key, &request, &caller("r", 2), broken).await.expect_err("bad SQL");
    assert!(matches!(err, LedgerError::Effect(_)) && err.is_retryable(), "{err:?}");
    assert_eq!(ledger.entry(key).await.expect("read"), None);

    let retry = counter();
    let once = ledger.once(key, &request, &caller("r", 3), write_effect(&retry, key, "voided")).await;
    assert_eq!(once.expect("retry"), Once::Performed("voided".to_owned()));
    assert_eq!((retry.load(Ordering::SeqCst), effect_rows(&ledger, key).await), (1, 1));
    assert_eq!(ledger.entry(key).await.expect("read").expect("row").last_attempt, 3);
}

/// A key whose effect violates a constraint (its row already there without a ledger row) is
/// refused for good, alone: the batch's other keys commit, and the same key through
/// [`Ledger::once`] is refused non-retryably too, instead of being retried forever. On PostgreSQL
/// this needs the batch's per-key savepoint: a failed statement poisons the transaction.
async fn a_batch_goes_on_past_a_key_whose_rows_contradict_it(url: String) {
    let ledger = open(&url).await;
    sqlx::query("CREATE TABLE IF NOT EXISTS unique_effects (key TEXT PRIMARY KEY, note TEXT NOT NULL)")
        .execute(ledger.pool())
        .await
        .expect("create unique_effects");
    sqlx::query("INSERT INTO unique_effects (key, note) VALUES ('bill/C2', 'left by hand')")
        .execute(ledger.pool())
        .await
        .expect("seed the contradicting row");
    let insert = |key: &'static str| -> Effect<String> {
        Box::new(move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO unique_effects (key, note) VALUES ($1, 'billed')").bind(key).execute(&mut *conn).await?;
                Ok(format!("{key} billed"))
            })
        })
    };
    let keys = ["bill/C1", "bill/C2", "bill/C3"];
    let mut batch = ledger.local_batch("test bills").await.expect("begin");
    let mut made = Vec::new();
    for key in keys {
        made.push(batch.once(key, &json!({ "key": key }), &caller("r", 1), insert(key)).await.expect("no outage"));
    }
    assert!(matches!(made[0], Ok(true)) && matches!(made[2], Ok(true)), "{made:?}");
    match &made[1] {
        Err(err @ LedgerError::Effect(e)) => {
            assert!(!err.is_retryable(), "a violated constraint is permanent: {err:?}");
            assert!(e.message().contains("contradicts rows already in the database"), "{}", e.message());
        }
        other => panic!("expected bill/C2 refused, got {other:?}"),
    }
    let replayed = batch.commit::<String>().await.expect("the batch commits past the refused key");
    assert!(replayed.is_empty(), "{replayed:?}");
    for key in ["bill/C1", "bill/C3"] {
        let entry = ledger.entry(key).await.expect("read").expect("committed");
        assert_eq!(entry.status, EntryStatus::Done, "{key}");
    }
    assert_eq!(ledger.entry("bill/C2").await.expect("read"), None, "the refused key's claim rolled back");
    let notes: Vec<(String, String)> = sqlx::query_as("SELECT key, note FROM unique_effects ORDER BY key")
        .fetch_all(ledger.pool())
        .await
        .expect("read unique_effects");
    let expected = [("bill/C1", "billed"), ("bill/C2", "left by hand"), ("bill/C3", "billed")];
    assert_eq!(notes, expected.map(|(k, n)| (k.to_owned(), n.to_owned())));

    // The single-key path refuses it the same way: permanent, not a retry loop.
    let err =
        ledger.once("bill/C2", &json!({ "key": "bill/C2" }), &caller("r", 2), insert("bill/C2")).await.expect_err("refused");
    assert!(matches!(err, LedgerError::Effect(_)) && !err.is_retryable(), "{err:?}");

    // A later batch replays the committed keys and still refuses the contradicted one.
    let mut again = ledger.local_batch("test bills, again").await.expect("begin");
    let mut second = Vec::new();
    for key in keys {
        second.push(again.once(key, &json!({ "key": key }), &caller("r", 3), insert(key)).await.expect("no outage"));
    }
    assert!(matches!(second[0], Ok(false)) && second[1].is_err() && matches!(second[2], Ok(false)), "{second:?}");
    let replayed = again.commit::<String>().await.expect("commit");
    let replayed: Vec<(String, Once<String>)> = replayed.into_iter().map(|(k, once)| (k, once.expect("replays"))).collect();
    assert_eq!(
        replayed,
        vec![
            ("bill/C1".to_owned(), Once::Replayed("bill/C1 billed".to_owned())),
            ("bill/C3".to_owned(), Once::Replayed("bill/C3 billed".to_owned())),
        ]
    );
}

async fn racing_workers_perform_once(url: String) {
    const WORKERS: usize = 16;
    // Separate ledgers are separate pools, as in separate worker processes; opened at the same
    // moment, they also race to migrate a fresh database.
    let ledgers: Vec<Ledger> = join_all((0..WORKERS).map(|_| connect(&url))).await;
    create_effects_table(&ledgers[0]).await;
    let key = "bill/C0100/2026-11";
    let request = json!({"customer_id": "C0100", "business_date": "2026-11"});
    let runs = counter();
    let start = Arc::new(tokio::sync::Barrier::new(WORKERS));
    let tasks: Vec<_> = ledgers
        .into_iter()
        .enumerate()
        .map(|(i, ledger)| {
            let (request, start) = (request.clone(), start.clone());
            let effect = write_effect(&runs, key, &format!("made by worker {i}"));
            tokio::spawn(async move {
                start.wait().await;
                let out = ledger.once(key, &request, &caller(&format!("run-{i}"), 1), effect).await;
                (out, ledger)
            })
        })
        .collect();
    let outcomes = join_all(tasks).await;

    let mut performed = 0;
    let mut results = Vec::new();
    let mut ledger = None;
    for outcome in outcomes {
        let (once, l) = outcome.expect("task ran");
        let once = once.expect("every racer gets the outcome, none an error");
        performed += usize::from(!once.was_replayed());
        results.push(once.into_inner());
        ledger = Some(l);
    }
    let ledger = ledger.expect("16 ledgers");
    assert_eq!(performed, 1, "exactly one racer performs");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the effect ran exactly once");
    assert_eq!(effect_rows(&ledger, key).await, 1, "the effect row exists exactly once");
    assert_eq!(results.len(), WORKERS);
    assert!(results.iter().all(|r| r == &results[0]), "all racers see the winner's result: {results:?}");
    let entry = ledger.entry(key).await.expect("read").expect("row");
    assert_eq!(entry.result, Some(Value::String(results[0].clone())));
}

async fn crash_mid_effect_leaves_nothing(url: String) {
    let ledger = open(&url).await;
    let key = "payment-record/INV-C0005-2026-11";
    let request = json!({"invoice": "INV-C0005-2026-11", "charge": "ch_5"});
    let (midway_tx, midway_rx) = tokio::sync::oneshot::channel::<()>();
    let hanging: Effect<String> = Box::new(move |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO effects (key, note) VALUES ($1, 'written before the crash')")
                .bind(key)
                .execute(&mut *conn)
                .await?;
            midway_tx.send(()).ok();
            // The worker dies here: this never finishes.
            std::future::pending::<()>().await;
            Ok("never".to_owned())
        })
    });
    // Dropping the call once the effect is midway stands in for a killed worker.
    let first = caller("r", 1);
    tokio::select! {
        out = ledger.once(key, &request, &first, hanging) => panic!("the effect never completes: {out:?}"),
        signal = midway_rx => signal.expect("effect reached its midpoint"),
    }
    assert_eq!(ledger.entry(key).await.expect("read"), None, "no ledger row");
    assert_eq!(effect_rows(&ledger, key).await, 0, "no effect row");

    let retry = counter();
    let once = ledger.once(key, &request, &caller("r", 2), write_effect(&retry, key, "recorded")).await;
    assert_eq!(once.expect("retry after the crash"), Once::Performed("recorded".to_owned()));
    assert_eq!((retry.load(Ordering::SeqCst), effect_rows(&ledger, key).await), (1, 1));
}

async fn external_claims_and_completions(url: String) {
    let ledger = open(&url).await;
    let key = "charge/INV-C0042-2026-11";
    let request = json!({"invoice": "INV-C0042-2026-11", "amount_cents": 4200, "method": "pm_card_visa"});

    let claim = ledger.claim_external::<String>(key, &request, &caller("run-1", 1)).await.expect("claim");
    assert_eq!(claim, Claim::Proceed { first_attempt: true, attempts: 1 });
    let entry = ledger.entry(key).await.expect("read").expect("claimed row is committed");
    assert_eq!((entry.kind, entry.status, entry.attempts, entry.result), (EntryKind::External, EntryStatus::Claimed, 1, None));
    assert_eq!(entry.completed_at, None);

    // A retry before any outcome was recorded (the worker died around the call).
    let claim = ledger.claim_external::<String>(key, &request, &caller("run-2", 2)).await.expect("claim again");
    assert_eq!(claim, Claim::Proceed { first_attempt: false, attempts: 2 });
    let entry = ledger.entry(key).await.expect("read").expect("row");
    assert_eq!((entry.attempts, entry.last_attempt, entry.run_id.as_str()), (2, 2, "run-1"), "first claimant kept");

    ledger.complete_external(key, &"ch_123").await.expect("complete");
    let claim = ledger.claim_external::<String>(key, &request, &caller("run-2", 3)).await.expect("claim after");
    assert_eq!(claim, Claim::Done("ch_123".to_owned()));
    ledger.complete_external(key, &"ch_123").await.expect("recording the same result again is fine");
    let err = ledger.complete_external(key, &"ch_999").await.expect_err("a different result is refused");
    assert!(matches!(&err, LedgerError::ResultMismatch { key: k } if k == key), "{err:?}");
    assert!(!err.is_retryable());

    let entry = ledger.entry(key).await.expect("read").expect("row");
    assert_eq!((entry.status, entry.result, entry.attempts), (EntryStatus::Done, Some(json!("ch_123")), 2));
    assert!(entry.completed_at.is_some());

    let err = ledger
        .claim_external::<String>(key, &json!({"invoice": "INV-C0042-2026-11", "amount_cents": 1}), &caller("x", 1))
        .await
        .expect_err("different request");
    assert!(matches!(err, LedgerError::Conflict { .. }), "{err:?}");
    let err = ledger.complete_external("charge/never-claimed", &"ch_1").await.expect_err("not claimed");
    assert!(matches!(err, LedgerError::NotClaimed { .. }), "{err:?}");
}

async fn keys_mix_kinds_only_loudly(url: String) {
    let ledger = open(&url).await;
    let request = json!({"n": 1});
    ledger.claim_external::<String>("notify/INV-1/email", &request, &caller("r", 1)).await.expect("claim");
    let runs = counter();
    let err = ledger
        .once("notify/INV-1/email", &request, &caller("r", 1), write_effect(&runs, "notify/INV-1/email", "x"))
        .await
        .expect_err("a local effect on an external key");
    assert!(matches!(err, LedgerError::KindMismatch { .. }) && !err.is_retryable(), "{err:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 0);

    ledger.once("bill/C1/2026-11", &request, &caller("r", 1), write_effect(&runs, "bill/C1/2026-11", "b")).await.expect("local");
    let err = ledger.claim_external::<String>("bill/C1/2026-11", &request, &caller("r", 1)).await.expect_err("external on local");
    assert!(matches!(err, LedgerError::KindMismatch { .. }), "{err:?}");
    let err = ledger.complete_external("bill/C1/2026-11", &"b").await.expect_err("complete a local key");
    assert!(matches!(err, LedgerError::KindMismatch { .. }), "{err:?}");
}

async fn prefix_listing_is_literal_and_ordered(url: String) {
    let ledger = open(&url).await;
    let keys = [
        "bill/C0010/2026-10", "charge/INV-1", "bill/C0001/2026-11", "Bill/C0003/2026-11", "bill_/x", "bill/C0002/2026-11",
        "billing/summary", "bill/C0001/2026-10",
    ];
    for key in keys {
        ledger.claim_external::<()>(key, &json!({ "key": key }), &caller("r", 1)).await.expect("claim");
    }
    let listed = async |prefix: &str| -> Vec<String> {
        ledger.entries_with_prefix(prefix).await.expect("list").into_iter().map(|e| e.key).collect()
    };
    assert_eq!(listed("bill/").await, ["bill/C0001/2026-10", "bill/C0001/2026-11", "bill/C0002/2026-11", "bill/C0010/2026-10"]);
    assert_eq!(listed("bill_").await, ["bill_/x"], "`_` is not a wildcard");
    assert_eq!(listed("Bill/").await, ["Bill/C0003/2026-11"], "matching is case-sensitive");
    assert!(listed("refund/").await.is_empty());
    let mut all: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    all.sort();
    assert_eq!(listed("").await, all, "everything, byte-ordered");
}

#[tokio::test]
async fn sqlite_file_and_directories_are_created_and_shared() {
    let base = punctual_tests::fresh_sqlite_url("created");
    let path = std::path::PathBuf::from(base.trim_start_matches("sqlite://")).with_file_name("deeper/still/ledger.db");
    assert!(!path.parent().expect("parent").exists());
    let url = format!("sqlite://{}", path.display());
    let ledger = open(&url).await;
    assert_eq!(ledger.backend(), Backend::Sqlite);
    assert!(path.is_file(), "{} created", path.display());

    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(ledger.pool()).await.expect("journal_mode");
    assert_eq!(journal, "wal");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(ledger.pool()).await.expect("busy_timeout");
    assert!(busy >= 5_000, "busy_timeout {busy} ms");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(ledger.pool()).await.expect("foreign_keys");
    assert_eq!(foreign_keys, 1);

    // A second handle (another process on the host) sees the same ledger.
    let runs = counter();
    ledger.once("k", &json!(1), &caller("r", 1), write_effect(&runs, "k", "v")).await.expect("once");
    let other = Ledger::connect(&format!("sqlite:{}", path.display())).await.expect("second handle");
    assert_eq!(other.entry("k").await.expect("read").expect("row").result, Some(json!("v")));
}

/// The commands that read what happened (`failures`, `schedule audit`, `schedule backfill`) open
/// the ledger with `open_existing`: a mistyped path names itself and creates nothing, where it
/// used to create an empty ledger reporting that nothing ever ran. Through the CLI as users type it.
#[tokio::test]
async fn a_missing_sqlite_file_is_refused_by_the_reading_commands_and_not_created() {
    let base = punctual_tests::fresh_sqlite_url("typo");
    let path = std::path::PathBuf::from(base.trim_start_matches("sqlite://")).with_file_name("typo/dir/ledger.db");
    let url = format!("sqlite://{}", path.display());
    let err = Ledger::open_existing(&url).await.expect_err("a missing file is refused");
    assert!(matches!(&err, LedgerError::Missing(p) if p.ends_with("typo/dir/ledger.db")), "{err:?}");
    assert!(!err.is_retryable());

    let run = std::process::Command::new(punctual_tests::server::punctual_bin())
        .args(["failures", "list"])
        .env("PUNCTUAL_DATABASE_URL", &url)
        .output()
        .expect("run punctual failures list");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "failures list on a missing ledger must fail");
    assert!(stderr.contains("no ledger at") && stderr.contains("typo/dir/ledger.db"), "{stderr}");
    assert!(!path.parent().expect("parent").exists(), "nothing created at {}", path.display());

    // The worker's own open still creates it, and then the reading open finds it.
    Ledger::connect(&url).await.expect("connect creates");
    Ledger::open_existing(&url).await.expect("now it exists");
}

#[tokio::test]
async fn postgres_backend_is_reported() {
    let ledger = Ledger::connect(&punctual_tests::fresh_database("backend").await).await.expect("connect");
    assert_eq!(ledger.backend(), Backend::Postgres);
}

#[tokio::test]
async fn a_bad_scheme_is_an_invalid_url_naming_it() {
    let err = Ledger::connect("mysql://app:hunter2@db:3306/ledger").await.expect_err("mysql is not supported");
    let LedgerError::InvalidUrl(message) = &err else { panic!("expected InvalidUrl, got {err:?}") };
    assert!(message.contains("`mysql`"), "{message}");
    assert!(!message.contains("hunter2"), "the password leaked: {message}");
    assert!(!err.is_retryable());
    let err = Ledger::connect("sqlite::memory:").await.expect_err("in-memory is refused");
    assert!(matches!(&err, LedgerError::InvalidUrl(m) if m.contains("in-memory")), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_without_its_password() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let url = format!("postgres://punctual:hunter2-secret@127.0.0.1:{port}/ledger");
    let err = Ledger::connect(&url).await.expect_err("nothing listens there");
    let LedgerError::Unavailable(message) = &err else { panic!("expected Unavailable, got {err:?}") };
    assert!(message.contains(&format!("127.0.0.1:{port}")), "names where: {message}");
    assert!(!message.contains("hunter2-secret"), "the password leaked: {message}");
    assert!(!err.to_string().contains("hunter2-secret"));
    assert!(err.is_retryable());
}

/// The id that tells one ledger from another (what a worker compares with its task queue's
/// marker): handles racing to draw it agree, it survives reopening, and another database has
/// another.
async fn the_identity_is_drawn_once_and_differs_between_databases(url: String) {
    let handles = [connect(&url).await, connect(&url).await, connect(&url).await, connect(&url).await];
    let drawn = join_all(handles.iter().map(|ledger| ledger.identity())).await;
    let first = drawn[0].as_ref().expect("identity").clone();
    assert_eq!(first.id.len(), 32, "{first:?}");
    for other in &drawn {
        assert_eq!(other.as_ref().expect("identity"), &first, "racing handles drew different ids");
    }
    drop(handles);
    assert_eq!(connect(&url).await.identity().await.expect("identity"), first, "reopening changed the id");
    let elsewhere = connect(&punctual_tests::fresh_sqlite_url("identity-elsewhere")).await.identity().await.expect("identity");
    assert_ne!(elsewhere.id, first.id);
}

/// A worker frozen or cut off inside an effect (not killed: its socket stays open) holds its
/// key's lock. PostgreSQL ends such a session once it has sat idle in its transaction for a
/// minute (the ledger's connections set `idle_in_transaction_session_timeout`), which rolls it
/// back and lets the key's retry go on. Before, the retry waited until TCP keepalive gave up on
/// the dead peer, about two hours.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgresql_a_frozen_effect_gives_its_key_back_within_minutes() {
    let ledger = open(&punctual_tests::fresh_database("frozen_effect").await).await;
    let key = "charge/INV-C0042-2026-11";
    let request = json!({"invoice_id": "INV-C0042-2026-11"});
    let frozen = {
        let ledger = ledger.clone();
        let request = request.clone();
        tokio::spawn(async move {
            let never: Effect<String> = Box::new(|_conn| Box::pin(std::future::pending()));
            ledger.once(key, &request, &caller("frozen", 1), never).await
        })
    };
    // The frozen effect holds the claim's row lock before the retry starts (its session, in this
    // database, idle inside its transaction); otherwise the retry could claim first and the test
    // would pass without the timeout ever being needed.
    let held = async || -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()",
        )
        .fetch_one(ledger.pool())
        .await
        .expect("pg_stat_activity")
    };
    let mut waited = 0;
    while held().await == 0 {
        assert!(waited < 400, "the frozen effect never held its key");
        waited += 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!frozen.is_finished(), "the frozen effect finished");
    let runs = counter();
    // Bounded only so that a lock held for ever fails the test instead of hanging it.
    let retry = tokio::time::timeout(
        std::time::Duration::from_secs(240),
        ledger.once(key, &request, &caller("retry", 2), write_effect(&runs, key, "ch_1")),
    )
    .await
    .expect("the retry still waits on the frozen effect's lock");
    assert_eq!(retry.expect("retry"), Once::Performed("ch_1".to_owned()));
    assert_eq!((runs.load(Ordering::SeqCst), effect_rows(&ledger, key).await), (1, 1));
    frozen.abort();
}
