//! The kill switch: one SSM parameter per account, `/<stack_name>/paused`, in the stack's
//! home region, that `remedy pause` and `remedy resume` write and the orchestrator reads.
//! A paused rule is handled as if its mode were `notify` (reason code `paused`).
//!
//! The value is a comma list of rule ids (`EC2-002,S3-001`), or `*` for every rule, kept
//! sorted so a write that changes nothing writes the same bytes. An empty set is no
//! parameter at all: SSM refuses an empty value, and "missing" already means "nothing
//! paused".
//!
//! The orchestrator reads it at most once a minute per process ([`PauseSwitch`]); when it
//! cannot be read (or holds what is not a list of rule ids), it fails safe: every rule is
//! treated as paused until a read succeeds (docs/decisions.md, "The kill switch").

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The environment variable that names the parameter (set by the template).
pub const PARAMETER_ENV: &str = "REMEDY_PAUSE_PARAMETER";
/// How long one read of the parameter is trusted.
pub const REFRESH: Duration = Duration::from_secs(60);
/// The value that pauses every rule.
pub const ALL: &str = "*";

/// The parameter's name for a stack.
pub fn parameter_name(stack_name: &str) -> String {
    format!("/{stack_name}/paused")
}

/// What is paused in one account: rule ids, or `*` among them for every rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paused(pub BTreeSet<String>);

impl Paused {
    /// Every rule (what the orchestrator assumes when it cannot read the switch).
    pub fn all() -> Paused {
        Paused([ALL.to_owned()].into_iter().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `rule_id` is paused.
    pub fn covers(&self, rule_id: &str) -> bool {
        self.0.contains(ALL) || self.0.contains(rule_id)
    }

    /// The parameter's value (`None`: no parameter).
    pub fn to_value(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        Some(self.0.iter().cloned().collect::<Vec<_>>().join(","))
    }

    /// Parses a parameter's value; anything but rule ids and `*` is an error.
    pub fn parse(value: &str) -> Result<Paused, String> {
        let mut set = BTreeSet::new();
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if token != ALL && !crate::finding::is_valid_rule_id(token) {
                return Err(format!(
                    "{token:?} is not a rule id or `*` (expected e.g. S3-001,EC2-002)"
                ));
            }
            set.insert(token.to_owned());
        }
        Ok(Paused(set).normal())
    }

    /// `*` with rule ids beside it is `*` alone.
    fn normal(self) -> Paused {
        if self.0.contains(ALL) {
            Paused::all()
        } else {
            self
        }
    }

    /// With `rules` added (`None`: every rule, which replaces the list with `*`).
    pub fn with(&self, rules: Option<&[String]>) -> Paused {
        match rules {
            None => Paused::all(),
            Some(rules) => {
                let mut set = self.0.clone();
                set.extend(rules.iter().cloned());
                Paused(set).normal()
            }
        }
    }

    /// With `rules` removed (`None`: every rule, so nothing stays paused). `Err` when a
    /// named rule stays paused because `*` is: the list cannot say "all but".
    pub fn without(&self, rules: Option<&[String]>) -> Result<Paused, String> {
        let Some(rules) = rules else {
            return Ok(Paused::default());
        };
        let mut set = self.0.clone();
        for rule in rules {
            set.remove(rule);
        }
        if set.contains(ALL) {
            return Err(format!(
                "every rule is paused here (`*`): `remedy resume` without --rule resumes them all, then pause the others again ({} would stay paused)",
                rules.join(", ")
            ));
        }
        Ok(Paused(set))
    }
}

/// What one read of the parameter gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The parameter exists with this value.
    Value(String),
    /// No such parameter: nothing is paused.
    Missing,
    /// It could not be read (the reason).
    Unreadable(String),
}

/// What the orchestrator makes of a read: the paused set, and a warning when it fails safe.
pub fn interpret(read: &Read) -> (Paused, Option<String>) {
    match read {
        Read::Missing => (Paused::default(), None),
        Read::Value(value) => match Paused::parse(value) {
            Ok(paused) => (paused, None),
            Err(why) => (
                Paused::all(),
                Some(format!(
                    "the kill switch's value is not a list of rule ids ({why}): every rule is treated as paused"
                )),
            ),
        },
        Read::Unreadable(why) => (
            Paused::all(),
            Some(format!(
                "the kill switch cannot be read ({why}): every rule is treated as paused"
            )),
        ),
    }
}

/// The orchestrator's view of the switch: the parameter, read at most once per [`REFRESH`]
/// in this process, the last answer cached with when it was read.
pub struct PauseSwitch {
    ssm: aws_sdk_ssm::Client,
    parameter: String,
    cache: tokio::sync::Mutex<Option<(Instant, Paused)>>,
}

impl PauseSwitch {
    pub fn new(aws: &aws_config::SdkConfig, parameter: String) -> PauseSwitch {
        PauseSwitch {
            ssm: aws_sdk_ssm::Client::new(aws),
            parameter,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    pub fn parameter(&self) -> &str {
        &self.parameter
    }

    /// What is paused now: the cached answer if younger than [`REFRESH`], else one
    /// GetParameter (concurrent callers wait for it rather than read again).
    pub async fn paused(&self) -> Paused {
        let mut cache = self.cache.lock().await;
        if let Some((at, paused)) = cache.as_ref() {
            if at.elapsed() < REFRESH {
                return paused.clone();
            }
        }
        let read = read(&self.ssm, &self.parameter).await;
        let (paused, warning) = interpret(&read);
        if let Some(warning) = warning {
            tracing::warn!(parameter = %self.parameter, "{warning}");
            warn_line(&self.parameter, &warning);
        }
        *cache = Some((Instant::now(), paused.clone()));
        paused
    }
}

/// One GetParameter of `name` (the CLI's `pause`, `resume` and `status` read through it too).
pub async fn read(ssm: &aws_sdk_ssm::Client, name: &str) -> Read {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => Read::Value(
            out.parameter()
                .and_then(|p| p.value())
                .unwrap_or_default()
                .to_owned(),
        ),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Read::Missing
        }
        Err(e) => Read::Unreadable(crate::rule::describe_sdk_error(&e)),
    }
}

/// The warning as one JSON log line, next to the findings' lines (CloudWatch Logs).
fn warn_line(parameter: &str, warning: &str) {
    use std::io::Write;
    let line = serde_json::json!({
        "level": "warning",
        "parameter": parameter,
        "message": warning,
    });
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_round_trip_sorted() {
        let p = Paused::parse(" S3-001, EC2-002 ,,").unwrap();
        assert!(p.covers("S3-001") && p.covers("EC2-002") && !p.covers("RDS-001"));
        assert_eq!(p.to_value().as_deref(), Some("EC2-002,S3-001"));
        assert_eq!(Paused::parse("").unwrap().to_value(), None);
        assert!(Paused::parse("*").unwrap().covers("ANY-123"));
        assert_eq!(Paused::parse("S3-001,*").unwrap(), Paused::all());
        assert_eq!(Paused::all().with(Some(&ids(&["S3-001"]))), Paused::all());
        assert!(Paused::parse("S3-001,rm -rf").is_err());
    }

    #[test]
    fn pause_and_resume_edit_the_set() {
        let p = Paused::default().with(Some(&ids(&["S3-001"])));
        let p = p.with(Some(&ids(&["EC2-002"])));
        assert_eq!(p.to_value().as_deref(), Some("EC2-002,S3-001"));
        let p = p.without(Some(&ids(&["S3-001"]))).unwrap();
        assert_eq!(p.to_value().as_deref(), Some("EC2-002"));
        assert_eq!(p.without(None).unwrap().to_value(), None);
        assert_eq!(p.with(None).to_value().as_deref(), Some("*"));
        assert!(Paused::all().without(Some(&ids(&["S3-001"]))).is_err());
    }

    #[test]
    fn a_switch_that_cannot_be_read_pauses_everything() {
        assert_eq!(interpret(&Read::Missing), (Paused::default(), None));
        let (p, warning) = interpret(&Read::Unreadable("AccessDenied".into()));
        assert!(p.covers("S3-001") && warning.is_some());
        let (p, warning) = interpret(&Read::Value("nonsense".into()));
        assert!(p.covers("S3-001") && warning.is_some());
        let (p, warning) = interpret(&Read::Value("S3-001".into()));
        assert!(p.covers("S3-001") && !p.covers("EC2-002") && warning.is_none());
    }
}
