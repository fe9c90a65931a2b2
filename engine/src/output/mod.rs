//! Renderers: human text, Markdown (pull-request comments), and the JSON shapes of every
//! `--json` output, whose schemas live in `schema/` (see [`schema`]).

pub mod human;
pub mod markdown;
pub mod schema;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cli::Stats;
use crate::plan::Plan;

/// `plan --json` output: the plan plus figures about how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PlanOutput {
    #[serde(flatten)]
    pub plan: Plan,
    pub stats: Stats,
}
