//! The dependency graph of the configuration's blocks.

use super::report::{GraphEdge, GraphOutput};
use super::{Error, Vars, Workspace};
use crate::graph::BlockGraph;

pub fn graph(ws: &Workspace, vars: &Vars) -> Result<BlockGraph, Error> {
    let (cfg, _) = ws.load(vars)?;
    Ok(BlockGraph::from_config(&cfg))
}

/// The `--json` shape of a graph: sorted nodes and edges.
pub fn report(g: &BlockGraph) -> GraphOutput {
    GraphOutput {
        format_version: 1,
        nodes: g.nodes(),
        edges: g.edges().into_iter().map(|(from, to)| GraphEdge { from, to }).collect(),
    }
}
