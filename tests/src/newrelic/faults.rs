//! Fault rules for the NerdGraph stand-in, their spec strings, and the per-key limit of 25
//! requests in flight.
//!
//! A rule picks requests by what they ask for — a root field (`alertsPolicyCreate`, `actor`)
//! or an operation type (`query`, `mutation`) — instead of a method and path, since every
//! NerdGraph request is `POST /graphql`. The HTTP-level kinds are the Datadog stand-in's
//! ([`crate::datadog::FaultKind`], same spec words and the same acted-on semantics) with
//! NerdGraph-shaped bodies; two kinds are NerdGraph's own: an error in the body's `errors` array
//! with a chosen `extensions.errorClass`, before or after the operation ran.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::datadog::FaultKind;

/// What goes wrong with a request a [`NerdGraphFaultRule`] picked.
#[derive(Clone, Debug, PartialEq)]
pub enum NerdGraphFault {
    /// HTTP 200 with `{"errors": [{"message", "extensions": {"errorClass": CLASS}}], "data": null}`;
    /// the operation did not run. Spec: `error:CLASS`, e.g. `error:TIMEOUT`,
    /// `error:SERVER_ERROR`, `error:INTERNAL_SERVER_ERROR`, `error:TOO_MANY_REQUESTS`.
    GraphqlError(String),
    /// Like [`NerdGraphFault::GraphqlError`], but the operation ran first (a `TIMEOUT` after the
    /// create happened). Spec: `acted-error:CLASS`.
    ActedError(String),
    /// An HTTP-level fault, as in the Datadog stand-in: `rate-limit[:SECS]`/`429` (HTTP 429,
    /// `TOO_MANY_REQUESTS`, `Retry-After: SECS`), a 4xx/5xx status, `slow:DURATION`, `reset`,
    /// `acted-but-lost`, `malformed`, `truncated`.
    Http(FaultKind),
}

impl FromStr for NerdGraphFault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let class = |arg: &str| -> Result<String, String> {
            if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                Ok(arg.to_owned())
            } else {
                Err(format!(
                    "`{text}`: the error class must be an UPPER_CASE word such as TIMEOUT, SERVER_ERROR, \
                     INTERNAL_SERVER_ERROR or TOO_MANY_REQUESTS"
                ))
            }
        };
        match text.split_once(':') {
            Some((kind, arg)) if kind.eq_ignore_ascii_case("error") => {
                Ok(NerdGraphFault::GraphqlError(class(arg)?))
            }
            Some((kind, arg)) if kind.eq_ignore_ascii_case("acted-error") => {
                Ok(NerdGraphFault::ActedError(class(arg)?))
            }
            None if text.eq_ignore_ascii_case("error") || text.eq_ignore_ascii_case("acted-error") => {
                Err(format!("`{text}` needs an error class, e.g. `{text}:TIMEOUT`"))
            }
            _ => text.parse::<FaultKind>().map(NerdGraphFault::Http).map_err(|e| {
                format!("{e}; or error:CLASS / acted-error:CLASS for an error in the GraphQL body")
            }),
        }
    }
}

impl fmt::Display for NerdGraphFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NerdGraphFault::GraphqlError(class) => write!(f, "error:{class}"),
            NerdGraphFault::ActedError(class) => write!(f, "acted-error:{class}"),
            NerdGraphFault::Http(kind) => write!(f, "{kind}"),
        }
    }
}

/// Injects `kind` into matching requests after the first `skip`, `times` times.
#[derive(Clone, Debug, PartialEq)]
pub struct NerdGraphFaultRule {
    pub kind: NerdGraphFault,
    /// A root field name (`alertsPolicyCreate`) or `query`/`mutation`; `None` matches every
    /// request.
    pub target: Option<String>,
    pub skip: u64,
    /// `u64::MAX` = forever.
    pub times: u64,
}

impl NerdGraphFaultRule {
    /// `kind` on every request, forever.
    pub fn new(kind: NerdGraphFault) -> Self {
        NerdGraphFaultRule { kind, target: None, skip: 0, times: u64::MAX }
    }

    /// Only requests asking for this root field (or, with `query`/`mutation`, of that type).
    pub fn on(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }

    pub fn with_skip(mut self, skip: u64) -> Self {
        self.skip = skip;
        self
    }

    pub fn with_times(mut self, times: u64) -> Self {
        self.times = times;
        self
    }

    /// Whether a request with these root fields is one this rule counts.
    pub fn matches(&self, root_fields: &[String], is_mutation: bool) -> bool {
        match self.target.as_deref() {
            None => true,
            Some("mutation") => is_mutation,
            Some("query") => !is_mutation,
            Some(field) => root_fields.iter().any(|f| f == field),
        }
    }
}

const SPEC_SHAPE: &str = "KIND[:ARG] [ROOT_FIELD|query|mutation] [skip=N] [times=N]";

impl FromStr for NerdGraphFaultRule {
    type Err = String;

    /// `KIND[:ARG] [ROOT_FIELD|query|mutation] [skip=N] [times=N]`, e.g.
    /// `error:TIMEOUT alertsNrqlConditionStaticCreate times=1`, `503 mutation skip=2`.
    fn from_str(spec: &str) -> Result<Self, String> {
        let mut tokens = spec.split_whitespace();
        let kind = tokens.next().ok_or_else(|| format!("empty fault spec; expected {SPEC_SHAPE}"))?;
        let mut rule = NerdGraphFaultRule::new(kind.parse()?);
        let (mut skip, mut times) = (None, None);
        for token in tokens {
            if let Some((key, value)) = token.split_once('=') {
                let slot = match key.to_ascii_lowercase().as_str() {
                    "skip" => &mut skip,
                    "times" => &mut times,
                    _ => {
                        return Err(format!(
                            "unknown setting `{key}` in `{spec}`; expected skip=N or times=N"
                        ))
                    }
                };
                let n = match value {
                    "forever" if key.eq_ignore_ascii_case("times") => u64::MAX,
                    _ => value
                        .parse::<u64>()
                        .map_err(|_| format!("`{token}`: `{value}` is not a whole number"))?,
                };
                if slot.replace(n).is_some() {
                    return Err(format!("`{spec}` gives `{key}` twice"));
                }
            } else if is_name(token) {
                if rule.target.replace(token.to_owned()).is_some() {
                    return Err(format!(
                        "`{spec}` names two targets; a rule matches one root field or operation type"
                    ));
                }
            } else {
                return Err(format!("unexpected `{token}` in `{spec}`; expected {SPEC_SHAPE}"));
            }
        }
        if times == Some(0) {
            return Err(format!("`{spec}`: times=0 would never inject; drop the rule"));
        }
        rule.skip = skip.unwrap_or(0);
        rule.times = times.unwrap_or(u64::MAX);
        Ok(rule)
    }
}

/// A GraphQL name: `[_A-Za-z][_0-9A-Za-z]*`.
fn is_name(token: &str) -> bool {
    let mut chars = token.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

impl fmt::Display for NerdGraphFaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(target) = &self.target {
            write!(f, " {target}")?;
        }
        if self.skip > 0 {
            write!(f, " skip={}", self.skip)?;
        }
        if self.times != u64::MAX {
            write!(f, " times={}", self.times)?;
        }
        Ok(())
    }
}

/// The active rules, with how many matching requests each has seen.
pub(crate) struct FaultTable {
    rules: Mutex<Vec<(NerdGraphFaultRule, u64)>>,
    injected: AtomicU64,
}

impl FaultTable {
    pub(crate) fn new(rules: Vec<NerdGraphFaultRule>) -> Self {
        FaultTable {
            rules: Mutex::new(rules.into_iter().map(|r| (r, 0)).collect()),
            injected: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(NerdGraphFaultRule, u64)>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set(&self, rules: Vec<NerdGraphFaultRule>) {
        *self.lock() = rules.into_iter().map(|r| (r, 0)).collect();
    }

    pub(crate) fn rules(&self) -> Vec<NerdGraphFaultRule> {
        self.lock().iter().map(|(r, _)| r.clone()).collect()
    }

    pub(crate) fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The fault for one request, if any: rules are tried in order, each matching rule counts
    /// the request, the first that injects ends the search.
    pub(crate) fn pick(&self, root_fields: &[String], is_mutation: bool) -> Option<NerdGraphFault> {
        let mut rules = self.lock();
        for (rule, seen) in rules.iter_mut().filter(|(r, _)| r.matches(root_fields, is_mutation)) {
            *seen = seen.saturating_add(1);
            let past_skip = seen.saturating_sub(rule.skip);
            if past_skip >= 1 && past_skip <= rule.times {
                self.injected.fetch_add(1, Ordering::Relaxed);
                return Some(rule.kind.clone());
            }
        }
        None
    }
}

/// Requests in flight per API key (New Relic allows 25 per user).
pub(crate) struct InFlight {
    limit: usize,
    per_key: Mutex<HashMap<String, usize>>,
}

/// A request's place in [`InFlight`]; freed on drop.
pub(crate) struct Slot<'a> {
    table: &'a InFlight,
    key: String,
}

impl InFlight {
    pub(crate) fn new(limit: usize) -> Self {
        InFlight { limit, per_key: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.per_key.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one more request of `key`, unless it already has `limit` in flight.
    pub(crate) fn try_acquire(&self, key: &str) -> Option<Slot<'_>> {
        let mut map = self.lock();
        let n = map.entry(key.to_owned()).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Slot { table: self, key: key.to_owned() })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut map = self.table.lock();
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parse(spec: &str) -> NerdGraphFaultRule {
        spec.parse().unwrap_or_else(|e| panic!("{spec:?} parses: {e}"))
    }

    #[test]
    fn specs_parse_and_print_back() {
        assert_eq!(
            parse("error:TIMEOUT alertsPolicyCreate skip=1 times=2"),
            NerdGraphFaultRule::new(NerdGraphFault::GraphqlError("TIMEOUT".into()))
                .on("alertsPolicyCreate")
                .with_skip(1)
                .with_times(2)
        );
        assert_eq!(parse("503 mutation").kind, NerdGraphFault::Http(FaultKind::Status(503)));
        assert_eq!(parse("429").kind, NerdGraphFault::Http(FaultKind::RateLimit { reset_secs: 1 }));
        assert_eq!(
            parse("slow:250ms actor").kind,
            NerdGraphFault::Http(FaultKind::Slow(Duration::from_millis(250)))
        );
        assert_eq!(parse("acted-error:TIMEOUT").kind, NerdGraphFault::ActedError("TIMEOUT".into()));
        for spec in [
            "error:TIMEOUT alertsPolicyCreate skip=1 times=2",
            "acted-error:SERVER_ERROR mutation times=1",
            "rate-limit:2 query",
            "502",
            "acted-but-lost dashboardCreate times=1",
            "slow:1500ms",
        ] {
            assert_eq!(parse(spec).to_string(), spec);
        }
        for bad in [
            "",
            "error",
            "error:timeout",
            "teapot",
            "503 /api/v1/monitor",
            "503 a b",
            "503 times=0",
            "503 every=2",
        ] {
            assert!(bad.parse::<NerdGraphFaultRule>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn rules_match_root_fields_and_operation_types() {
        let fields = vec!["alertsPolicyCreate".to_owned()];
        assert!(parse("503").matches(&fields, true));
        assert!(parse("503 mutation").matches(&fields, true));
        assert!(!parse("503 query").matches(&fields, true));
        assert!(parse("503 alertsPolicyCreate").matches(&fields, true));
        assert!(!parse("503 actor").matches(&fields, true));
        let table =
            FaultTable::new(vec![parse("503 alertsPolicyCreate skip=1 times=1"), parse("500 times=1")]);
        assert_eq!(table.pick(&["actor".into()], false), Some(NerdGraphFault::Http(FaultKind::Status(500))));
        assert_eq!(table.pick(&fields, true), None, "skipped");
        assert_eq!(table.pick(&fields, true), Some(NerdGraphFault::Http(FaultKind::Status(503))));
        assert_eq!(table.pick(&fields, true), None, "used up");
        assert_eq!(table.injected(), 2);
    }

    #[test]
    fn in_flight_slots_are_per_key_and_freed() {
        let table = InFlight::new(2);
        let a1 = table.try_acquire("a").expect("first");
        let _a2 = table.try_acquire("a").expect("second");
        assert!(table.try_acquire("a").is_none(), "third refused");
        assert!(table.try_acquire("b").is_some(), "other keys unaffected");
        drop(a1);
        assert!(table.try_acquire("a").is_some(), "freed on drop");
    }
}
