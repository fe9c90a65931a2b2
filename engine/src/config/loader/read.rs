//! Stage 1: read every `*.hcl` file of the root directory and of each local module it calls,
//! and parse it (hcl-edit keeps byte spans).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use hcl::edit::expr::Expression;
use hcl::edit::structure::Body;
use hcl::edit::Span as _;

use crate::config::confine::{self, Refusal, MAX_SOURCE_BYTES};
use crate::config::limits;
use crate::config::model::Span;
use crate::config::source::{cannot_read, display_path, normalise, parse_hcl, SourceText};
use crate::config::LoadOptions;
use crate::diag::{Diagnostic, Diagnostics};

/// Module nesting limit, to stop runaway recursion.
const MAX_MODULE_DEPTH: usize = 8;

/// The parsed files of the configuration and the modules they belong to (module 0 is the root).
pub(crate) struct Tree {
    pub(super) files: Vec<FileEntry>,
    pub(super) modules: Vec<ModuleInfo>,
}

pub(crate) struct FileEntry {
    pub(super) src: SourceText,
    pub(super) body: Body,
    pub(super) module: usize,
}

pub(crate) struct ModuleInfo {
    /// `""` for the root, `module.team.` inside `module "team"`.
    pub(super) prefix: String,
    pub(super) dir: PathBuf,
    /// Parent module and the call's name.
    pub(super) parent: Option<(usize, String)>,
    /// The `source` of the `module` block that calls it, where problems reading it are reported.
    pub(super) source: Option<Span>,
}

/// Lists `*.hcl` entries of a directory that are not directories, sorted. FIFOs, sockets,
/// devices and symlinks are listed too, so that reading them is refused with a message rather
/// than skipped in silence.
fn hcl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.is_dir() && p.extension().is_some_and(|e| e == "hcl"))
        .collect();
    v.sort();
    Ok(v)
}

/// Reads and parses the root directory and every local module it calls.
pub(super) fn read_tree(opts: &LoadOptions, diags: &mut Diagnostics) -> Tree {
    let policy = crate::config::confine::Policy::new(&opts.dir, &opts.env);
    let mut files = Vec::new();
    let mut modules =
        vec![ModuleInfo { prefix: String::new(), dir: opts.dir.clone(), parent: None, source: None }];
    let mut i = 0;
    while i < modules.len() {
        let dir = modules[i].dir.clone();
        let paths = match hcl_files(&dir) {
            Ok(mut p) if i == 0 && !opts.extra_files.is_empty() => {
                p.retain(|p| {
                    !opts.extra_files.iter().any(|(n, _)| p.file_name().is_some_and(|f| f == n.as_str()))
                });
                p
            }
            Ok(p) => p,
            Err(e) => {
                diags.push(
                    Diagnostic::error(format!(
                        "cannot read configuration directory `{}`: {e}",
                        display_path(&dir).display()
                    ))
                    .with_span(modules[i].source.clone())
                    .with_hint("check the path; watchkeep loads every *.hcl file in the directory"),
                );
                i += 1;
                continue;
            }
        };
        let extra: &[(String, String)] = if i == 0 { &opts.extra_files } else { &[] };
        if paths.is_empty() && extra.is_empty() {
            diags.push(
                Diagnostic::error(format!("no *.hcl files in `{}`", display_path(&dir).display()))
                    .with_span(modules[i].source.clone())
                    .with_hint(
                        "run watchkeep in the directory that holds your configuration, or create a main.hcl",
                    ),
            );
        }
        let first_new = files.len();
        for p in paths {
            // Confined: a `.hcl` symlink to /proc/self/environ or a file outside the
            // configuration is refused before a byte of it is read (so no snippet can quote it).
            let src = match SourceText::read(&p, MAX_SOURCE_BYTES, &policy) {
                Ok(s) => s,
                Err(e) => {
                    diags.push(cannot_read("", &p, &e).with_span(modules[i].source.clone()));
                    continue;
                }
            };
            match parse_hcl(&src) {
                Ok(body) => files.push(FileEntry { src, body, module: i }),
                Err(d) => diags.push(*d),
            }
        }
        for (name, text) in extra {
            let src = SourceText::new(&dir.join(name), text.clone());
            match parse_hcl(&src) {
                Ok(body) => files.push(FileEntry { src, body, module: i }),
                Err(d) => diags.push(*d),
            }
        }
        // Local modules called from this module's files.
        let mut called = HashSet::new();
        let mut full = false;
        'calls: for f in &files[first_new..] {
            for block in f.body.blocks().filter(|b| b.ident.as_str() == "module") {
                let [label] = block.labels.as_slice() else { continue };
                let name = label.as_str().to_string();
                let Some(source) = block.body.get_attribute("source") else { continue };
                let span = f.src.span(source.value.span().unwrap_or(0..0));
                let Expression::String(s) = &source.value else {
                    diags.push(
                        Diagnostic::error("module `source` must be a literal string")
                            .with_span(span)
                            .with_hint(
                                "write source = \"./modules/<name>\" (it is read before variables exist)",
                            ),
                    );
                    continue;
                };
                let s = s.value().as_str();
                if !(s.starts_with("./") || s.starts_with("../")) {
                    diags.push(
                        Diagnostic::error(format!("module source `{s}` is not a local path"))
                            .with_span(span)
                            .with_hint(
                                "only local directories are supported: start the source with ./ or ../",
                            ),
                    );
                    continue;
                }
                if !called.insert(name.clone()) {
                    continue; // reported as a duplicate declaration later
                }
                let child_dir = normalise(&dir.join(s));
                // A module's directory is confined like its files: inside the configuration (or
                // its git work tree) or a directory the operator allows.
                if let Err(e @ (Refusal::Forbidden { .. } | Refusal::Outside { .. })) =
                    confine::check_dir(&child_dir, &policy)
                {
                    diags.push(
                        Diagnostic::error(format!("cannot read module `{name}` from `{s}`: {}", e.reason()))
                            .with_span(span)
                            .with_hint(e.hint()),
                    );
                    continue;
                }
                let depth = modules[i].prefix.matches("module.").count();
                let mut ancestor = Some(i);
                let mut recursive = false;
                while let Some(a) = ancestor {
                    recursive |= normalise(&modules[a].dir) == child_dir;
                    ancestor = modules[a].parent.as_ref().map(|(p, _)| *p);
                }
                if depth >= MAX_MODULE_DEPTH && !recursive {
                    diags.push(
                        Diagnostic::error(format!(
                            "module `{name}` would nest modules deeper than {MAX_MODULE_DEPTH} levels"
                        ))
                        .with_span(span)
                        .with_hint(limits::HINT),
                    );
                    continue;
                }
                if modules.len() >= limits::MAX_MODULES {
                    diags.push(
                        Diagnostic::error(format!(
                            "module `{name}` would make more than {} module instances in this configuration",
                            limits::MAX_MODULES
                        ))
                        .with_span(span)
                        .with_hint(limits::HINT),
                    );
                    // Stop reading modules: each further call would only repeat this error.
                    full = true;
                    break 'calls;
                }
                if recursive {
                    diags.push(
                        Diagnostic::error(format!(
                            "module `{name}` includes itself (directly or through other modules)"
                        ))
                        .with_span(span)
                        .with_hint(
                            "modules cannot call themselves; move the shared blocks into a separate module",
                        ),
                    );
                    continue;
                }
                let prefix = format!("{}module.{name}.", modules[i].prefix);
                modules.push(ModuleInfo {
                    prefix,
                    dir: child_dir,
                    parent: Some((i, name)),
                    source: Some(span),
                });
            }
        }
        if full {
            break;
        }
        i += 1;
    }
    Tree { files, modules }
}
