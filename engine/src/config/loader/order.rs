//! Stage 3c: the evaluation order. Declarations are ordered by dependency; a cycle is an error
//! at the reference that closes it, and everything in or behind a cycle is not evaluated.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::{Decl, Declarations, FileEntry, ModuleInfo, Ref, Stage, Target, Tree};
use crate::diag::{Diagnostic, Diagnostics};

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

/// Cycles in a graph given as adjacency lists (`succ[i]` = nodes `i` points to). Each cycle is a
/// node sequence `[a, b, c]` meaning `a → b → c → a`, starting at its smallest node.
fn find_cycles(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut g: DiGraph<(), ()> = DiGraph::with_capacity(succ.len(), 0);
    let nodes: Vec<NodeIndex> = (0..succ.len()).map(|_| g.add_node(())).collect();
    for (i, targets) in succ.iter().enumerate() {
        for &t in targets {
            if t < nodes.len() {
                g.add_edge(nodes[i], nodes[t], ());
            }
        }
    }
    let mut cycles = Vec::new();
    for scc in tarjan_scc(&g) {
        let members: BTreeSet<usize> = scc.iter().map(|n| n.index()).collect();
        let Some(&start) = members.first() else { continue };
        if members.len() == 1 && !succ[start].contains(&start) {
            continue;
        }
        // Shortest path start → … → start inside the component.
        let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut last = None;
        'bfs: while let Some(u) = queue.pop_front() {
            let mut next: Vec<usize> = succ[u].iter().copied().filter(|t| members.contains(t)).collect();
            next.sort_unstable();
            next.dedup();
            for t in next {
                if t == start {
                    last = Some(u);
                    break 'bfs;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(t) {
                    e.insert(u);
                    queue.push_back(t);
                }
            }
        }
        let Some(mut u) = last else { continue };
        let mut path = vec![u];
        while u != start {
            u = parent[&u];
            path.push(u);
        }
        path.reverse();
        cycles.push(path);
    }
    cycles.sort();
    cycles
}

/// Dependencies-first order of the nodes not on (or behind) a cycle; `deps[i]` = what `i` needs.
/// Ties go to the smaller index, so declaration order is kept where the graph allows.
fn stable_topo(deps: &[Vec<usize>]) -> Vec<usize> {
    let n = deps.len();
    let mut remaining: Vec<usize> = vec![0; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        let unique: BTreeSet<usize> = ds.iter().copied().filter(|&d| d < n).collect();
        remaining[i] = unique.len();
        for d in unique {
            dependents[d].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| remaining[i] == 0).map(Reverse).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        out.push(i);
        for &d in &dependents[i] {
            remaining[d] -= 1;
            if remaining[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_with_their_path() {
        // 0 → 1 → 2 → 0, 3 → 3, 4 → 0
        let succ = vec![vec![1], vec![2], vec![0], vec![3], vec![0]];
        assert_eq!(find_cycles(&succ), vec![vec![0, 1, 2], vec![3]]);
        assert!(find_cycles(&[vec![1], vec![]]).is_empty());
    }

    #[test]
    fn stable_topo_keeps_declaration_order() {
        // 0 needs 2, 1 needs nothing, 2 needs nothing
        assert_eq!(stable_topo(&[vec![2], vec![], vec![]]), vec![1, 2, 0]);
        // cycle members are left out
        assert_eq!(stable_topo(&[vec![1], vec![0], vec![]]), vec![2]);
    }
}
