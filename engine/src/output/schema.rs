//! JSON Schemas for the configuration, the state and history files, saved plans and every
//! `--json` output, generated from the Rust types. The copies checked in under `schema/` are
//! compared with these by a test, so they can't go stale: after changing a type, run
//! `cargo run -p watchkeep -- schema schema/`.

use schemars::schema_for;
use serde_json::Value;

use std::path::{Path, PathBuf};

use crate::plan::Plan;
use crate::run::report::{
    AlertLog, ApplyOutput, ChainReport, DriftReport, FmtOutput, ForceUnlockOutput, GraphOutput, PlanOutput,
    StateListItem, StateRmOutput, ValidateOutput, VersionOutput,
};
use crate::run::Error;
use crate::state::{HistoryEntry, LockInfo, ResourceState, State};

fn v(s: schemars::Schema) -> Value {
    s.to_value()
}

/// (file name, schema) for everything under `schema/`.
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        ("config.schema.json", crate::config::config_schema()),
        ("state.schema.json", v(schema_for!(State))),
        ("history-entry.schema.json", v(schema_for!(HistoryEntry))),
        ("lock.schema.json", v(schema_for!(LockInfo))),
        ("plan-file.schema.json", v(schema_for!(Plan))),
        ("plan.schema.json", v(schema_for!(PlanOutput))),
        ("apply.schema.json", v(schema_for!(ApplyOutput))),
        ("drift.schema.json", v(schema_for!(DriftReport))),
        ("validate.schema.json", v(schema_for!(ValidateOutput))),
        ("version.schema.json", v(schema_for!(VersionOutput))),
        ("state-list.schema.json", v(schema_for!(Vec<StateListItem>))),
        ("state-show.schema.json", v(schema_for!(ResourceState))),
        ("history.schema.json", v(schema_for!(Vec<HistoryEntry>))),
        ("alerts.schema.json", v(schema_for!(AlertLog))),
        ("fmt.schema.json", v(schema_for!(FmtOutput))),
        ("graph.schema.json", v(schema_for!(GraphOutput))),
        ("force-unlock.schema.json", v(schema_for!(ForceUnlockOutput))),
        ("state-rm.schema.json", v(schema_for!(StateRmOutput))),
        ("validations.schema.json", v(schema_for!(ChainReport))),
        ("coverage.schema.json", v(schema_for!(crate::run::report::CoverageReport))),
        ("routes-test.schema.json", v(schema_for!(crate::run::report::RoutesTestReport))),
        ("evidence-scope.schema.json", v(schema_for!(crate::evidence::bundle::ScopeFile))),
        (
            "evidence-alert-configuration.schema.json",
            v(schema_for!(crate::evidence::bundle::AlertConfigurationFile)),
        ),
        ("evidence-changes.schema.json", v(schema_for!(crate::evidence::bundle::ChangesFile))),
        ("evidence-alert-log.schema.json", v(schema_for!(crate::evidence::bundle::AlertLogFile))),
        ("evidence-validations.schema.json", v(schema_for!(crate::evidence::bundle::ValidationsFile))),
        ("evidence-manifest.schema.json", v(schema_for!(crate::evidence::bundle::Manifest))),
        ("evidence.schema.json", v(schema_for!(crate::run::report::EvidenceOutput))),
        ("alerts-note.schema.json", v(schema_for!(crate::run::notes::NoteOutput))),
        ("import.schema.json", v(schema_for!(crate::run::report::ImportOutput))),
        ("state-migrate.schema.json", v(schema_for!(crate::run::migrate::MigrateOutput))),
    ]
}

/// Writes every schema of [`all`] into `dir`; returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::msg(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (name, schema) in all() {
        let path = dir.join(name);
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text)
            .map_err(|e| Error::msg(format!("cannot write {}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn checked_in_schemas_are_fresh() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema");
        let mut stale = Vec::new();
        for (name, schema) in super::all() {
            let path = dir.join(name);
            let want = serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n";
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            if have != want {
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "stale schema files {stale:?}: run `cargo run -p watchkeep -- schema schema/` and commit the result"
        );
    }
}
