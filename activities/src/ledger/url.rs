//! Which database a URL names, and how to show it without its password.
//!
//! Error messages must say where the ledger tried to connect (an operator needs host and port),
//! but a URL may carry a password, and errors end up in logs and in Temporal's history.

use super::error::LedgerError;
use std::path::PathBuf;

/// Which database engine the ledger is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file on one host, shared by the processes there.
    Sqlite,
    /// A server, shared by a fleet.
    Postgres,
}

/// A database URL, checked and made ready for `sqlx::any`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A SQLite file; `url` is absolute, percent-encoded and creates the file if missing.
    Sqlite { path: PathBuf, url: String },
    /// A PostgreSQL server, as given.
    Postgres { url: String },
}

impl Target {
    /// The engine.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The URL to hand to `sqlx::any`.
    pub(crate) fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url } => url,
        }
    }
}

const EXPECTED: &str = "expected sqlite://PATH, sqlite:PATH or postgres://USER[:PASSWORD]@HOST:PORT/DATABASE";

/// Checks `url` and decides the engine.
pub(crate) fn parse(url: &str) -> Result<Target, LedgerError> {
    let shown = redact(url);
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(LedgerError::InvalidUrl(format!("`{shown}` has no scheme; {EXPECTED}")));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => sqlite(url, &shown),
        "postgres" | "postgresql" if url[scheme.len()..].starts_with("://") => Ok(Target::Postgres { url: url.to_owned() }),
        "postgres" | "postgresql" => {
            Err(LedgerError::InvalidUrl(format!("`{shown}` is missing `//` after the scheme; {EXPECTED}")))
        }
        other => Err(LedgerError::InvalidUrl(format!("unsupported database scheme `{other}` in `{shown}`; {EXPECTED}"))),
    }
}

fn sqlite(url: &str, shown: &str) -> Result<Target, LedgerError> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let (file, params) = rest.split_once('?').unwrap_or((rest, ""));
    if file.is_empty() {
        return Err(LedgerError::InvalidUrl(format!("`{shown}` names no file; {EXPECTED}")));
    }
    let in_memory = file == ":memory:" || params.split('&').any(|p| p == "mode=memory");
    if in_memory {
        return Err(LedgerError::InvalidUrl(format!(
            "`{shown}` is an in-memory SQLite database: each pooled connection would see its own \
             empty ledger; give a file, sqlite://PATH"
        )));
    }
    let path = std::path::absolute(file)
        .map_err(|e| LedgerError::InvalidUrl(format!("`{shown}`: cannot resolve path `{file}`: {e}")))?;
    let mut params: Vec<&str> = params.split('&').filter(|p| !p.is_empty()).collect();
    if !params.iter().any(|p| p.starts_with("mode=")) {
        params.push("mode=rwc");
    }
    let encoded = percent_encode_path(&path.to_string_lossy());
    Ok(Target::Sqlite { url: format!("sqlite://{encoded}?{}", params.join("&")), path })
}

/// Percent-encodes everything but unreserved characters and `/`, so `?`, `#`, `%` and spaces in
/// a file name survive the trip through a URL (sqlx decodes them again).
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'.' | b'_' | b'-' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with any password (in the user info or a `password=` parameter) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => format!("{userinfo}@{host}"),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// The literal password in `url`, if any, so it can be scrubbed from driver messages too.
pub(crate) fn password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let from_userinfo = authority.rsplit_once('@').and_then(|(userinfo, _)| userinfo.split_once(':')).map(|(_, p)| p);
    let from_query = url
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| k.eq_ignore_ascii_case("password"))))
        .map(|(_, p)| p);
    from_userinfo.or(from_query).filter(|p| !p.is_empty())
}

/// `message` with the password of `url` (if any) replaced by `***`.
pub(crate) fn scrub(message: &str, url: &str) -> String {
    match password(url) {
        Some(secret) => message.replace(secret, "***"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_user_info_and_query() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/ledger"), "postgres://app:***@db:5432/ledger");
        assert_eq!(redact("postgres://app@db:5432/ledger"), "postgres://app@db:5432/ledger");
        assert_eq!(redact("postgres://db/ledger?user=a&password=s3cret"), "postgres://db/ledger?user=a&password=***");
        assert_eq!(redact("sqlite:///var/ledger.db"), "sqlite:///var/ledger.db");
        assert_eq!(password("postgres://app:s3cret@db:5432/ledger"), Some("s3cret"));
        assert_eq!(password("postgres://db/x?password=p"), Some("p"));
        assert_eq!(password("postgres://app@db/x"), None);
        assert_eq!(scrub("bad s3cret here", "postgres://a:s3cret@h/d"), "bad *** here");
    }

    #[test]
    fn picks_the_backend_and_normalises_sqlite_paths() {
        let t = parse("sqlite:///tmp/a b/ledger.db").unwrap();
        assert_eq!(t.backend(), Backend::Sqlite);
        assert_eq!(t.url(), "sqlite:///tmp/a%20b/ledger.db?mode=rwc");
        let t = parse("sqlite:rel/x.db?mode=rw").unwrap();
        assert!(t.url().ends_with("/rel/x.db?mode=rw"), "{}", t.url());
        assert!(t.url().starts_with("sqlite:///"), "{}", t.url());
        assert_eq!(parse("postgresql://h/d").unwrap().backend(), Backend::Postgres);
    }

    #[test]
    fn rejects_what_it_cannot_open() {
        for bad in ["mysql://h/d", "ledger.db", "sqlite::memory:", "sqlite://", "postgres:h/d"] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, LedgerError::InvalidUrl(_)), "{bad}: {err}");
        }
        let err = parse("mysql://u:pw@h/d").unwrap_err().to_string();
        assert!(err.contains("`mysql`") && !err.contains("pw@"), "{err}");
    }
}
