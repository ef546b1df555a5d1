//! Per-test environment: a unique task queue, a client, the production worker, the real CLI.

use crate::postgres::fresh_sqlite_url;
use crate::server::{DevServer, dev_server};
use crate::world::World;
use punctual_activities::BillingActivities;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use temporalio_client::{Client, ClientOptions, ConnectionOptions};
use tokio::process::Command;
use tokio::sync::oneshot;

static NEXT_QUEUE: AtomicUsize = AtomicUsize::new(0);

/// What one test works with.
pub struct TestEnv {
    /// Task queue no other test uses.
    pub task_queue: String,
    /// A client of this test's own runtime, connected to the shared server.
    pub client: Client,
    /// The shared server.
    pub server: &'static DevServer,
    /// This test's provider, sink and database.
    pub world: World,
}

/// Output of one `temporal` CLI call.
#[derive(Debug)]
pub struct CliOutput {
    /// Whether the CLI exited 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl TestEnv {
    /// Connects to the shared dev server (starting it on first use) with a fresh task queue,
    /// a fresh SQLite database seeded with 30 demo customers, a provider and a sink.
    pub async fn start(name: &str) -> Self {
        Self::start_with(name, fresh_sqlite_url(name), 30).await
    }

    /// Like [`TestEnv::start`] with a given database and number of demo customers.
    pub async fn start_with(name: &str, database_url: String, customers: u32) -> Self {
        let server = tokio::task::spawn_blocking(dev_server).await.expect("dev server thread");
        Self::start_on(name, server, database_url, customers).await
    }

    /// Like [`TestEnv::start_with`] on a server of the test's own (one it stops and restarts).
    pub async fn start_on(name: &str, server: &'static DevServer, database_url: String, customers: u32) -> Self {
        let n = NEXT_QUEUE.fetch_add(1, Ordering::Relaxed);
        let task_queue = format!("{name}-{}-{n}", std::process::id());
        let url: temporalio_client::Url = format!("http://{}", server.address).parse().expect("server url");
        let client = Client::connect(
            ConnectionOptions::new(url).identity(format!("test-{name}")).build(),
            ClientOptions::new("default").build(),
        )
        .await
        .expect("connect to dev server");
        let world = World::start(database_url, customers).await;
        Self { task_queue, client, server, world }
    }

    /// Runs `body` while an in-process worker with the production registration polls this test's
    /// task queue; then shuts the worker down gracefully and returns `body`'s output.
    pub async fn with_worker<T>(&self, body: impl Future<Output = T>) -> T {
        self.with_worker_using(self.world.billing_activities(), body).await
    }

    /// [`TestEnv::with_worker`] with these billing activities: a worker configured otherwise (a
    /// provider or sink URL with a typo, say).
    pub async fn with_worker_using<T>(&self, activities: BillingActivities, body: impl Future<Output = T>) -> T {
        let options = punctual_worker::registration::worker_options(
            &self.task_queue,
            Duration::from_secs(10),
            activities,
            self.client.clone(),
        )
        .expect("worker options");
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let worker = punctual_worker::run::run_worker(self.client.clone(), options, async {
            stop_rx.await.ok();
        });
        let body = async {
            let out = body.await;
            stop_tx.send(()).ok();
            out
        };
        let (worker_result, out) = tokio::join!(worker, body);
        worker_result.expect("worker ran and stopped cleanly");
        out
    }

    /// Runs the real `temporal` CLI against the shared server: `args` as a user would type them.
    ///
    /// Async, so an in-process worker on the same test runtime keeps polling meanwhile.
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        let out = Command::new(&self.server.temporal_bin)
            .args(args)
            .args(["--address", &self.server.address, "--namespace", "default"])
            .env_remove("TEMPORAL_PROFILE")
            .output()
            .await
            .expect("run temporal CLI");
        CliOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Like [`TestEnv::cli`] with `-o json`, parsed; panics with the CLI's stderr on failure.
    pub async fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let mut with_json = args.to_vec();
        with_json.extend(["-o", "json"]);
        let out = self.cli(&with_json).await;
        assert!(out.success, "temporal {args:?} failed: {}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("temporal {args:?} printed non-JSON ({e}): {}", out.stdout))
    }

    /// `temporal workflow start --type {workflow_type} --workflow-id {workflow_id} --input
    /// {input}` on this test's task queue, as a user types it; panics with the CLI's stderr if
    /// the server refuses it.
    pub async fn start_workflow(&self, workflow_type: &str, workflow_id: &str, input: &str) {
        let args = [
            "workflow", "start", "--type", workflow_type, "--task-queue", &self.task_queue, "--workflow-id", workflow_id,
            "--input", input,
        ];
        let started = self.cli(&args).await;
        assert!(started.success, "temporal workflow start {workflow_type} {workflow_id}: {}", started.stderr);
    }

    /// Runs the real `punctual` binary with `args` against this test's server, queue and world.
    pub async fn punctual(&self, args: &[&str]) -> CliOutput {
        self.punctual_with(&[], args).await
    }

    /// [`TestEnv::punctual`] with `extra` environment on top, e.g. the payload keys.
    pub async fn punctual_with(&self, extra: &[(&str, String)], args: &[&str]) -> CliOutput {
        let out = Command::new(crate::server::punctual_bin())
            .args(args)
            .env_remove("PUNCTUAL_PAYLOAD_KEY")
            .env_remove("PUNCTUAL_PAYLOAD_KEY_ID")
            .env_remove("PUNCTUAL_PAYLOAD_OLD_KEYS")
            .env_remove("PUNCTUAL_PSEUDONYM_KEY")
            .envs(self.punctual_env())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            // A test that gives up waiting (a worker that should have refused to start) must
            // not leave the process behind.
            .kill_on_drop(true)
            .output()
            .await
            .expect("run punctual");
        CliOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts the real `punctual worker` binary for this test's task queue and world.
    ///
    /// Under a parent-death signal, like the dev server: a test that panics must not leave a
    /// worker behind holding CI's output pipe open.
    pub fn spawn_worker(&self) -> std::process::Child {
        self.spawn_worker_with(&[])
    }

    /// [`TestEnv::spawn_worker`] with `extra` environment on top, e.g. `PUNCTUAL_METRICS_ADDR`.
    pub fn spawn_worker_with(&self, extra: &[(&str, String)]) -> std::process::Child {
        std::process::Command::new("setpriv")
            .args(["--pdeathsig", "KILL"])
            .arg(crate::server::punctual_bin())
            .arg("worker")
            .envs(self.punctual_env())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("spawn punctual worker")
    }

    /// Environment for a `punctual` subprocess pointed at the shared server and this task queue.
    pub fn punctual_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("TEMPORAL_ADDRESS", self.server.address.clone()),
            ("TEMPORAL_NAMESPACE", "default".to_owned()),
            ("PUNCTUAL_TASK_QUEUE", self.task_queue.clone()),
        ];
        env.extend(self.world.env());
        env
    }
}

/// Polls `check` every 200 ms until it returns `Some`, or panics naming `what` after `limit`.
///
/// A bound on waiting, not a timing assertion: `limit` is generous and only stops a hung test.
pub async fn eventually<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_seen(what, limit, async || check().await.ok_or("(not what was waited for)")).await
}

/// Like [`eventually`], but `check` returns what it saw when it is not done yet, and a timeout
/// shows the last of it: a wait that gives up in CI says what the state was, not only its name.
pub async fn eventually_seen<T, S: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<T, S>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let seen = match check().await {
            Ok(found) => return found,
            Err(seen) => seen,
        };
        assert!(tokio::time::Instant::now() < deadline, "gave up after {limit:?} waiting for {what}; last seen: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    #[should_panic(expected = "waiting for three rows; last seen: [\n    \"only one\",\n]")]
    async fn a_wait_that_gives_up_shows_what_it_last_saw() {
        eventually_seen("three rows", Duration::ZERO, async || Err::<(), _>(vec!["only one"])).await;
    }

    #[tokio::test]
    async fn a_wait_returns_what_it_found() {
        let mut polls = 0;
        let found = eventually_seen("a second poll", Duration::from_secs(60), async || {
            polls += 1;
            if polls == 2 { Ok(polls) } else { Err(polls) }
        })
        .await;
        assert_eq!(found, 2);
    }
}
