//! What this build is: its version, file formats and providers.

use super::report::VersionOutput;

pub fn version() -> VersionOutput {
    VersionOutput {
        version: env!("CARGO_PKG_VERSION").into(),
        state_format_version: crate::state::FORMAT_VERSION,
        plan_format_version: crate::plan::PLAN_FORMAT_VERSION,
        providers: crate::vendors::names().iter().map(|p| p.to_string()).collect(),
    }
}
