//! The loader: files → declarations → references → dependency order → evaluation into the model.
//!
//! 1. Read every `*.hcl` of the directory (and of each local module) and parse it with hcl-edit,
//!    which keeps byte spans.
//! 2. Turn top-level blocks into declarations with addresses (`var.x`, `alert.cpu`,
//!    `datadog_monitor.m`, `module.team.route.oncall`).
//! 3. Collect every reference in each declaration, resolve it to the declaration it names
//!    (unknown references are errors at the reference), and order declarations by dependency
//!    (cycles are errors at the reference that closes them).
//! 4. Evaluate declarations in that order with hcl-rs; each result becomes part of the model and
//!    of the evaluation context of later declarations.
//!
//! Diagnostics are collected throughout; a declaration whose dependency failed is skipped
//! silently so one mistake does not cascade into many messages.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Attribute, Block, Body};
use hcl::edit::Span as _;
use hcl::eval::Context;
use serde_json::Value;

use super::functions::{self, BaseDirGuard};
use super::model::{Config, Edge, SourceFile, Span};
use super::refs::{Collected, Part, RawRef};
use super::schema::{self, AttrDef, BlockDef};
use super::source::{display_path, normalise, parse_hcl, SourceText};
use super::subst::{follow, substitute};
use super::suggest;
use super::values::{hcl_to_json, json_type_name, scalar_string};
use super::LoadOptions;
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{find_cycles, stable_topo};
use crate::vendors;

/// Module nesting limit, to stop runaway recursion.
const MAX_MODULE_DEPTH: usize = 8;

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

pub(crate) struct FileEntry {
    pub src: SourceText,
    pub body: Body,
    pub module: usize,
}

pub(crate) struct ModuleInfo {
    /// `""` for the root, `module.team.` inside `module "team"`.
    pub prefix: String,
    pub dir: PathBuf,
    /// Parent module and the call's name.
    pub parent: Option<(usize, String)>,
    /// The `source` of the `module` block that calls it, where problems reading it are reported.
    pub source: Option<Span>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Settings,
    Variable,
    Local,
    Provider,
    Inventory,
    Component,
    Route,
    Alert,
    Baseline,
    Metric,
    Dashboard,
    Maintenance,
    Resource,
    Module,
    Output,
}

/// Reference roots that name a block of one kind.
const BLOCK_ROOTS: &[(&str, Kind)] = &[
    ("var", Kind::Variable),
    ("local", Kind::Local),
    ("inventory", Kind::Inventory),
    ("route", Kind::Route),
    ("alert", Kind::Alert),
    ("baseline", Kind::Baseline),
    ("metric", Kind::Metric),
    ("dashboard", Kind::Dashboard),
];

/// Every name an expression may start with (for suggestions).
fn known_roots() -> Vec<&'static str> {
    let mut v: Vec<&str> = BLOCK_ROOTS.iter().map(|(r, _)| *r).collect();
    v.extend(["component", "module", "each", "count", "path"]);
    v.extend(vendors::resource_types().iter().copied());
    v
}

pub(crate) struct Decl<'a> {
    pub kind: Kind,
    /// First part of the address: `var`, `local`, `alert`, `datadog_monitor`, `module`, ...
    pub root: String,
    pub name: String,
    pub module: usize,
    pub file: usize,
    pub block: Option<&'a Block>,
    /// For `locals` entries.
    pub attr: Option<&'a Attribute>,
    pub header: Range<usize>,
    pub refs: Vec<Ref>,
    pub deps: Vec<usize>,
    pub has_for_each: bool,
    pub has_count: bool,
}

impl Decl<'_> {
    pub fn local_addr(&self) -> String {
        format!("{}.{}", self.root, self.name)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Decl(usize),
    /// A component by name (from an inventory, a `for_each` block, or a component block).
    Component(String),
    /// `each`, `count`, `path`.
    Builtin,
}

#[derive(Debug, Clone)]
pub(crate) struct Ref {
    pub raw: RawRef,
    /// How many parts after the root form the address (`route.x` → 1, `module.m.out` → 2).
    pub used: usize,
    pub target: Target,
}

/// One value assignment for a root-module variable, with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Assign {
    pub value: AssignValue,
    pub origin: String,
    pub span: Option<Span>,
}

#[derive(Debug, Clone)]
pub(crate) enum AssignValue {
    /// Already a value (from a `.wkvars` file).
    Json(Value),
    /// Raw text from `-var` or the environment, interpreted by the variable's type.
    Raw(String),
}

pub(crate) struct Scope {
    pub ctx: Context<'static>,
    pub roots: BTreeMap<String, hcl::Map<String, hcl::Value>>,
    dirty: BTreeSet<String>,
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
        Scope { ctx, roots: BTreeMap::new(), dirty: BTreeSet::new() }
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

/// A name given as a plain string where a reference was expected (`scope = "production"`),
/// checked once everything is loaded.
pub(crate) struct NameCheck {
    pub kind: &'static str,
    pub name: String,
    pub span: Span,
}

pub(crate) struct Loader<'a> {
    pub opts: &'a LoadOptions,
    pub files: &'a [FileEntry],
    pub modules: Vec<ModuleInfo>,
    pub decls: Vec<Decl<'a>>,
    /// (module, local address) → declaration.
    pub index: HashMap<(usize, String), usize>,
    /// (module, component name) → the declaration that defines it statically.
    pub static_components: HashMap<(usize, String), usize>,
    /// Declarations whose component names are only known after evaluation.
    pub dynamic_producers: HashMap<usize, Vec<usize>>,
    pub diags: Diagnostics,
    pub cfg: Config,
    pub scopes: Vec<Scope>,
    pub failed: HashSet<usize>,
    /// Root-module variable assignments from files and `-var`, lowest precedence first.
    pub file_assigns: HashMap<String, Vec<Assign>>,
    pub cli_assigns: HashMap<String, Vec<Assign>>,
    /// Values for a module's variables, from its `module` block.
    pub module_inputs: HashMap<usize, BTreeMap<String, (Value, Span)>>,
    /// Addresses each declaration produced (instances), for edges.
    pub instances: HashMap<usize, Vec<String>>,
    /// Component (full name) → its inventory edge (file rows and inline blocks).
    pub memberships: Vec<(String, String, Span)>,
    pub name_checks: Vec<NameCheck>,
    /// (module, component local name) → producing declaration.
    pub component_producer: HashMap<(usize, String), usize>,
    /// (module, block label) → component name, for component blocks that set `name`.
    pub component_alias: HashMap<(usize, String), String>,
}

pub(crate) fn load(opts: &LoadOptions) -> Result<(Config, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::new();
    let (files, modules) = read_tree(opts, &mut diags);
    if diags.has_errors() {
        return Err(finish_diags(diags));
    }
    let mut loader = Loader::new(opts, &files, modules, diags);
    loader.collect_decls();
    loader.check_structure();
    loader.resolve_all();
    loader.read_var_inputs();
    loader.evaluate_all();
    loader.finish()
}

fn finish_diags(mut diags: Diagnostics) -> Diagnostics {
    let mut seen = HashSet::new();
    diags
        .0
        .retain(|d| seen.insert((d.severity, d.summary.clone(), d.span.clone().map(|s| (s.file, s.start)))));
    diags.sort();
    diags
}

/// Lists `*.hcl` files of a directory, sorted.
fn hcl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "hcl"))
        .collect();
    v.sort();
    Ok(v)
}

/// Reads and parses the root directory and every local module it calls.
fn read_tree(opts: &LoadOptions, diags: &mut Diagnostics) -> (Vec<FileEntry>, Vec<ModuleInfo>) {
    let mut files = Vec::new();
    let mut modules =
        vec![ModuleInfo { prefix: String::new(), dir: opts.dir.clone(), parent: None, source: None }];
    let mut i = 0;
    while i < modules.len() {
        let dir = modules[i].dir.clone();
        let paths = match hcl_files(&dir) {
            Ok(p) => p,
            Err(e) => {
                diags.push(
                    Diagnostic::error(format!(
                        "cannot read configuration directory `{}`: {e}",
                        display_path(&dir).display()
                    ))
                    .with_span(modules[i].source.clone())
                    .with_hint("check the path; watchkeep loads every *.hcl file in the directory"),
                );
                i += 1;
                continue;
            }
        };
        if paths.is_empty() {
            diags.push(
                Diagnostic::error(format!("no *.hcl files in `{}`", display_path(&dir).display()))
                    .with_span(modules[i].source.clone())
                    .with_hint(
                        "run watchkeep in the directory that holds your configuration, or create a main.hcl",
                    ),
            );
        }
        let first_new = files.len();
        for p in paths {
            let src = match SourceText::read(&p) {
                Ok(s) => s,
                Err(e) => {
                    diags.push(
                        Diagnostic::error(format!("cannot read `{}`: {e}", display_path(&p).display()))
                            .with_hint("check the file's permissions and that it is UTF-8 text"),
                    );
                    continue;
                }
            };
            match parse_hcl(&src) {
                Ok(body) => files.push(FileEntry { src, body, module: i }),
                Err(d) => diags.push(*d),
            }
        }
        // Local modules called from this module's files.
        let mut called = HashSet::new();
        for f in &files[first_new..] {
            for block in f.body.blocks().filter(|b| b.ident.as_str() == "module") {
                let [label] = block.labels.as_slice() else { continue };
                let name = label.as_str().to_string();
                let Some(source) = block.body.get_attribute("source") else { continue };
                let span = f.src.span(source.value.span().unwrap_or(0..0));
                let Expression::String(s) = &source.value else {
                    diags.push(
                        Diagnostic::error("module `source` must be a literal string")
                            .with_span(span)
                            .with_hint(
                                "write source = \"./modules/<name>\" (it is read before variables exist)",
                            ),
                    );
                    continue;
                };
                let s = s.value().as_str();
                if !(s.starts_with("./") || s.starts_with("../")) {
                    diags.push(
                        Diagnostic::error(format!("module source `{s}` is not a local path"))
                            .with_span(span)
                            .with_hint(
                                "only local directories are supported: start the source with ./ or ../",
                            ),
                    );
                    continue;
                }
                if !called.insert(name.clone()) {
                    continue; // reported as a duplicate declaration later
                }
                let child_dir = normalise(&dir.join(s));
                let depth = modules[i].prefix.matches("module.").count();
                let mut ancestor = Some(i);
                let mut recursive = false;
                while let Some(a) = ancestor {
                    recursive |= normalise(&modules[a].dir) == child_dir;
                    ancestor = modules[a].parent.as_ref().map(|(p, _)| *p);
                }
                if recursive || depth >= MAX_MODULE_DEPTH {
                    diags.push(
                        Diagnostic::error(format!(
                            "module `{name}` includes itself (directly or through other modules)"
                        ))
                        .with_span(span)
                        .with_hint(
                            "modules cannot call themselves; move the shared blocks into a separate module",
                        ),
                    );
                    continue;
                }
                let prefix = format!("{}module.{name}.", modules[i].prefix);
                modules.push(ModuleInfo {
                    prefix,
                    dir: child_dir,
                    parent: Some((i, name)),
                    source: Some(span),
                });
            }
        }
        i += 1;
    }
    (files, modules)
}

pub(crate) fn header_range(block: &Block) -> Range<usize> {
    let start = block.ident.span().map_or(0, |s| s.start);
    let end =
        block.labels.last().and_then(|l| l.span()).or_else(|| block.ident.span()).map_or(start, |s| s.end);
    start..end
}

impl<'a> Loader<'a> {
    fn new(
        opts: &'a LoadOptions,
        files: &'a [FileEntry],
        modules: Vec<ModuleInfo>,
        diags: Diagnostics,
    ) -> Loader<'a> {
        let scopes = modules.iter().map(|m| Scope::new(&m.dir, &opts.dir)).collect();
        let mut cfg = Config { root: opts.dir.clone(), ..Config::default() };
        cfg.files = files
            .iter()
            .map(|f| SourceFile { path: f.src.display.clone(), text: f.src.text.clone() })
            .collect();
        Loader {
            opts,
            files,
            modules,
            decls: Vec::new(),
            index: HashMap::new(),
            static_components: HashMap::new(),
            dynamic_producers: HashMap::new(),
            diags,
            cfg,
            scopes,
            failed: HashSet::new(),
            file_assigns: HashMap::new(),
            cli_assigns: HashMap::new(),
            module_inputs: HashMap::new(),
            instances: HashMap::new(),
            memberships: Vec::new(),
            name_checks: Vec::new(),
            component_producer: HashMap::new(),
            component_alias: HashMap::new(),
        }
    }

    // ---- small helpers -------------------------------------------------------------------

    pub fn span_in(&self, file: usize, range: Option<Range<usize>>) -> Span {
        self.files[file].src.span(range.unwrap_or(0..0))
    }

    pub fn span(&self, d: usize, range: Option<Range<usize>>) -> Span {
        self.span_in(self.decls[d].file, range)
    }

    pub fn header_span(&self, d: usize) -> Span {
        self.span(d, Some(self.decls[d].header.clone()))
    }

    pub fn prefix(&self, module: usize) -> &str {
        &self.modules[module].prefix
    }

    /// Full address of a declaration, with its module prefix.
    pub fn addr(&self, d: usize) -> String {
        format!("{}{}", self.prefix(self.decls[d].module), self.decls[d].local_addr())
    }

    /// Model name (map key) of a declaration: the block name with its module prefix.
    pub fn full_name(&self, d: usize) -> String {
        format!("{}{}", self.prefix(self.decls[d].module), self.decls[d].name)
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    // ---- 2. declarations -------------------------------------------------------------------

    fn collect_decls(&mut self) {
        for fi in 0..self.files.len() {
            let file: &'a FileEntry = &self.files[fi];
            for s in file.body.iter() {
                if let Some(a) = s.as_attribute() {
                    let span = self.span_in(fi, a.key.span());
                    self.error(
                        Diagnostic::error(format!("attribute `{}` is not allowed at the top level", a.key.as_str()))
                            .with_span(span)
                            .with_hint("put named values in a `locals { ... }` block, or move it into the block it belongs to"),
                    );
                } else if let Some(b) = s.as_block() {
                    self.collect_block(fi, file.module, b);
                }
            }
        }
    }

    fn push_decl(&mut self, decl: Decl<'a>) -> Option<usize> {
        let key = (decl.module, decl.local_addr());
        if let Some(&first) = self.index.get(&key) {
            let first_span = self.header_span(first);
            let span = self.span_in(decl.file, Some(decl.header.clone()));
            let addr = format!("{}{}", self.prefix(decl.module), key.1);
            self.error(
                Diagnostic::error(format!("`{addr}` is declared more than once"))
                    .with_span(span)
                    .with_detail(format!("first declared at {first_span}"))
                    .with_hint("names must be unique per block type: rename or remove one of them"),
            );
            return None;
        }
        let id = self.decls.len();
        self.index.insert(key, id);
        self.decls.push(decl);
        Some(id)
    }

    fn collect_block(&mut self, fi: usize, module: usize, b: &'a Block) {
        let ident = b.ident.as_str();
        let header = header_range(b);
        let span = self.span_in(fi, Some(header.clone()));
        let Some(def) = schema::top_level(ident) else {
            let allowed: Vec<&str> = schema::TOP_LEVEL
                .iter()
                .filter(|d| d.ident != "output" || module > 0)
                .map(|d| d.ident)
                .collect();
            self.error(
                Diagnostic::error(format!("unknown block type `{ident}`"))
                    .with_span(self.span_in(fi, b.ident.span()))
                    .with_hint(suggest::allowed_hint(ident, &allowed, "block types")),
            );
            return;
        };
        if b.labels.len() != def.labels.len() {
            let want = if def.labels.is_empty() {
                format!("`{ident}` blocks take no labels: write {ident} {{ ... }}")
            } else {
                let labels: Vec<String> = def.labels.iter().map(|l| format!("\"<{l}>\"")).collect();
                format!("write {ident} {} {{ ... }}", labels.join(" "))
            };
            self.error(
                Diagnostic::error(format!(
                    "`{ident}` block needs {} label(s), found {}",
                    def.labels.len(),
                    b.labels.len()
                ))
                .with_span(span)
                .with_hint(want),
            );
            return;
        }
        let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
        if let Some((i, _)) = labels.iter().enumerate().find(|(_, l)| l.trim().is_empty()) {
            self.error(
                Diagnostic::error(format!("`{ident}` block has an empty {}", def.labels[i]))
                    .with_span(span)
                    .with_hint("give the block a name"),
            );
            return;
        }
        let has = |name: &str| b.body.get_attribute(name).is_some();
        let mk = |kind: Kind, root: &str, name: &str| Decl {
            kind,
            root: root.to_string(),
            name: name.to_string(),
            module,
            file: fi,
            block: Some(b),
            attr: None,
            header: header.clone(),
            refs: Vec::new(),
            deps: Vec::new(),
            has_for_each: has("for_each"),
            has_count: has("count"),
        };
        let root_only = |what: &str| {
            Diagnostic::error(format!("`{what}` blocks are only allowed in the root module"))
                .with_span(span.clone())
                .with_hint(format!("move the `{what}` block to the root configuration directory"))
        };
        match ident {
            "watchkeep" => {
                if module > 0 {
                    self.error(root_only("watchkeep"));
                    return;
                }
                self.push_decl(mk(Kind::Settings, "watchkeep", "settings"));
            }
            "variable" => {
                self.push_decl(mk(Kind::Variable, "var", labels[0]));
            }
            "locals" => {
                for s in b.body.iter() {
                    if let Some(a) = s.as_attribute() {
                        let key_range = a.key.span().unwrap_or(0..0);
                        self.push_decl(Decl {
                            kind: Kind::Local,
                            root: "local".into(),
                            name: a.key.as_str().to_string(),
                            module,
                            file: fi,
                            block: None,
                            attr: Some(a),
                            header: key_range,
                            refs: Vec::new(),
                            deps: Vec::new(),
                            has_for_each: false,
                            has_count: false,
                        });
                    } else if let Some(nested) = s.as_block() {
                        self.error(
                            Diagnostic::error(format!(
                                "blocks are not allowed in `locals` (found `{}`)",
                                nested.ident.as_str()
                            ))
                            .with_span(self.span_in(fi, nested.ident.span()))
                            .with_hint("write locals as attributes: name = value"),
                        );
                    }
                }
            }
            "provider" => {
                if module > 0 {
                    self.error(root_only("provider"));
                    return;
                }
                if !vendors::config_names().contains(&labels[0]) {
                    self.error(
                        Diagnostic::error(format!("unknown provider `{}`", labels[0]))
                            .with_span(span)
                            .with_hint(suggest::allowed_hint(
                                labels[0],
                                vendors::config_names(),
                                "providers",
                            )),
                    );
                    return;
                }
                self.push_decl(mk(Kind::Provider, "provider", labels[0]));
            }
            "inventory" => {
                let Some(id) = self.push_decl(mk(Kind::Inventory, "inventory", labels[0])) else { return };
                for inline in b.body.blocks().filter(|x| x.ident.as_str() == "component") {
                    if let Some(l) = inline.labels.first() {
                        self.static_components.entry((module, l.as_str().to_string())).or_insert(id);
                    }
                }
                if has("source") {
                    self.dynamic_producers.entry(module).or_default().push(id);
                }
            }
            "component" => {
                let Some(id) = self.push_decl(mk(Kind::Component, "component", labels[0])) else { return };
                if has("for_each") || has("name") {
                    self.dynamic_producers.entry(module).or_default().push(id);
                }
                if !has("for_each") {
                    self.static_components.entry((module, labels[0].to_string())).or_insert(id);
                }
            }
            "route" => {
                self.push_decl(mk(Kind::Route, "route", labels[0]));
            }
            "alert" => {
                self.push_decl(mk(Kind::Alert, "alert", labels[0]));
            }
            "baseline" => {
                self.push_decl(mk(Kind::Baseline, "baseline", labels[0]));
            }
            "metric" => {
                self.push_decl(mk(Kind::Metric, "metric", labels[0]));
            }
            "dashboard" => {
                self.push_decl(mk(Kind::Dashboard, "dashboard", labels[0]));
            }
            "maintenance" => {
                self.push_decl(mk(Kind::Maintenance, "maintenance", labels[0]));
            }
            "resource" => {
                let rtype = labels[0];
                if !vendors::resource_types().contains(&rtype) {
                    let label_span = self.span_in(fi, b.labels[0].span());
                    self.error(
                        Diagnostic::error(format!(
                            "unknown resource type `{rtype}` (known: {})",
                            vendors::resource_types().join(", ")
                        ))
                        .with_span(label_span)
                        .with_hint(suggest::allowed_hint(
                            rtype,
                            vendors::resource_types(),
                            "resource types",
                        )),
                    );
                    return;
                }
                if has("for_each") && has("count") {
                    self.error(
                        Diagnostic::error("a resource cannot have both `for_each` and `count`")
                            .with_span(span)
                            .with_hint("keep one of them"),
                    );
                    return;
                }
                self.push_decl(mk(Kind::Resource, rtype, labels[1]));
            }
            "module" => {
                self.push_decl(mk(Kind::Module, "module", labels[0]));
            }
            "output" => {
                self.push_decl(mk(Kind::Output, "output", labels[0]));
            }
            _ => {}
        }
    }

    // ---- 2b. structure -----------------------------------------------------------------------

    /// Checks every block against the schema before anything is evaluated, so unknown or
    /// missing attributes are reported even when evaluation cannot run.
    fn check_structure(&mut self) {
        for d in 0..self.decls.len() {
            let def: &'static BlockDef = match self.decls[d].kind {
                Kind::Settings => &schema::WATCHKEEP,
                Kind::Variable => &schema::VARIABLE,
                Kind::Local => continue,
                Kind::Provider => &schema::PROVIDER,
                Kind::Inventory => &schema::INVENTORY,
                Kind::Component => &schema::COMPONENT,
                Kind::Route => &schema::ROUTE,
                Kind::Alert => &schema::ALERT,
                Kind::Baseline => &schema::BASELINE,
                Kind::Metric => &schema::METRIC,
                Kind::Dashboard => &schema::DASHBOARD,
                Kind::Maintenance => &schema::MAINTENANCE,
                Kind::Resource => &schema::RESOURCE,
                Kind::Module => &schema::MODULE,
                Kind::Output => &schema::OUTPUT,
            };
            let Some(block) = self.decls[d].block else { continue };
            let what = self.what(d);
            let header = self.decls[d].header.clone();
            if !self.check_tree(d, &block.body, def, header, &what) {
                self.failed.insert(d);
            }
        }
    }

    fn check_tree(
        &mut self,
        d: usize,
        body: &Body,
        def: &BlockDef,
        header: Range<usize>,
        what: &str,
    ) -> bool {
        let mut ok = self.check_body(d, body, def, header, what);
        for b in body.blocks() {
            let Some(nested) = def.nested(b.ident.as_str()) else { continue };
            if b.labels.len() != nested.def.labels.len() {
                continue; // reported by check_body
            }
            if b.ident.as_str() == "state"
                && !b.labels.first().is_some_and(|l| schema::STATE_BACKENDS.contains(&l.as_str()))
            {
                continue; // the unknown backend is reported when the settings are evaluated
            }
            let nested_what = match b.labels.first() {
                Some(l) => format!("`{} \"{}\"` in {what}", b.ident.as_str(), l.as_str()),
                None => format!("the `{}` block in {what}", b.ident.as_str()),
            };
            ok &= self.check_tree(d, &b.body, nested.def, header_range(b), &nested_what);
        }
        ok
    }

    // ---- 3. references ---------------------------------------------------------------------

    fn resolve_all(&mut self) {
        // Module variables take their values from the module block in the parent.
        for m in 1..self.modules.len() {
            let Some((parent, call)) = self.modules[m].parent.clone() else { continue };
            let Some(&call_decl) = self.index.get(&(parent, format!("module.{call}"))) else { continue };
            for d in 0..self.decls.len() {
                if self.decls[d].module == m && self.decls[d].kind == Kind::Variable {
                    self.decls[d].deps.push(call_decl);
                }
            }
        }
        for d in 0..self.decls.len() {
            let mut c = Collected::default();
            let decl = &self.decls[d];
            match (decl.kind, decl.attr, decl.block) {
                (_, Some(a), _) => c.expr(&a.value),
                (Kind::Variable, _, Some(b)) => {
                    for a in b.body.attributes().filter(|a| a.key.as_str() != "type") {
                        c.expr(&a.value);
                    }
                }
                (Kind::Module, _, Some(b)) => {
                    for a in b.body.attributes().filter(|a| a.key.as_str() != "source") {
                        c.expr(&a.value);
                    }
                }
                (_, _, Some(b)) => c.body(&b.body),
                _ => {}
            }
            let file = decl.file;
            for f in c.funcs {
                if !functions::FUNCTIONS.contains(&f.name.as_str()) {
                    let hint = match suggest::closest(&f.name, functions::FUNCTIONS.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("available functions: {}", functions::FUNCTIONS.join(", ")),
                    };
                    let span = self.span_in(file, Some(f.range));
                    self.error(
                        Diagnostic::error(format!("unknown function `{}`", f.name))
                            .with_span(span)
                            .with_hint(hint),
                    );
                    self.failed.insert(d);
                }
            }
            if self.decls[d].kind == Kind::Variable {
                if let Some(r) = c.refs.first() {
                    let span = self.span_in(file, Some(r.range(r.parts.len())));
                    self.error(
                        Diagnostic::error(format!(
                            "a variable's default cannot refer to `{}`",
                            r.text(r.parts.len())
                        ))
                        .with_span(span)
                        .with_hint("use a constant default, and compute derived values in a `locals` block"),
                    );
                    self.failed.insert(d);
                }
                continue;
            }
            for r in c.refs {
                if let Some(resolved) = self.resolve(d, r) {
                    match &resolved.target {
                        Target::Decl(t) => self.decls[d].deps.push(*t),
                        Target::Component(name) => {
                            let m = self.decls[d].module;
                            match self.static_components.get(&(m, name.clone())) {
                                Some(&p) if p != d => self.decls[d].deps.push(p),
                                Some(_) => {}
                                None => {
                                    let producers =
                                        self.dynamic_producers.get(&m).cloned().unwrap_or_default();
                                    self.decls[d].deps.extend(producers.into_iter().filter(|&p| p != d));
                                }
                            }
                        }
                        Target::Builtin => {}
                    }
                    self.decls[d].refs.push(resolved);
                } else {
                    self.failed.insert(d);
                }
            }
        }
    }

    fn unknown_ref(&mut self, d: usize, r: &RawRef, used: usize, candidates: Vec<String>, what: &str) {
        let text = r.text(used);
        let span = self.span(d, Some(r.range(used)));
        let hint = match suggest::closest(&text, candidates.iter().map(String::as_str)) {
            Some(c) => format!("did you mean `{c}`?"),
            None if candidates.is_empty() => format!("declare the {what} first"),
            None => format!(
                "declare it, or use one of: {}",
                suggest::list(candidates.iter().take(12).map(String::as_str))
            ),
        };
        self.error(Diagnostic::error(format!("unknown reference `{text}`")).with_span(span).with_hint(hint));
    }

    fn candidates(&self, module: usize, root: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .index
            .keys()
            .filter(|(m, a)| *m == module && a.split('.').next() == Some(root))
            .map(|(_, a)| a.clone())
            .collect();
        v.sort();
        v
    }

    fn resolve(&mut self, d: usize, r: RawRef) -> Option<Ref> {
        let m = self.decls[d].module;
        let name = r.parts.first().and_then(Part::name).map(str::to_string);
        let root = r.root.clone();
        let needs_name = |this: &mut Self, example: &str| {
            let span = this.span(d, Some(r.range(r.parts.len())));
            this.error(
                Diagnostic::error(format!("`{}` needs a name after it", r.text(r.parts.len())))
                    .with_span(span)
                    .with_hint(format!("write {example}")),
            );
        };
        if BLOCK_ROOTS.iter().any(|(rt, _)| *rt == root) {
            let Some(name) = name else {
                needs_name(self, &format!("{root}.<name>"));
                return None;
            };
            let Some(&t) = self.index.get(&(m, format!("{root}.{name}"))) else {
                let cands = self.candidates(m, &root);
                self.unknown_ref(d, &r, 1, cands, &format!("{root} block"));
                return None;
            };
            return Some(Ref { raw: r, used: 1, target: Target::Decl(t) });
        }
        match root.as_str() {
            "component" => {
                let Some(name) = name else {
                    needs_name(self, "component.<name>");
                    return None;
                };
                let known = self.static_components.contains_key(&(m, name.clone()))
                    || self.dynamic_producers.get(&m).is_some_and(|p| p.iter().any(|&p| p != d));
                if !known {
                    let mut cands: Vec<String> = self
                        .static_components
                        .keys()
                        .filter(|(mm, _)| *mm == m)
                        .map(|(_, n)| format!("component.{n}"))
                        .collect();
                    cands.sort();
                    self.unknown_ref(d, &r, 1, cands, "component");
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Component(name) })
            }
            "module" => {
                let (Some(call), Some(out)) = (name, r.parts.get(1).and_then(Part::name).map(str::to_string))
                else {
                    needs_name(self, "module.<module>.<output>");
                    return None;
                };
                let Some(&call_decl) = self.index.get(&(m, format!("module.{call}"))) else {
                    let cands = self.candidates(m, "module");
                    self.unknown_ref(d, &r, 1, cands, "module");
                    return None;
                };
                let child = self.modules.iter().position(|mi| mi.parent.as_ref() == Some(&(m, call.clone())));
                let target = child.and_then(|c| self.index.get(&(c, format!("output.{out}"))).copied());
                let Some(t) = target else {
                    let cands: Vec<String> = child
                        .map(|c| {
                            self.candidates(c, "output")
                                .into_iter()
                                .map(|o| format!("module.{call}.{}", o.trim_start_matches("output.")))
                                .collect()
                        })
                        .unwrap_or_default();
                    self.unknown_ref(d, &r, 2, cands, "output in the module");
                    return None;
                };
                let _ = call_decl;
                Some(Ref { raw: r, used: 2, target: Target::Decl(t) })
            }
            "each" => {
                let decl = &self.decls[d];
                let span = self.span(d, Some(r.range(1)));
                if !decl.has_for_each {
                    self.error(
                        Diagnostic::error("`each` is only available in a block that sets `for_each`")
                            .with_span(span)
                            .with_hint("add for_each = ... to this block, or remove the reference"),
                    );
                    return None;
                }
                if !matches!(name.as_deref(), Some("key" | "value")) {
                    self.error(
                        Diagnostic::error(format!("unknown reference `{}`", r.text(1)))
                            .with_span(span)
                            .with_hint("use each.key or each.value"),
                    );
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Builtin })
            }
            "count" => {
                let decl = &self.decls[d];
                let span = self.span(d, Some(r.range(1)));
                if !decl.has_count {
                    self.error(
                        Diagnostic::error("`count` is only available in a resource that sets `count`")
                            .with_span(span)
                            .with_hint("add count = N to this resource, or remove the reference"),
                    );
                    return None;
                }
                if name.as_deref() != Some("index") {
                    self.error(
                        Diagnostic::error(format!("unknown reference `{}`", r.text(1)))
                            .with_span(span)
                            .with_hint("use count.index"),
                    );
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Builtin })
            }
            "path" => {
                if !matches!(name.as_deref(), Some("module" | "root" | "cwd")) {
                    let span = self.span(d, Some(r.range(1)));
                    self.error(
                        Diagnostic::error(format!("unknown reference `{}`", r.text(1)))
                            .with_span(span)
                            .with_hint("use path.module, path.root or path.cwd"),
                    );
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Builtin })
            }
            rtype if vendors::resource_types().contains(&rtype) => {
                let Some(name) = name else {
                    needs_name(self, &format!("{rtype}.<name>"));
                    return None;
                };
                let Some(&t) = self.index.get(&(m, format!("{rtype}.{name}"))) else {
                    let cands = self.candidates(m, rtype);
                    self.unknown_ref(d, &r, 1, cands, "resource");
                    return None;
                };
                // The first attribute after the name (and an optional instance key).
                let attr_at = r.parts.iter().skip(1).position(|p| matches!(p, Part::Attr(_))).map(|i| i + 1);
                if let Some(i) = attr_at {
                    if r.parts[i].name() == Some("id") && !vendors::resolves_id_refs(rtype) {
                        let span = self.span(d, Some(r.range(i + 1)));
                        self.error(
                            Diagnostic::error(format!(
                                "`{}` is not known until apply; not supported yet",
                                r.text(i + 1)
                            ))
                            .with_span(span)
                            .with_detail("vendor ids are assigned when the object is created")
                            .with_hint(format!(
                                "refer to it by name instead, or order with depends_on = [{rtype}.{name}]"
                            )),
                        );
                        return None;
                    }
                    if !matches!(r.parts[i].name(), Some("name" | "address" | "key" | "id")) {
                        let span = self.span(d, Some(r.range(i + 1)));
                        self.error(
                            Diagnostic::error(format!("`{}` is not available at load time", r.text(i + 1)))
                                .with_span(span)
                                .with_detail(
                                    "a reference to a raw resource gives its `name`, `address` and `key`",
                                )
                                .with_hint("use a local value for anything shared between resources"),
                        );
                        return None;
                    }
                }
                Some(Ref { raw: r, used: 1, target: Target::Decl(t) })
            }
            other => {
                let span = self.span(d, Some(r.range(usize::from(!r.parts.is_empty()))));
                let looks_like_resource = vendors::looks_like_resource_type(other);
                let diag = if looks_like_resource {
                    Diagnostic::error(format!("unknown resource type `{other}`"))
                        .with_span(span)
                        .with_hint(suggest::allowed_hint(other, vendors::resource_types(), "resource types"))
                } else {
                    let roots = known_roots();
                    let hint = match suggest::closest(other, roots.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => "references start with var., local., inventory., component., route., metric., module., or a resource type; strings need quotes".to_string(),
                    };
                    Diagnostic::error(format!("unknown name `{other}`")).with_span(span).with_hint(hint)
                };
                self.error(diag);
                None
            }
        }
    }

    // ---- variable inputs -------------------------------------------------------------------

    fn read_var_inputs(&mut self) {
        let declared: BTreeSet<String> = self
            .decls
            .iter()
            .filter(|d| d.module == 0 && d.kind == Kind::Variable)
            .map(|d| d.name.clone())
            .collect();
        let mut var_files: Vec<PathBuf> = Vec::new();
        let default_file = self.opts.dir.join("watchkeep.wkvars");
        if default_file.is_file() {
            var_files.push(default_file);
        }
        if let Ok(entries) = std::fs::read_dir(&self.opts.dir) {
            let mut autos: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".auto.wkvars"))
                })
                .collect();
            autos.sort();
            var_files.extend(autos);
        }
        let explicit: Vec<PathBuf> = self.opts.var_files.clone();
        for (path, is_explicit) in
            var_files.into_iter().map(|p| (p, false)).chain(explicit.into_iter().map(|p| (p, true)))
        {
            self.read_var_file(&path, is_explicit, &declared);
        }
        for raw in &self.opts.vars {
            let Some((name, value)) = raw.split_once('=') else {
                self.error(
                    Diagnostic::error(format!("invalid -var `{raw}`: expected NAME=VALUE"))
                        .with_hint("write -var 'name=value'"),
                );
                continue;
            };
            let name = name.trim();
            if !declared.contains(name) {
                self.error(
                    Diagnostic::error(format!("-var sets `{name}`, which is not declared")).with_hint(
                        match suggest::closest(name, declared.iter().map(String::as_str)) {
                            Some(c) => {
                                format!("did you mean `{c}`? otherwise declare it: variable \"{name}\" {{}}")
                            }
                            None => format!("declare it with variable \"{name}\" {{}}, or remove the -var"),
                        },
                    ),
                );
                continue;
            }
            self.cli_assigns.entry(name.to_string()).or_default().push(Assign {
                value: AssignValue::Raw(value.to_string()),
                origin: format!("-var {name}=…"),
                span: None,
            });
        }
    }

    fn read_var_file(&mut self, path: &Path, explicit: bool, declared: &BTreeSet<String>) {
        let src = match SourceText::read(path) {
            Ok(s) => s,
            Err(e) => {
                self.error(
                    Diagnostic::error(format!(
                        "cannot read variables file `{}`: {e}",
                        display_path(path).display()
                    ))
                    .with_hint(if explicit {
                        "check the -var-file path"
                    } else {
                        "check the file's permissions"
                    }),
                );
                return;
            }
        };
        let body = match parse_hcl(&src) {
            Ok(b) => b,
            Err(d) => {
                self.error(*d);
                return;
            }
        };
        let mut ctx = Context::new();
        functions::declare_all(&mut ctx);
        let _dir = BaseDirGuard::set(&self.opts.dir);
        for s in body.iter() {
            let Some(a) = s.as_attribute() else {
                if let Some(b) = s.as_block() {
                    self.error(
                        Diagnostic::error("variables files contain only `name = value` lines")
                            .with_span(src.span(b.ident.span().unwrap_or(0..0)))
                            .with_hint("remove the block; set each variable as name = value"),
                    );
                }
                continue;
            };
            let name = a.key.as_str().to_string();
            let key_span = src.span(a.key.span().unwrap_or(0..0));
            if !declared.contains(&name) {
                self.error(
                    Diagnostic::warning(format!("value for undeclared variable `{name}` is ignored"))
                        .with_span(key_span)
                        .with_hint(match suggest::closest(&name, declared.iter().map(String::as_str)) {
                            Some(c) => format!("did you mean `{c}`? otherwise declare it or remove the line"),
                            None => format!("declare it with variable \"{name}\" {{}}, or remove the line"),
                        }),
                );
                continue;
            }
            let mut c = Collected::default();
            c.expr(&a.value);
            let value_span = src.span(a.value.span().unwrap_or(0..0));
            if let Some(r) = c.refs.first() {
                self.error(
                    Diagnostic::error(format!("variables files cannot refer to `{}`", r.text(r.parts.len())))
                        .with_span(src.span(r.range(r.parts.len())))
                        .with_hint("write a literal value"),
                );
                continue;
            }
            match functions::evaluate(a.value.clone(), &ctx) {
                Ok(v) => self.file_assigns.entry(name).or_default().push(Assign {
                    value: AssignValue::Json(hcl_to_json(&v)),
                    origin: format!("{}", key_span),
                    span: Some(value_span),
                }),
                Err(e) => self.error(
                    Diagnostic::error(format!("cannot evaluate value: {}", e.kind()))
                        .with_span(value_span)
                        .with_hint("write a literal value"),
                ),
            }
        }
    }

    // ---- 4. evaluation ---------------------------------------------------------------------

    fn evaluate_all(&mut self) {
        let deps: Vec<Vec<usize>> = self.decls.iter().map(|d| d.deps.clone()).collect();
        for cycle in find_cycles(&deps) {
            self.report_cycle(&cycle);
            self.failed.extend(cycle.iter().copied());
        }
        let order = stable_topo(&deps);
        let ordered: HashSet<usize> = order.iter().copied().collect();
        // Anything not ordered sits behind a cycle; it has been reported through the cycle.
        for d in 0..self.decls.len() {
            if !ordered.contains(&d) {
                self.failed.insert(d);
            }
        }
        for d in order {
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
        }
    }

    fn report_cycle(&mut self, cycle: &[usize]) {
        let mut names: Vec<String> = cycle.iter().map(|&d| self.addr(d)).collect();
        names.push(self.addr(cycle[0]));
        let last = cycle[cycle.len() - 1];
        let first = cycle[0];
        // The reference in the last block that points back at the first closes the cycle.
        let closing = self.decls[last]
            .refs
            .iter()
            .find(|r| self.ref_points_to(r, last, first))
            .map(|r| r.raw.range(r.used));
        let span = match closing {
            Some(range) => self.span(last, Some(range)),
            None => self.header_span(last),
        };
        self.error(Diagnostic::error(format!("cycle: {}", names.join(" → "))).with_span(span).with_hint(
            "blocks cannot depend on themselves; break the cycle by removing one of these references",
        ));
    }

    fn ref_points_to(&self, r: &Ref, from: usize, to: usize) -> bool {
        match &r.target {
            Target::Decl(t) => *t == to,
            Target::Component(name) => {
                let m = self.decls[from].module;
                match self.static_components.get(&(m, name.clone())) {
                    Some(&p) => p == to,
                    None => self.dynamic_producers.get(&m).is_some_and(|p| p.contains(&to)),
                }
            }
            Target::Builtin => false,
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
        }
    }

    /// Records the address a declaration produced.
    pub fn add_instance(&mut self, d: usize, address: String, span: Span) {
        self.cfg.addresses.insert(address.clone(), span);
        self.instances.entry(d).or_default().push(address);
    }

    // ---- expression evaluation ---------------------------------------------------------------

    /// Evaluates an expression of declaration `d`; on failure reports a located diagnostic.
    pub fn eval(&mut self, d: usize, e: &Expression) -> Result<hcl::Value, ()> {
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
        match functions::evaluate(substituted, &self.scopes[m].ctx) {
            Ok(v) if nested_deeper_than(&v, MAX_VALUE_DEPTH) => {
                let span = self.span(d, e.span());
                self.error(
                    Diagnostic::error(format!(
                        "cannot evaluate expression: the value is nested deeper than {MAX_VALUE_DEPTH} levels"
                    ))
                    .with_span(span)
                    .with_hint("flatten the value: lists and maps nested this deep are not supported"),
                );
                Err(())
            }
            Ok(v) => Ok(v),
            Err(err) => {
                let diag = self.eval_error(d, e, &err);
                self.error(diag);
                Err(())
            }
        }
    }

    pub fn eval_json(&mut self, d: usize, e: &Expression) -> Result<Value, ()> {
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

    // ---- attribute access with type checks --------------------------------------------------

    /// The evaluated value of attribute `name` (null counts as unset) and the span of its value.
    pub fn value(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<(Value, Span)>, ()> {
        let Some(a) = body.get_attribute(name) else { return Ok(None) };
        let v = self.eval_json(d, &a.value)?;
        if v.is_null() {
            return Ok(None);
        }
        let span = self.span(d, a.value.span());
        Ok(Some((v, span)))
    }

    pub fn type_error(&mut self, name: &str, expected: &str, got: &Value, span: Span, example: &str) {
        self.error(
            Diagnostic::error(format!("`{name}` must be {expected}, got {}", super::values::describe(got)))
                .with_span(span)
                .with_hint(format!("write {example}")),
        );
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

    pub fn string(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<String>, ()> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        match scalar_string(&v) {
            Some(s) => Ok(Some(s)),
            None => {
                self.type_error(name, "a string", &v, span, &format!("{name} = \"...\""));
                Err(())
            }
        }
    }

    pub fn number(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<f64>, ()> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        let n = match &v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        n.map(Some).ok_or_else(|| self.type_error(name, "a number", &v, span, &format!("{name} = 85")))
    }

    pub fn boolean(&mut self, d: usize, body: &Body, name: &str) -> Result<Option<bool>, ()> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        match &v {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Some(s == "true")),
            _ => {
                self.type_error(name, "a bool", &v, span, &format!("{name} = true"));
                Err(())
            }
        }
    }

    pub fn string_list(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
    ) -> Result<Option<(Vec<String>, Span)>, ()> {
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(None) };
        let list = match &v {
            Value::Array(items) => items.iter().map(scalar_string).collect::<Option<Vec<String>>>(),
            _ => None,
        };
        match list {
            Some(l) => Ok(Some((l, span))),
            None => {
                self.type_error(name, "a list of strings", &v, span, &format!("{name} = [\"a\", \"b\"]"));
                Err(())
            }
        }
    }

    pub fn string_map(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ()> {
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
            None => {
                self.type_error(
                    name,
                    "a map of strings",
                    &v,
                    span,
                    &format!("{name} = {{ key = \"value\" }}"),
                );
                Err(())
            }
        }
    }

    /// A string from a fixed set.
    pub fn one_of(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<String>, ()> {
        let Some(s) = self.string(d, body, name)? else { return Ok(None) };
        if allowed.contains(&s.as_str()) {
            return Ok(Some(s));
        }
        let span = self.span(d, body.get_attribute(name).and_then(|a| a.value.span()));
        self.error(
            Diagnostic::error(format!("invalid {name} `{s}`"))
                .with_span(span)
                .with_hint(suggest::allowed_hint(&s, allowed, "values")),
        );
        Err(())
    }

    pub fn list_one_of(
        &mut self,
        d: usize,
        body: &Body,
        name: &str,
        allowed: &[&str],
    ) -> Result<Vec<String>, ()> {
        let Some((list, span)) = self.string_list(d, body, name)? else { return Ok(Vec::new()) };
        let mut ok = true;
        for s in &list {
            if !allowed.contains(&s.as_str()) {
                self.error(
                    Diagnostic::error(format!("invalid value `{s}` in `{name}`"))
                        .with_span(span.clone())
                        .with_hint(suggest::allowed_hint(s, allowed, "values")),
                );
                ok = false;
            }
        }
        if ok {
            Ok(list)
        } else {
            Err(())
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
    ) -> Result<String, ()> {
        match v {
            Value::Object(o) => match o.get("name").and_then(Value::as_str) {
                Some(n) => Ok(n.to_string()),
                None => {
                    self.type_error(
                        attr,
                        &format!("a reference to a {kind}"),
                        v,
                        span.clone(),
                        &format!("{attr} = {kind}.<name>"),
                    );
                    Err(())
                }
            },
            Value::String(s) => {
                self.name_checks.push(NameCheck { kind, name: format!("{prefix}{s}"), span: span.clone() });
                Ok(s.clone())
            }
            _ => {
                self.type_error(
                    attr,
                    &format!("a reference to a {kind}"),
                    v,
                    span.clone(),
                    &format!("{attr} = {kind}.<name>"),
                );
                Err(())
            }
        }
    }

    /// `inventory.x` written literally: the referenced block's name without evaluating (and
    /// copying) the whole object.
    pub(super) fn static_ref_name(&self, d: usize, e: &Expression, kind: &str) -> Option<String> {
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
    ) -> Result<Option<String>, ()> {
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
    ) -> Result<Vec<String>, ()> {
        if let Some(Expression::Array(items)) = body.get_attribute(name).map(|a| &a.value) {
            let fast: Option<Vec<String>> = items.iter().map(|e| self.static_ref_name(d, e, kind)).collect();
            if let Some(names) = fast {
                return Ok(names);
            }
        }
        let Some((v, span)) = self.value(d, body, name)? else { return Ok(Vec::new()) };
        let Value::Array(items) = &v else {
            self.type_error(
                name,
                &format!("a list of {kind} references"),
                &v,
                span,
                &format!("{name} = [{kind}.a, {kind}.b]"),
            );
            return Err(());
        };
        let module_prefix = self.prefix(self.decls[d].module).to_string();
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            match self.ref_name_of(item, kind, name, &span, &module_prefix) {
                Ok(n) => out.push(qualify(&module_prefix, item, n)),
                Err(()) => ok = false,
            }
        }
        if ok {
            Ok(out)
        } else {
            Err(())
        }
    }

    /// Checks the body against its schema: unknown attributes and blocks (with suggestions),
    /// duplicates, required attributes. `what` names the block in messages.
    pub fn check_body(
        &mut self,
        d: usize,
        body: &Body,
        def: &BlockDef,
        header: Range<usize>,
        what: &str,
    ) -> bool {
        let mut ok = true;
        let mut seen_attrs: HashMap<String, Range<usize>> = HashMap::new();
        let mut seen_blocks: HashSet<String> = HashSet::new();
        let mut allowed: Vec<&str> = def.attr_names();
        allowed.extend(def.block_names());
        for s in body.iter() {
            if let Some(a) = s.as_attribute() {
                let name = a.key.as_str();
                let key_span = self.span(d, a.key.span());
                if let Some(first) = seen_attrs.insert(name.to_string(), a.key.span().unwrap_or(0..0)) {
                    let first_span = self.span(d, Some(first));
                    self.error(
                        Diagnostic::error(format!("attribute `{name}` is set twice in {what}"))
                            .with_span(key_span)
                            .with_detail(format!("first set at {first_span}"))
                            .with_hint("remove one of them"),
                    );
                    ok = false;
                    continue;
                }
                if def.attr(name).is_some() {
                    continue;
                }
                if def.nested(name).is_some() {
                    self.error(
                        Diagnostic::error(format!("`{name}` is a block, not an attribute"))
                            .with_span(key_span)
                            .with_hint(format!("write {name} {{ ... }} without `=`")),
                    );
                    ok = false;
                } else if !def.open {
                    self.error(
                        Diagnostic::error(format!("unknown attribute `{name}` in {what}"))
                            .with_span(key_span)
                            .with_hint(suggest::allowed_hint(name, &allowed, "names")),
                    );
                    ok = false;
                }
            } else if let Some(b) = s.as_block() {
                let ident = b.ident.as_str();
                let ident_span = self.span(d, b.ident.span());
                match def.nested(ident) {
                    Some(n) => {
                        if b.labels.len() != n.def.labels.len() {
                            let example = if n.def.labels.is_empty() {
                                format!("{ident} {{ ... }}")
                            } else {
                                format!("{ident} \"<{}>\" {{ ... }}", n.def.labels.join("\" \"<"))
                            };
                            self.error(
                                Diagnostic::error(format!(
                                    "`{ident}` block needs {} label(s), found {}",
                                    n.def.labels.len(),
                                    b.labels.len()
                                ))
                                .with_span(ident_span)
                                .with_hint(format!("write {example}")),
                            );
                            ok = false;
                        } else if !n.repeated && !seen_blocks.insert(ident.to_string()) {
                            self.error(
                                Diagnostic::error(format!("only one `{ident}` block is allowed in {what}"))
                                    .with_span(ident_span)
                                    .with_hint("merge the blocks into one"),
                            );
                            ok = false;
                        }
                    }
                    None if def.attr(ident).is_some() => {
                        self.error(
                            Diagnostic::error(format!("`{ident}` is an attribute, not a block"))
                                .with_span(ident_span)
                                .with_hint(format!("write {ident} = ...")),
                        );
                        ok = false;
                    }
                    None if def.open => {}
                    None => {
                        self.error(
                            Diagnostic::error(format!("unknown block `{ident}` in {what}"))
                                .with_span(ident_span)
                                .with_hint(suggest::allowed_hint(ident, &allowed, "names")),
                        );
                        ok = false;
                    }
                }
            }
        }
        for a in def.attrs.iter().filter(|a: &&AttrDef| a.required) {
            if body.get_attribute(a.name).is_none() {
                let span = self.span(d, Some(header.clone()));
                self.error(
                    Diagnostic::error(format!("{what} is missing the required attribute `{}`", a.name))
                        .with_span(span)
                        .with_hint(format!("add {} = ... ({})", a.name, a.doc)),
                );
                ok = false;
            }
        }
        ok
    }

    // ---- 5. results ------------------------------------------------------------------------

    fn finish(mut self) -> Result<(Config, Diagnostics), Diagnostics> {
        self.check_names();
        // Components join the inventory they name (after file and inline members).
        let mut named: Vec<(String, String)> = self
            .cfg
            .components
            .values()
            .filter_map(|c| c.inventory.clone().map(|i| (i, c.name.clone())))
            .collect();
        named.sort();
        let mut members: HashMap<String, HashSet<String>> = self
            .cfg
            .inventories
            .iter()
            .map(|(k, i)| (k.clone(), i.components.iter().cloned().collect()))
            .collect();
        for (inv, comp) in named {
            if let (Some(i), Some(seen)) = (self.cfg.inventories.get_mut(&inv), members.get_mut(&inv)) {
                if seen.insert(comp.clone()) {
                    i.components.push(comp);
                }
            }
        }
        self.build_edges();
        let diags = finish_diags(std::mem::take(&mut self.diags));
        if diags.has_errors() {
            Err(diags)
        } else {
            let mut cfg = std::mem::take(&mut self.cfg);
            cfg.sensitive_values.sort();
            cfg.sensitive_values.dedup();
            Ok((cfg, diags))
        }
    }

    fn check_names(&mut self) {
        let checks = std::mem::take(&mut self.name_checks);
        for c in checks {
            let exists = match c.kind {
                "inventory" => self.cfg.inventories.contains_key(&c.name),
                "route" => self.cfg.routes.contains_key(&c.name),
                "component" => self.cfg.components.contains_key(&c.name),
                "metric" => self.cfg.metrics.contains_key(&c.name),
                _ => true,
            };
            if !exists {
                let names: Vec<&str> = match c.kind {
                    "inventory" => self.cfg.inventories.keys().map(String::as_str).collect(),
                    "route" => self.cfg.routes.keys().map(String::as_str).collect(),
                    _ => self.cfg.components.keys().map(String::as_str).collect(),
                };
                let hint = match suggest::closest(&c.name, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? (or write {}.{s})", c.kind),
                    None => format!("declare {} \"{}\" {{ ... }} or fix the name", c.kind, c.name),
                };
                let diag = Diagnostic::error(format!("unknown {} `{}`", c.kind, c.name))
                    .with_span(c.span)
                    .with_hint(hint);
                self.error(diag);
            }
        }
    }

    fn build_edges(&mut self) {
        let mut edges: Vec<Edge> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for d in 0..self.decls.len() {
            let froms = self.instances.get(&d).cloned().unwrap_or_else(|| vec![self.addr(d)]);
            if self.decls[d].kind == Kind::Settings {
                continue;
            }
            let m = self.decls[d].module;
            let prefix = self.prefix(m).to_string();
            for r in &self.decls[d].refs {
                let tos: Vec<String> = match &r.target {
                    Target::Decl(t) => {
                        let all = self.instances.get(t).cloned().unwrap_or_else(|| vec![self.addr(*t)]);
                        // `datadog_monitor.x["k"]` → that instance only.
                        let specific = r.raw.parts.get(1).and_then(|p| match p {
                            Part::Key(k) => Some(format!("{}[{}]", self.addr(*t), Value::String(k.clone()))),
                            Part::Index(i) => Some(format!("{}[{i}]", self.addr(*t))),
                            Part::Attr(_) => None,
                        });
                        match specific {
                            Some(s) if all.contains(&s) => vec![s],
                            _ => all,
                        }
                    }
                    Target::Component(name) => {
                        let actual = self.component_alias.get(&(m, name.clone())).unwrap_or(name);
                        vec![format!("{prefix}component.{actual}")]
                    }
                    Target::Builtin => continue,
                };
                let span = self.span(d, Some(r.raw.range(r.used)));
                for from in &froms {
                    for to in &tos {
                        if from != to && seen.insert((from.clone(), to.clone())) {
                            edges.push(Edge { from: from.clone(), to: to.clone(), span: span.clone() });
                        }
                    }
                }
            }
        }
        for (from, to, span) in std::mem::take(&mut self.memberships) {
            if seen.insert((from.clone(), to.clone())) {
                edges.push(Edge { from, to, span });
            }
        }
        self.cfg.edges = edges;
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

/// Finds the sub-expression an evaluation error is about, for a precise location.
fn locate_error(e: &Expression, err: &hcl::eval::Error) -> Option<Range<usize>> {
    if let hcl::eval::ErrorKind::FuncCall(name, _) = err.kind() {
        let wanted = name.to_string();
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
