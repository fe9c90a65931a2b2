//! Stage 4, per block kind: evaluating each kind of block into the model ([`Evaluator`]).

use std::collections::BTreeMap;

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Body};
use hcl::edit::Span as _;
use serde_json::{json, Map, Value};

use super::inputs::AssignValue;
use super::{header_range, Evaluator, Kind, Stage};
use crate::config::inventory;
use crate::config::model::{
    Alert, Baseline, Component, Dashboard, EmailTarget, Inventory, MetricDef, Override, PagerDutyTarget,
    ProviderBlock, RawResource, Route, SlackTarget, Smtp, Span, Threshold, Variable, WebhookTarget,
};
use crate::config::refs::Collected;
use crate::config::schema::{self, KINDS, SEVERITIES};
use crate::config::suggest;
use crate::config::values::{describe, json_to_hcl};
use crate::config::variables::{self, convert, interpret_raw, VarType, TYPE_HINT};
use crate::diag::{Diagnostic, Reported};
use crate::vendors;

/// Keeps evaluating after an error (to report more of them) while remembering that one happened.
fn take<T>(ok: &mut bool, r: Result<Option<T>, Reported>) -> Option<T> {
    r.unwrap_or_else(|_| {
        *ok = false;
        None
    })
}

fn take_vec<T>(ok: &mut bool, r: Result<Vec<T>, Reported>) -> Vec<T> {
    r.unwrap_or_else(|_| {
        *ok = false;
        Vec::new()
    })
}

/// [`take`] for a step that itself fails with `Result<_, Reported>`: remembers the token.
fn keep<T>(failed: &mut Option<Reported>, r: Result<Option<T>, Reported>) -> Option<T> {
    r.unwrap_or_else(|reported| {
        *failed = Some(reported);
        None
    })
}

fn keep_vec<T>(failed: &mut Option<Reported>, r: Result<Vec<T>, Reported>) -> Vec<T> {
    r.unwrap_or_else(|reported| {
        *failed = Some(reported);
        Vec::new()
    })
}

/// `^[0-9]+(s|m|h|d)$`
pub(crate) fn is_duration(s: &str) -> bool {
    let Some(unit) = s.chars().last() else { return false };
    let digits = &s[..s.len() - unit.len_utf8()];
    matches!(unit, 's' | 'm' | 'h' | 'd') && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

pub(crate) fn component_object(c: &Component) -> hcl::Value {
    // Built as HCL directly: an inventory of 200,000 rows builds one per row, and a JSON value
    // converted afterwards doubled the peak memory of loading it.
    let opt = |v: &Option<String>| v.clone().map_or(hcl::Value::Null, hcl::Value::String);
    let map = |m: &BTreeMap<String, String>| {
        hcl::Value::Object(m.iter().map(|(k, v)| (k.clone(), hcl::Value::String(v.clone()))).collect())
    };
    let mut o = hcl::Map::with_capacity(8);
    o.insert("name".to_string(), hcl::Value::String(c.name.clone()));
    o.insert("inventory".to_string(), opt(&c.inventory));
    o.insert("kind".to_string(), hcl::Value::String(c.kind.clone()));
    o.insert("provider".to_string(), hcl::Value::String(c.provider.clone()));
    o.insert("environment".to_string(), opt(&c.environment));
    o.insert("owner".to_string(), opt(&c.owner));
    o.insert("identifier".to_string(), map(&c.identifier));
    o.insert("tags".to_string(), map(&c.tags));
    hcl::Value::Object(o)
}

/// Every string inside a value (for redacting sensitive values that are collections).
/// Root variables the operator declares public (`WATCHKEEP_PUBLIC_VARS=api_url,region`): their
/// values from outside the configuration are shown in plans like any other value.
pub(crate) const PUBLIC_VARS_ENV: &str = "WATCHKEEP_PUBLIC_VARS";

fn public_vars(env: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    env.get(PUBLIC_VARS_ENV)
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

fn leaf_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.is_empty() => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| leaf_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| leaf_strings(x, out)),
        _ => {}
    }
}

impl<'a> Evaluator<'a> {
    fn block_of(&self, d: usize) -> Option<&'a Block> {
        self.decls[d].block
    }

    fn set_iteration(&mut self, d: usize, name: &str, value: hcl::Value) {
        let m = self.decls[d].module;
        if name == "each" {
            self.scopes[m].iteration = Some(value.clone());
        }
        self.scopes[m].ctx.declare_var(name.to_string(), value);
    }

    /// `for_each` elements as `(key, value)`: a map's entries, or a set of strings (key = value).
    fn for_each(&mut self, d: usize, body: &Body) -> Result<Vec<(String, hcl::Value)>, Reported> {
        let Some(a) = body.get_attribute("for_each") else { return Ok(Vec::new()) };
        let v = self.eval(d, &a.value)?;
        let span = self.span(d, a.value.span());
        // Keys become addresses, which every plan, state and log shows: like Terraform, a key
        // that is (or is computed from) a sensitive value is refused (issue 15).
        let secret_key = match &v {
            hcl::Value::Object(o) => o.keys().any(|k| self.cfg.sensitive_values.iter().any(|x| crate::redact::holds_secret(k, x))),
            hcl::Value::Array(items) => items.iter().any(|i| matches!(i, hcl::Value::String(s) if self.cfg.sensitive_values.iter().any(|x| crate::redact::holds_secret(s, x)))),
            _ => false,
        };
        if secret_key {
            return Err(self.error(
                Diagnostic::error("a `for_each` key is a sensitive value or computed from one (keys are shown in every plan and stored in state)")
                    .with_span(span)
                    .with_hint("key the instances by something that is not secret, and use the sensitive value inside the block (each.value)"),
            ));
        }
        match v {
            hcl::Value::Object(o) => Ok(o.into_iter().collect()),
            hcl::Value::Array(items) => {
                let mut out: Vec<(String, hcl::Value)> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for item in items {
                    match item {
                        hcl::Value::String(s) => {
                            if seen.insert(s.clone()) {
                                out.push((s.clone(), hcl::Value::String(s)));
                            }
                        }
                        other => {
                            return Err(self.error(
                                Diagnostic::error(format!(
                                    "`for_each` needs a map or a set of strings, but an element is {}",
                                    describe(&crate::config::values::hcl_to_json(&other))
                                ))
                                .with_span(span)
                                .with_hint("use toset([\"a\", \"b\"]) or a map like { a = ..., b = ... }"),
                            ));
                        }
                    }
                }
                Ok(out)
            }
            other => Err(self.error(
                Diagnostic::error(format!(
                    "`for_each` needs a map or a set of strings, got {}",
                    describe(&crate::config::values::hcl_to_json(&other))
                ))
                .with_span(span)
                .with_hint("use toset([\"a\", \"b\"]) or a map like { a = ..., b = ... }"),
            )),
        }
    }

    fn each_value(key: &str, value: hcl::Value) -> hcl::Value {
        let mut o = hcl::Map::new();
        o.insert("key".to_string(), hcl::Value::from(key));
        o.insert("value".to_string(), value);
        hcl::Value::Object(o)
    }

    // ---- watchkeep ---------------------------------------------------------------------------

    pub(super) fn eval_settings(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let mut ok = true;
        for st in block.body.blocks().filter(|b| b.ident.as_str() == "state") {
            let backend = st.labels.first().map_or("", |l| l.as_str());
            if !schema::STATE_BACKENDS.contains(&backend) {
                let span = self.span(d, st.labels.first().and_then(|l| l.span()));
                self.error(
                    Diagnostic::error(format!("unknown state backend `{backend}`"))
                        .with_span(span)
                        .with_hint(suggest::allowed_hint(backend, schema::STATE_BACKENDS, "backends")),
                );
                ok = false;
                continue;
            }
            // Attributes of the other backend: located, saying which backend takes them.
            let (own, other): (&[&str], &str) = match backend {
                "s3" => (schema::STATE_S3_ATTRS, "local"),
                _ => (schema::STATE_LOCAL_ATTRS, "s3"),
            };
            for a in st.body.attributes() {
                if !own.contains(&a.key.as_str()) {
                    let span = self.span(d, a.key.span());
                    self.error(
                        Diagnostic::error(format!(
                            "`{}` is not an attribute of `state \"{backend}\"`",
                            a.key.as_str()
                        ))
                        .with_span(span)
                        .with_hint(format!(
                            "`state \"{backend}\"` takes {}; `{}` belongs to `state \"{other}\"`",
                            own.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                            a.key.as_str()
                        )),
                    );
                    ok = false;
                }
            }
            if backend == "s3" {
                let header = self.span(d, Some(super::header_range(st)));
                let bucket = take(&mut ok, self.string(d, &st.body, "bucket"));
                let key = take(&mut ok, self.string(d, &st.body, "key"));
                let region = take(&mut ok, self.string(d, &st.body, "region"));
                let endpoint_url = take(&mut ok, self.string(d, &st.body, "endpoint_url"));
                let force_path_style = take(&mut ok, self.boolean(d, &st.body, "force_path_style"));
                for (name, value, example) in [
                    ("bucket", &bucket, "bucket = \"acme-watchkeep-state\""),
                    ("key", &key, "key = \"team/watchkeep.json\""),
                ] {
                    if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                        let span = match st.body.get_attribute(name) {
                            Some(a) => self.span(d, a.value.span()),
                            None => header.clone(),
                        };
                        self.error(
                            Diagnostic::error(format!("`state \"s3\"` needs a non-empty `{name}`"))
                                .with_span(span)
                                .with_hint(format!("write {example}")),
                        );
                        ok = false;
                    }
                }
                if let Some(k) = key.as_deref().filter(|k| k.starts_with('/') || k.ends_with('/')) {
                    let span = self.span(d, st.body.get_attribute("key").and_then(|a| a.value.span()));
                    self.error(
                        Diagnostic::error(format!(
                            "`key` = \"{k}\" must name an object, not start or end with `/`"
                        ))
                        .with_span(span)
                        .with_hint("write key = \"team/watchkeep.json\""),
                    );
                    ok = false;
                }
                if let Some(url) = endpoint_url
                    .as_deref()
                    .filter(|u| !(u.starts_with("http://") || u.starts_with("https://")))
                {
                    let span =
                        self.span(d, st.body.get_attribute("endpoint_url").and_then(|a| a.value.span()));
                    self.error(
                        Diagnostic::error(format!(
                            "`endpoint_url` = \"{url}\" is not an http:// or https:// URL"
                        ))
                        .with_span(span)
                        .with_hint(
                            "write endpoint_url = \"http://127.0.0.1:9000\" (leave it out for AWS S3)",
                        ),
                    );
                    ok = false;
                }
                if let (Some(bucket), Some(key)) = (bucket, key) {
                    self.cfg.settings.state_s3 = Some(crate::state::s3::S3Settings {
                        bucket,
                        key,
                        region,
                        endpoint_url,
                        force_path_style: force_path_style.unwrap_or(false),
                        endpoint_in_configuration: true,
                    });
                }
                continue;
            }
            self.cfg.settings.state_path = take(&mut ok, self.string(d, &st.body, "path"));
        }
        self.cfg.settings.span = Some(self.header_span(d));
        ok
    }

    // ---- variables ---------------------------------------------------------------------------

    pub(super) fn eval_variable(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let m = self.decls[d].module;
        let name = self.decls[d].name.clone();
        let header = self.header_span(d);
        let mut ok = true;
        let ty = match body.get_attribute("type") {
            None => VarType::Any,
            Some(a) => match variables::parse_type(&a.value) {
                Ok(t) => t,
                Err((range, msg)) => {
                    let span = self.span(d, Some(range));
                    self.error(
                        Diagnostic::error(format!("invalid type for variable `{name}`: {msg}"))
                            .with_span(span)
                            .with_hint(TYPE_HINT),
                    );
                    return false;
                }
            },
        };
        let description = take(&mut ok, self.string(d, body, "description"));
        let sensitive = take(&mut ok, self.boolean(d, body, "sensitive")).unwrap_or(false);
        let nullable = take(&mut ok, self.boolean(d, body, "nullable")).unwrap_or(true);
        let default = match body.get_attribute("default") {
            Some(a) => match self.eval_json(d, &a.value) {
                Ok(v) => Some((v, self.span(d, a.value.span()))),
                Err(_) => return false,
            },
            None => None,
        };
        if !ok {
            return false;
        }
        // Issue 15: a pull request can delete `sensitive = true`, so a value the operator
        // supplies from outside the configuration (-var, WATCHKEEP_VAR_*, a -var-file outside the
        // directory) is sensitive unless the operator lists the variable in WATCHKEEP_PUBLIC_VARS.
        let public = m == 0 && public_vars(&self.opts.env).contains(&name);
        let outside = m == 0
            && !public
            && (self.cli_assigns.get(&name).is_some_and(|v| !v.is_empty())
                || self.opts.env.contains_key(&format!("WATCHKEEP_VAR_{name}"))
                || self.file_assigns.get(&name).and_then(|v| v.last()).is_some_and(|a| a.outside));
        let declared_sensitive = sensitive;
        let sensitive = sensitive || outside;
        let shown = |raw: &str| if sensitive { "(sensitive)".to_string() } else { raw.to_string() };
        // Precedence, lowest first: default, watchkeep.wkvars, *.auto.wkvars, -var-file, environment, -var.
        let chosen: Option<(Value, String, Option<Span>)> = if m == 0 {
            let env_key = format!("WATCHKEEP_VAR_{name}");
            if let Some(a) = self.cli_assigns.get(&name).and_then(|v| v.last()).cloned() {
                match a.value {
                    AssignValue::Raw(raw) => {
                        Some((interpret_raw(&raw, &ty), format!("-var {name}={}", shown(&raw)), None))
                    }
                    AssignValue::Json(v) => Some((v, a.origin, a.span)),
                }
            } else if let Some(raw) = self.opts.env.get(&env_key) {
                Some((interpret_raw(raw, &ty), format!("the environment variable {env_key}"), None))
            } else if let Some(a) = self.file_assigns.get(&name).and_then(|v| v.last()).cloned() {
                match a.value {
                    AssignValue::Json(v) => Some((v, a.origin, a.span)),
                    AssignValue::Raw(raw) => Some((interpret_raw(&raw, &ty), a.origin, a.span)),
                }
            } else {
                default.clone().map(|(v, span)| (v, "its default".to_string(), Some(span)))
            }
        } else {
            match self.module_inputs.get(&m).and_then(|i| i.get(&name)).cloned() {
                Some((v, span)) => Some((v, "the module block".to_string(), Some(span))),
                None => default.clone().map(|(v, span)| (v, "its default".to_string(), Some(span))),
            }
        };
        let Some((raw_value, origin, value_span)) = chosen else {
            let hint = if m == 0 {
                format!("set it with -var {name}=…, WATCHKEEP_VAR_{name}, or a .wkvars file (or give it a default)")
            } else {
                format!("set {name} = … in the module block (or give the variable a default)")
            };
            self.error(
                Diagnostic::error(format!("variable `{name}` is required but has no value"))
                    .with_span(header)
                    .with_hint(hint),
            );
            return false;
        };
        let value = match convert(&raw_value, &ty) {
            Ok(v) => v,
            Err(msg) => {
                let msg = if sensitive {
                    format!(
                        "expected {ty}, got a value of another type (not shown: the variable is sensitive)"
                    )
                } else {
                    msg
                };
                self.error(
                    Diagnostic::error(format!("invalid value for variable `{name}`: {msg}"))
                        .with_span(value_span.unwrap_or(header))
                        .with_detail(format!("the value comes from {origin}"))
                        .with_hint(format!("give `{name}` a value of type {ty}")),
                );
                return false;
            }
        };
        if value.is_null() && !nullable {
            self.error(
                Diagnostic::error(format!("variable `{name}` must not be null"))
                    .with_span(value_span.unwrap_or(header))
                    .with_detail(format!("the value comes from {origin}"))
                    .with_hint("give it a value, or remove nullable = false"),
            );
            return false;
        }
        if sensitive && !declared_sensitive {
            // Sensitive only for coming from outside: its strings (a number or a bool from the
            // environment is not a key, and masking every "true" would garble the plan).
            leaf_strings(&value, &mut self.cfg.sensitive_values);
        } else if sensitive {
            match &value {
                Value::String(s) if !s.is_empty() => self.cfg.sensitive_values.push(s.clone()),
                Value::Null => {}
                Value::String(_) => {}
                other => {
                    self.cfg.sensitive_values.push(other.to_string());
                    leaf_strings(other, &mut self.cfg.sensitive_values);
                }
            }
        }
        let full = self.full_name(d);
        self.scopes[m].set("var", &name, json_to_hcl(&value));
        let span = self.header_span(d);
        self.cfg
            .variables
            .insert(full.clone(), Variable { name: full, description, sensitive, value, span: span.clone() });
        self.add_instance(d, self.addr(d), span);
        true
    }

    // ---- locals, providers, modules, outputs ---------------------------------------------------

    pub(super) fn eval_local(&mut self, d: usize) -> bool {
        let Some(a) = self.decls[d].attr else { return false };
        let Ok(v) = self.eval_json(d, &a.value) else { return false };
        let m = self.decls[d].module;
        let name = self.decls[d].name.clone();
        self.scopes[m].set("local", &name, json_to_hcl(&v));
        self.cfg.locals.insert(self.full_name(d), v);
        self.add_instance(d, self.addr(d), self.header_span(d));
        true
    }

    pub(super) fn eval_provider(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let Ok(attrs) = self.body_json(d, &block.body, &[]) else { return false };
        let name = self.decls[d].name.clone();
        let span = self.header_span(d);
        self.cfg.providers.insert(name.clone(), ProviderBlock { name, attrs, span: span.clone() });
        self.add_instance(d, self.addr(d), span);
        true
    }

    pub(super) fn eval_module(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let m = self.decls[d].module;
        let call = self.decls[d].name.clone();
        let Some(child) = self.modules.iter().position(|mi| mi.parent.as_ref() == Some(&(m, call.clone())))
        else {
            return false; // the source could not be read; already reported
        };
        let declared: Vec<String> = self
            .decls
            .iter()
            .filter(|x| x.module == child && x.kind == Kind::Variable)
            .map(|x| x.name.clone())
            .collect();
        let mut ok = true;
        let mut inputs = BTreeMap::new();
        for a in block.body.attributes().filter(|a| a.key.as_str() != "source") {
            let key = a.key.as_str();
            if !declared.iter().any(|v| v == key) {
                let span = self.span(d, a.key.span());
                self.error(
                    Diagnostic::error(format!("module `{call}` has no variable `{key}`"))
                        .with_span(span)
                        .with_hint(match suggest::closest(key, declared.iter().map(String::as_str)) {
                            Some(c) => format!("did you mean `{c}`?"),
                            None => format!(
                                "declared variables: {}",
                                suggest::list(declared.iter().map(String::as_str))
                            ),
                        }),
                );
                ok = false;
                continue;
            }
            match self.eval_json(d, &a.value) {
                Ok(v) => {
                    let span = self.span(d, a.value.span());
                    inputs.insert(key.to_string(), (v, span));
                }
                Err(_) => ok = false,
            }
        }
        self.module_inputs.insert(child, inputs);
        self.add_instance(d, self.addr(d), self.header_span(d));
        ok
    }

    pub(super) fn eval_output(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let mut ok = true;
        let sensitive = take(&mut ok, self.boolean(d, &block.body, "sensitive")).unwrap_or(false);
        let value = match block.body.get_attribute("value") {
            Some(a) => match self.eval_json(d, &a.value) {
                Ok(v) => v,
                Err(_) => return false,
            },
            None => Value::Null,
        };
        if sensitive {
            leaf_strings(&value, &mut self.cfg.sensitive_values);
        }
        let m = self.decls[d].module;
        if let Some((parent, call)) = self.modules[m].parent.clone() {
            let name = self.decls[d].name.clone();
            let scope = &mut self.scopes[parent];
            let mut outputs = match scope.roots.get("module").and_then(|o| o.get(&call)) {
                Some(hcl::Value::Object(o)) => o.clone(),
                _ => hcl::Map::new(),
            };
            outputs.insert(name, json_to_hcl(&value));
            scope.set("module", &call, hcl::Value::Object(outputs));
        }
        self.add_instance(d, self.addr(d), self.header_span(d));
        ok
    }

    // ---- inventory and components ----------------------------------------------------------------

    fn date(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<String>, Reported> {
        let Some(s) = self.string(d, body, name)? else { return Ok(None) };
        if chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").is_ok() && s.len() == 10 {
            return Ok(Some(s));
        }
        let span = self.span(d, body.get_attribute(name).and_then(|a| a.value.span()));
        Err(self.error(
            Diagnostic::error(format!("`{name}` is not a valid date: \"{s}\""))
                .with_span(span)
                .with_hint("write the date as YYYY-MM-DD, e.g. \"2026-11-01\""),
        ))
    }

    /// Validates kind and provider of a component read from a file.
    fn check_enum(
        &mut self,
        value: &str,
        allowed: &[&str],
        what: &str,
        component: &str,
        span: &Span,
    ) -> bool {
        if allowed.contains(&value) {
            return true;
        }
        self.error(
            Diagnostic::error(format!("invalid {what} `{value}` for component `{component}`"))
                .with_span(span.clone())
                .with_hint(suggest::allowed_hint(value, allowed, "values")),
        );
        false
    }

    /// Adds a component to the model and to the evaluation context; duplicate names are errors
    /// showing both places. `member_of` records the membership edge to an inventory address.
    fn add_component(&mut self, d: usize, local_name: &str, c: Component, member_of: Option<String>) -> bool {
        let m = self.decls[d].module;
        if let Some(existing) = self.cfg.components.get(&c.name) {
            let first = existing.span.clone();
            self.error(
                Diagnostic::error(format!("component `{}` is defined more than once", c.name))
                    .with_span(c.span.clone())
                    .with_detail(format!("first defined at {first}"))
                    .with_hint("component names must be unique across inventory files and component blocks; rename or remove one"),
            );
            return false;
        }
        let address = format!("{}component.{local_name}", self.prefix(m));
        self.scopes[m].set("component", local_name, component_object(&c));
        self.component_producer.insert((m, local_name.to_string()), d);
        self.cfg.addresses.insert(address.clone(), c.span.clone());
        if let Some(inv) = member_of {
            self.memberships.push((address, inv, c.span.clone()));
        }
        self.cfg.components.insert(c.name.clone(), c);
        true
    }

    pub(super) fn eval_inventory(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let m = self.decls[d].module;
        let prefix = self.prefix(m).to_string();
        let full = self.full_name(d);
        let inv_addr = self.addr(d);
        let mut ok = true;
        let source = take(&mut ok, self.string(d, body, "source"));
        let reviewed_on = take(&mut ok, self.date(d, body, "reviewed_on"));
        let reviewed_by = take(&mut ok, self.string(d, body, "reviewed_by"));
        let mut members: Vec<String> = Vec::new();
        if let Some(src) = &source {
            let path = self.modules[m].dir.join(src);
            match inventory::read(&path, &crate::config::confine::Policy::new(&self.opts.dir, &self.opts.env))
            {
                Ok((_, rows, warnings)) => {
                    self.diags.0.extend(warnings);
                    for row in rows {
                        let valid = self.check_enum(&row.kind, KINDS, "kind", &row.name, &row.span)
                            & self.check_enum(
                                &row.provider,
                                vendors::config_names(),
                                "provider",
                                &row.name,
                                &row.span,
                            );
                        if !valid {
                            ok = false;
                            continue;
                        }
                        let c = Component {
                            name: format!("{prefix}{}", row.name),
                            inventory: Some(full.clone()),
                            kind: row.kind,
                            provider: row.provider,
                            environment: row.environment,
                            owner: row.owner,
                            identifier: row.identifier,
                            tags: row.tags,
                            span: row.span,
                        };
                        let name = c.name.clone();
                        if self.add_component(d, &row.name, c, Some(inv_addr.clone())) {
                            members.push(name);
                        } else {
                            ok = false;
                        }
                    }
                }
                Err(errors) => {
                    let span = self.span(d, body.get_attribute("source").and_then(|a| a.value.span()));
                    for e in errors {
                        let e = if e.span.is_none() { e.with_span(span.clone()) } else { e };
                        self.error(e);
                    }
                    ok = false;
                }
            }
        }
        for b in body.blocks().filter(|b| b.ident.as_str() == "component") {
            let Some(label) = b.labels.first().map(|l| l.as_str().to_string()) else { continue };
            let mut c_ok = true;
            let kind = take(&mut c_ok, self.one_of(d, &b.body, "kind", KINDS));
            let provider = take(&mut c_ok, self.one_of(d, &b.body, "provider", vendors::config_names()));
            let environment = take(&mut c_ok, self.string(d, &b.body, "environment"));
            let owner = take(&mut c_ok, self.string(d, &b.body, "owner"));
            let identifier = take(&mut c_ok, self.string_map(d, &b.body, "identifier")).unwrap_or_default();
            let tags = take(&mut c_ok, self.string_map(d, &b.body, "tags")).unwrap_or_default();
            if c_ok {
                for (null, name) in [(kind.is_none(), "kind"), (provider.is_none(), "provider")] {
                    if null {
                        self.null_required(d, &b.body, name);
                    }
                }
            }
            let (Some(kind), Some(provider), true) = (kind, provider, c_ok) else {
                ok = false;
                continue;
            };
            let span = self.span(d, Some(header_range(b)));
            let c = Component {
                name: format!("{prefix}{label}"),
                inventory: Some(full.clone()),
                kind,
                provider,
                environment,
                owner,
                identifier,
                tags,
                span,
            };
            let name = c.name.clone();
            if self.add_component(d, &label, c, Some(inv_addr.clone())) {
                members.push(name);
            } else {
                ok = false;
            }
        }
        let objects: Vec<hcl::Value> =
            members.iter().filter_map(|n| self.cfg.components.get(n)).map(component_object).collect();
        let span = self.header_span(d);
        let local = self.decls[d].name.clone();
        let opt = |v: &Option<String>| v.clone().map_or(hcl::Value::Null, hcl::Value::String);
        let mut inv = hcl::Map::with_capacity(5);
        inv.insert("name".to_string(), hcl::Value::String(full.clone()));
        inv.insert("source".to_string(), opt(&source));
        inv.insert("reviewed_on".to_string(), opt(&reviewed_on));
        inv.insert("reviewed_by".to_string(), opt(&reviewed_by));
        inv.insert("components".to_string(), hcl::Value::Array(objects));
        self.scopes[m].set("inventory", &local, hcl::Value::Object(inv));
        self.cfg.inventories.insert(
            full.clone(),
            Inventory {
                name: full,
                source,
                reviewed_on,
                reviewed_by,
                components: members,
                span: span.clone(),
            },
        );
        self.add_instance(d, inv_addr, span);
        ok
    }

    pub(super) fn eval_component(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let m = self.decls[d].module;
        let prefix = self.prefix(m).to_string();
        let label = self.decls[d].name.clone();
        let has_for_each = self.decls[d].has_for_each;
        let instances: Vec<(Option<String>, Option<hcl::Value>)> = if has_for_each {
            match self.for_each(d, body) {
                Ok(v) => v.into_iter().map(|(k, v)| (Some(k), Some(v))).collect(),
                Err(_) => return false,
            }
        } else {
            vec![(None, None)]
        };
        let span = self.header_span(d);
        let mut ok = true;
        for (key, value) in instances {
            if let (Some(k), Some(v)) = (&key, value) {
                self.set_iteration(d, "each", Self::each_value(k, v));
            }
            let mut c_ok = true;
            let name = take(&mut c_ok, self.string(d, body, "name"))
                .or_else(|| key.clone())
                .unwrap_or_else(|| label.clone());
            let inventory = take(&mut c_ok, self.reference(d, body, "inventory", "inventory"));
            let kind = take(&mut c_ok, self.one_of(d, body, "kind", KINDS));
            let provider = take(&mut c_ok, self.one_of(d, body, "provider", vendors::config_names()));
            let environment = take(&mut c_ok, self.string(d, body, "environment"));
            let owner = take(&mut c_ok, self.string(d, body, "owner"));
            let identifier = take(&mut c_ok, self.string_map(d, body, "identifier")).unwrap_or_default();
            let tags = take(&mut c_ok, self.string_map(d, body, "tags")).unwrap_or_default();
            if c_ok {
                for (null, name) in [(kind.is_none(), "kind"), (provider.is_none(), "provider")] {
                    if null {
                        self.null_required(d, body, name);
                    }
                }
            }
            let (Some(kind), Some(provider), true) = (kind, provider, c_ok) else {
                ok = false;
                continue;
            };
            if name.trim().is_empty() {
                self.error(
                    Diagnostic::error("component name is empty")
                        .with_span(span.clone())
                        .with_hint("give the component a name"),
                );
                ok = false;
                continue;
            }
            let c = Component {
                name: format!("{prefix}{name}"),
                inventory,
                kind,
                provider,
                environment,
                owner,
                identifier,
                tags,
                span: span.clone(),
            };
            let obj = component_object(&c);
            if self.add_component(d, &name, c, None) {
                let address = format!("{prefix}component.{name}");
                self.instances.entry(d).or_default().push(address);
                if !has_for_each && name != label {
                    // The block label refers to it too.
                    self.scopes[m].set("component", &label, obj);
                    self.component_producer.insert((m, label.clone()), d);
                    self.component_alias.insert((m, label.clone()), name.clone());
                }
            } else {
                ok = false;
            }
        }
        ok
    }

    // ---- routes ----------------------------------------------------------------------------

    pub(super) fn eval_route(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let full = self.full_name(d);
        let span = self.header_span(d);
        let mut route = Route { name: full.clone(), span: span.clone(), ..Route::default() };
        let mut ok = true;
        for b in block.body.blocks() {
            let ident = b.ident.as_str();
            let body = &b.body;
            match ident {
                "pagerduty" => {
                    let service = take(&mut ok, self.string(d, body, "service"));
                    let routing_key = take(&mut ok, self.string(d, body, "routing_key"));
                    let events_url = take(&mut ok, self.string(d, body, "events_url"));
                    route.pagerduty.push(PagerDutyTarget { service, routing_key, events_url });
                }
                "slack" => {
                    let channel = take(&mut ok, self.string(d, body, "channel")).unwrap_or_default();
                    let account = take(&mut ok, self.string(d, body, "account"));
                    let webhook_url = take(&mut ok, self.string(d, body, "webhook_url"));
                    if channel.trim_start_matches('#').trim().is_empty() {
                        let s = self.span(d, body.get_attribute("channel").and_then(|a| a.value.span()));
                        self.error(
                            Diagnostic::error("slack channel is empty")
                                .with_span(s)
                                .with_hint("write channel = \"#ops-alerts\""),
                        );
                        ok = false;
                    }
                    route.slack.push(SlackTarget { channel, account, webhook_url });
                }
                "email" => {
                    let to = self.string_list(d, body, "to");
                    if matches!(to, Ok(None)) {
                        self.null_required(d, body, "to");
                        ok = false;
                    }
                    let to = take(&mut ok, to);
                    if let Some((to, s)) = to {
                        let bad: Vec<&String> = to.iter().filter(|a| !a.contains('@')).collect();
                        if to.is_empty() || !bad.is_empty() {
                            let summary = match bad.first() {
                                Some(b) => format!("`{b}` is not an email address"),
                                None => "email `to` is empty".to_string(),
                            };
                            self.error(
                                Diagnostic::error(summary)
                                    .with_span(s)
                                    .with_hint("write to = [\"oncall@example.com\"]"),
                            );
                            ok = false;
                        }
                        let smtp = match body.blocks().find(|b| b.ident.as_str() == "smtp") {
                            Some(sb) => self.eval_smtp(d, &sb.body, &mut ok),
                            None => None,
                        };
                        route.email.push(EmailTarget { to, smtp });
                    }
                }
                "webhook" => {
                    let name = take(&mut ok, self.string(d, body, "name"));
                    let url = take(&mut ok, self.string(d, body, "url"));
                    route.webhook.push(WebhookTarget { name, url });
                }
                "escalation" => {
                    let header = self.span(d, Some(super::header_range(b)));
                    match self.escalation_level(d, body, header) {
                        Some(level) => route.escalation.push(level),
                        None => ok = false,
                    }
                }
                _ => {}
            }
        }
        route.owner = take(&mut ok, self.string(d, &block.body, "owner"));
        if ok && !self.check_escalation_order(&route.escalation) {
            ok = false;
        }
        if ok
            && route.pagerduty.is_empty()
            && route.slack.is_empty()
            && route.email.is_empty()
            && route.webhook.is_empty()
        {
            self.error(
                Diagnostic::error(format!("route `{}` has no targets", self.decls[d].name))
                    .with_span(span.clone())
                    .with_hint("add at least one pagerduty { }, slack { }, email { } or webhook { } block"),
            );
            ok = false;
        }
        let m = self.decls[d].module;
        let local = self.decls[d].name.clone();
        self.scopes[m].set("route", &local, json_to_hcl(&json!({ "name": full })));
        self.cfg.routes.insert(full, route);
        self.add_instance(d, self.addr(d), span);
        ok
    }

    /// `smtp { ... }` of an `email` target (used by `routes test`).
    fn eval_smtp(&mut self, d: usize, body: &Body, ok: &mut bool) -> Option<Smtp> {
        let host = take(ok, self.string(d, body, "host"));
        let port = take(ok, self.number(d, body, "port"));
        let starttls = take(ok, self.one_of(d, body, "starttls", crate::config::schema::SMTP_STARTTLS));
        let username = take(ok, self.string(d, body, "username"));
        let password = take(ok, self.string(d, body, "password"));
        let from = take(ok, self.string(d, body, "from"));
        let ca_file = take(ok, self.string(d, body, "ca_file"));
        let at =
            |me: &mut Self, name: &str| me.span(d, body.get_attribute(name).and_then(|a| a.value.span()));
        let port = match port {
            None => 587,
            Some(p) if p.fract() == 0.0 && (1.0..=65535.0).contains(&p) => p as u16,
            Some(p) => {
                let s = at(self, "port");
                self.error(
                    Diagnostic::error(format!("invalid SMTP port {p}"))
                        .with_span(s)
                        .with_hint("write a port between 1 and 65535, e.g. port = 587"),
                );
                *ok = false;
                587
            }
        };
        if let Some(pw) = &password {
            // A password written in the configuration, or taken from a variable not marked
            // sensitive, would be printed in plans and logs: only a sensitive variable's value.
            if !self.cfg.sensitive_values.iter().any(|v| v == pw) {
                let s = at(self, "password");
                self.error(
                    Diagnostic::error("the SMTP password must be the value of a sensitive variable")
                        .with_span(s)
                        .with_hint("declare variable \"smtp_password\" { sensitive = true }, then write password = var.smtp_password"),
                );
                *ok = false;
            }
        }
        if password.is_some() != username.is_some() {
            let s = at(self, if password.is_some() { "password" } else { "username" });
            self.error(
                Diagnostic::error("SMTP `username` and `password` go together")
                    .with_span(s)
                    .with_hint("set both for SMTP AUTH, or neither for a relay without authentication"),
            );
            *ok = false;
        }
        if let Some(f) = &from {
            if !f.contains('@') {
                let s = at(self, "from");
                self.error(
                    Diagnostic::error(format!("`{f}` is not an email address"))
                        .with_span(s)
                        .with_hint("write from = \"watchkeep@example.com\""),
                );
                *ok = false;
            }
        }
        for (name, v) in [("host", host.is_none()), ("from", from.is_none())] {
            if v && body.get_attribute(name).is_some() && *ok {
                self.null_required(d, body, name);
                *ok = false;
            }
        }
        Some(Smtp {
            host: host?,
            port,
            starttls: starttls.unwrap_or_else(|| "required".to_string()),
            username,
            password,
            from: from?,
            ca_file,
        })
    }

    // ---- thresholds, alerts, baselines ---------------------------------------------------------

    fn duration(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<String>, Reported> {
        let Some(s) = self.string(d, body, name)? else { return Ok(None) };
        if is_duration(&s) {
            return Ok(Some(s));
        }
        let span = self.span(d, body.get_attribute(name).and_then(|a| a.value.span()));
        Err(self.error(
            Diagnostic::error(format!("invalid duration \"{s}\""))
                .with_span(span)
                .with_hint("write a whole number followed by s, m, h or d, e.g. \"5m\""),
        ))
    }

    /// `above`/`below`/`warning`/`for`/`severity`; `direction_required` for alerts.
    fn threshold(
        &mut self,
        d: usize,
        body: &Body,
        header: &Span,
        direction_required: bool,
    ) -> Result<Threshold, Reported> {
        let mut failed = None;
        let t = Threshold {
            above: keep(&mut failed, self.number(d, body, "above")),
            below: keep(&mut failed, self.number(d, body, "below")),
            warning: keep(&mut failed, self.number(d, body, "warning")),
            for_duration: keep(&mut failed, self.duration(d, body, "for")),
            severity: keep(&mut failed, self.one_of(d, body, "severity", SEVERITIES)),
        };
        if let Some(reported) = failed {
            return Err(reported);
        }
        let attr_span =
            |this: &Self, name: &str| this.span(d, body.get_attribute(name).and_then(|a| a.value.span()));
        match (t.above, t.below) {
            (Some(_), Some(_)) => {
                let span = attr_span(self, "below");
                return Err(self.error(
                    Diagnostic::error("set either `above` or `below`, not both")
                        .with_span(span)
                        .with_hint("use two alerts for a range"),
                ));
            }
            (None, None) if direction_required => {
                return Err(self.error(
                    Diagnostic::error("an alert needs a threshold: `above` or `below`")
                        .with_span(header.clone())
                        .with_hint("add above = <number> (or below = <number>)"),
                ));
            }
            _ => {}
        }
        if let Some(w) = t.warning {
            let bad = match (t.above, t.below) {
                (Some(a), _) if w >= a => {
                    Some(format!("the warning threshold ({w}) must be lower than `above` ({a})"))
                }
                (_, Some(b)) if w <= b => {
                    Some(format!("the warning threshold ({w}) must be higher than `below` ({b})"))
                }
                _ => None,
            };
            if let Some(msg) = bad {
                let span = attr_span(self, "warning");
                return Err(self.error(
                    Diagnostic::error(msg)
                        .with_span(span)
                        .with_hint("warning fires before critical: move it towards normal"),
                ));
            }
        }
        Ok(t)
    }

    fn routes(&mut self, d: usize, body: &Body) -> Result<Vec<String>, Reported> {
        let mut failed = None;
        let route = keep(&mut failed, self.reference(d, body, "route", "route"));
        let routes = keep_vec(&mut failed, self.references(d, body, "routes", "route"));
        if route.is_some() && !routes.is_empty() {
            let span = self.span(d, body.get_attribute("routes").and_then(|a| a.key.span()));
            return Err(self.error(
                Diagnostic::error("set either `route` or `routes`, not both")
                    .with_span(span)
                    .with_hint("put every route in routes = [route.a, route.b]"),
            ));
        }
        match failed {
            None => Ok(route.into_iter().chain(routes).collect()),
            Some(reported) => Err(reported),
        }
    }

    pub(super) fn eval_alert(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let header = self.header_span(d);
        let mut ok = true;
        let scope = take(&mut ok, self.reference(d, body, "scope", "inventory"));
        let kinds = take_vec(&mut ok, self.list_one_of(d, body, "kinds", KINDS));
        let components = take_vec(&mut ok, self.references(d, body, "components", "component"));
        let metric = match self.value(d, body, "metric") {
            Ok(Some((Value::String(s), span))) => Some((s, span)),
            Ok(Some((Value::Object(o), span))) => match o.get("name").and_then(Value::as_str) {
                Some(n) => Some((n.to_string(), span)),
                None => {
                    self.type_error(
                        "metric",
                        "a metric name or metric.<name>",
                        &Value::Object(o),
                        span,
                        "metric = \"cpu\"",
                    );
                    None
                }
            },
            Ok(Some((other, span))) => {
                self.type_error("metric", "a metric name or metric.<name>", &other, span, "metric = \"cpu\"");
                None
            }
            Ok(None) => {
                self.null_required(d, body, "metric");
                None
            }
            Err(_) => None,
        };
        let threshold = self.threshold(d, body, &header, true);
        let routes = take_vec(&mut ok, self.routes(d, body));
        let runbook = take(&mut ok, self.string(d, body, "runbook"));
        let message = take(&mut ok, self.string(d, body, "message"));
        let (Some((metric, metric_span)), Ok(threshold), true) = (metric, threshold, ok) else {
            return false;
        };
        let full = self.full_name(d);
        let m = self.decls[d].module;
        let local = self.decls[d].name.clone();
        self.scopes[m].set("alert", &local, json_to_hcl(&json!({ "name": full })));
        self.cfg.alerts.insert(
            full.clone(),
            Alert {
                name: full,
                scope,
                kinds,
                components,
                metric,
                metric_span,
                threshold,
                routes,
                runbook,
                message,
                span: header.clone(),
            },
        );
        self.add_instance(d, self.addr(d), header);
        true
    }

    pub(super) fn eval_baseline(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let header = self.header_span(d);
        let mut ok = true;
        let scope = take(&mut ok, self.reference(d, body, "scope", "inventory"));
        let kinds = take_vec(&mut ok, self.list_one_of(d, body, "kinds", KINDS));
        let routes = take_vec(&mut ok, self.routes(d, body));
        let runbook = take(&mut ok, self.string(d, body, "runbook"));
        let mut overrides = BTreeMap::new();
        for b in body.blocks().filter(|b| b.ident.as_str() == "override") {
            let Some(metric) = b.labels.first().map(|l| l.as_str().to_string()) else { continue };
            let span = self.span(d, Some(header_range(b)));
            if overrides.contains_key(&metric) {
                self.error(
                    Diagnostic::error(format!("`override \"{metric}\"` is given twice"))
                        .with_span(span)
                        .with_hint("merge the two override blocks"),
                );
                ok = false;
                continue;
            }
            let threshold = self.threshold(d, &b.body, &span, false);
            let enabled = take(&mut ok, self.boolean(d, &b.body, "enabled"));
            match threshold {
                Ok(threshold) => {
                    overrides.insert(metric, Override { threshold, enabled, span });
                }
                Err(_) => ok = false,
            }
        }
        if !ok {
            return false;
        }
        let full = self.full_name(d);
        let m = self.decls[d].module;
        let local = self.decls[d].name.clone();
        self.scopes[m].set("baseline", &local, json_to_hcl(&json!({ "name": full })));
        self.cfg.baselines.insert(
            full.clone(),
            Baseline { name: full, scope, kinds, routes, runbook, overrides, span: header.clone() },
        );
        self.add_instance(d, self.addr(d), header);
        true
    }

    pub(super) fn eval_metric(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let header = self.header_span(d);
        let mut ok = true;
        let unit = take(&mut ok, self.string(d, body, "unit"));
        let mut metric = MetricDef {
            name: self.full_name(d),
            unit: unit.clone(),
            datadog_query: None,
            cloudwatch: None,
            newrelic: None,
            span: header.clone(),
        };
        for b in body.blocks() {
            match b.ident.as_str() {
                "datadog" => {
                    let query = self.string(d, &b.body, "query");
                    if matches!(query, Ok(None)) {
                        self.null_required(d, &b.body, "query");
                        ok = false;
                    }
                    metric.datadog_query = take(&mut ok, query);
                }
                "cloudwatch" => match self.body_json(d, &b.body, &[]) {
                    Ok(o) => metric.cloudwatch = Some(Value::Object(o)),
                    Err(_) => ok = false,
                },
                "newrelic" => match self.body_json(d, &b.body, &[]) {
                    Ok(o) => metric.newrelic = Some(Value::Object(o)),
                    Err(_) => ok = false,
                },
                _ => {}
            }
        }
        if ok && metric.datadog_query.is_none() && metric.cloudwatch.is_none() && metric.newrelic.is_none() {
            self.error(
                Diagnostic::error(format!("metric `{}` has no vendor mapping", self.decls[d].name))
                    .with_span(header.clone())
                    .with_hint(
                        "add datadog { query = \"...\" }, cloudwatch { ... } or newrelic { nrql = \"...\" }",
                    ),
            );
            ok = false;
        }
        if !ok {
            return false;
        }
        let m = self.decls[d].module;
        let local = self.decls[d].name.clone();
        self.scopes[m].set("metric", &local, json_to_hcl(&json!({ "name": metric.name, "unit": unit })));
        self.cfg.metrics.insert(metric.name.clone(), metric);
        self.add_instance(d, self.addr(d), header);
        true
    }

    pub(super) fn eval_dashboard(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let header = self.header_span(d);
        let mut ok = true;
        let scope = take(&mut ok, self.reference(d, body, "scope", "inventory"));
        let kinds = take_vec(&mut ok, self.list_one_of(d, body, "kinds", KINDS));
        let title = take(&mut ok, self.string(d, body, "title"));
        if !ok {
            return false;
        }
        let full = self.full_name(d);
        let m = self.decls[d].module;
        let local = self.decls[d].name.clone();
        self.scopes[m].set("dashboard", &local, json_to_hcl(&json!({ "name": full })));
        self.cfg
            .dashboards
            .insert(full.clone(), Dashboard { name: full, scope, kinds, title, span: header.clone() });
        self.add_instance(d, self.addr(d), header);
        true
    }

    // ---- raw vendor resources ------------------------------------------------------------------

    /// Attributes as JSON; nested blocks as objects (labels as nested keys), a block repeated
    /// without labels as an array of objects. `null` attributes are left out (unset).
    pub(crate) fn body_json(
        &mut self,
        d: usize,
        body: &Body,
        skip: &[&str],
    ) -> Result<Map<String, Value>, Reported> {
        self.body_json_with(d, body, skip, false)
    }

    /// [`Self::body_json`]; with `keep_nulls`, an attribute written as `null` is kept as `null`
    /// (a raw resource's body is sent as written: `priority = null` clears a Datadog monitor's
    /// priority, which an absent field would leave as it is).
    fn body_json_with(
        &mut self,
        d: usize,
        body: &Body,
        skip: &[&str],
        keep_nulls: bool,
    ) -> Result<Map<String, Value>, Reported> {
        let mut out = Map::new();
        let mut failed = None;
        let mut groups: Vec<(String, Vec<&Block>)> = Vec::new();
        for s in body.iter() {
            if let Some(a) = s.as_attribute() {
                let key = a.key.as_str();
                if skip.contains(&key) {
                    continue;
                }
                match self.eval_json(d, &a.value) {
                    Ok(Value::Null) if !keep_nulls => {}
                    Ok(v) => {
                        out.insert(key.to_string(), v);
                    }
                    Err(reported) => failed = Some(reported),
                }
            } else if let Some(b) = s.as_block() {
                let ident = b.ident.as_str().to_string();
                match groups.iter_mut().find(|(k, _)| *k == ident) {
                    Some((_, v)) => v.push(b),
                    None => groups.push((ident, vec![b])),
                }
            }
        }
        for (ident, blocks) in groups {
            if out.contains_key(&ident) {
                let span = self.span(d, blocks[0].ident.span());
                failed = Some(
                    self.error(
                        Diagnostic::error(format!("`{ident}` is set both as an attribute and as a block"))
                            .with_span(span)
                            .with_hint("use one form: either a block or an attribute"),
                    ),
                );
                continue;
            }
            let labelled = blocks.iter().all(|b| !b.labels.is_empty());
            let mut values = Vec::new();
            for b in &blocks {
                match self.body_json(d, &b.body, &[]) {
                    Ok(inner) => {
                        let v = b.labels.iter().rev().fold(Value::Object(inner), |acc, l| {
                            let mut o = Map::new();
                            o.insert(l.as_str().to_string(), acc);
                            Value::Object(o)
                        });
                        values.push(v);
                    }
                    Err(reported) => failed = Some(reported),
                }
            }
            let value = if labelled {
                let mut merged = Value::Object(Map::new());
                for v in values {
                    merge_into(&mut merged, v);
                }
                merged
            } else if values.len() == 1 {
                values.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(values)
            };
            out.insert(ident, value);
        }
        match failed {
            None => Ok(out),
            Some(reported) => Err(reported),
        }
    }

    /// `depends_on = [datadog_monitor.x]` → full addresses (read from the syntax, not evaluated).
    fn depends_on(&mut self, d: usize, body: &Body) -> Result<Vec<String>, Reported> {
        let Some(a) = body.get_attribute("depends_on") else { return Ok(Vec::new()) };
        let prefix = self.prefix(self.decls[d].module).to_string();
        let bad = |this: &mut Self, span: Span| {
            this.error(
                Diagnostic::error("`depends_on` must be a list of block references")
                    .with_span(span)
                    .with_hint("write depends_on = [datadog_monitor.other]"),
            )
        };
        let Expression::Array(items) = &a.value else {
            let span = self.span(d, a.value.span());
            return Err(bad(self, span));
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let mut c = Collected::default();
            c.expr(item);
            let is_ref =
                matches!(item, Expression::Traversal(_) | Expression::Variable(_)) && c.refs.len() == 1;
            let name =
                c.refs.first().and_then(|r| r.parts.first()).and_then(|p| p.name()).map(str::to_string);
            match (is_ref, name) {
                (true, Some(name)) => out.push(format!("{prefix}{}.{name}", c.refs[0].root)),
                _ => {
                    let span = self.span(d, item.span());
                    return Err(bad(self, span));
                }
            }
        }
        Ok(out)
    }

    pub(super) fn eval_resource(&mut self, d: usize) -> bool {
        let Some(block) = self.block_of(d) else { return false };
        let body = &block.body;
        let m = self.decls[d].module;
        let rtype = self.decls[d].root.clone();
        let label = self.decls[d].name.clone();
        let base = self.addr(d);
        let span = self.header_span(d);
        let Ok(depends_on) = self.depends_on(d, body) else { return false };
        enum Inst {
            Single,
            Key(String, hcl::Value),
            Index(u64),
        }
        let instances: Vec<Inst> = if self.decls[d].has_for_each {
            match self.for_each(d, body) {
                Ok(v) => v.into_iter().map(|(k, v)| Inst::Key(k, v)).collect(),
                Err(_) => return false,
            }
        } else if let Some(a) = body.get_attribute("count") {
            let Ok(v) = self.eval_json(d, &a.value) else { return false };
            let n =
                v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64));
            match n {
                Some(n) if n <= 10_000 => (0..n).map(Inst::Index).collect(),
                _ => {
                    let s = self.span(d, a.value.span());
                    self.error(
                        Diagnostic::error(format!(
                            "`count` must be a whole number from 0 to 10000, got {}",
                            describe(&v)
                        ))
                        .with_span(s)
                        .with_hint("write count = 3, or use for_each for named instances"),
                    );
                    return false;
                }
            }
        } else {
            vec![Inst::Single]
        };
        let mut ok = true;
        let mut root_map = hcl::Map::new();
        let mut root_list = Vec::new();
        let is_single = matches!(instances.first(), Some(Inst::Single));
        for inst in instances {
            let (address, key) = match &inst {
                Inst::Single => (base.clone(), None),
                Inst::Key(k, v) => {
                    self.set_iteration(d, "each", Self::each_value(k, v.clone()));
                    (format!("{base}[{}]", Value::String(k.clone())), Some(k.clone()))
                }
                Inst::Index(i) => {
                    let mut o = hcl::Map::new();
                    o.insert("index".to_string(), hcl::Value::from(*i));
                    self.set_iteration(d, "count", hcl::Value::Object(o));
                    (format!("{base}[{i}]"), Some(i.to_string()))
                }
            };
            let attrs = match self.body_json_with(d, body, &["for_each", "count", "depends_on"], true) {
                Ok(a) => a,
                Err(_) => {
                    ok = false;
                    continue;
                }
            };
            let mut obj = json!({ "name": label, "address": address, "key": key });
            if vendors::resolves_id_refs(&rtype) {
                // Resolved once the object exists (see `vendors::resolves_id_refs`).
                obj["id"] = json!(format!("ref:{address}"));
            }
            let obj = json_to_hcl(&obj);
            match &inst {
                Inst::Single => {}
                Inst::Key(k, _) => {
                    root_map.insert(k.clone(), obj.clone());
                }
                Inst::Index(_) => root_list.push(obj.clone()),
            }
            self.cfg.resources.insert(
                address.clone(),
                RawResource {
                    address: address.clone(),
                    resource_type: rtype.clone(),
                    name: label.clone(),
                    key,
                    attrs: Value::Object(attrs),
                    depends_on: depends_on.clone(),
                    span: span.clone(),
                },
            );
            self.add_instance(d, address, span.clone());
            if is_single {
                self.scopes[m].set(&rtype, &label, obj);
            }
        }
        if !is_single {
            let v = if self.decls[d].has_for_each {
                hcl::Value::Object(root_map)
            } else {
                hcl::Value::Array(root_list)
            };
            self.scopes[m].set(&rtype, &label, v);
        }
        if self.instances.get(&d).is_none_or(Vec::is_empty) {
            // Zero instances (count = 0, empty for_each): still a node in the graph.
            self.instances.insert(d, vec![base.clone()]);
            self.cfg.addresses.insert(base, span);
        }
        ok
    }
}

/// Deep-merges objects (labelled blocks with the same first label share one object).
fn merge_into(target: &mut Value, v: Value) {
    match (target, v) {
        (Value::Object(t), Value::Object(o)) => {
            for (k, v) in o {
                match t.get_mut(&k) {
                    Some(existing) => merge_into(existing, v),
                    None => {
                        t.insert(k, v);
                    }
                }
            }
        }
        (t, v) => *t = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in ["5m", "30s", "1h", "2d", "120m"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["5", "m", "5 m", "-5m", "5min", "1.5h", ""] {
            assert!(!is_duration(bad), "{bad}");
        }
    }
}
