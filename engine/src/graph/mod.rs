//! The dependency graph between blocks: built from the references the loader recorded
//! ([`Config::edges`]), used for `watchkeep graph` (DOT output) and apply ordering.
//!
//! An edge `from → to` means `from` refers to (depends on) `to`, so `to` comes first in
//! [`BlockGraph::topo_order`].

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::config::model::{Config, Span};

/// Block addresses (`var.x`, `alert.cpu`, `datadog_monitor.x["k"]`, `provider.datadog`) and the
/// references between them.
#[derive(Debug, Clone, Default)]
pub struct BlockGraph {
    graph: DiGraph<String, Option<Span>>,
    index: BTreeMap<String, NodeIndex>,
}

impl BlockGraph {
    /// Nodes are every block the configuration declares (and every component and resource
    /// instance); edges are the recorded references, plus the implicit dependency of each vendor
    /// object and component on its `provider` block when there is one.
    pub fn from_config(cfg: &Config) -> BlockGraph {
        let mut g = BlockGraph::default();
        if cfg.addresses.is_empty() {
            // A hand-built config (tests, tools): derive addresses from the maps.
            let named = [
                ("var", cfg.variables.keys().collect::<Vec<_>>()),
                ("local", cfg.locals.keys().collect()),
                ("provider", cfg.providers.keys().collect()),
                ("inventory", cfg.inventories.keys().collect()),
                ("component", cfg.components.keys().collect()),
                ("route", cfg.routes.keys().collect()),
                ("alert", cfg.alerts.keys().collect()),
                ("baseline", cfg.baselines.keys().collect()),
                ("metric", cfg.metrics.keys().collect()),
                ("dashboard", cfg.dashboards.keys().collect()),
            ];
            for (kind, names) in named {
                for n in names {
                    g.node(&format!("{kind}.{n}"));
                }
            }
            for addr in cfg.resources.keys() {
                g.node(addr);
            }
        } else {
            for addr in cfg.addresses.keys() {
                g.node(addr);
            }
        }
        for e in &cfg.edges {
            g.add_edge(&e.from, &e.to, Some(e.span.clone()));
        }
        for (addr, r) in &cfg.resources {
            let Some(vendor) = crate::vendors::provider_of(&r.resource_type) else { continue };
            let provider = format!("provider.{vendor}");
            if g.index.contains_key(&provider) && g.index.contains_key(addr) {
                g.add_edge(addr, &provider, None);
            }
        }
        for (name, c) in &cfg.components {
            let provider = format!("provider.{}", c.provider);
            let addr = format!("component.{name}");
            if g.index.contains_key(&provider) && g.index.contains_key(&addr) {
                g.add_edge(&addr, &provider, None);
            }
        }
        g
    }

    fn node(&mut self, addr: &str) -> NodeIndex {
        if let Some(&i) = self.index.get(addr) {
            return i;
        }
        let i = self.graph.add_node(addr.to_string());
        self.index.insert(addr.to_string(), i);
        i
    }

    fn add_edge(&mut self, from: &str, to: &str, span: Option<Span>) {
        let a = self.node(from);
        let b = self.node(to);
        if a != b && self.graph.find_edge(a, b).is_none() {
            self.graph.add_edge(a, b, span);
        }
    }

    pub fn contains(&self, addr: &str) -> bool {
        self.index.contains_key(addr)
    }

    /// Every address, sorted.
    pub fn nodes(&self) -> Vec<String> {
        self.index.keys().cloned().collect()
    }

    /// Every edge `(from, to)`, sorted.
    pub fn edges(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .graph
            .edge_references()
            .map(|e| (self.graph[e.source()].clone(), self.graph[e.target()].clone()))
            .collect();
        v.sort();
        v
    }

    fn neighbours(&self, addr: &str, dir: Direction) -> Vec<String> {
        let Some(&i) = self.index.get(addr) else { return Vec::new() };
        let mut v: Vec<String> =
            self.graph.neighbors_directed(i, dir).map(|n| self.graph[n].clone()).collect();
        v.sort();
        v
    }

    /// What `addr` refers to.
    pub fn dependencies(&self, addr: &str) -> Vec<String> {
        self.neighbours(addr, Direction::Outgoing)
    }

    /// What refers to `addr`.
    pub fn dependents(&self, addr: &str) -> Vec<String> {
        self.neighbours(addr, Direction::Incoming)
    }

    /// Graphviz DOT, deterministic (sorted nodes and edges).
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph watchkeep {\n  rankdir = \"RL\";\n  node [shape = \"box\"];\n");
        for n in self.index.keys() {
            out.push_str(&format!("  {};\n", dot_id(n)));
        }
        for (from, to) in self.edges() {
            out.push_str(&format!("  {} -> {};\n", dot_id(&from), dot_id(&to)));
        }
        out.push_str("}\n");
        out
    }

    /// Every address with dependencies before dependents; ties in address order, so the result is
    /// deterministic. (A loaded configuration has no cycles; should one exist, its nodes come
    /// last.)
    pub fn topo_order(&self) -> Vec<String> {
        let n = self.graph.node_count();
        let mut remaining: Vec<usize> = vec![0; n];
        for e in self.graph.edge_references() {
            remaining[e.source().index()] += 1;
        }
        let mut ready: BTreeSet<(String, NodeIndex)> = BTreeSet::new();
        for i in self.graph.node_indices() {
            if remaining[i.index()] == 0 {
                ready.insert((self.graph[i].clone(), i));
            }
        }
        let mut out = Vec::with_capacity(n);
        let mut done = vec![false; n];
        while let Some(first) = ready.pop_first() {
            let (addr, i) = first;
            done[i.index()] = true;
            out.push(addr);
            for dependent in self.graph.neighbors_directed(i, Direction::Incoming) {
                remaining[dependent.index()] -= 1;
                if remaining[dependent.index()] == 0 {
                    ready.insert((self.graph[dependent].clone(), dependent));
                }
            }
        }
        let mut rest: Vec<String> =
            self.graph.node_indices().filter(|i| !done[i.index()]).map(|i| self.graph[i].clone()).collect();
        rest.sort();
        out.extend(rest);
        out
    }
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Edge;

    #[test]
    fn block_graph_orders_and_renders() {
        let mut cfg = Config::default();
        for a in ["alert.cpu", "route.oncall", "var.key", "provider.datadog", "datadog_monitor.x"] {
            cfg.addresses.insert(a.to_string(), Span::default());
        }
        let edge = |from: &str, to: &str| Edge { from: from.into(), to: to.into(), span: Span::default() };
        cfg.edges = vec![edge("alert.cpu", "route.oncall"), edge("route.oncall", "var.key")];
        cfg.resources.insert(
            "datadog_monitor.x".into(),
            crate::config::model::RawResource {
                address: "datadog_monitor.x".into(),
                resource_type: "datadog_monitor".into(),
                name: "x".into(),
                key: None,
                attrs: serde_json::json!({}),
                depends_on: vec![],
                span: Span::default(),
            },
        );
        let g = BlockGraph::from_config(&cfg);
        let order = g.topo_order();
        let pos = |a: &str| order.iter().position(|x| x == a).unwrap();
        assert!(pos("var.key") < pos("route.oncall"));
        assert!(pos("route.oncall") < pos("alert.cpu"));
        assert!(pos("provider.datadog") < pos("datadog_monitor.x"));
        assert_eq!(g.dependencies("alert.cpu"), vec!["route.oncall"]);
        assert_eq!(g.dependents("route.oncall"), vec!["alert.cpu"]);
        let dot = g.to_dot();
        assert!(dot.contains("\"alert.cpu\" -> \"route.oncall\";"), "{dot}");
        assert!(dot.contains("\"datadog_monitor.x\" -> \"provider.datadog\";"), "{dot}");
    }
}
