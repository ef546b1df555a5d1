//! The jobs file (`punctual.toml`), read once and validated into [`JobSpec`]s.
//!
//! Every mistake stops the load with one message that names the file, the line, the job and the
//! key, and says what was expected — e.g. `punctual.toml:31: job "sla_check", field "cron":
//! field 2 (hour): 24 is out of range 0-23`. Jobs come back sorted by name.
//!
//! ```toml
//! [defaults]                      # optional: any job key except workflow, input, depends_on
//! timezone = "Asia/Shanghai"
//!
//! [jobs.bill_generation]          # name: lowercase letters, digits, `_`, `-`
//! workflow = "BillingRunWorkflow" # required: the workflow type to start (PascalCase)
//! input = { timezone = "Asia/Shanghai" }  # optional table, sent as JSON; punctual adds business_date
//! timezone = "Asia/Shanghai"      # required (here or in [defaults]): IANA zone
//! at = "00:30"                    # local time(s): "HH:MM" or ["00:30", "12:00"] ...
//! # cron = "*/5 * * * *"          # ... or a five-field cron expression ...
//! # every = "30s"                 # ... or a fixed interval of absolute time: exactly one of the three
//! # phase = "7s"                  # with every: fire this long past each multiple of it (default "0s")
//! calendar = "cn"                 # calendars/NAME.toml; default "everyday" (no days off; "none" = Mon-Fri)
//! roll = "following"              # skip (default) | following | preceding | modified_following (`at` jobs only)
//! days = "every_day"              # every_day (default) | last_business_day
//!                                 # | { nth_business_day = 3 } | { nth_weekday = 3, weekday = "Mon" }
//!                                 # (negative n counts from the month's end; `cron` jobs: every_day only)
//! dst_repeated = "first"          # first (default) | last | both
//! dst_missing = "shift"           # shift (default) | skip
//! overlap = "buffer_all"          # buffer_all (default) | skip | buffer_one | cancel_other
//!                                 # | terminate_other | allow_all
//! catchup_window = "1h"           # default "1h", at least "10s" (Temporal's minimum)
//! missed = "run"                  # run (default) | record
//! jitter = "0s"                   # default "0s"
//! pause_after_failures = 3        # default 0 = never pause
//! sla = "2h"                      # optional
//! depends_on = ["other_job"]      # optional: jobs of this file (once a day) that must commit the same date first
//! dependency_deadline = "2h"      # with depends_on; default "1h"
//! on_dependency = "wait"          # with depends_on: wait (default) | skip | fail
//! ```
//!
//! Durations are whole seconds written with units `d`, `h`, `m`, `s`, e.g. `"90s"`, `"1h30m"`.
//! A job that sets `at`, `cron` or `every` ignores the timing keys of `[defaults]` (`phase` too).

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use punctual_workflows::jobs::{DayRule, JobSpec, Timing, runnable};
use punctual_workflows::schedule::calendar::builtin_names;
use punctual_workflows::schedule::{CalendarError, CronExpr, builtin};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use toml::{Spanned, Value};

/// Where `punctual` looks for the jobs file unless told otherwise.
pub const DEFAULT_PATH: &str = "punctual.toml";

/// Temporal refuses a shorter catch-up window.
const MIN_CATCHUP_SECS: u64 = 10;
const DEFAULT_CATCHUP_SECS: u64 = 3600;
const DEFAULT_DEPENDENCY_DEADLINE_SECS: u64 = 3600;

/// Every key a job may have, in the order the module doc lists them.
const JOB_KEYS: &[&str] = &[
    "workflow", "input", "timezone", "at", "cron", "every", "phase", "calendar", "roll", "days", "dst_repeated", "dst_missing",
    "overlap", "catchup_window", "missed", "jitter", "pause_after_failures", "sla", "depends_on", "dependency_deadline",
    "on_dependency",
];
/// Keys that only make sense per job.
const JOB_ONLY_KEYS: &[&str] = &["workflow", "input", "depends_on"];

/// Why the jobs file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error(
        "jobs file {} not found: create it (the punctual.toml at the root of the punctual \
         repository is a commented example) or pass --config PATH",
        path.display()
    )]
    Missing {
        /// The path tried.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read jobs file {}: {source}", path.display())]
    Read {
        /// The path tried.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, or not the file's shape (the message gives line and column).
    #[error("{file}: {message}")]
    Syntax {
        /// The file's label.
        file: String,
        /// The TOML parser's message.
        message: String,
    },
    /// No `[jobs.NAME]` table at all.
    #[error("{file}: no jobs: add a [jobs.NAME] table")]
    NoJobs {
        /// The file's label.
        file: String,
    },
    /// One key of one job (or of `[defaults]`) is wrong.
    #[error("{file}:{line}: {}, field \"{field}\": {message}", place(.job))]
    Invalid {
        /// The file's label.
        file: String,
        /// 1-based line of the key (of the job's header when the key is missing).
        line: usize,
        /// The job; `None` for `[defaults]`.
        job: Option<String>,
        /// The key, e.g. `timezone`.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

fn place(job: &Option<String>) -> String {
    job.as_ref().map_or_else(|| "[defaults]".to_owned(), |j| format!("job \"{j}\""))
}

/// Reads and validates the jobs file at `path`.
pub fn load(path: &Path) -> Result<Vec<JobSpec>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::Missing { path: path.to_owned() }
        } else {
            ConfigError::Read { path: path.to_owned(), source }
        }
    })?;
    parse(&path.display().to_string(), &text)
}

type RawTable = BTreeMap<Spanned<String>, Spanned<Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    defaults: RawTable,
    #[serde(default)]
    jobs: BTreeMap<Spanned<String>, RawTable>,
}

/// One key's value, and where it was written.
#[derive(Clone, Copy)]
struct Entry<'a> {
    value: &'a Value,
    line: usize,
    from_defaults: bool,
}

/// Validates the jobs file `text`; `file` names it in messages.
pub fn parse(file: &str, text: &str) -> Result<Vec<JobSpec>, ConfigError> {
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| ConfigError::Syntax { file: file.to_owned(), message: e.to_string().trim_end().to_owned() })?;
    let line_of = |span: std::ops::Range<usize>| text[..span.start].matches('\n').count() + 1;
    let invalid = |line, job: Option<&str>, field: &str, message: String| ConfigError::Invalid {
        file: file.to_owned(),
        line,
        job: job.map(str::to_owned),
        field: field.to_owned(),
        message,
    };
    let check_key = |job: Option<&str>, key: &Spanned<String>| {
        let name = key.get_ref().as_str();
        if !JOB_KEYS.contains(&name) {
            return Err(invalid(line_of(key.span()), job, name, unknown_key(name)));
        }
        if job.is_none() && JOB_ONLY_KEYS.contains(&name) {
            let message = format!("`{name}` belongs to each job, not to [defaults]");
            return Err(invalid(line_of(key.span()), job, name, message));
        }
        Ok(())
    };

    let mut defaults = BTreeMap::new();
    for (key, value) in &raw.defaults {
        check_key(None, key)?;
        let name = key.get_ref().as_str();
        let entry = Entry { value: value.get_ref(), line: line_of(key.span()), from_defaults: true };
        defaults.insert(name, entry);
    }
    if raw.jobs.is_empty() {
        return Err(ConfigError::NoJobs { file: file.to_owned() });
    }
    let names: BTreeSet<&str> = raw.jobs.keys().map(|k| k.get_ref().as_str()).collect();
    let mut specs = Vec::new();
    let mut dependency_lines = BTreeMap::new();
    for (name, table) in &raw.jobs {
        let mut job = Job { file, name: name.get_ref(), line: line_of(name.span()), keys: defaults.clone() };
        if table.keys().any(|k| matches!(k.get_ref().as_str(), "at" | "cron" | "every")) {
            job.keys.remove("at");
            job.keys.remove("cron");
            job.keys.remove("every");
            job.keys.remove("phase");
        }
        for (key, value) in table {
            check_key(Some(job.name), key)?;
            let key_name = key.get_ref().as_str();
            let entry = Entry { value: value.get_ref(), line: line_of(key.span()), from_defaults: false };
            job.keys.insert(key_name, entry);
        }
        dependency_lines.insert(job.name, job.keys.get("depends_on").map_or(job.line, |e| e.line));
        specs.push(job.spec(&names)?);
    }
    if let Some(cycle) = find_cycle(&specs) {
        let message = format!("dependency cycle: {}", cycle.join(" -> "));
        return Err(invalid(dependency_lines[cycle[0].as_str()], Some(&cycle[0]), "depends_on", message));
    }
    // A dependent waits for its parent's occurrence of the date (`{parent}/{date}`); a parent
    // that fires more than once a day keys its occurrences by time and never has that one.
    for spec in &specs {
        for dep in &spec.depends_on {
            let parent = specs.iter().find(|s| &s.name == dep).expect("checked by depends_on()");
            let several = punctual_workflows::jobs::Job::resolve(parent.clone()).is_ok_and(|job| !job.once_a_day());
            if several {
                let message = format!(
                    "\"{dep}\" fires more than once a day, so it has no one occurrence of a date to wait for \
                     (its keys name a time, like {dep}/2026-11-25T09:00): depend on a job that runs once a day"
                );
                return Err(invalid(dependency_lines[spec.name.as_str()], Some(&spec.name), "depends_on", message));
            }
        }
    }
    Ok(specs)
}

/// One `[jobs.NAME]` table merged over `[defaults]`.
struct Job<'a> {
    file: &'a str,
    name: &'a str,
    /// Line of the `[jobs.NAME]` header.
    line: usize,
    keys: BTreeMap<&'a str, Entry<'a>>,
}

impl Job<'_> {
    fn spec(&self, names: &BTreeSet<&str>) -> Result<JobSpec, ConfigError> {
        let valid_name = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        if self.name.is_empty() || !self.name.chars().all(valid_name) {
            return Err(self.err("name", "job names are lowercase letters, digits, `_` and `-`, e.g. [jobs.bill_generation]"));
        }
        let workflow = self.required_str("workflow", "the workflow type to start, e.g. \"BillingRunWorkflow\"")?;
        let pascal =
            workflow.starts_with(|c: char| c.is_ascii_uppercase()) && workflow.chars().all(|c| c.is_ascii_alphanumeric());
        if !pascal {
            return Err(self.err(
                "workflow",
                format!(
                    "\"{workflow}\" is not a workflow type: expected PascalCase letters and digits, e.g. \"BillingRunWorkflow\""
                ),
            ));
        }
        let timezone = self.required_str("timezone", "an IANA time zone, e.g. \"Asia/Shanghai\"")?;
        if timezone.parse::<Tz>().is_err() {
            return Err(self.err("timezone", format!("unknown IANA time zone \"{timezone}\" (e.g. \"Asia/Shanghai\")")));
        }
        let timing = self.timing()?;
        // Only `at` jobs move a holiday's occurrence; `cron` and `every` skip non-business dates.
        // Set on such a job, `roll` would be silently ignored (and Golden Week silently lost).
        if !matches!(timing, Timing::Daily { .. })
            && self.keys.get("roll").is_some_and(|e| !e.from_defaults)
            && self.str("roll")? != Some("skip")
        {
            return Err(self.err(
                "roll",
                "only `at` jobs roll a non-business date to another day; a `cron` or `every` job skips it (use `at`, or \
                 leave `roll` out)",
            ));
        }
        let day_rule = self.day_rule()?;
        if !matches!(timing, Timing::Daily { .. }) && day_rule != DayRule::EveryDay {
            return Err(self.err("days", "only \"every_day\" goes with `cron` or `every`; use `at` for this rule"));
        }
        let calendar = self.str("calendar")?.unwrap_or("everyday");
        if let Err(e) = builtin(calendar) {
            let message = match e {
                CalendarError::Unknown { .. } => {
                    format!("unknown calendar \"{calendar}\"; known calendars: {}", builtin_names().join(", "))
                }
                other => other.to_string(),
            };
            return Err(self.err("calendar", message));
        }
        let catchup_window_secs = self.duration("catchup_window")?.unwrap_or(DEFAULT_CATCHUP_SECS);
        if catchup_window_secs < MIN_CATCHUP_SECS {
            return Err(self.err("catchup_window", format!("{catchup_window_secs}s is below Temporal's minimum of 10s")));
        }
        let sla_secs = self.duration("sla")?.unwrap_or(0);
        if self.keys.contains_key("sla") && sla_secs == 0 {
            return Err(self.err("sla", "must be longer than 0s; leave `sla` out for no SLA"));
        }
        let depends_on = self.depends_on(names)?;
        for key in ["dependency_deadline", "on_dependency"] {
            if depends_on.is_empty() && self.keys.get(key).is_some_and(|e| !e.from_defaults) {
                return Err(self.err(key, "only used together with `depends_on`"));
            }
        }
        let dependency_deadline_secs = match self.duration("dependency_deadline")? {
            _ if depends_on.is_empty() => 0,
            Some(0) => return Err(self.err("dependency_deadline", "must be longer than 0s")),
            other => other.unwrap_or(DEFAULT_DEPENDENCY_DEADLINE_SECS),
        };
        let input = self.input()?;
        // Any valid date: each fire supplies its own.
        if let Err(e) = runnable::check(workflow, &input, "2026-01-01") {
            return Err(self.err(if e.is_about_workflow() { "workflow" } else { "input" }, e.to_string()));
        }
        Ok(JobSpec {
            name: self.name.to_owned(),
            workflow: workflow.to_owned(),
            input,
            timezone: timezone.to_owned(),
            timing,
            day_rule,
            calendar: calendar.to_owned(),
            roll: self.choice("roll", &["skip", "following", "preceding", "modified_following"])?,
            dst_repeated: self.choice("dst_repeated", &["first", "last", "both"])?,
            dst_missing: self.choice("dst_missing", &["shift", "skip"])?,
            overlap: self
                .choice("overlap", &["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"])?,
            catchup_window_secs,
            missed: self.choice("missed", &["run", "record"])?,
            jitter_secs: self.duration("jitter")?.unwrap_or(0),
            pause_after_failures: self.pause_after_failures()?,
            depends_on,
            dependency_deadline_secs,
            on_dependency: self.choice("on_dependency", &["wait", "skip", "fail"])?,
            sla_secs,
        })
    }

    fn err(&self, field: &str, message: impl Into<String>) -> ConfigError {
        let entry = self.keys.get(field);
        let mut message = message.into();
        if entry.is_some_and(|e| e.from_defaults) {
            message.push_str(" (set in [defaults])");
        }
        ConfigError::Invalid {
            file: self.file.to_owned(),
            line: entry.map_or(self.line, |e| e.line),
            job: Some(self.name.to_owned()),
            field: field.to_owned(),
            message,
        }
    }

    fn expected(&self, field: &str, what: &str, found: &Value) -> ConfigError {
        self.err(field, format!("expected {what}, found {} {found}", found.type_str()))
    }

    fn str(&self, field: &str) -> Result<Option<&str>, ConfigError> {
        match self.keys.get(field).map(|e| e.value) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.expected(field, "a string", other)),
        }
    }

    fn required_str(&self, field: &str, what: &str) -> Result<&str, ConfigError> {
        self.str(field)?.ok_or_else(|| {
            let scope = if JOB_ONLY_KEYS.contains(&field) { "" } else { " (here or in [defaults])" };
            self.err(field, format!("missing: set {what}{scope}"))
        })
    }

    /// One of `choices`, decoded through the type's own serde names; absent gives the default.
    fn choice<T: DeserializeOwned + Default>(&self, field: &str, choices: &[&str]) -> Result<T, ConfigError> {
        let Some(s) = self.str(field)? else {
            return Ok(T::default());
        };
        if !choices.contains(&s) {
            let list = choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
            return Err(self.err(field, format!("\"{s}\" is not one of {list}")));
        }
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| self.err(field, e.to_string()))
    }

    fn duration(&self, field: &str) -> Result<Option<u64>, ConfigError> {
        match self.keys.get(field).map(|e| e.value) {
            None => Ok(None),
            Some(Value::String(s)) => parse_duration(s).map(Some).map_err(|m| self.err(field, m)),
            Some(other) => Err(self.expected(field, "a duration string such as \"90s\" or \"2h\"", other)),
        }
    }

    fn timing(&self) -> Result<Timing, ConfigError> {
        let (at, cron) = (self.keys.get("at"), self.keys.get("cron"));
        if self.keys.contains_key("every") {
            if at.is_some() || cron.is_some() {
                return Err(self.err("every", "set only one of `at`, `cron` and `every`"));
            }
            let secs = match self.duration("every")? {
                Some(secs) if secs >= 1 => secs,
                _ => return Err(self.err("every", "the interval must be at least \"1s\"")),
            };
            // `every` counts absolute seconds, and a job firing at most once a day is keyed by its
            // local date: across a DST change a daily interval moves an hour on the wall clock, so
            // a date gets no fire (spring) or two (autumn), and one is lost or keyed `/repeat`.
            if secs >= 86_400 {
                return Err(self.err(
                    "every",
                    format!(
                        "an interval of a day or more ({secs}s) drifts across DST changes and can skip a date: \
                         use `at = \"HH:MM\"` (every day at that local time) or `days` for fewer days"
                    ),
                ));
            }
            let phase_secs = self.duration("phase")?.unwrap_or(0);
            if phase_secs >= secs {
                return Err(self.err("phase", format!("must be shorter than `every` ({secs}s), got {phase_secs}s")));
            }
            return Ok(Timing::Every { secs, phase_secs });
        }
        if self.keys.contains_key("phase") {
            return Err(self.err("phase", "goes only with `every` (an `at` or `cron` job fires at its own times)"));
        }
        match (at, cron) {
            (Some(_), Some(_)) => Err(self.err("cron", "set either `at` or `cron`, not both")),
            (None, None) => Err(self.err("at", "missing: set `at = \"HH:MM\"` (or a list of times) or `cron = \"...\"`")),
            (None, Some(_)) => {
                let expr = self.str("cron")?.unwrap_or_default();
                CronExpr::parse(expr).map_err(|e| self.err("cron", e.to_string()))?;
                Ok(Timing::Cron { expr: expr.to_owned() })
            }
            (Some(entry), None) => {
                let values = match entry.value {
                    Value::Array(items) if items.is_empty() => {
                        return Err(self.err("at", "the list of times is empty"));
                    }
                    Value::Array(items) => items.iter().collect(),
                    single => vec![single],
                };
                let mut times = BTreeSet::new();
                for value in values {
                    let time = local_time(value).map_err(|m| self.err("at", m))?;
                    if !times.insert(time) {
                        return Err(self.err("at", format!("{} is listed twice", time.format("%H:%M"))));
                    }
                }
                Ok(Timing::Daily { times: times.into_iter().collect() })
            }
        }
    }

    fn day_rule(&self) -> Result<DayRule, ConfigError> {
        const FORMS: &str = "\"every_day\", \"last_business_day\", { nth_business_day = N } \
                             or { nth_weekday = N, weekday = \"Mon\" }";
        let Some(entry) = self.keys.get("days") else {
            return Ok(DayRule::EveryDay);
        };
        let n = |value: Option<&Value>, key: &str, max: i64| -> Result<i32, ConfigError> {
            match value {
                Some(Value::Integer(n)) if *n != 0 && n.abs() <= max => Ok(*n as i32),
                Some(other) => {
                    Err(self.err("days", format!("`{key}` must be 1..{max} or -1..-{max} (from the month's end), found {other}")))
                }
                None => Err(self.err("days", format!("missing `{key}`; expected {FORMS}"))),
            }
        };
        match entry.value {
            Value::String(s) if s == "every_day" => Ok(DayRule::EveryDay),
            Value::String(s) if s == "last_business_day" => Ok(DayRule::LastBusinessDay),
            Value::Table(t) if t.contains_key("nth_business_day") => {
                if let Some(extra) = t.keys().find(|k| *k != "nth_business_day") {
                    return Err(self.err("days", format!("unexpected key `{extra}`; expected {FORMS}")));
                }
                Ok(DayRule::NthBusinessDay { n: n(t.get("nth_business_day"), "nth_business_day", 23)? })
            }
            Value::Table(t) if t.contains_key("nth_weekday") || t.contains_key("weekday") => {
                if let Some(extra) = t.keys().find(|k| !matches!(k.as_str(), "nth_weekday" | "weekday")) {
                    return Err(self.err("days", format!("unexpected key `{extra}`; expected {FORMS}")));
                }
                let n = n(t.get("nth_weekday"), "nth_weekday", 5)?;
                let weekday = match t.get("weekday") {
                    Some(Value::String(s)) => s.parse::<Weekday>().ok(),
                    _ => None,
                }
                .ok_or_else(|| self.err("days", "`weekday` must be a weekday name: \"Mon\" ... \"Sun\""))?;
                Ok(DayRule::NthWeekday { n, weekday })
            }
            other => Err(self.err("days", format!("expected {FORMS}, found {other}"))),
        }
    }

    fn input(&self) -> Result<serde_json::Map<String, serde_json::Value>, ConfigError> {
        let Some(entry) = self.keys.get("input") else {
            return Ok(serde_json::Map::new());
        };
        let Value::Table(table) = entry.value else {
            return Err(self.expected("input", "a table, e.g. input = { timezone = \"Asia/Shanghai\" }", entry.value));
        };
        if table.contains_key("business_date") {
            return Err(self.err("input", "`business_date` is set by punctual from each occurrence; remove it"));
        }
        match to_json(entry.value).map_err(|m| self.err("input", m))? {
            serde_json::Value::Object(map) => Ok(map),
            _ => unreachable!("a TOML table becomes a JSON object"),
        }
    }

    fn depends_on(&self, names: &BTreeSet<&str>) -> Result<Vec<String>, ConfigError> {
        let Some(entry) = self.keys.get("depends_on") else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = entry.value else {
            return Err(self.expected("depends_on", "a list of job names, e.g. [\"bill_generation\"]", entry.value));
        };
        let mut deps = Vec::new();
        for item in items {
            let Value::String(dep) = item else {
                return Err(self.expected("depends_on", "job names (strings)", item));
            };
            if dep == self.name {
                return Err(self.err("depends_on", format!("job \"{dep}\" cannot depend on itself")));
            }
            if !names.contains(dep.as_str()) {
                let known = names.iter().filter(|n| **n != self.name).copied().collect::<Vec<_>>();
                let known = if known.is_empty() {
                    "this file has no other job".to_owned()
                } else {
                    format!("jobs in this file: {}", known.join(", "))
                };
                return Err(self.err("depends_on", format!("unknown job \"{dep}\"; {known}")));
            }
            if deps.contains(dep) {
                return Err(self.err("depends_on", format!("\"{dep}\" is listed twice")));
            }
            deps.push(dep.clone());
        }
        Ok(deps)
    }

    fn pause_after_failures(&self) -> Result<u32, ConfigError> {
        match self.keys.get("pause_after_failures").map(|e| e.value) {
            None => Ok(0),
            Some(Value::Integer(n)) => {
                u32::try_from(*n).map_err(|_| self.err("pause_after_failures", format!("{n} is not a count (0 = never pause)")))
            }
            Some(other) => Err(self.expected("pause_after_failures", "a whole number (0 = never pause)", other)),
        }
    }
}

/// `"HH:MM"` (or a TOML local time `00:30`) as a time of day.
fn local_time(value: &Value) -> Result<NaiveTime, String> {
    const EXPECTED: &str = "expected a 24-hour local time \"HH:MM\", e.g. \"00:30\"";
    let parsed = match value {
        Value::String(s) => {
            let b = s.as_bytes();
            let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
            if b.len() == 5 && b[2] == b':' && digits(0..2) && digits(3..5) {
                NaiveTime::from_hms_opt(s[..2].parse().unwrap_or(99), s[3..].parse().unwrap_or(99), 0)
            } else {
                None
            }
        }
        Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (None, Some(t), None) if t.second.unwrap_or(0) == 0 && t.nanosecond.unwrap_or(0) == 0 => {
                NaiveTime::from_hms_opt(u32::from(t.hour), u32::from(t.minute), 0)
            }
            _ => None,
        },
        _ => None,
    };
    parsed.ok_or_else(|| format!("{value} is not a time of day: {EXPECTED}"))
}

/// Whole seconds from `"90s"`, `"15m"`, `"2h"`, `"1d"` or a sum such as `"1h30m"`.
fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "\"{text}\" is not a duration: write whole numbers with units d, h, m or s, e.g. \
             \"90s\", \"15m\", \"1h30m\", \"1d\""
        )
    };
    if text.ends_with("ms") {
        return Err(format!("\"{text}\": durations are whole seconds (units d, h, m, s), not milliseconds"));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = match &rest[digits..digits + 1] {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            _ => return Err(bad()),
        };
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(bad)?;
        rest = &rest[digits + 1..];
    }
    if text.is_empty() { Err(bad()) } else { Ok(total) }
}

fn to_json(value: &Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::String(s) => s.clone().into(),
        Value::Integer(n) => (*n).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f).ok_or_else(|| format!("{f} has no JSON form"))?.into(),
        Value::Boolean(b) => (*b).into(),
        Value::Datetime(dt) => dt.to_string().into(),
        Value::Array(items) => items.iter().map(to_json).collect::<Result<Vec<_>, _>>()?.into(),
        Value::Table(table) => {
            table.iter().map(|(k, v)| Ok((k.clone(), to_json(v)?))).collect::<Result<serde_json::Map<_, _>, String>>()?.into()
        }
    })
}

fn unknown_key(name: &str) -> String {
    let closest = JOB_KEYS.iter().min_by_key(|k| edit_distance(name, k)).copied();
    match closest {
        Some(k) if edit_distance(name, k) <= 2 => format!("unknown key (did you mean \"{k}\"?)"),
        _ => format!("unknown key; the keys are {}", JOB_KEYS.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The first dependency cycle, as a path that starts and ends at its alphabetically first job.
fn find_cycle(specs: &[JobSpec]) -> Option<Vec<String>> {
    let deps: BTreeMap<&str, &[String]> = specs.iter().map(|s| (s.name.as_str(), s.depends_on.as_slice())).collect();
    let mut done = BTreeSet::new();
    let mut stack = Vec::new();
    fn visit<'a>(
        node: &'a str,
        deps: &BTreeMap<&'a str, &'a [String]>,
        done: &mut BTreeSet<&'a str>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut cycle: Vec<&str> = stack[at..].to_vec();
            let first = cycle.iter().enumerate().min_by_key(|(_, n)| **n).map_or(0, |(i, _)| i);
            cycle.rotate_left(first);
            cycle.push(cycle[0]);
            return Some(cycle.into_iter().map(str::to_owned).collect());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node);
        for dep in deps.get(node).copied().unwrap_or_default() {
            if let Some(cycle) = visit(dep, deps, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node);
        None
    }
    deps.keys().find_map(|node| visit(node, &deps, &mut done, &mut stack))
}

#[cfg(test)]
mod tests {
    use super::*;
    use punctual_workflows::jobs::{DependencyPolicy, Missed, Overlap};
    use punctual_workflows::schedule::{DstMissing, DstRepeated, Roll};

    const SHIPPED: &str = include_str!("../../../punctual.toml");

    /// A valid job `x` followed by `extra` lines (which may override its keys in a later table).
    fn with_job(extra: &str) -> String {
        format!("[jobs.x]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"Asia/Shanghai\"\n{extra}\n")
    }

    /// Parses `text`, expecting an error that names `job` (None = [defaults]) and `field` and
    /// contains `says`; returns the message.
    #[track_caller]
    fn rejects(text: &str, job: Option<&str>, field: &str, says: &str) -> String {
        let message = parse("t.toml", text).expect_err("should be rejected").to_string();
        let place = job.map_or_else(|| "[defaults]".to_owned(), |j| format!("job \"{j}\""));
        assert!(message.contains(&format!("{place}, field \"{field}\": ")), "{message:?} should name {place} and field {field}");
        assert!(message.contains(says), "{message:?} should contain {says:?}");
        message
    }

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn full_example_becomes_the_expected_specs() {
        let text = r#"
[defaults]
timezone = "Asia/Shanghai"
calendar = "cn"

[jobs.bill_generation]
workflow = "BillingRunWorkflow"
input = { timezone = "Asia/Shanghai", mode = "bulk" }
at = ["12:00", "00:30"]
roll = "modified_following"
days = { nth_weekday = -1, weekday = "Fri" }
dst_repeated = "both"
dst_missing = "skip"
overlap = "buffer_one"
catchup_window = "1h30m"
missed = "record"
jitter = "90s"
pause_after_failures = 3
sla = "2h"

[jobs.payment_reconciliation]
workflow = "ReconciliationWorkflow"
input = { timezone = "America/New_York" }
timezone = "America/New_York"
at = 02:00
days = { nth_business_day = 3 }
depends_on = ["sla_check"]
dependency_deadline = "1d"
on_dependency = "fail"

[jobs.sla_check]
workflow = "SlaCheckWorkflow"
cron = "30 9 * * *"
calendar = "none"
days = "every_day"
"#;
        let specs = parse("t.toml", text).unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["bill_generation", "payment_reconciliation", "sla_check"]);
        let input = serde_json::json!({"timezone": "Asia/Shanghai", "mode": "bulk"});
        assert_eq!(
            specs[0],
            JobSpec {
                name: "bill_generation".into(),
                workflow: "BillingRunWorkflow".into(),
                input: input.as_object().unwrap().clone(),
                timezone: "Asia/Shanghai".into(),
                timing: Timing::Daily { times: vec![t("00:30"), t("12:00")] },
                day_rule: DayRule::NthWeekday { n: -1, weekday: Weekday::Fri },
                calendar: "cn".into(),
                roll: Roll::ModifiedFollowing,
                dst_repeated: DstRepeated::Both,
                dst_missing: DstMissing::Skip,
                overlap: Overlap::BufferOne,
                catchup_window_secs: 5400,
                missed: Missed::Record,
                jitter_secs: 90,
                pause_after_failures: 3,
                depends_on: vec![],
                dependency_deadline_secs: 0,
                on_dependency: DependencyPolicy::Wait,
                sla_secs: 7200,
            }
        );
        assert_eq!(
            specs[1],
            JobSpec {
                name: "payment_reconciliation".into(),
                workflow: "ReconciliationWorkflow".into(),
                input: serde_json::json!({"timezone": "America/New_York"}).as_object().unwrap().clone(),
                timezone: "America/New_York".into(),
                timing: Timing::Daily { times: vec![t("02:00")] },
                day_rule: DayRule::NthBusinessDay { n: 3 },
                calendar: "cn".into(),
                roll: Roll::Skip,
                dst_repeated: DstRepeated::First,
                dst_missing: DstMissing::Shift,
                overlap: Overlap::BufferAll,
                catchup_window_secs: 3600,
                missed: Missed::Run,
                jitter_secs: 0,
                pause_after_failures: 0,
                depends_on: vec!["sla_check".into()],
                dependency_deadline_secs: 86_400,
                on_dependency: DependencyPolicy::Fail,
                sla_secs: 0,
            }
        );
        assert_eq!(specs[2].timing, Timing::Cron { expr: "30 9 * * *".into() });
        assert_eq!((specs[2].calendar.as_str(), specs[2].day_rule), ("none", DayRule::EveryDay));
        // The spec survives the JSON trip into a schedule's action input.
        let json = serde_json::to_string(&specs).unwrap();
        assert_eq!(serde_json::from_str::<Vec<JobSpec>>(&json).unwrap(), specs);
    }

    #[test]
    fn the_shipped_file_is_valid() {
        let specs = parse("punctual.toml", SHIPPED).unwrap();
        let by_name: BTreeMap<&str, &JobSpec> = specs.iter().map(|s| (s.name.as_str(), s)).collect();
        assert_eq!(by_name.keys().copied().collect::<Vec<_>>(), ["bill_generation", "payment_reconciliation", "sla_check"]);
        let bill = by_name["bill_generation"];
        assert_eq!(bill.workflow, "BillingRunWorkflow");
        assert_eq!(bill.timing, Timing::Daily { times: vec![t("00:30")] });
        assert_eq!((bill.timezone.as_str(), bill.calendar.as_str(), bill.roll), ("Asia/Shanghai", "cn", Roll::Following));
        assert_eq!(bill.sla_secs, 7200);
        assert_eq!(bill.input["timezone"], "Asia/Shanghai");
        let rec = by_name["payment_reconciliation"];
        assert_eq!(rec.workflow, "ReconciliationWorkflow");
        assert_eq!(rec.timing, Timing::Daily { times: vec![t("02:00")] });
        assert_eq!(rec.depends_on, ["bill_generation"]);
        assert_eq!((rec.dependency_deadline_secs, rec.on_dependency), (7200, DependencyPolicy::Wait));
        let sla = by_name["sla_check"];
        assert_eq!(sla.timing, Timing::Cron { expr: "*/5 * * * *".into() });
        assert_eq!((sla.timezone.as_str(), sla.calendar.as_str()), ("Asia/Shanghai", "everyday"));
        assert!(sla.input.is_empty());
    }

    #[test]
    fn a_jobs_own_timing_replaces_the_defaults() {
        let text = "[defaults]\ncron = \"0 * * * *\"\njitter = \"10s\"\n".to_owned() + &with_job("at = \"09:00\"");
        let spec = &parse("t.toml", &text).unwrap()[0];
        assert_eq!((spec.timing.clone(), spec.jitter_secs), (Timing::Daily { times: vec![t("09:00")] }, 10));
        let text = "[defaults]\ncron = \"0 * * * *\"\n".to_owned() + &with_job("");
        assert_eq!(parse("t.toml", &text).unwrap()[0].timing, Timing::Cron { expr: "0 * * * *".into() });
    }

    #[test]
    fn every_takes_a_phase_shorter_than_itself() {
        let spec = &parse("t.toml", &with_job("every = \"30s\"\nphase = \"7s\"")).unwrap()[0];
        assert_eq!(spec.timing, Timing::Every { secs: 30, phase_secs: 7 });
        let spec = &parse("t.toml", &with_job("every = \"30s\"")).unwrap()[0];
        assert_eq!(spec.timing, Timing::Every { secs: 30, phase_secs: 0 });
        // A job's own timing drops the defaults' phase with the rest of their timing.
        let text = "[defaults]\nevery = \"10s\"\nphase = \"5s\"\n".to_owned() + &with_job("every = \"4s\"");
        assert_eq!(parse("t.toml", &text).unwrap()[0].timing, Timing::Every { secs: 4, phase_secs: 0 });
        rejects(&with_job("every = \"30s\"\nphase = \"30s\""), Some("x"), "phase", "must be shorter than `every` (30s), got 30s");
        rejects(&with_job("every = \"30s\"\nphase = \"soon\""), Some("x"), "phase", "");
        rejects(&with_job("at = \"09:00\"\nphase = \"5s\""), Some("x"), "phase", "goes only with `every`");
    }

    #[test]
    fn timing_errors() {
        let m = rejects(&with_job("cron = \"0 24 * * *\""), Some("x"), "cron", "field 2 (hour): 24 is out of range 0-23");
        assert_eq!(m, "t.toml:4: job \"x\", field \"cron\": field 2 (hour): 24 is out of range 0-23");
        rejects(&with_job("cron = \"CRON_TZ=UTC 0 0 * * *\""), Some("x"), "cron", "`timezone` key");
        rejects(&with_job("at = \"00:30\"\ncron = \"@daily\""), Some("x"), "cron", "either `at` or `cron`, not both");
        rejects(&with_job(""), Some("x"), "at", "missing: set `at = \"HH:MM\"`");
        for bad in ["\"24:00\"", "\"7:30\"", "\"00:30:00\"", "\"noon\"", "930", "00:30:15", "[]"] {
            rejects(&with_job(&format!("at = {bad}")), Some("x"), "at", "");
        }
        rejects(&with_job("at = \"7:30\""), Some("x"), "at", "expected a 24-hour local time \"HH:MM\"");
        rejects(&with_job("at = [\"01:00\", \"01:00\"]"), Some("x"), "at", "01:00 is listed twice");
        for daily in ["\"1d\"", "\"24h\"", "\"2d\""] {
            rejects(&with_job(&format!("every = {daily}")), Some("x"), "every", "drifts across DST changes and can skip a date");
        }
        rejects(
            &with_job("cron = \"@daily\"\ndays = \"last_business_day\""),
            Some("x"),
            "days",
            "only \"every_day\" goes with `cron`",
        );
    }

    #[test]
    fn names_zone_and_calendar_errors() {
        let text = "[jobs.Bill]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = \"00:30\"\n";
        rejects(text, Some("Bill"), "name", "lowercase letters, digits");
        rejects(
            &with_job("at = \"00:30\"").replace("\"SlaCheckWorkflow\"", "\"billing_run\""),
            Some("x"),
            "workflow",
            "PascalCase",
        );
        rejects("[jobs.x]\ntimezone = \"UTC\"\nat = \"00:30\"\n", Some("x"), "workflow", "missing");
        rejects(
            &with_job("at = \"00:30\"").replace("Asia/Shanghai", "Mars/Olympus"),
            Some("x"),
            "timezone",
            "unknown IANA time zone \"Mars/Olympus\" (e.g. \"Asia/Shanghai\")",
        );
        rejects(
            "[jobs.x]\nworkflow = \"SlaCheckWorkflow\"\nat = \"00:30\"\n",
            Some("x"),
            "timezone",
            "missing: set an IANA time zone",
        );
        // A type no worker registers, or an input its workflow refuses, would fail every fire.
        rejects(
            &with_job("at = \"00:30\"").replace("\"SlaCheckWorkflow\"", "\"NoSuchWorkflow\""),
            Some("x"),
            "workflow",
            "\"NoSuchWorkflow\" is not a workflow a job can start; one of BillingRunWorkflow",
        );
        rejects(
            &with_job("at = \"00:30\"\ninput = { timezone = \"Mars/Olympus\" }")
                .replace("SlaCheckWorkflow", "BillingRunWorkflow"),
            Some("x"),
            "input",
            "BillingRunWorkflow would refuse this input at every fire: field `timezone`",
        );
        rejects(&with_job("at = \"00:30\"\ninput = { limit = 0 }"), Some("x"), "input", "field `limit`");
        rejects(
            &with_job("at = \"00:30\"").replace("\"Asia/Shanghai\"", "8"),
            Some("x"),
            "timezone",
            "expected a string, found integer 8",
        );
        rejects(
            &with_job("at = \"00:30\"\ncalendar = \"mars\""),
            Some("x"),
            "calendar",
            "unknown calendar \"mars\"; known calendars: cn, everyday, none, us",
        );
    }

    #[test]
    fn unknown_and_misplaced_keys() {
        rejects(&with_job("at = \"00:30\"\ntimezon = \"UTC\""), Some("x"), "timezon", "unknown key (did you mean \"timezone\"?)");
        rejects(&with_job("at = \"00:30\"\ncolour = \"red\""), Some("x"), "colour", "unknown key; the keys are workflow, input");
        rejects(
            &("[defaults]\ntimezne = \"UTC\"\n".to_owned() + &with_job("at = \"00:30\"")),
            None,
            "timezne",
            "did you mean \"timezone\"",
        );
        rejects(
            &("[defaults]\nworkflow = \"SlaCheckWorkflow\"\n".to_owned() + &with_job("at = \"00:30\"")),
            None,
            "workflow",
            "belongs to each job",
        );
        let m = rejects(
            &("[defaults]\nroll = \"later\"\n".to_owned() + &with_job("at = \"00:30\"")),
            Some("x"),
            "roll",
            "(set in [defaults])",
        );
        assert!(m.starts_with("t.toml:2: "), "{m}");
    }

    #[test]
    fn value_errors() {
        let job = |line: &str| with_job(&format!("at = \"00:30\"\n{line}"));
        rejects(
            &job("roll = \"later\""),
            Some("x"),
            "roll",
            "\"later\" is not one of \"skip\", \"following\", \"preceding\", \"modified_following\"",
        );
        rejects(&job("overlap = \"queue\""), Some("x"), "overlap", "\"buffer_one\"");
        rejects(&job("missed = \"drop\""), Some("x"), "missed", "\"record\"");
        rejects(&job("dst_repeated = \"twice\""), Some("x"), "dst_repeated", "\"both\"");
        rejects(&job("dst_missing = \"later\""), Some("x"), "dst_missing", "\"shift\"");
        rejects(&job("days = \"weekdays\""), Some("x"), "days", "expected \"every_day\"");
        rejects(&job("days = { nth_business_day = 0 }"), Some("x"), "days", "`nth_business_day` must be 1..23");
        rejects(&job("days = { nth_weekday = 2, weekday = \"Funday\" }"), Some("x"), "days", "`weekday` must be a weekday name");
        rejects(&job("days = { nth_weekday = 2 }"), Some("x"), "days", "`weekday` must be");
        rejects(&job("days = { nth_business_day = 2, weekday = \"Mon\" }"), Some("x"), "days", "unexpected key `weekday`");
        rejects(&job("catchup_window = \"5x\""), Some("x"), "catchup_window", "units d, h, m or s");
        rejects(&job("catchup_window = \"500ms\""), Some("x"), "catchup_window", "whole seconds");
        rejects(&job("catchup_window = 60"), Some("x"), "catchup_window", "expected a duration string");
        rejects(&job("catchup_window = \"5s\""), Some("x"), "catchup_window", "below Temporal's minimum of 10s");
        rejects(&job("jitter = \"\""), Some("x"), "jitter", "is not a duration");
        rejects(&job("sla = \"0s\""), Some("x"), "sla", "leave `sla` out");
        rejects(&job("pause_after_failures = -1"), Some("x"), "pause_after_failures", "-1 is not a count");
        rejects(&job("input = \"{}\""), Some("x"), "input", "expected a table");
        rejects(&job("input = { business_date = \"2026-01-01\" }"), Some("x"), "input", "`business_date` is set by punctual");
        rejects(&job("dependency_deadline = \"2h\""), Some("x"), "dependency_deadline", "only used together with `depends_on`");
    }

    #[test]
    fn dependency_errors() {
        let two = |deps_x: &str, deps_y: &str| {
            with_job(&format!("at = \"00:30\"\ndepends_on = {deps_x}"))
                + &format!(
                    "[jobs.y]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = \"01:00\"\ndepends_on = {deps_y}\n"
                )
        };
        rejects(&two("[\"nope\"]", "[]"), Some("x"), "depends_on", "unknown job \"nope\"; jobs in this file: y");
        rejects(
            &with_job("at = \"00:30\"\ndepends_on = [\"nope\"]"),
            Some("x"),
            "depends_on",
            "\"nope\"; this file has no other job",
        );
        rejects(&two("[\"x\"]", "[]"), Some("x"), "depends_on", "job \"x\" cannot depend on itself");
        rejects(&two("\"y\"", "[]"), Some("x"), "depends_on", "expected a list of job names");
        rejects(&two("[\"y\", \"y\"]", "[]"), Some("x"), "depends_on", "\"y\" is listed twice");
        rejects(&two("[\"y\"]", "[\"x\"]"), Some("x"), "depends_on", "dependency cycle: x -> y -> x");
        let text = ["c", "a", "b"]
            .iter()
            .zip(["a", "b", "c"])
            .map(|(name, dep)| {
                format!("[jobs.{name}]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = \"00:30\"\ndepends_on = [\"{dep}\"]\n")
            })
            .collect::<String>();
        let m = rejects(&text, Some("a"), "depends_on", "dependency cycle: a -> b -> c -> a");
        assert!(m.starts_with("t.toml:10: "), "{m}");
        // A parent that fires more than once a day never has the one occurrence of a date a
        // dependent waits for; once a day (one `at`, a daily cron) it does.
        let on = |parent_timing: &str| {
            format!(
                "[jobs.tick]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\n{parent_timing}\n\
                 [jobs.x]\nworkflow = \"SlaCheckWorkflow\"\ntimezone = \"UTC\"\nat = \"01:00\"\ndepends_on = [\"tick\"]\n"
            )
        };
        for several in ["every = \"10s\"", "at = [\"00:30\", \"12:30\"]", "cron = \"0 */6 * * *\""] {
            rejects(&on(several), Some("x"), "depends_on", "\"tick\" fires more than once a day");
        }
        for once in ["at = \"00:30\"", "cron = \"30 0 * * *\""] {
            parse("t.toml", &on(once)).unwrap_or_else(|e| panic!("{once}: {e}"));
        }
    }

    #[test]
    fn roll_is_refused_where_it_would_be_ignored() {
        for timing in ["cron = \"0 9 * * *\"", "every = \"1h\""] {
            rejects(
                &with_job(&format!("{timing}\ncalendar = \"cn\"\nroll = \"following\"")),
                Some("x"),
                "roll",
                "only `at` jobs roll",
            );
            // `skip` is what such a job does anyway.
            parse("t.toml", &with_job(&format!("{timing}\ncalendar = \"cn\"\nroll = \"skip\""))).expect(timing);
        }
        parse("t.toml", &with_job("at = \"09:00\"\ncalendar = \"cn\"\nroll = \"following\"")).expect("an `at` job rolls");
    }

    #[test]
    fn file_level_errors() {
        let e = parse("t.toml", "[jobs.x\n").unwrap_err().to_string();
        assert!(e.starts_with("t.toml: TOML parse error at line 1"), "{e}");
        let e = parse("t.toml", "[job.x]\nworkflow = \"SlaCheckWorkflow\"\n").unwrap_err().to_string();
        assert!(e.contains("unknown field `job`") && e.contains("line 1"), "{e}");
        let e = parse("t.toml", "[defaults]\ntimezone = \"UTC\"\n").unwrap_err().to_string();
        assert_eq!(e, "t.toml: no jobs: add a [jobs.NAME] table");
        let path = Path::new("/nonexistent/punctual.toml");
        let e = load(path).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/punctual.toml not found") && e.contains("--config"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        for bad in ["", "5", "h", "1.5h", "1 h", "-1s", "99999999999999999999s", "1w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
