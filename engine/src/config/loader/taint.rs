//! Sensitivity as taint (issue 15, item 4): a value computed from a sensitive value is sensitive.
//!
//! Secrets are tracked by value (`Config::sensitive_values`, masked by [`crate::redact`]), so a
//! derived value (`upper(var.key)`, `"x-${var.key}"`, a `for` over `split(",", var.key)`, a
//! conditional on it, a map key made from it) must be added to that list when it is computed.
//! After each evaluation, [`Evaluator::taint`] checks what the expression read (each reference's
//! value, and the `each`/`count` of the instance) for a known secret; if it read one, every string
//! of the result (map keys included) becomes a secret too. Object and list literals are checked
//! element by element, so `{ url = var.key, name = "team" }` taints the url, not "team"; a plain
//! reference (`local.x`) copies values that are already registered and adds nothing.
//!
//! Numbers and booleans derived from a secret (`length(var.key)`) are not registered: masking
//! every "12" would garble thresholds. Short derived strings are masked only where a whole
//! string equals them ([`crate::redact::MIN_SUBSTRING_SECRET`]).

use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};

use super::eval::Evaluator;
use crate::config::refs::{Collected, Part};
use crate::redact::holds_secret;

/// The value a static reference reaches, as far as its static parts go (the whole root when the
/// first part is dynamic), without copying it.
fn reach<'v>(root: &'v hcl::Map<String, hcl::Value>, parts: &[Part]) -> Option<&'v hcl::Value> {
    let first = parts.first().and_then(Part::name)?;
    let mut cur = root.get(first)?;
    for p in &parts[1..] {
        let next = match (cur, p) {
            (hcl::Value::Object(o), p) => p.name().and_then(|n| o.get(n)),
            (hcl::Value::Array(a), Part::Index(i)) => usize::try_from(*i).ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    Some(cur)
}

/// Whether any string (or map key) in `v` holds one of `secrets`, without recursion.
pub(crate) fn holds_any(v: &hcl::Value, secrets: &[String]) -> bool {
    if secrets.is_empty() {
        return false;
    }
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            hcl::Value::String(s) if secrets.iter().any(|x| holds_secret(s, x)) => return true,
            hcl::Value::Array(a) => stack.extend(a.iter()),
            hcl::Value::Object(o) => {
                for (k, v) in o {
                    if secrets.iter().any(|x| holds_secret(k, x)) {
                        return true;
                    }
                    stack.push(v);
                }
            }
            hcl::Value::Number(n) if secrets.iter().any(|x| holds_secret(&n.to_string(), x)) => return true,
            _ => {}
        }
    }
    false
}

/// Every non-empty string of `v`, map keys included, without recursion.
fn strings_of(v: &hcl::Value, out: &mut Vec<String>) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            hcl::Value::String(s) if !s.is_empty() => out.push(s.clone()),
            hcl::Value::Array(a) => stack.extend(a.iter()),
            hcl::Value::Object(o) => {
                for (k, v) in o {
                    if !k.is_empty() {
                        out.push(k.clone());
                    }
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
}

impl Evaluator<'_> {
    /// Whether expression `e` of declaration `d` reads a secret.
    pub(super) fn reads_secret(&self, d: usize, e: &Expression) -> bool {
        let secrets = &self.cfg.sensitive_values;
        if secrets.is_empty() {
            return false;
        }
        let m = self.decls[d].module;
        let mut c = Collected::default();
        c.expr(e);
        c.refs.iter().any(|r| {
            if matches!(r.root.as_str(), "each" | "count") {
                return self.scopes[m].iteration_tainted;
            }
            let Some(root) = self.scopes[m].roots.get(&r.root) else { return false };
            match reach(root, &r.parts) {
                Some(v) => holds_any(v, secrets),
                // A bare root (`var`) or a dynamic first step: anything in it may be read.
                None if r.parts.first().and_then(Part::name).is_none() => {
                    root.values().any(|v| holds_any(v, secrets))
                }
                None => false,
            }
        })
    }

    /// Registers the strings of `v` (what `e` evaluated to) as secrets where `e` read one.
    pub(super) fn taint(&mut self, d: usize, e: &Expression, v: &hcl::Value) {
        if self.cfg.sensitive_values.is_empty() {
            return;
        }
        let mut found = Vec::new();
        self.taint_into(d, e, v, &mut found);
        if !found.is_empty() {
            self.cfg.sensitive_values.extend(found);
            self.cfg.sensitive_values.sort();
            self.cfg.sensitive_values.dedup();
        }
    }

    fn taint_into(&self, d: usize, e: &Expression, v: &hcl::Value, out: &mut Vec<String>) {
        match (e, v) {
            (Expression::Parenthesis(p), v) => self.taint_into(d, p.inner(), v, out),
            // A literal list: element by element.
            (Expression::Array(a), hcl::Value::Array(items)) if a.len() == items.len() => {
                for (x, item) in a.iter().zip(items) {
                    self.taint_into(d, x, item, out);
                }
            }
            // A literal object with static keys: entry by entry.
            (Expression::Object(o), hcl::Value::Object(map)) => {
                for (k, x) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => Some(i.as_str().to_string()),
                        ObjectKey::Expression(Expression::String(s)) => Some(s.value().to_string()),
                        ObjectKey::Expression(Expression::Variable(i)) => Some(i.as_str().to_string()),
                        ObjectKey::Expression(_) => None,
                    };
                    match key.and_then(|k| map.get(&k)) {
                        Some(item) => self.taint_into(d, x.expr(), item, out),
                        // A computed key: the whole object is checked at once.
                        None => {
                            if self.reads_secret(d, e) {
                                strings_of(v, out);
                            }
                            return;
                        }
                    }
                }
            }
            // A plain reference copies values already registered; only a dynamic index can
            // select by a secret.
            (Expression::Traversal(t), _) if matches!(t.expr, Expression::Variable(_)) => {
                let dynamic_reads_secret = t.operators.iter().any(|op| match op.value() {
                    TraversalOperator::Index(ix) => self.reads_secret(d, ix),
                    _ => false,
                });
                if dynamic_reads_secret {
                    strings_of(v, out);
                }
            }
            (Expression::Variable(_), _) => {}
            (e, v) => {
                if self.reads_secret(d, e) {
                    strings_of(v, out);
                }
            }
        }
    }
}
