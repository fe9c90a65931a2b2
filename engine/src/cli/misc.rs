//! Small commands: validate, fmt, show, history, graph, force-unlock, version, schema.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{self, CmdResult, Context, Failure};
use super::{VarArgs, EXIT_ERROR, EXIT_OK};
use crate::config;
use crate::diag::{Diagnostic, Severity};
use crate::graph::BlockGraph;
use crate::output;

/// `validate --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ValidateOutput {
    pub format_version: u32,
    pub valid: bool,
    pub error_count: usize,
    pub warning_count: usize,
    /// Vendor objects the configuration compiles to.
    pub objects: usize,
    pub diagnostics: Vec<serde_json::Value>,
}

pub fn validate(ctx: &Context, vars: &VarArgs, json: bool) -> CmdResult {
    let (diags, objects, files) = match ctx.load(vars) {
        Ok((cfg, warnings)) => match crate::compile::compile_with_warnings(&cfg) {
            Ok((objs, more)) => (warnings.0.into_iter().chain(more.0).collect(), objs.len(), cfg.files),
            Err(d) => (warnings.0.into_iter().chain(d.0).collect(), 0, cfg.files),
        },
        Err(Failure::Diagnostics(d, files)) => (d.0, 0, files),
        Err(other) => return Err(other),
    };
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.len() - errors;
    if json {
        let out = ValidateOutput {
            format_version: 1,
            valid: errors == 0,
            error_count: errors,
            warning_count: warnings,
            objects,
            diagnostics: diags
                .iter()
                .map(|d: &Diagnostic| serde_json::to_value(d).unwrap_or_default())
                .collect(),
        };
        common::print_json(&out)?;
    } else {
        let all = crate::diag::Diagnostics(diags);
        if !all.is_empty() {
            eprint!("{}", all.render(&files, ctx.color));
        }
        if errors == 0 {
            println!("Success! The configuration is valid ({objects} vendor objects).");
        }
    }
    Ok(if errors == 0 { EXIT_OK } else { EXIT_ERROR })
}

fn hcl_files(paths: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    let roots: Vec<PathBuf> = if paths.is_empty() { vec![dir.to_path_buf()] } else { paths.to_vec() };
    let mut out = Vec::new();
    for r in roots {
        if r.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&r) {
                let mut v: Vec<PathBuf> = rd
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        matches!(p.extension().and_then(|x| x.to_str()), Some("hcl") | Some("wkvars"))
                    })
                    .collect();
                v.sort();
                out.extend(v);
            }
        } else {
            out.push(r);
        }
    }
    out
}

pub fn fmt(ctx: &Context, check: bool, diff: bool, paths: &[PathBuf]) -> CmdResult {
    let mut changed = Vec::new();
    for path in hcl_files(paths, &ctx.dir) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Failure::msg(format!("cannot read {}: {e}", path.display())))?;
        let formatted = config::format_source(&text, &path).map_err(|d| {
            Failure::Diagnostics(d, vec![config::SourceFile { path: path.clone(), text: text.clone() }])
        })?;
        if formatted == text {
            continue;
        }
        changed.push(path.clone());
        if diff {
            let d = similar::TextDiff::from_lines(&text, &formatted);
            print!("{}", d.unified_diff().header(&path.display().to_string(), &path.display().to_string()));
        }
        if !check {
            std::fs::write(&path, &formatted)
                .map_err(|e| Failure::msg(format!("cannot write {}: {e}", path.display())))?;
        }
        println!("{}", path.display());
    }
    // Terraform's `fmt -check` exits 3 when files need formatting.
    Ok(if check && !changed.is_empty() { 3 } else { EXIT_OK })
}

pub fn show(ctx: &Context, plan_file: Option<&Path>, json: bool) -> CmdResult {
    match plan_file {
        Some(p) => {
            let plan = crate::plan::file::load(p).map_err(|e| Failure::msg(e.to_string()))?;
            if json {
                common::print_json(&plan)?;
            } else {
                print!("{}", output::human::plan(&plan));
            }
        }
        None => {
            let state = ctx.backend_quiet().load()?;
            match state {
                None => println!("No state yet. Run `watchkeep apply` to create it."),
                Some(s) if json => common::print_json(&s)?,
                Some(s) => {
                    println!(
                        "# state serial {}, lineage {}, {} resources",
                        s.serial,
                        s.lineage,
                        s.resources.len()
                    );
                    for r in &s.resources {
                        println!("{}  {} {}  (changed {})", r.address, r.resource_type, r.id, r.changed_at);
                    }
                }
            }
        }
    }
    Ok(EXIT_OK)
}

pub fn history(ctx: &Context, version: Option<u64>, json: bool) -> CmdResult {
    let backend = ctx.backend_quiet();
    match version {
        Some(v) => {
            let e = backend.history_entry(v)?.ok_or_else(|| {
                Failure::msg(format!("no history version {v}\nhint: `watchkeep history` lists the versions"))
            })?;
            if json {
                common::print_json(&e)?;
            } else {
                println!(
                    "version {}  {}  {} by {}  serial {}  outcome {}",
                    e.version, e.timestamp, e.operation, e.actor, e.serial, e.outcome
                );
                if let Some(r) = &e.source_revision {
                    println!("source revision {r}");
                }
                println!(
                    "{} created, {} updated, {} replaced, {} destroyed",
                    e.counts.create, e.counts.update, e.counts.replace, e.counts.delete
                );
                for c in &e.changes {
                    let attrs = if c.changed_attributes.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", c.changed_attributes.join(", "))
                    };
                    println!("  {:<8} {} {}{attrs}", c.action, c.address, c.id.as_deref().unwrap_or(""));
                }
            }
        }
        None => {
            let entries = backend.history()?;
            if json {
                common::print_json(&entries)?;
            } else if entries.is_empty() {
                println!("No history yet.");
            } else {
                println!(
                    "{:<8} {:<26} {:<10} {:<7} {:<28} changes",
                    "version", "timestamp", "operation", "serial", "actor"
                );
                for e in entries {
                    let c = &e.counts;
                    println!(
                        "{:<8} {:<26} {:<10} {:<7} {:<28} +{} ~{} -/+{} -{}{}",
                        e.version,
                        e.timestamp,
                        e.operation,
                        e.serial,
                        e.actor,
                        c.create,
                        c.update,
                        c.replace,
                        c.delete,
                        if e.outcome == "complete" { String::new() } else { format!(" ({})", e.outcome) }
                    );
                }
            }
        }
    }
    Ok(EXIT_OK)
}

pub fn graph(ctx: &Context, vars: &VarArgs) -> CmdResult {
    let (cfg, _) = ctx.load(vars)?;
    print!("{}", BlockGraph::from_config(&cfg).to_dot());
    Ok(EXIT_OK)
}

pub fn force_unlock(ctx: &Context, lock_id: &str, force: bool) -> CmdResult {
    let backend = ctx.backend_quiet();
    let Some(info) = backend.read_lock()? else {
        println!("The state is not locked.");
        return Ok(EXIT_OK);
    };
    if !force {
        let q = format!(
            "Unlock the state held by {} (pid {} on {}, operation {}, since {})? Only do this if that process is gone.",
            info.holder, info.pid, info.host, info.operation, info.created
        );
        if !common::confirm(&q) {
            eprintln!("Unlock cancelled.");
            return Ok(EXIT_ERROR);
        }
    }
    let removed = backend.force_unlock(lock_id)?;
    println!("Removed lock {} held by {} since {}.", removed.id, removed.holder, removed.created);
    Ok(EXIT_OK)
}

/// `version --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VersionOutput {
    pub version: String,
    pub state_format_version: u32,
    pub plan_format_version: u32,
    pub providers: Vec<String>,
}

pub fn version(json: bool) -> CmdResult {
    let v = VersionOutput {
        version: env!("CARGO_PKG_VERSION").into(),
        state_format_version: crate::state::FORMAT_VERSION,
        plan_format_version: crate::plan::PLAN_FORMAT_VERSION,
        providers: crate::vendors::names().iter().map(|p| p.to_string()).collect(),
    };
    if json {
        common::print_json(&v)?;
    } else {
        println!("watchkeep v{}", v.version);
        println!(
            "state format {}, plan format {}; providers: {}",
            v.state_format_version,
            v.plan_format_version,
            v.providers.join(", ")
        );
    }
    Ok(EXIT_OK)
}

pub fn write_schemas(dir: &Path) -> CmdResult {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::msg(format!("cannot create {}: {e}", dir.display())))?;
    for (name, schema) in output::schema::all() {
        let path = dir.join(name);
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text)
            .map_err(|e| Failure::msg(format!("cannot write {}: {e}", path.display())))?;
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}
