//! A dev server of one test's own, with file persistence, that the test can stop and start again
//! (the shared server of [`crate::dev_server`] must stay up for every other test).

use crate::server::{DevServer, temporal_bin};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `temporal server start-dev --db-filename ...` on a fixed port, restartable.
pub struct OwnServer {
    /// Address and CLI, as the harness expects them (leaked: it lives as long as the test process).
    pub server: &'static DevServer,
    db: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl OwnServer {
    /// Starts a fresh server whose state lives in a new SQLite file.
    pub async fn start(name: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let db = crate::scratch::process_dir().join(format!("{name}-{port}.db"));
        let _ = std::fs::remove_file(&db);
        let server: &'static DevServer =
            Box::leak(Box::new(DevServer { address: format!("127.0.0.1:{port}"), temporal_bin: temporal_bin() }));
        let mut own = Self { server, db, port, child: None };
        own.up().await;
        own
    }

    /// Starts the server process on the same port and database, and waits until it answers.
    pub async fn up(&mut self) {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL"]).arg(&self.server.temporal_bin).args([
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
            "--db-filename",
            &self.db.display().to_string(),
            "--log-level",
            "error",
        ]);
        for (name, kind) in punctual_workflows::names::SEARCH_ATTRIBUTES {
            cmd.args(["--search-attribute", &format!("{name}={kind}")]);
        }
        self.child = Some(cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start temporal"));
        for _ in 0..240 {
            let healthy = tokio::process::Command::new(&self.server.temporal_bin)
                .args(["operator", "cluster", "health", "--address", &self.server.address])
                .output()
                .await
                .is_ok_and(|o| o.status.success());
            if healthy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("own dev server on {} did not come up", self.server.address);
    }

    /// Stops the server (SIGTERM, then waits), keeping its database for [`OwnServer::up`].
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The process is setpriv's exec'd temporal: same pid.
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.db);
    }
}
