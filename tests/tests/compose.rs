//! The team deployment (`docker-compose.yml`, `Dockerfile`, `.dockerignore`, `deploy/`) checked
//! against the code, without Docker: no engine runs where these tests run, so nothing is started.
//! Instead the files are parsed and held to what the worker really reads and serves:
//!
//! - every required service exists, on the expected image;
//! - the worker is built from the `Dockerfile`, runs `worker`, has at least 2 replicas;
//! - every `PUNCTUAL_*` / `TEMPORAL_*` variable in the file is one the worker reads (taken from
//!   the `env = "..."` attributes in `worker/src` plus Temporal's envconfig names), and every
//!   `PUNCTUAL_*` variable the worker reads is either set here or deliberately left at default;
//! - the URLs' `host:port` name a service and the port it listens on (provider `--listen`, sink
//!   `--listen`, Temporal 7233, PostgreSQL 5432), and the ledger database is created by the init
//!   script with the URL's user and password;
//! - the search attributes registered equal `punctual_workflows::names::SEARCH_ATTRIBUTES`;
//! - the worker's `stop_grace_period` is longer than its shutdown grace (and than 30 s);
//! - the sandboxes are never published on all host interfaces;
//! - the Dockerfile is multi-stage, builds the `punctual` binary, and its final stage runs it as
//!   a non-root user.
//!
//! Each check returns the problems it found; `every_check_fails_on_a_broken_copy` breaks a copy
//! of the parsed file (or the Dockerfile text) in one way per check and requires that check to
//! complain, so none of them can pass vacuously.

use punctual_workflows::names;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Services docker-compose.yml must define.
const REQUIRED_SERVICES: &[&str] = &[
    "postgresql", "temporal", "temporal-ui", "temporal-admin-tools", "register-search-attributes", "sandbox-provider",
    "notify-sink", "seed", "worker",
];

/// Services that run the punctual image.
const PUNCTUAL_SERVICES: &[&str] = &["sandbox-provider", "notify-sink", "seed", "worker"];

/// Variables the worker reads through the Temporal SDK's envconfig
/// (`ClientOptions::load_from_config`, see worker/src/connect.rs), besides `TEMPORAL_GRPC_META_*`.
const TEMPORAL_ENVCONFIG: &[&str] = &[
    "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA", "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "TEMPORAL_CODEC_ENDPOINT", "TEMPORAL_CODEC_AUTH",
];

/// `PUNCTUAL_*` variables the worker reads that docker-compose.yml deliberately does not set,
/// with why. A variable added to the worker must be set in the file or added here.
const LEFT_AT_DEFAULT: &[(&str, &str)] = &[
    ("PUNCTUAL_PROVIDER_LISTEN", "the provider gets `--listen 0.0.0.0:8081` on its command line"),
    ("PUNCTUAL_SINK_LISTEN", "the sink gets `--listen 0.0.0.0:8082` on its command line"),
    ("PUNCTUAL_CONFIG", "only `punctual schedule ...` reads the jobs file; workers get each job from its schedule"),
    ("PUNCTUAL_WORKFLOW_SLOTS", "unset keeps the SDK's default; BENCHMARKS.md says when tuning it pays"),
    ("PUNCTUAL_ACTIVITY_SLOTS", "unset keeps the SDK's default; BENCHMARKS.md says when tuning it pays"),
    ("PUNCTUAL_WORKFLOW_POLLERS", "unset keeps the SDK's default; BENCHMARKS.md says when tuning it pays"),
    ("PUNCTUAL_ACTIVITY_POLLERS", "unset keeps the SDK's default; BENCHMARKS.md says when tuning it pays"),
    ("PUNCTUAL_MAX_CACHED_WORKFLOWS", "unset keeps the SDK's default; BENCHMARKS.md says when tuning it pays"),
    (
        "PUNCTUAL_BULK_CONCURRENCY",
        "outside calls a bulk billing step makes at once; the default (8) ran 100,000 customers in 161 s",
    ),
    (
        "PUNCTUAL_CODEC_LISTEN",
        "the codec server is for people reading encrypted histories, run beside their UI, not a fleet service",
    ),
    ("PUNCTUAL_CODEC_ORIGINS", "as PUNCTUAL_CODEC_LISTEN"),
    ("PUNCTUAL_CODEC_AUTH", "as PUNCTUAL_CODEC_LISTEN"),
    (
        "PUNCTUAL_LEDGER_CHECK_INTERVAL",
        "every 60 s, one describe of a schedule per worker; the workers share one PostgreSQL ledger, so it only matters on a mistake",
    ),
    ("PUNCTUAL_METRICS_ADDR", "off until a Prometheus is deployed beside it; then 0.0.0.0:9464 inside the network, unpublished"),
];

/// Port the PostgreSQL image listens on unless PGPORT says otherwise.
const POSTGRES_PORT: u16 = 5432;
/// Port the Temporal server's frontend listens on unless FRONTEND_GRPC_PORT says otherwise.
const TEMPORAL_FRONTEND_PORT: u16 = 7233;
/// Docker's kill deadline must beat at least this, whatever the worker's grace says.
const MIN_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Loading

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

/// Compose's variable interpolation with an empty environment: `${X:-d}` and `${X-d}` become
/// `d`, `${X}` and `$X` become empty, `$$` is a literal `$`. Deterministic on purpose: the checks
/// are about the defaults this file ships with.
fn interpolate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').expect("unterminated ${ in docker-compose.yml");
            let expr = &body[..end];
            if let Some(at) = expr.find(":-").or_else(|| expr.find('-')) {
                let skip = if expr[at..].starts_with(":-") { 2 } else { 1 };
                out.push_str(&expr[at + skip..]);
            }
            rest = &body[end + 1..];
        } else {
            let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

fn compose() -> Value {
    serde_yaml::from_str(&interpolate(&read("docker-compose.yml"))).expect("docker-compose.yml is YAML")
}

/// Every variable named in an `env = "..."` attribute anywhere under worker/src, plus Temporal's
/// envconfig names: what a `punctual` process can be configured with.
fn worker_reads() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![root().join("worker/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("worker/src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.extend(env_attributes(&std::fs::read_to_string(&path).expect("source")));
            }
        }
    }
    assert!(
        found.contains("PUNCTUAL_DATABASE_URL") && found.contains("PUNCTUAL_TASK_QUEUE"),
        "no `env = \"...\"` attributes found in worker/src: {found:?}"
    );
    found.extend(TEMPORAL_ENVCONFIG.iter().map(|s| s.to_string()));
    found
}

/// Names in `env = "NAME"` (any spacing around `=`).
fn env_attributes(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("env") {
        let before_ok = rest[..at].chars().last().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        rest = &rest[at + 3..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix('=') else { continue };
        let Some(after) = after.trim_start().strip_prefix('"') else { continue };
        if !before_ok {
            continue;
        }
        if let Some(end) = after.find('"') {
            names.push(after[..end].to_string());
        }
    }
    names
}

/// The worker's default shutdown grace, from the `default_value` next to
/// `env = "PUNCTUAL_SHUTDOWN_GRACE"` in worker/src/cli.rs.
fn default_shutdown_grace() -> Duration {
    let cli = read("worker/src/cli.rs");
    let at = cli.find("\"PUNCTUAL_SHUTDOWN_GRACE\"").expect("PUNCTUAL_SHUTDOWN_GRACE in cli.rs");
    let tail = &cli[at..];
    let tail = &tail[tail.find("default_value").expect("a default_value")..];
    let start = tail.find('"').expect("quoted default") + 1;
    let end = start + tail[start..].find('"').expect("closing quote");
    punctual_worker::cli::parse_duration(&tail[start..end]).expect("default shutdown grace parses")
}

// ---------------------------------------------------------------------------------------------
// Reading compose values

fn services(c: &Value) -> &Mapping {
    c.get("services").and_then(Value::as_mapping).expect("a `services` mapping")
}

fn service<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
    services(c).get(name)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A service's environment, from either the mapping or the `- KEY=value` list form.
fn environment(svc: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    match svc.get("environment") {
        Some(Value::Mapping(map)) => {
            for (k, v) in map {
                let key = scalar(k).unwrap_or_default();
                env.insert(key, scalar(v).unwrap_or_default());
            }
        }
        Some(Value::Sequence(items)) => {
            for item in items {
                let text = scalar(item).unwrap_or_default();
                let (k, v) = text.split_once('=').unwrap_or((&text, ""));
                env.insert(k.to_string(), v.to_string());
            }
        }
        _ => {}
    }
    env
}

/// `command` or `entrypoint` as a list of words (a string is split on whitespace).
fn words(svc: &Value, key: &str) -> Vec<String> {
    match svc.get(key) {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn image(svc: &Value) -> String {
    svc.get("image").and_then(scalar).unwrap_or_default()
}

fn runs_punctual_image(c: &Value, name: &str) -> bool {
    let Some(svc) = service(c, name) else { return false };
    let worker_image = service(c, "worker").map(image).unwrap_or_default();
    svc.get("build").is_some() || (!worker_image.is_empty() && image(svc) == worker_image)
}

/// The value after `--listen` (or in `--listen=...`) on a service's command line.
fn listen_arg(svc: &Value) -> Option<String> {
    let command = words(svc, "command");
    command.iter().enumerate().find_map(|(i, w)| {
        if w == "--listen" { command.get(i + 1).cloned() } else { w.strip_prefix("--listen=").map(str::to_string) }
    })
}

/// The port a service accepts connections on inside the compose network, as far as this file
/// says: the sandboxes' `--listen`, Temporal's frontend, PostgreSQL's port.
fn listen_port(c: &Value, name: &str) -> Option<u16> {
    let svc = service(c, name)?;
    if runs_punctual_image(c, name) {
        return listen_arg(svc)?.rsplit_once(':')?.1.parse().ok();
    }
    let img = image(svc);
    if img.starts_with("postgres:") || img == "postgres" {
        let env = environment(svc);
        return Some(env.get("PGPORT").and_then(|p| p.parse().ok()).unwrap_or(POSTGRES_PORT));
    }
    if img.starts_with("temporalio/server") || img.starts_with("temporalio/auto-setup") {
        let env = environment(svc);
        return Some(env.get("FRONTEND_GRPC_PORT").and_then(|p| p.parse().ok()).unwrap_or(TEMPORAL_FRONTEND_PORT));
    }
    None
}

/// One published port: host address (`None` = every interface), host port, container port.
#[derive(Debug)]
struct Published {
    host_ip: Option<String>,
    host_port: Option<String>,
    container_port: String,
}

fn published_ports(svc: &Value) -> Vec<Published> {
    let Some(Value::Sequence(items)) = svc.get("ports") else { return Vec::new() };
    items
        .iter()
        .map(|item| match item {
            Value::Mapping(_) => Published {
                host_ip: item.get("host_ip").and_then(scalar),
                host_port: item.get("published").and_then(scalar),
                container_port: item.get("target").and_then(scalar).unwrap_or_default(),
            },
            other => {
                let text = scalar(other).unwrap_or_default();
                let text = text.split('/').next().unwrap_or_default();
                let parts: Vec<&str> = text.rsplitn(3, ':').collect();
                match parts.as_slice() {
                    [container] => Published { host_ip: None, host_port: None, container_port: container.to_string() },
                    [container, host] => {
                        Published { host_ip: None, host_port: Some(host.to_string()), container_port: container.to_string() }
                    }
                    [container, host, ip] => Published {
                        host_ip: Some(ip.trim_matches(['[', ']']).to_string()),
                        host_port: Some(host.to_string()),
                        container_port: container.to_string(),
                    },
                    _ => unreachable!("rsplitn(3) yields 1 to 3 parts"),
                }
            }
        })
        .collect()
}

fn is_loopback(ip: &str) -> bool {
    matches!(ip, "127.0.0.1" | "::1" | "localhost") || ip.starts_with("127.")
}

fn depends_on(svc: &Value) -> BTreeMap<String, String> {
    match svc.get("depends_on") {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).map(|n| (n, "service_started".to_string())).collect(),
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(k, v)| {
                let condition = v.get("condition").and_then(scalar).unwrap_or_else(|| "service_started".to_string());
                (scalar(k).unwrap_or_default(), condition)
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Compose durations: `45s`, `1m30s`, `1m`, `500ms`, `2h`, `1.5s`.
fn compose_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            _ => return None,
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

/// A volume's host path (relative to the workspace root) mounted at `target`, if any.
fn host_path_mounted_at(svc: &Value, target: &str) -> Option<PathBuf> {
    let Some(Value::Sequence(items)) = svc.get("volumes") else { return None };
    items.iter().find_map(|item| {
        let (source, mounted) = match item {
            Value::Mapping(_) => (item.get("source").and_then(scalar)?, item.get("target").and_then(scalar)?),
            other => {
                let text = scalar(other)?;
                let mut parts = text.split(':');
                (parts.next()?.to_string(), parts.next()?.to_string())
            }
        };
        if !(source.starts_with("./") || source.starts_with("../")) {
            return None;
        }
        let relative = Path::new(target).strip_prefix(&mounted).ok()?;
        Some(root().join(source).join(relative))
    })
}

// ---------------------------------------------------------------------------------------------
// Checks: each returns the problems it found.

fn check_services(c: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for name in REQUIRED_SERVICES {
        if service(c, name).is_none() {
            problems.push(format!("service `{name}` is missing"));
        }
    }
    let expect_image = |name: &str, prefixes: &[&str], problems: &mut Vec<String>| {
        if let Some(svc) = service(c, name) {
            let img = image(svc);
            if !prefixes.iter().any(|p| img.starts_with(p)) {
                problems.push(format!("service `{name}` runs image `{img}`, expected one of {prefixes:?}"));
            }
        }
    };
    expect_image("postgresql", &["postgres:16"], &mut problems);
    expect_image("temporal", &["temporalio/server:", "temporalio/auto-setup:"], &mut problems);
    expect_image("temporal-ui", &["temporalio/ui:"], &mut problems);
    expect_image("temporal-admin-tools", &["temporalio/admin-tools:"], &mut problems);
    expect_image("register-search-attributes", &["temporalio/admin-tools:"], &mut problems);
    for name in PUNCTUAL_SERVICES {
        if service(c, name).is_some() && !runs_punctual_image(c, name) {
            problems.push(format!("service `{name}` does not run the punctual image"));
        }
    }
    if let Some(pg) = service(c, "postgresql")
        && pg.get("healthcheck").and_then(|h| h.get("test")).is_none()
    {
        problems.push("service `postgresql` has no healthcheck".into());
    }
    if let Some(temporal) = service(c, "temporal")
        && depends_on(temporal).get("postgresql").map(String::as_str) != Some("service_healthy")
    {
        problems.push("`temporal` must depend on `postgresql` being service_healthy".into());
    }
    let seed = service(c, "seed").map(|s| words(s, "command")).unwrap_or_default();
    if !seed.is_empty() && (seed.first().map(String::as_str) != Some("seed") || !seed.contains(&"--if-empty".to_string())) {
        problems.push(format!("`seed` runs {seed:?}, expected `seed ... --if-empty`"));
    }
    problems
}

fn check_worker_build(c: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(worker) = service(c, "worker") else { return vec!["no `worker` service".into()] };
    let (context, dockerfile) = match worker.get("build") {
        Some(Value::String(context)) => (context.clone(), "Dockerfile".to_string()),
        Some(build @ Value::Mapping(_)) => (
            build.get("context").and_then(scalar).unwrap_or_else(|| ".".into()),
            build.get("dockerfile").and_then(scalar).unwrap_or_else(|| "Dockerfile".into()),
        ),
        _ => (String::new(), String::new()),
    };
    let built_from = root().join(&context).join(&dockerfile);
    let ours = root().join("Dockerfile");
    let same = matches!((built_from.canonicalize(), ours.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if !same {
        problems.push(format!(
            "`worker` must be built from the workspace's Dockerfile, not context `{context}` dockerfile `{dockerfile}`"
        ));
    }
    let command = words(worker, "command");
    if !(command.is_empty() || command == ["worker"]) {
        problems.push(format!("`worker` runs {command:?}, expected [\"worker\"]"));
    }
    let replicas =
        worker.get("deploy").and_then(|d| d.get("replicas")).or_else(|| worker.get("scale")).and_then(Value::as_u64).unwrap_or(1);
    if replicas < 2 {
        problems.push(format!("`worker` has {replicas} replica(s); a fleet needs at least 2"));
    }
    if worker.get("container_name").is_some() {
        problems.push("`worker` has a container_name, which forbids more than one replica".into());
    }
    problems
}

fn check_env_vars(c: &Value, reads: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in services(c) {
        let name = scalar(name).unwrap_or_default();
        for key in environment(svc).keys() {
            let ours = key.starts_with("PUNCTUAL_") || key.starts_with("TEMPORAL_");
            if ours && !reads.contains(key) && !key.starts_with("TEMPORAL_GRPC_META_") {
                problems.push(format!("service `{name}` sets {key}, which punctual does not read"));
            }
        }
    }
    // Whatever the worker reads is either set somewhere here or deliberately left at default.
    let set: BTreeSet<String> = services(c).values().flat_map(|svc| environment(svc).into_keys()).collect();
    for var in reads.iter().filter(|v| v.starts_with("PUNCTUAL_")) {
        if !set.contains(var) && !LEFT_AT_DEFAULT.iter().any(|(name, _)| name == var) {
            problems
                .push(format!("the worker reads {var}, but docker-compose.yml neither sets it nor lists it in LEFT_AT_DEFAULT"));
        }
    }
    let env = service(c, "worker").map(environment).unwrap_or_default();
    let expected = [
        ("TEMPORAL_ADDRESS", None),
        ("TEMPORAL_NAMESPACE", Some("default")),
        ("PUNCTUAL_TASK_QUEUE", Some(names::DEFAULT_TASK_QUEUE)),
        ("PUNCTUAL_DATABASE_URL", None),
        ("PUNCTUAL_PROVIDER_URL", None),
        ("PUNCTUAL_NOTIFY_URL", None),
        ("PUNCTUAL_LOG_FORMAT", Some("json")),
    ];
    for (key, value) in expected {
        match (env.get(key), value) {
            (None, _) => problems.push(format!("`worker` does not set {key}")),
            (Some(got), Some(want)) if got != want => problems.push(format!("`worker` sets {key}={got}, expected {want}")),
            _ => {}
        }
    }
    problems
}

/// `scheme://[user[:password]@]host:port/path` → (scheme, user, password, host, port, path).
fn split_url(url: &str) -> Option<(String, String, String, String, u16, String)> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = hostport.rsplit_once(':')?;
    Some((scheme.into(), user.into(), password.into(), host.into(), port.parse().ok()?, path.into()))
}

fn check_urls(c: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    // (variable, the service it must name, expected scheme)
    let targets = [
        ("TEMPORAL_ADDRESS", "temporal", ""),
        ("PUNCTUAL_DATABASE_URL", "postgresql", "postgres"),
        ("PUNCTUAL_PROVIDER_URL", "sandbox-provider", "http"),
        ("PUNCTUAL_NOTIFY_URL", "notify-sink", "http"),
    ];
    for (svc_name, svc) in services(c) {
        let svc_name = scalar(svc_name).unwrap_or_default();
        let env = environment(svc);
        for (var, target, scheme) in targets {
            let Some(url) = env.get(var) else { continue };
            let Some((got_scheme, _, _, host, port, _)) = split_url(url) else {
                problems.push(format!("`{svc_name}`: {var}={url} has no host:port"));
                continue;
            };
            let scheme_ok = match scheme {
                "postgres" => got_scheme == "postgres" || got_scheme == "postgresql",
                other => got_scheme == other,
            };
            if !scheme_ok {
                problems.push(format!("`{svc_name}`: {var}={url} should use scheme `{scheme}`"));
            }
            if host != target {
                problems.push(format!("`{svc_name}`: {var} points at host `{host}`, expected service `{target}`"));
            }
            match listen_port(c, &host) {
                Some(listening) if listening == port => {}
                Some(listening) => {
                    problems.push(format!("`{svc_name}`: {var} uses port {port}, but `{host}` listens on {listening}"))
                }
                None => {
                    problems.push(format!("`{svc_name}`: {var} names `{host}`, which is not a service listening on a known port"))
                }
            }
            if svc_name == "worker" && !depends_on(svc).contains_key(&host) {
                problems.push(format!("`worker` uses `{host}` ({var}) but does not depend on it"));
            }
        }
    }
    // The sandboxes must accept connections from other containers.
    for (name, port) in [("sandbox-provider", 8081), ("notify-sink", 8082)] {
        let Some(svc) = service(c, name) else { continue };
        let listen = listen_arg(svc).unwrap_or_default();
        if listen != format!("0.0.0.0:{port}") {
            problems
                .push(format!("`{name}` listens on `{listen}`: inside the compose network it must be --listen 0.0.0.0:{port}"));
        }
    }
    // The Temporal frontend must be reachable on the port clients use.
    if let Some(temporal) = service(c, "temporal")
        && !published_ports(temporal).iter().any(|p| p.container_port == TEMPORAL_FRONTEND_PORT.to_string())
    {
        problems.push("`temporal` does not publish its frontend port 7233".into());
    }
    // The ledger database named by the URL is created, with that user and password.
    let urls: BTreeSet<String> =
        services(c).values().filter_map(|svc| environment(svc).get("PUNCTUAL_DATABASE_URL").cloned()).collect();
    let pg = service(c, "postgresql");
    let init_text = pg
        .and_then(|svc| {
            let Some(Value::Sequence(items)) = svc.get("volumes") else { return None };
            let mut text = String::new();
            for item in items.iter().filter_map(scalar) {
                let mut parts = item.split(':');
                let (Some(src), Some(dst)) = (parts.next(), parts.next()) else { continue };
                if dst.starts_with("/docker-entrypoint-initdb.d") && src.starts_with("./") {
                    text.push_str(&std::fs::read_to_string(root().join(src)).unwrap_or_default());
                }
            }
            Some(text)
        })
        .unwrap_or_default();
    let pg_env = pg.map(environment).unwrap_or_default();
    for url in &urls {
        let Some((_, user, password, _, _, database)) = split_url(url) else { continue };
        if !init_text.contains(&format!("CREATE DATABASE {database}")) {
            problems.push(format!("no init script mounted into postgresql creates database `{database}`"));
        }
        if user != pg_env.get("POSTGRES_USER").cloned().unwrap_or_default() && !init_text.contains(&format!("CREATE ROLE {user}"))
        {
            problems.push(format!("the ledger URL logs in as `{user}`, a role nothing creates"));
        }
        if pg_env.get("LEDGER_DB_PASSWORD").is_some_and(|p| *p != password) {
            problems.push("the ledger URL's password differs from postgresql's LEDGER_DB_PASSWORD".into());
        }
    }
    problems
}

fn check_search_attributes(c: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(svc) = service(c, "register-search-attributes") else {
        return vec!["no `register-search-attributes` service".into()];
    };
    let env = environment(svc);
    let registered: Vec<(String, String)> = env
        .get("SEARCH_ATTRIBUTES")
        .map(|list| {
            list.split_whitespace()
                .map(|pair| {
                    let (name, kind) = pair.split_once('=').unwrap_or((pair, ""));
                    (name.to_string(), kind.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let wanted: Vec<(String, String)> = names::SEARCH_ATTRIBUTES.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    if registered != wanted {
        problems.push(format!(
            "register-search-attributes registers {registered:?}, but the workflows set {wanted:?} (names::SEARCH_ATTRIBUTES)"
        ));
    }
    // The script it runs must exist here and really create each attribute, idempotently.
    let entry: Vec<String> = words(svc, "entrypoint").into_iter().chain(words(svc, "command")).collect();
    let script = entry
        .iter()
        .filter(|w| w.ends_with(".sh"))
        .find_map(|w| host_path_mounted_at(svc, w).or_else(|| Some(root().join(w.trim_start_matches("./")))))
        .filter(|p| p.is_file());
    match script {
        None => problems.push(format!("register-search-attributes runs {entry:?}: no script from this repository")),
        Some(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for needle in ["$SEARCH_ATTRIBUTES", "search-attribute create", "already exists", "cluster health"] {
                if !text.contains(needle) {
                    problems.push(format!("{} does not contain `{needle}`", path.display()));
                }
            }
        }
    }
    if !depends_on(svc).contains_key("temporal") {
        problems.push("register-search-attributes must depend on `temporal`".into());
    }
    let worker_deps = service(c, "worker").map(depends_on).unwrap_or_default();
    for one_shot in ["register-search-attributes", "seed"] {
        if worker_deps.get(one_shot).map(String::as_str) != Some("service_completed_successfully") {
            problems.push(format!("`worker` must depend on `{one_shot}` with service_completed_successfully"));
        }
    }
    problems
}

fn check_stop_grace(c: &Value, default_grace: Duration) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(worker) = service(c, "worker") else { return vec!["no `worker` service".into()] };
    let grace = match environment(worker).get("PUNCTUAL_SHUTDOWN_GRACE") {
        Some(text) => match punctual_worker::cli::parse_duration(text) {
            Ok(d) => d,
            Err(err) => return vec![format!("worker PUNCTUAL_SHUTDOWN_GRACE: {err}")],
        },
        None => default_grace,
    }
    .max(MIN_SHUTDOWN_GRACE);
    match worker.get("stop_grace_period").and_then(scalar) {
        None => problems.push(format!("`worker` has no stop_grace_period: Docker's default 10s cuts the {grace:?} drain")),
        Some(text) => match compose_duration(&text) {
            Some(period) if period > grace => {}
            Some(period) => {
                problems.push(format!("`worker` stop_grace_period {period:?} must exceed the shutdown grace {grace:?}"))
            }
            None => problems.push(format!("`worker` stop_grace_period `{text}` is not a duration")),
        },
    }
    match worker.get("stop_signal").and_then(scalar) {
        Some(signal) if signal == "SIGTERM" => {}
        other => problems.push(format!("`worker` stop_signal is {other:?}, expected SIGTERM")),
    }
    problems
}

fn check_sandbox_ports(c: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let sandbox_ports = ["8081", "8082"];
    for (name, svc) in services(c) {
        let name = scalar(name).unwrap_or_default();
        let sandbox = name == "sandbox-provider" || name == "notify-sink";
        for p in published_ports(svc) {
            let touches = sandbox
                || sandbox_ports.contains(&p.container_port.as_str())
                || p.host_port.as_deref().is_some_and(|h| sandbox_ports.contains(&h));
            if touches && !p.host_ip.as_deref().is_some_and(is_loopback) {
                problems.push(format!(
                    "`{name}` publishes {:?} on every host interface: sandbox ports may only be published on 127.0.0.1",
                    p
                ));
            }
        }
    }
    problems
}

/// Instructions of a Dockerfile, continuation lines joined and comments dropped.
fn dockerfile_instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(part) = trimmed.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (op, args) = current.split_once(char::is_whitespace).unwrap_or((&current, ""));
        out.push((op.to_ascii_uppercase(), args.trim().to_string()));
        current.clear();
    }
    out
}

fn check_dockerfile(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let instructions = dockerfile_instructions(text);
    let froms: Vec<usize> = instructions.iter().enumerate().filter(|(_, (op, _))| op == "FROM").map(|(i, _)| i).collect();
    if froms.len() < 2 {
        problems.push(format!("the Dockerfile has {} FROM, expected a multi-stage build (≥ 2)", froms.len()));
    }
    let builds = instructions.iter().any(|(op, args)| {
        op == "RUN"
            && args.contains("cargo build")
            && args.contains("--release")
            && args.contains("--locked")
            && args.contains("-p punctual-worker")
            && args.contains("--bin punctual")
    });
    if !builds {
        problems.push("no stage runs `cargo build --release --locked -p punctual-worker --bin punctual`".into());
    }
    let final_stage = &instructions[froms.last().copied().unwrap_or(0)..];
    let user = final_stage.iter().rev().find(|(op, _)| op == "USER").map(|(_, args)| args.clone());
    match user {
        None => problems.push("the final stage has no USER: it would run as root".into()),
        Some(user) => {
            let name = user.split(':').next().unwrap_or_default();
            if name.is_empty() || name == "root" || name == "0" {
                problems.push(format!("the final stage runs as `{user}`, which is root"));
            }
        }
    }
    let entrypoint = final_stage.iter().rev().find(|(op, _)| op == "ENTRYPOINT").map(|(_, a)| a.clone());
    let exec_form: Option<Vec<String>> = entrypoint.as_deref().and_then(|e| serde_json::from_str(e).ok());
    match exec_form.as_deref() {
        Some([binary, ..]) if binary.ends_with("/punctual") => {
            let copied = final_stage.iter().any(|(op, args)| op == "COPY" && args.ends_with(binary.as_str()));
            if !copied {
                problems.push(format!("the final stage never copies the binary to {binary}"));
            }
        }
        _ => problems.push(format!("the final stage's ENTRYPOINT is {entrypoint:?}, expected the exec form [\"/.../punctual\"]")),
    }
    let cmd = final_stage.iter().rev().find(|(op, _)| op == "CMD").map(|(_, a)| a.clone());
    if cmd.as_deref().and_then(|c| serde_json::from_str::<Vec<String>>(c).ok()) != Some(vec!["worker".to_string()]) {
        problems.push(format!("the final stage's CMD is {cmd:?}, expected [\"worker\"]"));
    }
    problems
}

fn check_dockerignore(text: &str) -> Vec<String> {
    let entries: BTreeSet<&str> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(|l| l.trim_matches('/')).collect();
    ["target", ".tools", ".data", ".git"]
        .iter()
        .filter(|dir| !entries.contains(*dir))
        .map(|dir| format!(".dockerignore does not exclude {dir}/"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The tests

fn assert_none(what: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{what}:\n  - {}", problems.join("\n  - "));
}

#[test]
fn every_required_service_exists() {
    assert_none("docker-compose.yml services", check_services(&compose()));
}

#[test]
fn the_worker_is_built_from_the_dockerfile_and_replicated() {
    assert_none("docker-compose.yml worker", check_worker_build(&compose()));
}

#[test]
fn every_variable_set_is_one_punctual_reads() {
    assert_none("docker-compose.yml environment", check_env_vars(&compose(), &worker_reads()));
}

#[test]
fn urls_name_services_and_the_ports_they_listen_on() {
    assert_none("docker-compose.yml URLs", check_urls(&compose()));
}

#[test]
fn the_registered_search_attributes_are_exactly_the_workflows_ones() {
    assert_none("search attributes", check_search_attributes(&compose()));
}

#[test]
fn docker_waits_longer_than_the_worker_drains() {
    assert_none("worker shutdown", check_stop_grace(&compose(), default_shutdown_grace()));
}

#[test]
fn the_sandboxes_are_never_published_on_every_interface() {
    assert_none("sandbox ports", check_sandbox_ports(&compose()));
}

#[test]
fn the_dockerfile_is_multi_stage_non_root_and_runs_punctual() {
    assert_none("Dockerfile", check_dockerfile(&read("Dockerfile")));
    assert_none(".dockerignore", check_dockerignore(&read(".dockerignore")));
}

#[test]
fn interpolation_takes_the_defaults() {
    assert_eq!(interpolate("a ${X:-b} ${Y-c} ${Z} $W $$ d"), "a b c   $ d");
    assert_eq!(compose_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(compose_duration("45s"), Some(Duration::from_secs(45)));
    assert_eq!(compose_duration("soon"), None);
    assert_eq!(env_attributes(r#"#[arg(long, env = "A_B", x)] env="C" ; myenv = "no""#), ["A_B", "C"]);
}

/// Sets `value` at the path of mapping keys `keys` (creating mappings on the way), or removes
/// the last key when `value` is `None`.
fn set(doc: &mut Value, keys: &[&str], value: Option<Value>) {
    let (last, parents) = keys.split_last().expect("a path");
    let mut node = doc;
    for key in parents {
        let map = node.as_mapping_mut().expect("a mapping on the path");
        node = map.entry(Value::from(*key)).or_insert_with(|| Value::Mapping(Mapping::new()));
    }
    let map = node.as_mapping_mut().expect("a mapping at the end of the path");
    match value {
        Some(v) => {
            map.insert(Value::from(*last), v);
        }
        None => {
            map.remove(*last);
        }
    }
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("test YAML")
}

#[test]
fn every_check_fails_on_a_broken_copy() {
    let original = compose();
    let reads = worker_reads();
    let grace = default_shutdown_grace();
    type Check<'a> = Box<dyn Fn(&Value) -> Vec<String> + 'a>;
    let services_check: Check = Box::new(check_services);
    let build_check: Check = Box::new(check_worker_build);
    let env_check: Check = Box::new(|c| check_env_vars(c, &reads));
    let url_check: Check = Box::new(check_urls);
    let sa_check: Check = Box::new(check_search_attributes);
    let grace_check: Check = Box::new(|c| check_stop_grace(c, grace));
    let ports_check: Check = Box::new(check_sandbox_ports);

    // Sanity: the real file passes all of them, so each failure below is the mutation's doing.
    for check in [&services_check, &build_check, &env_check, &url_check, &sa_check, &grace_check, &ports_check] {
        assert_none("the unmodified docker-compose.yml", check(&original));
    }

    type Mutation = fn(&mut Value);
    let cases: Vec<(&str, Mutation, &Check)> = vec![
        ("seed service removed", |c| set(c, &["services", "seed"], None), &services_check),
        ("temporal-ui removed", |c| set(c, &["services", "temporal-ui"], None), &services_check),
        ("postgres healthcheck removed", |c| set(c, &["services", "postgresql", "healthcheck"], None), &services_check),
        (
            "worker on a prebuilt image",
            |c| {
                set(c, &["services", "worker", "build"], None);
                set(c, &["services", "worker", "image"], Some("someone/else:latest".into()));
            },
            &build_check,
        ),
        (
            "worker built from another Dockerfile",
            |c| set(c, &["services", "worker", "build"], Some(yaml("{context: ., dockerfile: Dockerfile.dev}"))),
            &build_check,
        ),
        ("one worker replica", |c| set(c, &["services", "worker", "deploy", "replicas"], Some(1.into())), &build_check),
        (
            "worker with a container_name",
            |c| set(c, &["services", "worker", "container_name"], Some("worker".into())),
            &build_check,
        ),
        (
            "typo in a PUNCTUAL_ variable",
            |c| set(c, &["services", "worker", "environment", "PUNCTUAL_TASK_QEUE"], Some("punctual".into())),
            &env_check,
        ),
        (
            "a TEMPORAL_ variable nobody reads",
            |c| set(c, &["services", "worker", "environment", "TEMPORAL_CLI_ADDRESS"], Some("temporal:7233".into())),
            &env_check,
        ),
        (
            "worker no longer sets the database URL",
            |c| set(c, &["services", "worker", "environment", "PUNCTUAL_DATABASE_URL"], None),
            &env_check,
        ),
        (
            "worker on another task queue",
            |c| set(c, &["services", "worker", "environment", "PUNCTUAL_TASK_QUEUE"], Some("billing".into())),
            &env_check,
        ),
        (
            "a worker variable nobody decided about",
            |c| {
                // Like a new `env = "..."` in the worker: a variable it reads that the file neither
                // sets nor lists in LEFT_AT_DEFAULT.
                set(c, &["services", "worker", "environment", "PUNCTUAL_CONNECT_TIMEOUT"], None)
            },
            &env_check,
        ),
        (
            "provider URL on the sink's port",
            |c| {
                set(
                    c,
                    &["services", "worker", "environment", "PUNCTUAL_PROVIDER_URL"],
                    Some("http://sandbox-provider:8082".into()),
                )
            },
            &url_check,
        ),
        (
            "provider listening elsewhere",
            |c| {
                set(
                    c,
                    &["services", "sandbox-provider", "command"],
                    Some(yaml(r#"["sandbox-provider", "--listen", "0.0.0.0:9999"]"#)),
                )
            },
            &url_check,
        ),
        (
            "sink on loopback inside its container",
            |c| set(c, &["services", "notify-sink", "command"], Some(yaml(r#"["notify-sink", "--listen", "127.0.0.1:8082"]"#))),
            &url_check,
        ),
        (
            "sink URL names a service that does not exist",
            |c| set(c, &["services", "worker", "environment", "PUNCTUAL_NOTIFY_URL"], Some("http://notify:8082".into())),
            &url_check,
        ),
        (
            "Temporal on the wrong port",
            |c| set(c, &["services", "worker", "environment", "TEMPORAL_ADDRESS"], Some("temporal:7234".into())),
            &url_check,
        ),
        (
            "ledger on the wrong Postgres port",
            |c| {
                set(
                    c,
                    &["services", "worker", "environment", "PUNCTUAL_DATABASE_URL"],
                    Some("postgres://punctual:punctual@postgresql:5433/punctual".into()),
                )
            },
            &url_check,
        ),
        (
            "ledger database nobody creates",
            |c| {
                set(
                    c,
                    &["services", "worker", "environment", "PUNCTUAL_DATABASE_URL"],
                    Some("postgres://punctual:punctual@postgresql:5432/ledger".into()),
                )
            },
            &url_check,
        ),
        (
            "ledger password out of step",
            |c| {
                set(
                    c,
                    &["services", "seed", "environment", "PUNCTUAL_DATABASE_URL"],
                    Some("postgres://punctual:hunter2@postgresql:5432/punctual".into()),
                )
            },
            &url_check,
        ),
        (
            "worker does not wait for the provider",
            |c| set(c, &["services", "worker", "depends_on", "sandbox-provider"], None),
            &url_check,
        ),
        (
            "a search attribute missing",
            |c| {
                set(
                    c,
                    &["services", "register-search-attributes", "environment", "SEARCH_ATTRIBUTES"],
                    Some("BusinessKey=Keyword BusinessDate=Keyword JobName=Keyword CustomerId=Keyword".into()),
                )
            },
            &sa_check,
        ),
        (
            "a search attribute of the wrong type",
            |c| {
                set(
                    c,
                    &["services", "register-search-attributes", "environment", "SEARCH_ATTRIBUTES"],
                    Some(
                        "BusinessKey=Keyword BusinessDate=Datetime JobName=Keyword CustomerId=Keyword RunOutcome=Keyword".into(),
                    ),
                )
            },
            &sa_check,
        ),
        (
            "an extra search attribute",
            |c| {
                set(c, &["services", "register-search-attributes", "environment", "SEARCH_ATTRIBUTES"],
                Some("BusinessKey=Keyword BusinessDate=Keyword JobName=Keyword CustomerId=Keyword RunOutcome=Keyword Tenant=Keyword".into()))
            },
            &sa_check,
        ),
        (
            "registration script not in the repository",
            |c| {
                set(
                    c,
                    &["services", "register-search-attributes", "entrypoint"],
                    Some(yaml(r#"["/bin/sh", "/deploy/nowhere.sh"]"#)),
                )
            },
            &sa_check,
        ),
        (
            "worker does not wait for registration",
            |c| set(c, &["services", "worker", "depends_on", "register-search-attributes"], None),
            &sa_check,
        ),
        (
            "worker does not wait for the seed",
            |c| set(c, &["services", "worker", "depends_on", "seed", "condition"], Some("service_started".into())),
            &sa_check,
        ),
        (
            "stop grace equal to the shutdown grace",
            |c| set(c, &["services", "worker", "stop_grace_period"], Some("30s".into())),
            &grace_check,
        ),
        ("no stop grace period", |c| set(c, &["services", "worker", "stop_grace_period"], None), &grace_check),
        (
            "shutdown grace raised past the stop grace",
            |c| set(c, &["services", "worker", "environment", "PUNCTUAL_SHUTDOWN_GRACE"], Some("2m".into())),
            &grace_check,
        ),
        ("stop signal SIGKILL", |c| set(c, &["services", "worker", "stop_signal"], Some("SIGKILL".into())), &grace_check),
        (
            "provider published on every interface",
            |c| set(c, &["services", "sandbox-provider", "ports"], Some(yaml(r#"["8081:8081"]"#))),
            &ports_check,
        ),
        (
            "sink published on 0.0.0.0",
            |c| set(c, &["services", "notify-sink", "ports"], Some(yaml(r#"["0.0.0.0:8082:8082"]"#))),
            &ports_check,
        ),
        (
            "sink published, long syntax, no host_ip",
            |c| set(c, &["services", "notify-sink", "ports"], Some(yaml("[{target: 8082, published: 18082}]"))),
            &ports_check,
        ),
        (
            "another service forwarding 8081",
            |c| set(c, &["services", "temporal-ui", "ports"], Some(yaml(r#"["8081:8080"]"#))),
            &ports_check,
        ),
    ];
    let mut silent = Vec::new();
    for (what, mutate, check) in &cases {
        let mut broken = original.clone();
        mutate(&mut broken);
        if check(&broken).is_empty() {
            silent.push(*what);
        }
    }
    assert!(silent.is_empty(), "checks that did not notice a broken docker-compose.yml: {silent:?}");

    // The Dockerfile and .dockerignore, broken one way at a time.
    let dockerfile = read("Dockerfile");
    let broken_dockerfiles: Vec<(&str, String)> = vec![
        ("no USER", dockerfile.replace("USER 10001:10001", "")),
        ("USER root", dockerfile.replace("USER 10001:10001", "USER root")),
        ("single stage", {
            // Keep only the final stage.
            let last = dockerfile.rfind("\nFROM ").expect("a second FROM");
            dockerfile[last..].to_string()
        }),
        (
            "shell-form ENTRYPOINT of something else",
            dockerfile.replace(r#"ENTRYPOINT ["/usr/local/bin/punctual"]"#, "ENTRYPOINT /bin/sh"),
        ),
        ("no release build", dockerfile.replace("--release", "")),
        ("CMD not worker", dockerfile.replace(r#"CMD ["worker"]"#, r#"CMD ["seed"]"#)),
    ];
    assert_none("the unmodified Dockerfile", check_dockerfile(&dockerfile));
    for (what, text) in &broken_dockerfiles {
        assert_ne!(text, &dockerfile, "mutation `{what}` did not change the Dockerfile");
        assert!(!check_dockerfile(text).is_empty(), "check_dockerfile did not notice: {what}");
    }
    let ignore = read(".dockerignore");
    assert!(!check_dockerignore(&ignore.replace("target/", "")).is_empty(), ".dockerignore without target/");
}
