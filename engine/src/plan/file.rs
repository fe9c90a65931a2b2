//! Saved plan files (`plan -out FILE`, `apply FILE`, `show FILE`): the [`Plan`] as JSON.
//! Secrets are already redacted in it; `apply` re-reads sensitive values from the environment.

use std::path::Path;

use super::{Plan, PLAN_FORMAT_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(
        "{path} is not a watchkeep plan file ({detail})\nhint: create one with `watchkeep plan -out {path}`"
    )]
    Invalid { path: String, detail: String },
    #[error("{path} was written by a newer watchkeep (plan format {found}, this version reads {supported})\nhint: apply it with the watchkeep version that made it, or plan again")]
    Newer { path: String, found: u32, supported: u32 },
}

pub fn save(plan: &Plan, path: &Path) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(plan).map_err(std::io::Error::other)?;
    text.push('\n');
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("plan")));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

pub fn load(path: &Path) -> Result<Plan, PlanFileError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| PlanFileError::Io { path: shown.clone(), source })?;
    let raw: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| PlanFileError::Invalid { path: shown.clone(), detail: e.to_string() })?;
    let found = raw.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if found > PLAN_FORMAT_VERSION {
        return Err(PlanFileError::Newer { path: shown, found, supported: PLAN_FORMAT_VERSION });
    }
    serde_json::from_value(raw).map_err(|e| PlanFileError::Invalid { path: shown, detail: e.to_string() })
}
