//! Stage 5: checks across blocks once everything is evaluated (names given as plain strings,
//! components joining the inventory they name) and the edges of the dependency graph.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::eval::Evaluated;
use super::{finish_diags, Decl, FileEntry, Kind, ModuleInfo, NameCheck, Stage, Target, Tree};
use crate::config::model::{Config, Edge, Span};
use crate::config::refs::Part;
use crate::config::suggest;
use crate::diag::{Diagnostic, Diagnostics};

/// The configuration, or every error found.
pub(super) fn finish<'a>(
    tree: &'a Tree,
    decls: &'a [Decl<'a>],
    evaluated: Evaluated,
) -> Result<(Config, Diagnostics), Diagnostics> {
    let Tree { files, modules } = tree;
    let Evaluated { cfg, diags, instances, memberships, name_checks, component_alias } = evaluated;
    Linker { files, modules, decls, diags, cfg, instances, memberships, name_checks, component_alias }
        .finish()
}

struct Linker<'a> {
    files: &'a [FileEntry],
    modules: &'a [ModuleInfo],
    decls: &'a [Decl<'a>],
    diags: Diagnostics,
    cfg: Config,
    instances: HashMap<usize, Vec<String>>,
    memberships: Vec<(String, String, Span)>,
    name_checks: Vec<NameCheck>,
    component_alias: HashMap<(usize, String), String>,
}

impl<'a> Stage<'a> for Linker<'a> {
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

impl Linker<'_> {
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
            if matches!(self.decls[d].kind, Kind::Settings | Kind::Coverage) {
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
