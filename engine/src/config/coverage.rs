//! `coverage { ... }` and a route's `owner` and `escalation` levels: what `watchkeep coverage`
//! requires, and whom each route reaches. Neither changes what the compilers produce.
//!
//! ```hcl
//! coverage {
//!   review_interval = "90d"                 # inventories reviewed at least this often
//!   max_threshold   = { cpu = 95, disk = 95 } # loosest critical threshold per metric
//!   max_window      = "15m"                 # longest evaluation window
//!   severities      = ["critical", "high"]  # allowed severities
//!   require "database" { metrics = ["cpu", "memory", "disk", "uptime"] }
//! }
//!
//! route "oncall" {
//!   owner = "platform-lead@example.com"
//!   pagerduty { service = "platform-oncall" }
//!   escalation { after = "0m"  rotation = "platform-primary" }
//!   escalation { after = "15m" people = ["alice@example.com"] }
//! }
//! ```
//!
//! The loader checks kinds, durations, severities and numbers here; metric names are checked
//! against the catalog (which the configuration layer does not know) by `run::coverage::check`.

use hcl::edit::structure::Body;
use hcl::edit::Span as _;
use serde_json::Value;

use super::loader::{Evaluator, Stage};
use super::model::{CoverageSettings, EscalationLevel, Span};
use super::schema::{KINDS, SEVERITIES};
use super::suggest;
use crate::diag::{Diagnostic, Reported};

/// `"15m"` → seconds (`0m` is 0: an escalation level reached at once).
pub fn duration_secs(s: &str) -> Option<u64> {
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(per)
}

fn take<T>(ok: &mut bool, r: Result<Option<T>, Reported>) -> Option<T> {
    r.unwrap_or_else(|_| {
        *ok = false;
        None
    })
}

impl Evaluator<'_> {
    fn value_span(&self, d: usize, body: &Body, name: &str) -> Span {
        self.span(d, body.get_attribute(name).and_then(|a| a.value.span()))
    }

    /// A duration attribute (`90d`, `15m`) as written and in seconds.
    fn coverage_duration(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
        zero_ok: bool,
    ) -> Result<Option<(String, u64)>, Reported> {
        let Some(s) = self.string(d, body, name)? else { return Ok(None) };
        match duration_secs(&s) {
            Some(n) if n > 0 || zero_ok => Ok(Some((s, n))),
            _ => {
                let span = self.value_span(d, body, name);
                Err(self.error(
                    Diagnostic::error(format!("invalid duration \"{s}\" for `{name}`"))
                        .with_span(span)
                        .with_hint(if zero_ok {
                            "write a whole number followed by s, m, h or d, e.g. \"15m\" (\"0m\" for at once)"
                        } else {
                            "write a whole number above zero followed by s, m, h or d, e.g. \"90d\""
                        }),
                ))
            }
        }
    }

    pub(super) fn eval_coverage(&mut self, d: usize) -> bool {
        let Some(block) = self.decls[d].block else { return false };
        let body = &block.body;
        let mut ok = true;
        let mut cov = CoverageSettings { span: Some(self.header_span(d)), ..CoverageSettings::default() };
        if let Some((text, secs)) = take(&mut ok, self.coverage_duration(d, body, "review_interval", false)) {
            cov.review_interval = text;
            cov.review_interval_seconds = secs;
        }
        cov.max_window = take(&mut ok, self.coverage_duration(d, body, "max_window", false));
        match self.list_one_of(d, body, "severities", SEVERITIES) {
            Ok(list) => cov.severities = list,
            Err(_) => ok = false,
        }
        match self.value(d, body, "max_threshold") {
            Ok(None) => {}
            Ok(Some((Value::Object(o), span))) => {
                cov.max_threshold_span = Some(span.clone());
                for (metric, v) in o {
                    match v.as_f64() {
                        Some(n) if n.is_finite() => {
                            cov.max_threshold.insert(metric, n);
                        }
                        _ => {
                            self.type_error(
                                &format!("max_threshold.{metric}"),
                                "a number",
                                &v,
                                span.clone(),
                                &format!("max_threshold = {{ {metric} = 95 }}"),
                            );
                            ok = false;
                        }
                    }
                }
            }
            Ok(Some((other, span))) => {
                self.type_error(
                    "max_threshold",
                    "a map of numbers",
                    &other,
                    span,
                    "max_threshold = { cpu = 95 }",
                );
                ok = false;
            }
            Err(_) => ok = false,
        }
        for req in block.body.blocks().filter(|b| b.ident.as_str() == "require") {
            let kind = req.labels.first().map_or("", |l| l.as_str()).to_string();
            let label_span = self.span(d, req.labels.first().and_then(|l| l.span()));
            if !KINDS.contains(&kind.as_str()) {
                self.error(
                    Diagnostic::error(format!("unknown component kind `{kind}` in `require`"))
                        .with_span(label_span)
                        .with_hint(suggest::allowed_hint(&kind, KINDS, "kinds")),
                );
                ok = false;
                continue;
            }
            if let Some(first) = cov.require_spans.get(&kind) {
                self.error(
                    Diagnostic::error(format!("`require \"{kind}\"` is written more than once"))
                        .with_span(label_span)
                        .with_detail(format!("the first is at {first}"))
                        .with_hint("list every metric of the kind in one `require` block"),
                );
                ok = false;
                continue;
            }
            match self.string_list(d, &req.body, "metrics") {
                Ok(Some((metrics, span))) => {
                    if let Some(dup) = metrics.iter().enumerate().find(|(i, m)| metrics[..*i].contains(m)) {
                        self.error(
                            Diagnostic::error(format!("metric `{}` is listed twice", dup.1))
                                .with_span(span.clone())
                                .with_hint("list each metric once"),
                        );
                        ok = false;
                    }
                    cov.require.insert(kind.clone(), metrics);
                    cov.require_spans.insert(kind, span);
                }
                Ok(None) => {
                    self.null_required(d, &req.body, "metrics");
                    ok = false;
                }
                Err(_) => ok = false,
            }
        }
        self.cfg.coverage = Some(cov);
        ok
    }

    /// One `escalation { ... }` block of a route.
    pub(super) fn escalation_level(
        &mut self,
        d: usize,
        body: &Body,
        header: Span,
    ) -> Option<EscalationLevel> {
        let mut ok = true;
        let after = take(&mut ok, self.coverage_duration(d, body, "after", true));
        let rotation = take(&mut ok, self.string(d, body, "rotation"));
        let people = match self.string_list(d, body, "people") {
            Ok(p) => p,
            Err(_) => {
                ok = false;
                None
            }
        };
        if let Some((list, span)) = &people {
            if let Some(bad) = list.iter().find(|p| p.trim().is_empty()) {
                self.error(
                    Diagnostic::error(format!("`people` holds an empty name ({bad:?})"))
                        .with_span(span.clone())
                        .with_hint("write people = [\"alice@example.com\"]"),
                );
                ok = false;
            }
        }
        if rotation.as_deref().is_some_and(|r| r.trim().is_empty()) {
            let span = self.value_span(d, body, "rotation");
            self.error(
                Diagnostic::error("`rotation` is empty")
                    .with_span(span)
                    .with_hint("name the on-call rotation, e.g. rotation = \"platform-primary\""),
            );
            ok = false;
        }
        let people = people.map(|(p, _)| p).unwrap_or_default();
        if ok && rotation.is_none() && people.is_empty() {
            self.error(
                Diagnostic::error("an escalation level reaches no one")
                    .with_span(header.clone())
                    .with_hint("set rotation = \"<on-call rotation>\" or people = [\"alice@example.com\"]"),
            );
            ok = false;
        }
        let (after, after_seconds) = after?;
        ok.then_some(EscalationLevel { after, after_seconds, rotation, people, span: header })
    }

    /// `after` must not go down from one level to the next.
    pub(super) fn check_escalation_order(&mut self, levels: &[EscalationLevel]) -> bool {
        for pair in levels.windows(2) {
            if pair[1].after_seconds < pair[0].after_seconds {
                self.error(
                    Diagnostic::error(format!(
                        "escalation levels out of order: after = \"{}\" comes after after = \"{}\"",
                        pair[1].after, pair[0].after
                    ))
                    .with_span(pair[1].span.clone())
                    .with_detail(format!("the level before is at {}", pair[0].span))
                    .with_hint(
                        "write the escalation blocks in the order they are reached (`after` ascending)",
                    ),
                );
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load, Config, LoadOptions};
    use crate::diag::Diagnostics;

    fn load_text(main: &str) -> Result<Config, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), main).unwrap();
        load(&LoadOptions::new(dir.path())).map(|(c, _)| c)
    }

    fn errors(main: &str) -> Vec<(String, Option<String>, Option<usize>)> {
        match load_text(main) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d
                .iter()
                .map(|x| (x.summary.clone(), x.hint.clone(), x.span.as_ref().map(|s| s.line)))
                .collect(),
        }
    }

    const ROUTE: &str = r#"
route "oncall" {
  owner = "lead@example.com"
  email {
    to = ["oncall@example.com"]
  }
  escalation {
    after    = "0m"
    rotation = "primary"
  }
  escalation {
    after  = "15m"
    people = ["alice@example.com", "bob@example.com"]
  }
}
"#;

    #[test]
    fn coverage_block_and_contact_list_decode() {
        let cfg = load_text(&format!(
            "{ROUTE}\ncoverage {{\n  review_interval = \"30d\"\n  max_threshold = {{ cpu = 95, free_storage = 1e9 }}\n  max_window = \"15m\"\n  severities = [\"critical\", \"high\"]\n  require \"database\" {{\n    metrics = [\"cpu\", \"disk\"]\n  }}\n}}\n"
        ))
        .unwrap();
        let cov = cfg.coverage.expect("coverage");
        assert_eq!(cov.review_interval, "30d");
        assert_eq!(cov.review_interval_seconds, 30 * 86_400);
        assert_eq!(cov.max_threshold.get("cpu"), Some(&95.0));
        assert_eq!(cov.max_window, Some(("15m".to_string(), 900)));
        assert_eq!(cov.severities, ["critical", "high"]);
        assert_eq!(cov.require.get("database").unwrap(), &["cpu", "disk"]);
        assert_eq!(cov.require_spans.get("database").map(|s| s.line), Some(23));
        let r = &cfg.routes["oncall"];
        assert_eq!(r.owner.as_deref(), Some("lead@example.com"));
        assert_eq!(r.escalation.len(), 2);
        assert_eq!(
            (r.escalation[0].after_seconds, r.escalation[0].rotation.as_deref()),
            (0, Some("primary"))
        );
        assert_eq!(r.escalation[1].after_seconds, 900);
        assert_eq!(r.escalation[1].people, ["alice@example.com", "bob@example.com"]);
        // Without the block: no settings (coverage uses the defaults).
        assert!(load_text(ROUTE).unwrap().coverage.is_none());
    }

    #[test]
    fn coverage_values_are_checked_where_written() {
        let e = errors(
            "coverage {\n  review_interval = \"soon\"\n  severities = [\"urgent\"]\n  max_threshold = [95]\n  require \"sever\" {\n    metrics = [\"cpu\"]\n  }\n  require \"server\" {\n    metrics = [\"cpu\", \"cpu\"]\n  }\n}\n",
        );
        let find = |needle: &str| {
            e.iter()
                .find(|(s, _, _)| s.contains(needle))
                .unwrap_or_else(|| panic!("no `{needle}` in {e:#?}"))
                .clone()
        };
        assert_eq!(find("invalid duration \"soon\" for `review_interval`").2, Some(2));
        assert_eq!(find("invalid value `urgent` in `severities`").2, Some(3));
        assert_eq!(find("`max_threshold` must be a map of numbers").2, Some(4));
        let kind = find("unknown component kind `sever` in `require`");
        assert_eq!(kind.2, Some(5));
        assert!(kind.1.unwrap().starts_with("did you mean `server`?"));
        assert_eq!(find("metric `cpu` is listed twice").2, Some(9));

        let twice = errors("coverage {}\ncoverage {}\n");
        assert_eq!(twice[0].0, "more than one `coverage` block");
        assert_eq!(twice[0].2, Some(2));
    }

    #[test]
    fn escalation_levels_need_someone_and_ascending_after() {
        let order = errors(&ROUTE.replace("\"15m\"", "\"10m\"").replace("\"0m\"", "\"20m\""));
        assert_eq!(order.len(), 1, "{order:#?}");
        assert!(order[0].0.starts_with("escalation levels out of order"), "{order:#?}");
        assert_eq!(order[0].2, Some(11));

        let nobody = errors(&ROUTE.replace("    rotation = \"primary\"\n", ""));
        assert_eq!(nobody[0].0, "an escalation level reaches no one");
        assert_eq!(nobody[0].2, Some(7));

        let bad_after = errors(&ROUTE.replace("\"15m\"", "\"later\""));
        assert!(bad_after[0].0.contains("invalid duration \"later\" for `after`"), "{bad_after:#?}");

        let missing_after = errors(&ROUTE.replace("    after    = \"0m\"\n", ""));
        assert!(missing_after.iter().any(|(s, _, _)| s.contains("after")), "{missing_after:#?}");
    }
}
