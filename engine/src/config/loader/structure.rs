//! Stage 2b: every block checked against the schema before anything is evaluated, so unknown
//! or missing attributes are reported even when evaluation cannot run.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use hcl::edit::structure::Body;
use hcl::edit::Span as _;

use super::{header_range, Decl, FileEntry, Kind, ModuleInfo, Stage, Tree};
use crate::config::schema::{self, AttrDef, BlockDef};
use crate::config::suggest;
use crate::diag::{Diagnostic, Diagnostics, Reported};

/// Checks every declaration's block; returns the declarations whose block is malformed.
pub(super) fn check<'a>(tree: &'a Tree, decls: &[Decl<'a>], diags: &mut Diagnostics) -> HashSet<usize> {
    let Tree { files, modules } = tree;
    let mut c = Checker { files, modules, decls, failed: HashSet::new(), diags };
    c.check_structure();
    c.failed
}

struct Checker<'a, 'r> {
    files: &'a [FileEntry],
    modules: &'a [ModuleInfo],
    decls: &'r [Decl<'a>],
    failed: HashSet<usize>,
    diags: &'r mut Diagnostics,
}

impl<'a> Stage<'a> for Checker<'a, '_> {
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
        self.diags
    }
}

impl Checker<'_, '_> {
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
                Kind::Coverage => &schema::COVERAGE,
            };
            let Some(block) = self.decls[d].block else { continue };
            let what = self.what(d);
            let header = self.decls[d].header.clone();
            if self.check_tree(d, &block.body, def, header, &what).is_err() {
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
    ) -> Result<(), Reported> {
        let mut result = self.check_body(d, body, def, header, what);
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
            if let Err(reported) = self.check_tree(d, &b.body, nested.def, header_range(b), &nested_what) {
                result = Err(reported);
            }
        }
        result
    }

    /// How messages name a declaration's block: `alert "cpu"`, `resource "t" "n"`.
    fn what(&self, d: usize) -> String {
        let decl = &self.decls[d];
        match decl.kind {
            Kind::Settings => "the `watchkeep` block".to_string(),
            Kind::Coverage => "the `coverage` block".to_string(),
            Kind::Resource => format!("resource \"{}\" \"{}\"", decl.root, decl.name),
            _ => format!("{} \"{}\"", decl.block.map_or("block", |b| b.ident.as_str()), decl.name),
        }
    }

    /// Checks the body against its schema: unknown attributes and blocks (with suggestions),
    /// duplicates, required attributes. `what` names the block in messages.
    fn check_body(
        &mut self,
        d: usize,
        body: &Body,
        def: &BlockDef,
        header: Range<usize>,
        what: &str,
    ) -> Result<(), Reported> {
        let mut failed = None;
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
                    failed = Some(
                        self.error(
                            Diagnostic::error(format!("attribute `{name}` is set twice in {what}"))
                                .with_span(key_span)
                                .with_detail(format!("first set at {first_span}"))
                                .with_hint("remove one of them"),
                        ),
                    );
                    continue;
                }
                if def.attr(name).is_some() {
                    continue;
                }
                if def.nested(name).is_some() {
                    failed = Some(
                        self.error(
                            Diagnostic::error(format!("`{name}` is a block, not an attribute"))
                                .with_span(key_span)
                                .with_hint(format!("write {name} {{ ... }} without `=`")),
                        ),
                    );
                } else if !def.open {
                    failed = Some(
                        self.error(
                            Diagnostic::error(format!("unknown attribute `{name}` in {what}"))
                                .with_span(key_span)
                                .with_hint(suggest::allowed_hint(name, &allowed, "names")),
                        ),
                    );
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
                            failed = Some(
                                self.error(
                                    Diagnostic::error(format!(
                                        "`{ident}` block needs {} label(s), found {}",
                                        n.def.labels.len(),
                                        b.labels.len()
                                    ))
                                    .with_span(ident_span)
                                    .with_hint(format!("write {example}")),
                                ),
                            );
                        } else if !n.repeated && !seen_blocks.insert(ident.to_string()) {
                            failed = Some(
                                self.error(
                                    Diagnostic::error(format!(
                                        "only one `{ident}` block is allowed in {what}"
                                    ))
                                    .with_span(ident_span)
                                    .with_hint("merge the blocks into one"),
                                ),
                            );
                        }
                    }
                    None if def.attr(ident).is_some() => {
                        failed = Some(
                            self.error(
                                Diagnostic::error(format!("`{ident}` is an attribute, not a block"))
                                    .with_span(ident_span)
                                    .with_hint(format!("write {ident} = ...")),
                            ),
                        );
                    }
                    None if def.open => {}
                    None => {
                        failed = Some(
                            self.error(
                                Diagnostic::error(format!("unknown block `{ident}` in {what}"))
                                    .with_span(ident_span)
                                    .with_hint(suggest::allowed_hint(ident, &allowed, "names")),
                            ),
                        );
                    }
                }
            }
        }
        for a in def.attrs.iter().filter(|a: &&AttrDef| a.required) {
            if body.get_attribute(a.name).is_none() {
                let span = self.span(d, Some(header.clone()));
                failed = Some(
                    self.error(
                        Diagnostic::error(format!("{what} is missing the required attribute `{}`", a.name))
                            .with_span(span)
                            .with_hint(format!("add {} = ... ({})", a.name, a.doc)),
                    ),
                );
            }
        }
        match failed {
            None => Ok(()),
            Some(reported) => Err(reported),
        }
    }
}
