//! Stage 3c: the evaluation order. Declarations are ordered by dependency; a cycle is an error
//! at the reference that closes it, and everything in or behind a cycle is not evaluated.

use std::collections::{HashMap, HashSet};

use super::{Decl, Declarations, FileEntry, ModuleInfo, Ref, Stage, Target, Tree};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{find_cycles, stable_topo};

/// The order to evaluate declarations in; declarations that cannot be evaluated join `failed`.
pub(super) fn order<'a>(
    tree: &'a Tree,
    declared: &Declarations<'a>,
    failed: &mut HashSet<usize>,
    diags: &mut Diagnostics,
) -> Vec<usize> {
    let Tree { files, modules } = tree;
    Orderer {
        files,
        modules,
        decls: &declared.decls,
        static_components: &declared.static_components,
        dynamic_producers: &declared.dynamic_producers,
        failed,
        diags,
    }
    .order()
}

struct Orderer<'a, 'r> {
    files: &'a [FileEntry],
    modules: &'a [ModuleInfo],
    decls: &'r [Decl<'a>],
    static_components: &'r HashMap<(usize, String), usize>,
    dynamic_producers: &'r HashMap<usize, Vec<usize>>,
    failed: &'r mut HashSet<usize>,
    diags: &'r mut Diagnostics,
}

impl<'a> Stage<'a> for Orderer<'a, '_> {
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

impl Orderer<'_, '_> {
    fn order(&mut self) -> Vec<usize> {
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
        order
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
}
