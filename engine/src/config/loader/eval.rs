//! Stage 4: declarations evaluated in dependency order with hcl-rs. Each result becomes part of
//! the model ([`super::decode`]) and of the evaluation context of later declarations.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use hcl::edit::expr::Expression;
use hcl::edit::Span as _;
use hcl::eval::Context;
use serde_json::Value;

use super::inputs::{Assign, VarInputs};
use super::{Decl, FileEntry, Kind, ModuleInfo, NameCheck, Stage, Target, Tree};
use crate::config::functions::{self, BaseDirGuard};
use crate::config::limits;
use crate::config::model::{Config, SourceFile, Span};
use crate::config::refs::Collected;
use crate::config::subst::{follow, substitute};
use crate::config::suggest;
use crate::config::values::{hcl_to_json, json_type_name};
use crate::config::LoadOptions;
use crate::diag::{Diagnostic, Diagnostics, Reported};

/// Nesting limit of evaluated values. The parser limits each expression to 64 levels, but values
/// grow deeper through references (`local.b = [[local.a]]`), and converting, copying and dropping
/// them is recursive: without a limit a chain of locals overflows the stack.
const MAX_VALUE_DEPTH: usize = 256;

/// Whether lists and maps in `v` nest deeper than `max` levels (without recursing).
fn nested_deeper_than(v: &hcl::Value, max: usize) -> bool {
    let mut stack = vec![(v, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        match v {
            hcl::Value::Array(_) | hcl::Value::Object(_) if depth >= max => return true,
            hcl::Value::Array(a) => stack.extend(a.iter().map(|c| (c, depth + 1))),
            hcl::Value::Object(o) => stack.extend(o.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    false
}

pub(crate) struct Scope {
    pub(super) ctx: Context<'static>,
    pub(super) roots: BTreeMap<String, hcl::Map<String, hcl::Value>>,
    dirty: BTreeSet<String>,
    /// The current instance's `each` object (`key`, `value`), read by `taint.rs` to know whether
    /// `each.value.x` reaches a secret.
    pub(super) iteration: Option<hcl::Value>,
}

impl Scope {
    fn new(module_dir: &Path, root_dir: &Path) -> Scope {
        let mut ctx = Context::new();
        functions::declare_all(&mut ctx);
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut path = hcl::Map::new();
        path.insert("module".to_string(), hcl::Value::from(module_dir.display().to_string()));
        path.insert("root".to_string(), hcl::Value::from(root_dir.display().to_string()));
        path.insert("cwd".to_string(), hcl::Value::from(cwd.display().to_string()));
        ctx.declare_var("path", hcl::Value::Object(path));
        Scope { ctx, roots: BTreeMap::new(), dirty: BTreeSet::new(), iteration: None }
    }

    pub fn set(&mut self, root: &str, key: &str, value: hcl::Value) {
        self.roots.entry(root.to_string()).or_default().insert(key.to_string(), value);
        self.dirty.insert(root.to_string());
    }

    /// Re-declares the roots an evaluation is about to read (lazily, since roots can be large).
    fn refresh<'r>(&mut self, roots: impl Iterator<Item = &'r str>) {
        for r in roots {
            if self.dirty.remove(r) {
                let obj = self.roots.get(r).cloned().unwrap_or_default();
                self.ctx.declare_var(r.to_string(), hcl::Value::Object(obj));
            } else if !self.roots.contains_key(r) {
                self.roots.insert(r.to_string(), hcl::Map::new());
                self.ctx.declare_var(r.to_string(), hcl::Value::Object(hcl::Map::new()));
            }
        }
    }
}

/// What evaluation produced, for the checks across blocks.
pub(super) struct Evaluated {
    pub(super) cfg: Config,
    pub(super) diags: Diagnostics,
    /// Addresses each declaration produced (instances), for edges.
    pub(super) instances: HashMap<usize, Vec<String>>,
    /// Component (full name) → its inventory edge (file rows and inline blocks).
    pub(super) memberships: Vec<(String, String, Span)>,
    pub(super) name_checks: Vec<NameCheck>,
    /// (module, block label) → component name, for component blocks that set `name`.
    pub(super) component_alias: HashMap<(usize, String), String>,
}

/// Evaluates the declarations in `order` (those in `failed` and those depending on them are
/// skipped) into the model.
pub(super) fn evaluate<'a>(
    opts: &'a LoadOptions,
    tree: &'a Tree,
    decls: &'a [Decl<'a>],
    inputs: VarInputs,
    order: &[usize],
    failed: HashSet<usize>,
    diags: Diagnostics,
) -> Evaluated {
    let Tree { files, modules } = tree;
    let mut ev = Evaluator::new(opts, files, modules, decls, inputs, failed, diags);
    ev.run(order);
    hide_secrets(&mut ev.diags, &ev.cfg.sensitive_values);
    Evaluated {
        cfg: ev.cfg,
        diags: ev.diags,
        instances: ev.instances,
        memberships: ev.memberships,
        name_checks: ev.name_checks,
        component_alias: ev.component_alias,
    }
}

/// An error message about a sensitive value never prints it (issue 15): every secret known after
/// evaluation, derived ones included, is replaced in the diagnostics' text. A fixed word, not the
/// redactor's keyed tag: there is no state lineage to key it with here.
fn hide_secrets(diags: &mut Diagnostics, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let hide = |text: &mut String| {
        for secret in &sorted {
            if crate::redact::holds_secret(text, secret) {
                *text = if text == *secret {
                    "(sensitive)".to_string()
                } else {
                    text.replace(secret.as_str(), "(sensitive)")
                };
            }
        }
    };
    for d in diags.0.iter_mut() {
        hide(&mut d.summary);
        d.detail.iter_mut().for_each(&hide);
        d.hint.iter_mut().for_each(&hide);
    }
}

/// The evaluation stage: its inputs, the scopes and the model being built. Its fields are read
/// and written by the decoders of each block kind (`decode.rs`, `attrs.rs`; `maintenance.rs`,
/// outside this module, reads the declarations and writes the model).
pub(crate) struct Evaluator<'a> {
    pub(super) opts: &'a LoadOptions,
    files: &'a [FileEntry],
    pub(super) modules: &'a [ModuleInfo],
    pub(in crate::config) decls: &'a [Decl<'a>],
    pub(super) diags: Diagnostics,
    pub(in crate::config) cfg: Config,
    pub(super) scopes: Vec<Scope>,
    failed: HashSet<usize>,
    /// Root-module variable assignments from files and `-var`, lowest precedence first.
    pub(super) file_assigns: HashMap<String, Vec<Assign>>,
    pub(super) cli_assigns: HashMap<String, Vec<Assign>>,
    /// Values for a module's variables, from its `module` block.
    pub(super) module_inputs: HashMap<usize, BTreeMap<String, (Value, Span)>>,
    /// Addresses each declaration produced (instances), for edges.
    pub(super) instances: HashMap<usize, Vec<String>>,
    /// Component (full name) → its inventory edge (file rows and inline blocks).
    pub(super) memberships: Vec<(String, String, Span)>,
    pub(super) name_checks: Vec<NameCheck>,
    /// (module, component local name) → producing declaration.
    pub(super) component_producer: HashMap<(usize, String), usize>,
    /// (module, block label) → component name, for component blocks that set `name`.
    pub(super) component_alias: HashMap<(usize, String), String>,
}

impl<'a> Stage<'a> for Evaluator<'a> {
    fn files(&self) -> &'a [FileEntry] {
        self.files
    }

    fn modules(&self) -> &'a [ModuleInfo] {
        self.modules
    }

    fn decls(&self) -> &[Decl<'a>] {
        self.decls
    }

    fn diags(&mut self) -> &mut Diagnostics {
        &mut self.diags
    }
}

impl<'a> Evaluator<'a> {
    fn new(
        opts: &'a LoadOptions,
        files: &'a [FileEntry],
        modules: &'a [ModuleInfo],
        decls: &'a [Decl<'a>],
        inputs: VarInputs,
        failed: HashSet<usize>,
        diags: Diagnostics,
    ) -> Evaluator<'a> {
        let scopes = modules.iter().map(|m| Scope::new(&m.dir, &opts.dir)).collect();
        let mut cfg = Config { root: opts.dir.clone(), ..Config::default() };
        cfg.files = files
            .iter()
            .map(|f| SourceFile { path: f.src.display.clone(), text: f.src.text.clone() })
            .collect();
        Evaluator {
            opts,
            files,
            modules,
            decls,
            diags,
            cfg,
            scopes,
            failed,
            file_assigns: inputs.file_assigns,
            cli_assigns: inputs.cli_assigns,
            module_inputs: HashMap::new(),
            instances: HashMap::new(),
            memberships: Vec::new(),
            name_checks: Vec::new(),
            component_producer: HashMap::new(),
            component_alias: HashMap::new(),
        }
    }

    /// Evaluates the declarations in `order`, skipping those that failed or depend on one that did.
    fn run(&mut self, order: &[usize]) {
        for &d in order {
            if self.failed.contains(&d) {
                continue;
            }
            if self.decls[d].deps.iter().any(|t| self.failed.contains(t)) {
                self.failed.insert(d);
                continue;
            }
            if !self.evaluate(d) {
                self.failed.insert(d);
            }
            if self.cfg.addresses.len() > limits::MAX_OBJECTS {
                let span = self.header_span(d);
                self.error(
                    Diagnostic::error(format!(
                        "this block brings the configuration over {} objects",
                        limits::MAX_OBJECTS
                    ))
                    .with_span(span)
                    .with_hint(limits::HINT),
                );
                return; // every further declaration would only add to it
            }
        }
    }

    fn evaluate(&mut self, d: usize) -> bool {
        let m = self.decls[d].module;
        // Component references whose names were only known after evaluation.
        let mut ok = true;
        let comps: Vec<(String, Range<usize>)> = self.decls[d]
            .refs
            .iter()
            .filter_map(|r| match &r.target {
                Target::Component(n) => Some((n.clone(), r.raw.range(1))),
                _ => None,
            })
            .collect();
        for (name, range) in comps {
            if !self.component_producer.contains_key(&(m, name.clone())) {
                let mut cands: Vec<String> = self
                    .component_producer
                    .keys()
                    .filter(|(mm, _)| *mm == m)
                    .map(|(_, n)| format!("component.{n}"))
                    .collect();
                cands.sort();
                let text = format!("component.{name}");
                let span = self.span(d, Some(range));
                self.error(
                    Diagnostic::error(format!("unknown reference `{text}`")).with_span(span).with_hint(
                        match suggest::closest(&text, cands.iter().map(String::as_str)) {
                            Some(c) => format!("did you mean `{c}`?"),
                            None => "no component has that name; check the inventory and component blocks"
                                .to_string(),
                        },
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return false;
        }
        let _dir = BaseDirGuard::set(&self.modules[m].dir.clone());
        match self.decls[d].kind {
            Kind::Settings => self.eval_settings(d),
            Kind::Variable => self.eval_variable(d),
            Kind::Local => self.eval_local(d),
            Kind::Provider => self.eval_provider(d),
            Kind::Inventory => self.eval_inventory(d),
            Kind::Component => self.eval_component(d),
            Kind::Route => self.eval_route(d),
            Kind::Alert => self.eval_alert(d),
            Kind::Baseline => self.eval_baseline(d),
            Kind::Metric => self.eval_metric(d),
            Kind::Dashboard => self.eval_dashboard(d),
            Kind::Maintenance => self.eval_maintenance(d),
            Kind::Resource => self.eval_resource(d),
            Kind::Module => self.eval_module(d),
            Kind::Output => self.eval_output(d),
            Kind::Coverage => self.eval_coverage(d),
        }
    }

    /// Records the address a declaration produced.
    pub fn add_instance(&mut self, d: usize, address: String, span: Span) {
        self.cfg.addresses.insert(address.clone(), span);
        self.instances.entry(d).or_default().push(address);
    }

    /// Evaluates an expression of declaration `d`; on failure reports a located diagnostic.
    pub fn eval(&mut self, d: usize, e: &Expression) -> Result<hcl::Value, Reported> {
        match self.eval_raw(d, e) {
            Ok(v) if nested_deeper_than(&v, MAX_VALUE_DEPTH) => {
                let span = self.span(d, e.span());
                Err(self.error(
                    Diagnostic::error(format!(
                        "cannot evaluate expression: the value is nested deeper than {MAX_VALUE_DEPTH} levels"
                    ))
                    .with_span(span)
                    .with_hint("flatten the value: lists and maps nested this deep are not supported"),
                ))
            }
            Ok(v) => {
                self.taint(d, e, &v)?;
                Ok(v)
            }
            Err(err) => {
                let mut diag = self.eval_error(d, e, &err);
                // The message may quote an intermediate value (`upper(var.key)` in a failed
                // `tonumber`), never registered since the evaluation failed: if the expression
                // reads a secret, only the failing operation is named.
                if self.reads_secret(d, e) {
                    let what = match err.kind() {
                        hcl::eval::ErrorKind::FuncCall(name, _)
                            if functions::operator_of(&name.to_string()).is_none() =>
                        {
                            format!("call to `{name}` failed")
                        }
                        _ => "the expression failed".to_string(),
                    };
                    diag.summary = format!(
                        "cannot evaluate expression: {what} (the details are not shown: the expression reads a sensitive value)"
                    );
                }
                Err(self.error(diag))
            }
        }
    }

    /// Evaluates `e` in the scope of declaration `d`, reporting nothing and registering no
    /// secret (taint.rs evaluates the parts of an expression with it).
    pub(super) fn eval_raw(&mut self, d: usize, e: &Expression) -> Result<hcl::Value, hcl::eval::Error> {
        let m = self.decls[d].module;
        let mut substituted = e.clone();
        {
            let roots = &self.scopes[m].roots;
            substitute(&mut substituted, &mut |root, parts| {
                if matches!(root, "each" | "count" | "path") {
                    return None; // small, and set per instance in the context
                }
                roots.get(root).and_then(|r| follow(r, parts))
            });
        }
        // Whatever is left (bare roots, dynamic indexes) is read from the context.
        let mut rest = Collected::default();
        rest.expr(&substituted);
        let roots: BTreeSet<String> = rest.refs.into_iter().map(|r| r.root).collect();
        self.scopes[m]
            .refresh(roots.iter().map(String::as_str).filter(|r| !matches!(*r, "each" | "count" | "path")));
        let computed = !matches!(e, Expression::Traversal(_) | Expression::Variable(_));
        functions::evaluate_with(substituted, &self.scopes[m].ctx, computed)
    }

    pub fn eval_json(&mut self, d: usize, e: &Expression) -> Result<Value, Reported> {
        self.eval(d, e).map(|v| hcl_to_json(&v))
    }

    fn eval_error(&self, d: usize, e: &Expression, err: &hcl::eval::Error) -> Diagnostic {
        use hcl::eval::ErrorKind;
        let range = locate_error(e, err).or_else(|| e.span());
        let span = self.span(d, range);
        let (summary, hint) = match err.kind() {
            ErrorKind::FuncCall(name, msg) if functions::operator_of(&name.to_string()).is_some() => {
                (msg.clone(), "check the operands".to_string())
            }
            ErrorKind::FuncCall(name, msg)
                if [limits::SIZE_FN, limits::LOOP_FN].contains(&name.to_string().as_str()) =>
            {
                (msg.clone(), limits::HINT.to_string())
            }
            ErrorKind::FuncCall(name, msg) => {
                (format!("call to `{name}` failed: {msg}"), "check the function's arguments".to_string())
            }
            ErrorKind::NoSuchKey(k) => (
                format!("no attribute or key `{k}` here"),
                "check the name against the value it is looked up in (use lookup(map, key, default) for optional keys)"
                    .to_string(),
            ),
            ErrorKind::Index(i) => (format!("index {i} is out of range"), "check the list's length".to_string()),
            ErrorKind::UndefinedVar(v) => (format!("unknown name `{v}`"), "declare it, or quote it if it is a string".to_string()),
            ErrorKind::UndefinedFunc(f) => (
                format!("unknown function `{f}`"),
                format!("available functions: {}", functions::FUNCTIONS.join(", ")),
            ),
            ErrorKind::Unexpected(v, expected) => {
                let got = json_type_name(&hcl_to_json(v));
                (format!("expected {expected}, got a {got}"), "fix the value's type".to_string())
            }
            other => (other.to_string(), "fix the expression".to_string()),
        };
        Diagnostic::error(format!("cannot evaluate expression: {summary}")).with_span(span).with_hint(hint)
    }
}

/// Finds the sub-expression an evaluation error is about, for a precise location.
fn locate_error(e: &Expression, err: &hcl::eval::Error) -> Option<Range<usize>> {
    if let hcl::eval::ErrorKind::FuncCall(name, _) = err.kind() {
        let wanted = name.to_string();
        if wanted == limits::LOOP_FN {
            return find_expr(e, &|x| matches!(x, Expression::ForExpr(_)));
        }
        // Arithmetic is evaluated by checked functions standing for the operators.
        if let Some(op) = functions::operator_of(&wanted) {
            return find_expr(e, &|x| matches!(x, Expression::BinaryOp(b) if *b.operator.value() == op));
        }
        return find_expr(e, &|x| matches!(x, Expression::FuncCall(f) if f.name.name.as_str() == wanted));
    }
    let target = err.expr()?;
    find_expr(e, &|x| hcl::Expression::from(x.clone()) == *target)
}

/// Deepest-first search for a sub-expression matching `pred`.
fn find_expr(e: &Expression, pred: &dyn Fn(&Expression) -> bool) -> Option<Range<usize>> {
    let children: Vec<&Expression> = match e {
        Expression::Array(a) => a.iter().collect(),
        Expression::Object(o) => o.iter().map(|(_, v)| v.expr()).collect(),
        Expression::Parenthesis(p) => vec![p.inner()],
        Expression::Conditional(c) => vec![&c.cond_expr, &c.true_expr, &c.false_expr],
        Expression::FuncCall(f) => f.args.iter().collect(),
        Expression::Traversal(t) => vec![&t.expr],
        Expression::UnaryOp(u) => vec![&u.expr],
        Expression::BinaryOp(b) => vec![&b.lhs_expr, &b.rhs_expr],
        Expression::ForExpr(f) => {
            let mut v = vec![&f.intro.collection_expr, &f.value_expr];
            v.extend(f.key_expr.as_ref());
            v.extend(f.cond.as_ref().map(|c| &c.expr));
            v
        }
        _ => Vec::new(),
    };
    for c in children {
        if let Some(r) = find_expr(c, pred) {
            return Some(r);
        }
    }
    if pred(e) {
        e.span()
    } else {
        None
    }
}
