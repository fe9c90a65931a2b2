//! Attribute access with type checks, for the decoders of stage 4: the evaluated value of an
//! attribute as a string, number, bool, list, map, one of a set, or a reference to a block.

use std::collections::BTreeMap;

use hcl::edit::expr::Expression;
use hcl::edit::structure::Body;
use hcl::edit::Span as _;
use serde_json::Value;

use super::{Evaluator, NameCheck, Stage};
use crate::config::model::Span;
use crate::config::suggest;
use crate::config::values::scalar_string;
use crate::diag::{Diagnostic, Reported};

impl Evaluator<'_> {
    /// The evaluated value of attribute `name` (null counts as unset) and the span of its value.
    pub fn value(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<(Value, Span)>, Reported> {
        let Some(a) = body.get_attribute(name) else { return Ok(None) };
        let v = self.eval_json(d, &a.value)?;
        if v.is_null() {
            return Ok(None);
        }
        let span = self.span(d, a.value.span());
        Ok(Some((v, span)))
    }

    pub fn type_error(
        &mut self,
        name: &str,
        expected: &str,
        got: &Value,
        span: Span,
        example: &str,
    ) -> Reported {
        self.error(
            Diagnostic::error(format!(
                "`{name}` must be {expected}, got {}",
                crate::config::values::describe(got)
            ))
            .with_span(span)
            .with_hint(format!("write {example}")),
        )
    }

    /// A required attribute whose value is null (as if unset): an error, or the block it belongs
    /// to would be dropped without one.
    pub fn null_required(&mut self, d: usize, body: &Body, name: &str) {
        let span = self.span(d, body.get_attribute(name).and_then(|a| a.value.span()));
        self.error(
            Diagnostic::error(format!("`{name}` is required, but its value is null"))
                .with_span(span)
                .with_hint(format!("give `{name}` a value")),
        );
    }

    pub fn string(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<String>, Reported> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        match scalar_string(&v) {
            Some(s) => Ok(Some(s)),
            None => Err(self.type_error(name, "a string", &v, span, &format!("{name} = \"...\""))),
        }
    }

    pub fn number(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<f64>, Reported> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        let n = match &v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        n.map(Some).ok_or_else(|| self.type_error(name, "a number", &v, span, &format!("{name} = 85")))
    }

    pub fn boolean(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<bool>, Reported> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        match &v {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Some(s == "true")),
            _ => Err(self.type_error(name, "a bool", &v, span, &format!("{name} = true"))),
        }
    }

    pub fn string_list(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
    ) -> Result<Option<(Vec<String>, Span)>, Reported> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        let list = match &v {
            Value::Array(items) => items.iter().map(scalar_string).collect::<Option<Vec<String>>>(),
            _ => None,
        };
        match list {
            Some(l) => Ok(Some((l, span))),
            None => {
                Err(self.type_error(name, "a list of strings", &v, span, &format!("{name} = [\"a\", \"b\"]")))
            }
        }
    }

    pub fn string_map(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, Reported> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        let map = match &v {
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| scalar_string(v).map(|s| (k.clone(), s)))
                .collect::<Option<BTreeMap<_, _>>>(),
            _ => None,
        };
        match map {
            Some(m) => Ok(Some(m)),
            None => Err(self.type_error(
                name,
                "a map of strings",
                &v,
                span,
                &format!("{name} = {{ key = \"value\" }}"),
            )),
        }
    }

    /// A string from a fixed set.
    pub fn one_of(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<String>, Reported> {
        let Some(s) = self.string(d, body, name)? else { return Ok(None) };
        if allowed.contains(&s.as_str()) {
            return Ok(Some(s));
        }
        let span = self.span(d, body.get_attribute(name).and_then(|a| a.value.span()));
        Err(self.error(
            Diagnostic::error(format!("invalid {name} `{s}`"))
                .with_span(span)
                .with_hint(suggest::allowed_hint(&s, allowed, "values")),
        ))
    }

    pub fn list_one_of(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
        allowed: &[&str],
    ) -> Result<Vec<String>, Reported> {
        let Some((list, span)) = self.string_list(d, body, name)? else { return Ok(Vec::new()) };
        let mut failed = None;
        for s in &list {
            if !allowed.contains(&s.as_str()) {
                failed = Some(
                    self.error(
                        Diagnostic::error(format!("invalid value `{s}` in `{name}`"))
                            .with_span(span.clone())
                            .with_hint(suggest::allowed_hint(s, allowed, "values")),
                    ),
                );
            }
        }
        match failed {
            None => Ok(list),
            Some(reported) => Err(reported),
        }
    }

    /// The name a reference value stands for: `inventory.x` evaluates to an object with `name`;
    /// a plain string is taken as the name and checked at the end.
    fn ref_name_of(
        &mut self,
        v: &Value,
        kind: &'static str,
        attr: &str,
        span: &Span,
        prefix: &str,
    ) -> Result<String, Reported> {
        match v {
            Value::Object(o) => match o.get("name").and_then(Value::as_str) {
                Some(n) => Ok(n.to_string()),
                None => Err(self.type_error(
                    attr,
                    &format!("a reference to a {kind}"),
                    v,
                    span.clone(),
                    &format!("{attr} = {kind}.<name>"),
                )),
            },
            Value::String(s) => {
                self.name_checks.push(NameCheck { kind, name: format!("{prefix}{s}"), span: span.clone() });
                Ok(s.clone())
            }
            _ => Err(self.type_error(
                attr,
                &format!("a reference to a {kind}"),
                v,
                span.clone(),
                &format!("{attr} = {kind}.<name>"),
            )),
        }
    }

    /// `inventory.x` written literally: the referenced block's name without evaluating (and
    /// copying) the whole object.
    pub(in crate::config) fn static_ref_name(&self, d: usize, e: &Expression, kind: &str) -> Option<String> {
        let Expression::Traversal(t) = e else { return None };
        let Expression::Variable(root) = &t.expr else { return None };
        let [op] = t.operators.as_slice() else { return None };
        let hcl::edit::expr::TraversalOperator::GetAttr(name) = op.value() else { return None };
        if root.as_str() != kind {
            return None;
        }
        let m = self.decls[d].module;
        match self.scopes[m].roots.get(kind)?.get(name.as_str())? {
            hcl::Value::Object(o) => o.get("name")?.as_str().map(str::to_string),
            _ => None,
        }
    }

    pub fn reference(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
        kind: &'static str,
    ) -> Result<Option<String>, Reported> {
        if let Some(n) = body.get_attribute(name).and_then(|a| self.static_ref_name(d, &a.value, kind)) {
            return Ok(Some(n));
        }
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        let module_prefix = self.prefix(self.decls[d].module).to_string();
        self.ref_name_of(&v, kind, name, &span, &module_prefix).map(|n| Some(qualify(&module_prefix, &v, n)))
    }

    pub fn references(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
        kind: &'static str,
    ) -> Result<Vec<String>, Reported> {
        if let Some(Expression::Array(items)) = body.get_attribute(name).map(|a| &a.value) {
            let fast: Option<Vec<String>> = items.iter().map(|e| self.static_ref_name(d, e, kind)).collect();
            if let Some(names) = fast {
                return Ok(names);
            }
        }
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(Vec::new()) };
        let Value::Array(items) = &v else {
            return Err(self.type_error(
                name,
                &format!("a list of {kind} references"),
                &v,
                span,
                &format!("{name} = [{kind}.a, {kind}.b]"),
            ));
        };
        let module_prefix = self.prefix(self.decls[d].module).to_string();
        let mut out = Vec::new();
        let mut failed = None;
        for item in items {
            match self.ref_name_of(item, kind, name, &span, &module_prefix) {
                Ok(n) => out.push(qualify(&module_prefix, item, n)),
                Err(reported) => failed = Some(reported),
            }
        }
        match failed {
            None => Ok(out),
            Some(reported) => Err(reported),
        }
    }
}

/// Names from `inventory.x` objects are already qualified (they carry the module prefix); plain
/// strings are names within the current module.
fn qualify(prefix: &str, v: &Value, name: String) -> String {
    if v.is_object() || prefix.is_empty() {
        name
    } else {
        format!("{prefix}{name}")
    }
}
