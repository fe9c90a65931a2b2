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
//! Numbers and booleans cannot be masked by value (masking every "12" would garble thresholds),
//! yet one computed from a secret leaks it: `threshold = parseint(substr(var.key, 0, 2), 16)` in
//! 16 monitors would show the whole key in the plan, one byte per threshold. So, like Terraform's
//! refusal of sensitive `count` values, an expression that reads a secret and yields a number or
//! a boolean is an error located at that expression (inside a string, `"${length(var.key)}"`,
//! the result is a string and is masked instead). Short derived strings are masked only where a
//! whole string equals them ([`crate::redact::MIN_SUBSTRING_SECRET`]).

use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::edit::template::{Directive, Element, Template};

use super::eval::Evaluator;
use super::Stage;
use crate::config::refs::{Collected, Part};
use crate::diag::Diagnostic;
use crate::diag::Reported;
use crate::redact::holds_secret;
use hcl::edit::Span as _;

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

/// Whether `v` holds a number or a boolean, without recursion.
fn holds_scalar(v: &hcl::Value) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            hcl::Value::Number(_) | hcl::Value::Bool(_) => return true,
            hcl::Value::Array(a) => stack.extend(a.iter()),
            hcl::Value::Object(o) => stack.extend(o.values()),
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

/// How deep under a tainted expression its parts are evaluated and registered too.
const PART_DEPTH: u8 = 4;

/// The immediate sub-expressions of `e` that can be evaluated on their own (a `for`'s body
/// names its loop variables, so only its collection is).
fn children(e: &Expression) -> Vec<&Expression> {
    fn template<'t>(t: &'t Template, out: &mut Vec<&'t Expression>) {
        for el in t.iter() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => out.push(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(i) => {
                        out.push(&i.if_expr.cond_expr);
                        template(&i.if_expr.template, out);
                        if let Some(e) = &i.else_expr {
                            template(&e.template, out);
                        }
                    }
                    Directive::For(f) => out.push(&f.for_expr.collection_expr),
                },
            }
        }
    }
    let mut out = Vec::new();
    match e {
        Expression::Array(a) => out.extend(a.iter()),
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let ObjectKey::Expression(k) = k {
                    out.push(k);
                }
                out.push(v.expr());
            }
        }
        Expression::StringTemplate(t) => template(t, &mut out),
        Expression::HeredocTemplate(h) => template(&h.template, &mut out),
        Expression::Parenthesis(p) => out.push(p.inner()),
        Expression::Conditional(c) => out.extend([&c.cond_expr, &c.true_expr, &c.false_expr]),
        Expression::FuncCall(f) => out.extend(f.args.iter()),
        Expression::UnaryOp(u) => out.push(&u.expr),
        Expression::BinaryOp(b) => out.extend([&b.lhs_expr, &b.rhs_expr]),
        Expression::ForExpr(f) => out.push(&f.intro.collection_expr),
        Expression::Traversal(t) => {
            if !matches!(t.expr, Expression::Variable(_)) {
                out.push(&t.expr);
            }
            for op in &t.operators {
                if let TraversalOperator::Index(ix) = op.value() {
                    out.push(ix);
                }
            }
        }
        _ => {}
    }
    out
}

/// A reference that only copies what it reaches (`var.key`, `local.x.y`).
fn plain_reference(e: &Expression) -> bool {
    match e {
        Expression::Variable(_) => true,
        Expression::Traversal(t) => {
            matches!(t.expr, Expression::Variable(_))
                && t.operators.iter().all(|op| !matches!(op.value(), TraversalOperator::Index(_)))
        }
        _ => false,
    }
}

impl Evaluator<'_> {
    /// Registers the strings of the parts of `e` that read a secret (to [`PART_DEPTH`]): the
    /// whole value alone is not enough, since what uses it may change it (a provider trims a
    /// heredoc's final newline; a compiled block splits a message), leaving the interpolated
    /// `lower(var.key)` shown without the whole string it was registered in.
    fn register_parts(&mut self, d: usize, e: &Expression, found: &mut Vec<String>) {
        let mut queue: Vec<(Expression, u8)> = children(e).into_iter().map(|c| (c.clone(), 1)).collect();
        while let Some((x, depth)) = queue.pop() {
            if !self.reads_secret(d, &x) {
                continue;
            }
            // A literal list or object: its elements are visited on their own.
            let literal =
                matches!(x, Expression::Array(_) | Expression::Object(_) | Expression::Parenthesis(_));
            if !plain_reference(&x) && !literal {
                if let Ok(v) = self.eval_raw(d, &x) {
                    strings_of(&v, found);
                }
            }
            if depth < PART_DEPTH {
                queue.extend(children(&x).into_iter().map(|c| (c.clone(), depth + 1)));
            }
        }
    }

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
            let root = match r.root.as_str() {
                // `count.index` is a number the configuration chose; `count` itself, if it came
                // from a secret, was refused where it was computed.
                "count" => return false,
                "each" => match &self.scopes[m].iteration {
                    Some(hcl::Value::Object(o)) => o,
                    _ => return false,
                },
                other => match self.scopes[m].roots.get(other) {
                    Some(root) => root,
                    None => return false,
                },
            };
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

    /// Registers the strings of `v` (what `e` evaluated to) as secrets where `e` read one; a
    /// number or boolean computed from a secret is an error at the expression that computed it.
    pub(super) fn taint(&mut self, d: usize, e: &Expression, v: &hcl::Value) -> Result<(), Reported> {
        if self.cfg.sensitive_values.is_empty() {
            return Ok(());
        }
        let mut found = Vec::new();
        let mut scalar = None;
        self.taint_into(d, e, v, &mut found, &mut scalar);
        if !found.is_empty() || scalar.is_some() {
            self.register_parts(d, e, &mut found);
        }
        if !found.is_empty() {
            self.cfg.sensitive_values.extend(found);
            self.cfg.sensitive_values.sort();
            self.cfg.sensitive_values.dedup();
        }
        if let Some(range) = scalar {
            let span = self.span(d, range);
            return Err(self.error(
                Diagnostic::error(
                    "a number or boolean is computed from a sensitive value; plans show numbers and \
                     booleans as they are, so this would reveal part of the secret",
                )
                .with_span(span)
                .with_hint(
                    "compute numbers and conditions from values that are not secret (a separate, \
                     non-sensitive variable or local); sensitive values may only be used inside strings",
                ),
            ));
        }
        Ok(())
    }

    /// Adds to `out` the strings of `v` that `e` computed from a secret; sets `scalar` to the
    /// span of the first expression that computed a number or boolean from one.
    fn taint_into(
        &self,
        d: usize,
        e: &Expression,
        v: &hcl::Value,
        out: &mut Vec<String>,
        scalar: &mut Option<Option<std::ops::Range<usize>>>,
    ) {
        let tainted = |out: &mut Vec<String>, scalar: &mut Option<Option<std::ops::Range<usize>>>| {
            strings_of(v, out);
            if scalar.is_none() && holds_scalar(v) {
                *scalar = Some(e.span());
            }
        };
        match (e, v) {
            (Expression::Parenthesis(p), v) => self.taint_into(d, p.inner(), v, out, scalar),
            // A literal list: element by element.
            (Expression::Array(a), hcl::Value::Array(items)) if a.len() == items.len() => {
                for (x, item) in a.iter().zip(items) {
                    self.taint_into(d, x, item, out, scalar);
                }
            }
            // A literal object: entry by entry. Entries evaluate in order into an ordered map, so
            // a computed key pairs with its entry by position (checked against every static key);
            // a key that reads a secret is registered, its value is checked on its own (a literal
            // `1` under a secret key carries nothing of it).
            (Expression::Object(o), hcl::Value::Object(map)) => {
                let static_key = |k: &ObjectKey| match k {
                    ObjectKey::Ident(i) => Some(i.as_str().to_string()),
                    ObjectKey::Expression(Expression::String(s)) => Some(s.value().to_string()),
                    ObjectKey::Expression(Expression::Variable(i)) => Some(i.as_str().to_string()),
                    ObjectKey::Expression(_) => None,
                };
                let paired = o.len() == map.len()
                    && o.iter().zip(map.keys()).all(|((k, _), got)| static_key(k).is_none_or(|s| &s == got));
                if !paired {
                    // Duplicate keys collapsed: the whole object is checked at once.
                    if self.reads_secret(d, e) {
                        tainted(out, scalar);
                    }
                    return;
                }
                for ((k, x), (got, item)) in o.iter().zip(map.iter()) {
                    if let ObjectKey::Expression(ke) = k {
                        if static_key(k).is_none() && self.reads_secret(d, ke) && !got.is_empty() {
                            out.push(got.clone());
                        }
                    }
                    self.taint_into(d, x.expr(), item, out, scalar);
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
                    tainted(out, scalar);
                }
            }
            (Expression::Variable(_), _) => {}
            (e, _) => {
                if self.reads_secret(d, e) {
                    tainted(out, scalar);
                }
            }
        }
    }
}
