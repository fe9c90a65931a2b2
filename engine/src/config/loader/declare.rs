//! Stage 2: top-level blocks → declarations with addresses (`var.x`, `alert.cpu`,
//! `datadog_monitor.m`, `module.team.route.oncall`), each declared once.

use std::collections::HashMap;

use hcl::edit::structure::Block;
use hcl::edit::Span as _;

use super::{header_range, Decl, FileEntry, Kind, ModuleInfo, Stage, Tree};
use crate::config::schema;
use crate::config::suggest;
use crate::diag::{Diagnostic, Diagnostics};
use crate::vendors;

/// The declarations of the configuration and how to find them.
pub(crate) struct Declarations<'a> {
    pub(super) decls: Vec<Decl<'a>>,
    /// (module, local address) → declaration.
    pub(super) index: HashMap<(usize, String), usize>,
    /// (module, component name) → the declaration that defines it statically.
    pub(super) static_components: HashMap<(usize, String), usize>,
    /// Declarations whose component names are only known after evaluation.
    pub(super) dynamic_producers: HashMap<usize, Vec<usize>>,
}

/// Collects the declarations of every file.
pub(super) fn collect<'a>(tree: &'a Tree, diags: &mut Diagnostics) -> Declarations<'a> {
    let Tree { files, modules } = tree;
    let mut c = Collector {
        files,
        modules,
        decls: Vec::new(),
        index: HashMap::new(),
        static_components: HashMap::new(),
        dynamic_producers: HashMap::new(),
        diags,
    };
    c.collect_decls();
    Declarations {
        decls: c.decls,
        index: c.index,
        static_components: c.static_components,
        dynamic_producers: c.dynamic_producers,
    }
}

struct Collector<'a, 'r> {
    files: &'a [FileEntry],
    modules: &'a [ModuleInfo],
    decls: Vec<Decl<'a>>,
    index: HashMap<(usize, String), usize>,
    static_components: HashMap<(usize, String), usize>,
    dynamic_producers: HashMap<usize, Vec<usize>>,
    diags: &'r mut Diagnostics,
}

impl<'a> Stage<'a> for Collector<'a, '_> {
    fn files(&self) -> &'a [FileEntry] {
        self.files
    }

    fn modules(&self) -> &'a [ModuleInfo] {
        self.modules
    }

    fn decls(&self) -> &[Decl<'a>] {
        &self.decls
    }

    fn diags(&mut self) -> &mut Diagnostics {
        self.diags
    }
}

impl<'a> Collector<'a, '_> {
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
            "coverage" => {
                if module > 0 {
                    self.error(root_only("coverage"));
                    return;
                }
                let key = (module, "coverage.settings".to_string());
                if let Some(&first) = self.index.get(&key) {
                    let first_span = self.header_span(first);
                    self.error(
                        Diagnostic::error("more than one `coverage` block")
                            .with_span(span)
                            .with_detail(format!("the first is at {first_span}"))
                            .with_hint("merge them into one `coverage { ... }` block"),
                    );
                    return;
                }
                self.push_decl(mk(Kind::Coverage, "coverage", "settings"));
            }
            _ => {}
        }
    }
}
