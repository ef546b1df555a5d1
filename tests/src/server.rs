//! The one dev server a test binary shares, and where the binaries under test live.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, mpsc};
use temporalio_sdk::testing::{EphemeralExe, LocalWorkflowEnvironmentOptions, WorkflowEnvironment};

/// A running `temporal server start-dev`, shared by every test in the binary.
#[derive(Debug)]
pub struct DevServer {
    /// `127.0.0.1:PORT` of the frontend, for clients and `temporal --address`.
    pub address: String,
    /// The `temporal` CLI executable the server was started from.
    pub temporal_bin: PathBuf,
}

static SERVER: OnceLock<DevServer> = OnceLock::new();

/// The workspace root (where `Cargo.toml`, `scripts/` and `.tools/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The `punctual` binary built from this tree (`make test` builds it before the tests run).
pub fn punctual_bin() -> PathBuf {
    // Test executables live in target/<profile>/deps; the binary in target/<profile>.
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe.parent().and_then(Path::parent).expect("target dir").join("punctual");
    assert!(bin.exists(), "{} is missing: build it first with `cargo build -p punctual-worker` (make test does)", bin.display());
    bin
}

/// Finds (or installs, through `scripts/ensure-temporal.sh`) the pinned `temporal` CLI.
pub fn temporal_bin() -> PathBuf {
    let script = workspace_root().join("scripts/ensure-temporal.sh");
    let out =
        std::process::Command::new("bash").arg(&script).output().unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(out.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
}

/// A shell wrapper that runs `temporal` with a parent-death signal, so the dev server dies with
/// the test process: test binaries exit without running destructors, and an orphaned server would
/// keep CI's output pipe open.
fn wrapper_for(temporal: &Path) -> PathBuf {
    let wrapper = crate::scratch::process_dir().join("temporal");
    let script = format!("#!/bin/sh\nexec setpriv --pdeathsig KILL '{}' \"$@\"\n", temporal.display());
    std::fs::write(&wrapper, script).expect("write wrapper");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
    }
    wrapper
}

/// How many times the shared dev server is started before a test binary gives up.
const START_ATTEMPTS: usize = 3;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// Starts the shared dev server on first use (in-memory, with punctual's search attributes).
///
/// The server is owned by a dedicated thread with its own runtime that lives as long as the test
/// process: each `#[tokio::test]` has its own runtime, so nothing a test creates may own it.
pub fn dev_server() -> &'static DevServer {
    SERVER.get_or_init(|| {
        let temporal = temporal_bin();
        let wrapper = wrapper_for(&temporal);
        let mut extra_args = Vec::new();
        for (name, kind) in punctual_workflows::names::SEARCH_ATTRIBUTES {
            extra_args.push("--search-attribute".to_owned());
            extra_args.push(format!("{name}={kind}"));
        }
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("temporal-dev-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
                rt.block_on(async move {
                    // The SDK gives the server 5 s to answer, fixed. On two busy cores (CI's first
                    // binary, right after the build) it sometimes needs longer: the SDK kills the
                    // slow one, and another start on a fresh port follows.
                    let mut failures = Vec::new();
                    for _ in 0..START_ATTEMPTS {
                        let port = free_port();
                        let options = LocalWorkflowEnvironmentOptions::builder()
                            .server_executable(EphemeralExe::ExistingPath(wrapper.display().to_string()))
                            .port(port)
                            .extra_args(extra_args.clone())
                            .build();
                        match WorkflowEnvironment::start_local(options).await {
                            Ok(env) => {
                                ready_tx.send(Ok(port)).ok();
                                // Keep the environment (and so the server) alive for the process.
                                let _env = env;
                                std::future::pending::<()>().await;
                            }
                            Err(err) => failures.push(err.to_string()),
                        }
                    }
                    ready_tx.send(Err(failures.join("; then: "))).ok();
                });
            })
            .expect("spawn server thread");
        match ready_rx.recv().expect("server thread answered") {
            Ok(port) => DevServer { address: format!("127.0.0.1:{port}"), temporal_bin: temporal },
            Err(err) => panic!("could not start the Temporal dev server: {err}"),
        }
    })
}
