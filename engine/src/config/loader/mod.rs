//! The loader: files → declarations → references → dependency order → evaluation into the model.
//!
//! Each stage is its own module, a function over explicit inputs that returns its output (and
//! reports into the one [`Diagnostics`]):
//!
//! 1. [`read`]: read every `*.hcl` of the directory (and of each local module) and parse it with
//!    hcl-edit, which keeps byte spans → the files and the modules.
//! 2. [`declare`]: turn top-level blocks into declarations with addresses (`var.x`, `alert.cpu`,
//!    `datadog_monitor.m`, `module.team.route.oncall`) → [`Declarations`]; [`structure`] checks
//!    every block against the schema before anything is evaluated.
//! 3. [`resolve`]: collect every reference in each declaration and resolve it to the declaration
//!    it names (unknown references are errors at the reference) → each declaration's
//!    dependencies; [`inputs`] reads the variable values given from outside (`-var`,
//!    `*.wkvars`); [`order`] orders declarations by dependency (cycles are errors at the
//!    reference that closes them).
//! 4. [`eval`]: evaluate declarations in that order with hcl-rs; [`decode`] (with [`attrs`] for
//!    typed attribute access) turns each kind of block into the model, and each result becomes
//!    part of the evaluation context of later declarations.
//! 5. [`cross`]: checks across blocks (names given as strings, inventory members) and the edges
//!    of the dependency graph → the [`Config`].
//!
//! Diagnostics are collected throughout; a declaration whose dependency failed is skipped
//! silently so one mistake does not cascade into many messages.

mod attrs;
mod cross;
mod declare;
mod decode;
mod eval;
mod inputs;
mod order;
mod read;
mod resolve;
mod structure;
mod taint;

use std::collections::HashSet;
use std::ops::Range;

use hcl::edit::structure::{Attribute, Block};
use hcl::edit::Span as _;

use super::model::{Config, Span};
use super::refs::RawRef;
use super::LoadOptions;
use crate::diag::{Diagnostic, Diagnostics, Reported};

pub(crate) use declare::Declarations;
pub(crate) use eval::Evaluator;
pub(crate) use read::{FileEntry, ModuleInfo, Tree};

pub(crate) fn load(opts: &LoadOptions) -> Result<(Config, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::new();
    // Every file read during the load is confined to the configuration (see `confine`).
    let _policy =
        crate::config::functions::PolicyGuard::set(crate::config::confine::Policy::new(&opts.dir, &opts.env));
    // 1. Files, parsed.
    let tree = read::read_tree(opts, &mut diags);
    if diags.has_errors() {
        return Err(finish_diags(diags));
    }
    // 2. Declarations, checked against the schema.
    let mut declared = declare::collect(&tree, &mut diags);
    let mut failed = structure::check(&tree, &declared.decls, &mut diags);
    // 3. References, variable inputs, evaluation order.
    resolve::resolve_all(&tree, &mut declared, &mut failed, &mut diags);
    let inputs = inputs::read(opts, &declared.decls, &mut diags);
    let order = order::order(&tree, &declared, &mut failed, &mut diags);
    // 4. Evaluation into the model.
    let evaluated = eval::evaluate(opts, &tree, &declared.decls, inputs, &order, failed, diags);
    // 5. Checks across blocks, and the edges.
    cross::finish(&tree, &declared.decls, evaluated)
}

fn finish_diags(mut diags: Diagnostics) -> Diagnostics {
    let mut seen = HashSet::new();
    diags
        .0
        .retain(|d| seen.insert((d.severity, d.summary.clone(), d.span.clone().map(|s| (s.file, s.start)))));
    diags.sort();
    diags
}

/// Where every stage points at the source, and where it reports: the files, the modules and the
/// declarations it reads, and its diagnostics. The span and address helpers are shared through
/// it; a stage implements only the four accessors.
pub(crate) trait Stage<'a> {
    fn files(&self) -> &'a [FileEntry];
    fn modules(&self) -> &'a [ModuleInfo];
    fn decls(&self) -> &[Decl<'a>];
    fn diags(&mut self) -> &mut Diagnostics;

    fn span_in(&self, file: usize, range: Option<Range<usize>>) -> Span {
        self.files()[file].src.span(range.unwrap_or(0..0))
    }

    fn span(&self, d: usize, range: Option<Range<usize>>) -> Span {
        self.span_in(self.decls()[d].file, range)
    }

    fn header_span(&self, d: usize) -> Span {
        self.span(d, Some(self.decls()[d].header.clone()))
    }

    fn prefix(&self, module: usize) -> &'a str {
        &self.modules()[module].prefix
    }

    /// Full address of a declaration, with its module prefix.
    fn addr(&self, d: usize) -> String {
        format!("{}{}", self.prefix(self.decls()[d].module), self.decls()[d].local_addr())
    }

    /// Model name (map key) of a declaration: the block name with its module prefix.
    fn full_name(&self, d: usize) -> String {
        format!("{}{}", self.prefix(self.decls()[d].module), self.decls()[d].name)
    }

    /// Reports an error; the token it returns is what a failing step returns.
    fn error(&mut self, d: Diagnostic) -> Reported {
        self.diags().report(d)
    }
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
    Coverage,
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

/// A name given as a plain string where a reference was expected (`scope = "production"`),
/// checked once everything is loaded.
pub(crate) struct NameCheck {
    pub kind: &'static str,
    pub name: String,
    pub span: Span,
}

pub(crate) fn header_range(block: &Block) -> Range<usize> {
    let start = block.ident.span().map_or(0, |s| s.start);
    let end =
        block.labels.last().and_then(|l| l.span()).or_else(|| block.ident.span()).map_or(start, |s| s.end);
    start..end
}

#[cfg(test)]
mod tests {
    //! The stages run one by one on their explicit inputs (the whole pipeline is tested through
    //! `config::load` in `config/tests.rs`).

    use super::*;

    fn tree_of(text: &str) -> (tempfile::TempDir, LoadOptions, Tree, Diagnostics) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("main.hcl"), text).expect("write main.hcl");
        let opts = LoadOptions::new(dir.path());
        let mut diags = Diagnostics::new();
        let tree = read::read_tree(&opts, &mut diags);
        (dir, opts, tree, diags)
    }

    #[test]
    fn declarations_resolve_and_order_by_dependency() {
        let (_dir, _opts, tree, mut diags) = tree_of(
            "locals {\n  b = local.a\n  a = 1\n}\nroute \"r\" {\n  description = \"x-${local.b}\"\n}\n",
        );
        assert!(!diags.has_errors(), "{diags}");
        let mut declared = declare::collect(&tree, &mut diags);
        let addrs: Vec<String> = declared.decls.iter().map(Decl::local_addr).collect();
        assert_eq!(addrs, ["local.b", "local.a", "route.r"]);
        let mut failed = structure::check(&tree, &declared.decls, &mut diags);
        resolve::resolve_all(&tree, &mut declared, &mut failed, &mut diags);
        assert_eq!(declared.decls[0].deps, [1]);
        assert_eq!(declared.decls[2].deps, [0]);
        let order = order::order(&tree, &declared, &mut failed, &mut diags);
        assert_eq!(order, [1, 0, 2]);
        assert!(failed.is_empty() && diags.is_empty(), "{diags}");
    }

    #[test]
    fn a_cycle_fails_every_declaration_in_it_with_one_error() {
        let (_dir, _opts, tree, mut diags) = tree_of("locals {\n  a = local.b\n  b = local.a\n  c = 1\n}\n");
        let mut declared = declare::collect(&tree, &mut diags);
        let mut failed = structure::check(&tree, &declared.decls, &mut diags);
        resolve::resolve_all(&tree, &mut declared, &mut failed, &mut diags);
        let order = order::order(&tree, &declared, &mut failed, &mut diags);
        assert_eq!(failed, HashSet::from([0, 1]));
        assert!(order.contains(&2));
        let errors: Vec<&str> = diags.errors().map(|d| d.summary.as_str()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("cycle: "), "{errors:?}");
    }

    #[test]
    fn variable_inputs_are_read_for_declared_variables_only() {
        let (_dir, mut opts, tree, mut diags) = tree_of("variable \"env\" {}\n");
        opts.vars = vec!["env=prod".to_string(), "nope=1".to_string()];
        let declared = declare::collect(&tree, &mut diags);
        let inputs = inputs::read(&opts, &declared.decls, &mut diags);
        assert_eq!(inputs.cli_assigns["env"].len(), 1);
        assert!(!inputs.cli_assigns.contains_key("nope"));
        let errors: Vec<&str> = diags.errors().map(|d| d.summary.as_str()).collect();
        assert_eq!(errors, ["-var sets `nope`, which is not declared"]);
    }
}
