//! Stage 3b: the values of root-module variables given from outside: `watchkeep.wkvars`,
//! `*.auto.wkvars`, `-var-file` and `-var` (the environment is read when a variable is
//! evaluated).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use hcl::edit::Span as _;
use hcl::eval::Context;
use serde_json::Value;

use super::{Decl, Kind};
use crate::config::confine::{Policy, Refusal, MAX_SOURCE_BYTES};
use crate::config::functions::{self, BaseDirGuard};
use crate::config::model::Span;
use crate::config::refs::Collected;
use crate::config::source::{cannot_read, parse_hcl, SourceText};
use crate::config::suggest;
use crate::config::values::hcl_to_json;
use crate::config::LoadOptions;
use crate::diag::{Diagnostic, Diagnostics, Reported};

/// One value assignment for a root-module variable, with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Assign {
    pub(super) value: AssignValue,
    pub(super) origin: String,
    pub(super) span: Option<Span>,
    /// Supplied from outside the configuration (`-var`, a `-var-file` outside its directory):
    /// sensitive unless the operator lists it in `WATCHKEEP_PUBLIC_VARS`.
    pub(super) outside: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum AssignValue {
    /// Already a value (from a `.wkvars` file).
    Json(Value),
    /// Raw text from `-var` or the environment, interpreted by the variable's type.
    Raw(String),
}

/// Root-module variable assignments from files and `-var`, lowest precedence first.
pub(crate) struct VarInputs {
    pub(super) file_assigns: HashMap<String, Vec<Assign>>,
    pub(super) cli_assigns: HashMap<String, Vec<Assign>>,
}

/// Reads the variables files and `-var`s of `opts` for the variables `decls` declares.
pub(super) fn read(opts: &LoadOptions, decls: &[Decl<'_>], diags: &mut Diagnostics) -> VarInputs {
    let mut r = InputReader { opts, decls, file_assigns: HashMap::new(), cli_assigns: HashMap::new(), diags };
    r.read_var_inputs();
    VarInputs { file_assigns: r.file_assigns, cli_assigns: r.cli_assigns }
}

struct InputReader<'a, 'r> {
    opts: &'a LoadOptions,
    decls: &'r [Decl<'a>],
    file_assigns: HashMap<String, Vec<Assign>>,
    cli_assigns: HashMap<String, Vec<Assign>>,
    diags: &'r mut Diagnostics,
}

impl InputReader<'_, '_> {
    fn error(&mut self, d: Diagnostic) -> Reported {
        self.diags.report(d)
    }

    fn warn(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn read_var_inputs(&mut self) {
        let declared: BTreeSet<String> = self
            .decls
            .iter()
            .filter(|d| d.module == 0 && d.kind == Kind::Variable)
            .map(|d| d.name.clone())
            .collect();
        let mut var_files: Vec<PathBuf> = Vec::new();
        let default_file = self.opts.dir.join("watchkeep.wkvars");
        if default_file.symlink_metadata().is_ok() {
            var_files.push(default_file);
        }
        if let Ok(entries) = std::fs::read_dir(&self.opts.dir) {
            let mut autos: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    !p.is_dir()
                        && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".auto.wkvars"))
                })
                .collect();
            autos.sort();
            var_files.extend(autos);
        }
        let explicit: Vec<PathBuf> = self.opts.var_files.clone();
        for (path, is_explicit) in
            var_files.into_iter().map(|p| (p, false)).chain(explicit.into_iter().map(|p| (p, true)))
        {
            self.read_var_file(&path, is_explicit, &declared);
        }
        for raw in &self.opts.vars {
            let Some((name, value)) = raw.split_once('=') else {
                self.error(
                    Diagnostic::error(format!("invalid -var `{raw}`: expected NAME=VALUE"))
                        .with_hint("write -var 'name=value'"),
                );
                continue;
            };
            let name = name.trim();
            if !declared.contains(name) {
                self.error(
                    Diagnostic::error(format!("-var sets `{name}`, which is not declared")).with_hint(
                        match suggest::closest(name, declared.iter().map(String::as_str)) {
                            Some(c) => {
                                format!("did you mean `{c}`? otherwise declare it: variable \"{name}\" {{}}")
                            }
                            None => format!("declare it with variable \"{name}\" {{}}, or remove the -var"),
                        },
                    ),
                );
                continue;
            }
            self.cli_assigns.entry(name.to_string()).or_default().push(Assign {
                value: AssignValue::Raw(value.to_string()),
                origin: format!("-var {name}=…"),
                span: None,
                outside: true,
            });
        }
    }

    fn read_var_file(&mut self, path: &Path, explicit: bool, declared: &BTreeSet<String>) {
        // `watchkeep.wkvars` and `*.auto.wkvars` come with the configuration and are confined to
        // it; a `-var-file` is the operator's (named on the command line) and may be outside it,
        // unless it names a file inside the configuration (confined then: a pull request may have
        // made it a symlink); /proc, devices and FIFOs are refused for all.
        let confined = Policy::new(&self.opts.dir, &self.opts.env);
        let policy = if explicit { confined.for_operator_file(path) } else { confined };
        let src = match SourceText::read(path, MAX_SOURCE_BYTES, &policy) {
            Ok(s) => s,
            Err(e) => {
                let d = cannot_read("variables file", path, &e);
                self.error(if explicit && matches!(e, Refusal::Io(_)) {
                    d.with_hint("check the -var-file path")
                } else {
                    d
                });
                return;
            }
        };
        let body = match parse_hcl(&src) {
            Ok(b) => b,
            Err(d) => {
                self.error(*d);
                return;
            }
        };
        // A pull request controls the files in the configuration directory, not an explicit
        // -var-file elsewhere (resolved through symlinks).
        let outside = explicit && {
            let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            !canon(path).starts_with(canon(&self.opts.dir))
        };
        let mut ctx = Context::new();
        functions::declare_all(&mut ctx);
        let _dir = BaseDirGuard::set(&self.opts.dir);
        for s in body.iter() {
            let Some(a) = s.as_attribute() else {
                if let Some(b) = s.as_block() {
                    self.error(
                        Diagnostic::error("variables files contain only `name = value` lines")
                            .with_span(src.span(b.ident.span().unwrap_or(0..0)))
                            .with_hint("remove the block; set each variable as name = value"),
                    );
                }
                continue;
            };
            let name = a.key.as_str().to_string();
            let key_span = src.span(a.key.span().unwrap_or(0..0));
            if !declared.contains(&name) {
                self.warn(
                    Diagnostic::warning(format!("value for undeclared variable `{name}` is ignored"))
                        .with_span(key_span)
                        .with_hint(match suggest::closest(&name, declared.iter().map(String::as_str)) {
                            Some(c) => format!("did you mean `{c}`? otherwise declare it or remove the line"),
                            None => format!("declare it with variable \"{name}\" {{}}, or remove the line"),
                        }),
                );
                continue;
            }
            let mut c = Collected::default();
            c.expr(&a.value);
            let value_span = src.span(a.value.span().unwrap_or(0..0));
            if let Some(r) = c.refs.first() {
                self.error(
                    Diagnostic::error(format!("variables files cannot refer to `{}`", r.text(r.parts.len())))
                        .with_span(src.span(r.range(r.parts.len())))
                        .with_hint("write a literal value"),
                );
                continue;
            }
            match functions::evaluate(a.value.clone(), &ctx) {
                Ok(v) => self.file_assigns.entry(name).or_default().push(Assign {
                    value: AssignValue::Json(hcl_to_json(&v)),
                    origin: format!("{}", key_span),
                    span: Some(value_span),
                    outside,
                }),
                Err(e) => {
                    self.error(
                        Diagnostic::error(format!("cannot evaluate value: {}", e.kind()))
                            .with_span(value_span)
                            .with_hint("write a literal value"),
                    );
                }
            }
        }
    }
}
