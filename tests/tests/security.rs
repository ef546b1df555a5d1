//! Reaching a secured cluster, and keeping secrets out of what punctual prints.
//!
//! `temporal server start-dev` has no TLS, so a TLS-terminating proxy that requires a client
//! certificate (mTLS, certificates made here with rcgen) stands in front of it, as a Temporal
//! Cloud endpoint would. The real `punctual` binary reaches the server through it with the
//! standard `TEMPORAL_TLS_*` variables, and is refused without its client certificate.

use punctual_tests::TestEnv;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio_rustls::TlsAcceptor;

const API_KEY: &str = "tk-SECRET-api-key-0123456789";
const DB_PASSWORD: &str = "pw-SECRET-5f2e9c";
const PROVIDER_TOKEN: &str = "sk-SECRET-provider-77aa";

/// CA, server and client certificates in PEM files under a fresh directory.
struct Pki {
    dir: PathBuf,
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

impl Pki {
    fn new(name: &str) -> Self {
        let dir = punctual_tests::scratch::process_dir().join(name);
        std::fs::create_dir_all(&dir).expect("pki dir");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "punctual test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA cert");
        let leaf = |names: Vec<String>| {
            let key = KeyPair::generate().expect("leaf key");
            let cert = CertificateParams::new(names).expect("leaf params").signed_by(&key, &*ca).expect("leaf cert");
            (cert, key)
        };
        let (server, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
        let (client, client_key) = leaf(vec!["punctual-worker".into()]);
        for (file, pem) in [("ca.pem", ca.pem()), ("client.pem", client.pem()), ("client.key", client_key.serialize_pem())] {
            std::fs::write(dir.join(file), pem).expect("write pem");
        }
        Self {
            dir,
            ca_der: ca.der().clone(),
            server_der: server.der().clone(),
            server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}

/// Handshakes the proxy completed and refused.
#[derive(Default)]
struct Handshakes {
    ok: AtomicUsize,
    refused: AtomicUsize,
}

/// Serves TLS on a free loopback port, requiring a client certificate signed by the test CA,
/// and relays each connection to `upstream` in the clear. Returns `127.0.0.1:port`.
async fn mtls_proxy(pki: &Pki, upstream: String, seen: Arc<Handshakes>) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca_der.clone()).expect("CA into roots");
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().expect("client verifier");
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server_der.clone()], pki.server_key.clone_key())
        .expect("server cert");
    // gRPC: the client insists on HTTP/2 being negotiated.
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address").to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream, seen) = (acceptor.clone(), upstream.clone(), seen.clone());
            tokio::spawn(async move {
                let mut tls = match acceptor.accept(tcp).await {
                    Ok(tls) => tls,
                    Err(_) => {
                        seen.refused.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                };
                seen.ok.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    tokio::io::copy_bidirectional(&mut tls, &mut server).await.ok();
                }
            });
        }
    });
    addr
}

/// Runs the real `punctual` with `args` and exactly `env` (plus PATH): exit success and all it printed.
async fn punctual(args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let out = Command::new(punctual_tests::punctual_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .expect("run punctual");
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), printed)
}

fn assert_no_secret(what: &str, printed: &str) {
    for secret in [API_KEY, DB_PASSWORD, PROVIDER_TOKEN] {
        assert!(!printed.contains(secret), "{what} printed a secret:\n{printed}");
    }
}

#[tokio::test]
async fn mtls_through_the_standard_variables_and_refused_without_a_client_certificate() {
    let env = TestEnv::start("security-mtls").await;
    let pki = Pki::new("mtls");
    let seen = Arc::new(Handshakes::default());
    let proxy = mtls_proxy(&pki, env.server.address.clone(), seen.clone()).await;
    let base = vec![
        ("TEMPORAL_ADDRESS", proxy.clone()),
        ("TEMPORAL_NAMESPACE", "default".to_owned()),
        ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", pki.path("ca.pem")),
        // An API key rides along (the dev server ignores it); it must never be printed.
        ("TEMPORAL_API_KEY", API_KEY.to_owned()),
    ];
    let with_cert = [
        base.clone(),
        vec![("TEMPORAL_TLS_CLIENT_CERT_PATH", pki.path("client.pem")), ("TEMPORAL_TLS_CLIENT_KEY_PATH", pki.path("client.key"))],
    ]
    .concat();

    let (ok, printed) = punctual(&["schedule", "list", "--connect-timeout", "20s"], &with_cert).await;
    assert!(ok, "punctual with the client certificate failed:\n{printed}");
    assert!(seen.ok.load(Ordering::SeqCst) >= 1, "no TLS session reached the proxy:\n{printed}");
    assert_no_secret("a successful mTLS connection", &printed);

    let refused_before = seen.refused.load(Ordering::SeqCst);
    let (ok, printed) = punctual(&["schedule", "list", "--connect-timeout", "2s"], &base).await;
    assert!(!ok, "punctual without a client certificate got through:\n{printed}");
    assert!(
        printed.contains(&format!("no Temporal server answered at {proxy}")),
        "the failure names the address it could not reach:\n{printed}"
    );
    assert!(seen.refused.load(Ordering::SeqCst) > refused_before, "the proxy never refused a handshake");
    assert_no_secret("a refused mTLS connection", &printed);

    // A client certificate without its key is a configuration error, said before dialling.
    let half = [base.clone(), vec![("TEMPORAL_TLS_CLIENT_CERT_PATH", pki.path("client.pem"))]].concat();
    let (ok, printed) = punctual(&["schedule", "list", "--connect-timeout", "2s"], &half).await;
    assert!(!ok && printed.contains("invalid Temporal connection settings"), "{printed}");
    assert_no_secret("a half TLS configuration", &printed);
    std::fs::remove_dir_all(&pki.dir).ok();
}

#[tokio::test]
async fn secrets_stay_out_of_help_and_errors() {
    let db_url = format!("postgres://app:{DB_PASSWORD}@127.0.0.1:1/ledger");
    let secrets = [
        ("TEMPORAL_API_KEY", API_KEY.to_owned()),
        ("PUNCTUAL_DATABASE_URL", db_url),
        ("PUNCTUAL_PROVIDER_URL", format!("http://billing:{PROVIDER_TOKEN}@127.0.0.1:1")),
        ("PUNCTUAL_NOTIFY_URL", format!("http://notify:{PROVIDER_TOKEN}@127.0.0.1:1")),
        // Nothing listens on port 1: every dial fails at once.
        ("TEMPORAL_ADDRESS", "127.0.0.1:1".to_owned()),
    ];
    for args in [
        &["--help"][..],
        &["worker", "--help"],
        &["billing-run", "--help"],
        &["seed", "--help"],
        &["schedule", "backfill", "--help"],
        &["failures", "list", "--help"],
    ] {
        let (ok, printed) = punctual(args, &secrets).await;
        assert!(ok, "punctual {args:?}: {printed}");
        assert!(printed.contains("Usage"), "punctual {args:?} printed no help: {printed}");
        assert_no_secret(&format!("punctual {args:?}"), &printed);
    }

    // The database error names where it tried (host, port, user), with the password starred.
    let (ok, printed) = punctual(&["worker", "--connect-timeout", "1s"], &secrets).await;
    assert!(!ok, "a worker with no database started: {printed}");
    assert!(printed.contains("postgres://app:***@127.0.0.1:1/ledger"), "{printed}");
    assert_no_secret("a database that cannot be reached", &printed);

    // The server error names the address; the API key stays out of it.
    let (ok, printed) = punctual(&["schedule", "list", "--connect-timeout", "1s"], &secrets).await;
    assert!(!ok && printed.contains("no Temporal server answered at 127.0.0.1:1"), "{printed}");
    assert_no_secret("a server that cannot be reached", &printed);
}

/// Logs that go to a file, a pipe or journald are plain text: no terminal colour codes around
/// the fields, so `grep address=127.0.0.1:1` finds them.
#[tokio::test]
async fn logs_to_a_pipe_carry_no_colour_codes() {
    let ledger = punctual_tests::scratch::process_dir().join("plain-logs.db");
    let env =
        [("TEMPORAL_ADDRESS", "127.0.0.1:1".to_owned()), ("PUNCTUAL_DATABASE_URL", format!("sqlite://{}", ledger.display()))];
    let (ok, printed) = punctual(&["worker", "--connect-timeout", "1s"], &env).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", ledger.display()));
    }
    assert!(!ok, "a worker with no server started: {printed}");
    assert!(printed.contains("Temporal server not reachable yet"), "no retry was logged: {printed}");
    assert!(printed.contains("address=127.0.0.1:1"), "the address field is not plain `key=value`: {printed:?}");
    assert!(!printed.contains('\u{1b}'), "colour codes in piped logs: {printed:?}");
}
