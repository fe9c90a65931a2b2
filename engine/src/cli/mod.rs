//! Command-line interface: clap definitions and dispatch here, then one file per command, each
//! parsing its arguments into the run layer's typed input, calling `run::…`, and rendering the
//! report with `output::…`. Each variant's doc comment is its help text.
//!
//! May import: `run` and `output` (and `diag` for rendering). No vendor calls, no business rules,
//! and no provider crate here: those live in the run layer.
//!
//! Flags work both Terraform's way (`-auto-approve`, `-out=FILE`) and the GNU way
//! (`--auto-approve`): [`normalize_args`] rewrites single-dash long flags before clap sees them.

pub mod alerts;
pub mod apply;
pub mod coverage;
pub mod drift;
pub mod evidence;
pub mod fmt;
pub mod force_unlock;
pub mod graph;
pub mod history;
pub mod import;
pub mod plan;
pub mod routes;
pub mod schema;
pub mod show;
pub mod state;
pub mod validate;
pub mod validations;
pub mod version;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::stdout;
use crate::run::{self, Workspace};

/// Exit codes, as Terraform's `-detailed-exitcode`.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_CHANGES: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "watchkeep",
    version,
    about = "Monitoring as code: plan, apply and prove your alerting (Datadog, New Relic, CloudWatch)"
)]
pub struct Cli {
    /// Configuration directory (every *.hcl file in it is one configuration).
    #[arg(long = "chdir", global = true, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Disable colours in diagnostics.
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct VarArgs {
    /// Set a variable: `-var name=value` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file (HCL attributes, like .tfvars).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

impl VarArgs {
    pub fn to_vars(&self) -> run::Vars {
        run::Vars { vars: self.vars.clone(), var_files: self.var_files.clone() }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    /// Save the plan to FILE for `watchkeep apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Read live state from the vendors first (default true); `-refresh=false` plans from state.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Limit the plan to these addresses (and their children), e.g. `baseline.soc2`.
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Print the plan as JSON (schema: schema/plan.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Output format: human (default), json, markdown (for pull-request comments).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Plan to destroy everything in state.
    #[arg(long)]
    pub destroy: bool,
    /// Concurrent vendor requests during refresh.
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    /// Hold the state lock (operation `plan`) during refresh and plan (default true);
    /// `-lock=false` skips it, as Terraform's does.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    /// A plan saved with `plan -out`; without it, apply plans first and asks to confirm.
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Skip the interactive confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Read live state first (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// At most this many vendor operations in flight. The vendor's rate limit paces requests
    /// (see the rate budget); this only caps concurrency, which must be high enough to reach the
    /// allowed rate when the vendor is slow.
    #[arg(long, default_value_t = 32)]
    pub parallelism: usize,
    /// Print the result as JSON (schema: schema/apply.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Hold the state lock (default true). `-lock=false` writes without it: unsafe when anyone
    /// else may run against the same state.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    /// Provider to import from (repeatable; default: every provider the configuration declares).
    #[arg(long = "provider", value_name = "NAME")]
    pub providers: Vec<String>,
    /// Resource type to import (repeatable; default: every type of those providers).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only objects carrying this tag (repeatable: all must match). Types without tags match none.
    #[arg(long = "tag", value_name = "KEY:VALUE")]
    pub tags: Vec<String>,
    /// Only objects whose name or title matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub name: Option<String>,
    /// Only these vendor ids (repeatable).
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// The HCL file to write, in the configuration directory (default imported.hcl; never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// List what would be imported and print the HCL and the plan summary; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON (schema: schema/import.schema.json).
    #[arg(long)]
    pub json: bool,
    /// At most this many vendor operations in flight.
    #[arg(long, default_value_t = 32)]
    pub parallelism: usize,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration: syntax, references, types, and that it compiles.
    Validate {
        #[command(flatten)]
        vars: VarArgs,
        #[arg(long)]
        json: bool,
    },
    /// Rewrite *.hcl files in the canonical style.
    Fmt {
        /// Don't write; exit 3 if any file would change.
        #[arg(long)]
        check: bool,
        /// Show the changes as a diff.
        #[arg(long)]
        diff: bool,
        /// Files or directories (default: the configuration directory).
        paths: Vec<PathBuf>,
        /// Print the files checked and changed as JSON (schema: schema/fmt.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Make the vendors match the configuration.
    Apply(ApplyArgs),
    /// Delete every object watchkeep manages in this state.
    Destroy(ApplyArgs),
    /// Show a saved plan, or the current state.
    Show {
        plan_file: Option<PathBuf>,
        /// Print as JSON: a saved plan (schema/plan-file.schema.json), or the state
        /// (schema/state.schema.json; `null` when there is no state yet).
        #[arg(long)]
        json: bool,
    },
    /// Inspect or edit the state.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// List the dated versions of the state, or show one.
    History {
        /// Version number to show in full.
        version: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Print the dependency graph of the configuration as Graphviz DOT.
    Graph {
        #[command(flatten)]
        vars: VarArgs,
        /// Print the nodes and edges as JSON (schema: schema/graph.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Compare the vendors with state: report edited, deleted and unmanaged objects (exit 2 on drift).
    Drift {
        #[command(flatten)]
        vars: VarArgs,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// The alert log: when each managed alarm fired and recovered, read from the vendors' history.
    /// `alerts note ALERT "what was done"` records a resolution note.
    #[command(args_conflicts_with_subcommands = true)]
    Alerts {
        #[command(subcommand)]
        command: Option<alerts::AlertsCommand>,
        #[command(flatten)]
        vars: VarArgs,
        /// Only changes since this duration ago (`24h`, `7d`) or date (`2026-11-01`).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only these addresses (and their children).
        #[arg(long = "target", value_name = "ADDR")]
        targets: Vec<String>,
        /// Print the log as JSON (schema: schema/alerts.schema.json).
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Remove a stale state lock (only when its holder is gone).
    ForceUnlock {
        lock_id: String,
        /// Don't ask for confirmation.
        #[arg(long)]
        force: bool,
        /// Print the lock removed as JSON (schema: schema/force-unlock.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// List the validation records (drift, coverage, route tests) and check their hash chain
    /// (exit 2 when a record was edited or removed).
    Validations {
        /// Print as JSON (schema: schema/validations.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Print the version.
    Version {
        #[arg(long)]
        json: bool,
    },
    /// Write the JSON Schemas of the configuration, state and every --json output to DIR.
    #[command(hide = true)]
    Schema { dir: PathBuf },
    /// SOC 2 coverage: every in-scope component × required metric has an alert that is tight
    /// enough and routed to someone; inventories reviewed; routes owned (exit 2 on any gap).
    Coverage {
        #[command(flatten)]
        vars: VarArgs,
        /// Print the report as JSON (schema: schema/coverage.schema.json).
        #[arg(long)]
        json: bool,
        /// Output format: human (default), json, markdown (for pull-request comments).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Also ask the vendors: components not reporting, hosts no inventory lists, alerts in No Data.
        #[arg(long)]
        live: bool,
        /// With --live: how far back "reporting" looks.
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        window: String,
    },
    /// Test notification routes: `routes test [ROUTE…]` sends one real test through every target.
    Routes {
        #[command(subcommand)]
        command: routes::RoutesCommand,
    },
    /// Write the SOC 2 CC7.1 evidence bundle of a period: scope, alert configuration, changes,
    /// alert log, validation records, dated dashboard pictures, index, manifest and OSCAL
    /// (exit 2 when the bundle shows problems, such as a broken hash chain).
    Evidence {
        #[command(flatten)]
        vars: VarArgs,
        /// First day of the period (`2026-10-01`), an RFC 3339 time, or a duration ago (`30d`).
        #[arg(long, value_name = "WHEN")]
        from: String,
        /// Last day of the period (inclusive), an RFC 3339 time, or `now` (the default).
        #[arg(long, value_name = "WHEN")]
        to: Option<String>,
        /// The bundle's directory (created; a previous bundle there is replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Print where the bundle is and what it holds as JSON (schema: schema/evidence.schema.json).
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Adopt existing vendor objects: write them as HCL and take them into this state
    /// (objects owned by another watchkeep state are refused: exit 2).
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in state.
    List {
        /// Only addresses under these prefixes.
        prefixes: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one resource in state.
    Show {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Forget resources (the vendor objects are left alone).
    Rm {
        #[arg(required = true)]
        addresses: Vec<String>,
        /// Print what was removed as JSON (schema: schema/state-rm.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Copy a state (with its history, validation records and notes) from another backend into
    /// the one the configuration names: change `watchkeep { state … }` first, then migrate.
    Migrate {
        /// The old state: a local path (e.g. `.watchkeep/state.json`) or `s3://bucket/key`.
        #[arg(long, value_name = "PATH|s3://BUCKET/KEY")]
        from: String,
        /// The old bucket's region (s3 only).
        #[arg(long, value_name = "REGION")]
        from_region: Option<String>,
        /// An S3-compatible endpoint for the old bucket (s3 only; addressed path-style).
        #[arg(long, value_name = "URL")]
        from_endpoint_url: Option<String>,
        /// Print what was copied as JSON (schema: schema/state-migrate.schema.json).
        #[arg(long)]
        json: bool,
    },
}

/// Long flags clap knows, for rewriting Terraform-style `-flag` into `--flag`.
const LONG_FLAGS: &[&str] = &[
    "auto-approve",
    "chdir",
    "check",
    "destroy",
    "detailed-exitcode",
    "diff",
    "force",
    "format",
    "help",
    "json",
    "no-color",
    "out",
    "parallelism",
    "refresh",
    "since",
    "target",
    "var",
    "var-file",
    "version",
    "live",
    "window",
    "from",
    "to",
    "about",
    "provider",
    "type",
    "tag",
    "name",
    "id",
    "dry-run",
    "lock",
    "from-region",
    "from-endpoint-url",
];

/// Rewrites `-auto-approve`, `-out=FILE`, `-var x=1` … into their `--` form.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = false;
    for a in args {
        if rest || a == "--" {
            rest = true;
            out.push(a);
            continue;
        }
        if let Some(body) = a.strip_prefix('-').filter(|b| !b.starts_with('-')) {
            let name = body.split('=').next().unwrap_or(body);
            if name.len() > 1 && LONG_FLAGS.contains(&name) {
                out.push(format!("-{a}"));
                continue;
            }
        }
        out.push(a);
    }
    out
}

/// The result of a command: its exit code, or why it failed.
pub type CmdResult = Result<i32, run::Error>;

/// What every command gets: the workspace the run layer works in, and whether stderr may be
/// coloured.
pub struct Context {
    pub ws: Workspace,
    pub color: bool,
}

impl Context {
    pub fn new(cli: &Cli) -> Context {
        use std::io::IsTerminal;
        let color =
            !cli.no_color && std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Context { ws: Workspace::new(cli.dir.clone(), std::env::vars().collect(), color), color }
    }
}

/// Asks "yes" on the terminal. Anything else (or no input) declines. The question goes to
/// stdout, or to stderr when stdout carries JSON.
pub fn confirm(question: &str, to_stderr: bool) -> Result<bool, run::Error> {
    use std::io::{BufRead, Write};
    let text = format!("{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    if to_stderr {
        eprint!("{text}");
        let _ = std::io::stderr().flush();
    } else {
        stdout::print(&text)?;
    }
    let mut line = String::new();
    Ok(match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => line.trim() == "yes",
        _ => false,
    })
}

/// Runs the CLI and returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    let cli = match Cli::try_parse_from(normalize_args(args)) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    let ctx = Context::new(&cli);
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate { vars, json } => validate::run(&ctx, vars, *json),
            Command::Fmt { check, diff, paths, json } => fmt::run(&ctx, *check, *diff, paths, *json),
            Command::Plan(args) => plan::run(&ctx, args).await,
            Command::Apply(args) => apply::run(&ctx, args, false).await,
            Command::Destroy(args) => apply::run(&ctx, args, true).await,
            Command::Show { plan_file, json } => show::run(&ctx, plan_file.as_deref(), *json),
            Command::State { command } => state::run(&ctx, command),
            Command::History { version, json } => history::run(&ctx, *version, *json),
            Command::Graph { vars, json } => graph::run(&ctx, vars, *json),
            Command::Drift { vars, json, parallelism } => drift::run(&ctx, vars, *json, *parallelism).await,
            Command::Alerts { command: Some(c), .. } => alerts::run_note(&ctx, c),
            Command::Alerts { command: None, vars, since, targets, json, parallelism } => {
                alerts::run(&ctx, vars, since.as_deref(), targets, *json, *parallelism).await
            }
            Command::ForceUnlock { lock_id, force, json } => force_unlock::run(&ctx, lock_id, *force, *json),
            Command::Validations { json } => validations::run(&ctx, *json),
            Command::Version { json } => version::run(*json),
            Command::Schema { dir } => schema::run(dir),
            Command::Coverage { vars, json, format, live, window } => {
                coverage::run(&ctx, vars, *json, *format, *live, window).await
            }
            Command::Routes { command } => routes::run(&ctx, command).await,
            Command::Evidence { vars, from, to, out, json, parallelism } => {
                evidence::run(&ctx, vars, from, to.as_deref(), out, *json, *parallelism).await
            }
            Command::Import(args) => import::run(&ctx, args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(f) => {
            eprint!("{}", f.render(ctx.color));
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn terraform_style_flags_become_gnu_flags() {
        assert_eq!(
            norm(&[
                "watchkeep",
                "plan",
                "-out=p.wkplan",
                "-detailed-exitcode",
                "-var",
                "a=-1",
                "-refresh=false"
            ]),
            [
                "watchkeep",
                "plan",
                "--out=p.wkplan",
                "--detailed-exitcode",
                "--var",
                "a=-1",
                "--refresh=false"
            ]
        );
        assert_eq!(norm(&["watchkeep", "apply", "--auto-approve"]), ["watchkeep", "apply", "--auto-approve"]);
        assert_eq!(norm(&["watchkeep", "x", "-h"]), ["watchkeep", "x", "-h"]);
        assert_eq!(
            norm(&["watchkeep", "state", "rm", "--", "-json"]),
            ["watchkeep", "state", "rm", "--", "-json"]
        );
    }

    #[test]
    fn parses_both_styles() {
        let cli = Cli::try_parse_from(norm(&["watchkeep", "apply", "-auto-approve", "-parallelism=3"]));
        assert!(cli.is_ok(), "{cli:?}");
        let cli =
            Cli::try_parse_from(norm(&["watchkeep", "plan", "-refresh=false", "-target", "baseline.soc2"]));
        match cli.map(|c| c.command) {
            Ok(Command::Plan(p)) => {
                assert!(!p.refresh);
                assert_eq!(p.targets, ["baseline.soc2"]);
            }
            other => panic!("{other:?}"),
        }
    }

    /// The layers import downwards only: `cli` → `run`, `output`; `output` → run's reports;
    /// `run` never renders. Above all no file under `cli/` names a provider crate.
    #[test]
    fn layers_import_downwards_only() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        // Spelled so this file does not name the crates it forbids.
        let vendors: Vec<String> = ["provider", "datadog", "cloudwatch", "newrelic"]
            .iter()
            .map(|v| format!("watchkeep_{v}"))
            .collect();
        let vendors: Vec<&str> = vendors.iter().map(String::as_str).collect();
        let rules: [(&str, &[&str]); 4] = [
            ("cli", &vendors),
            ("output", &["crate::cli", "super::cli"]),
            ("run", &["crate::cli", "crate::output", "super::cli", "super::output"]),
            (
                "evidence",
                &["crate::cli", "crate::output", "crate::run", "super::cli", "super::output", "super::run"],
            ),
        ];
        let mut broken = Vec::new();
        for (dir, forbidden) in rules {
            let files =
                std::fs::read_dir(src.join(dir)).map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>());
            let files = files.unwrap_or_default();
            assert!(!files.is_empty(), "no files under src/{dir}");
            for f in files {
                let text = std::fs::read_to_string(&f).unwrap_or_default();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    if let Some(what) = forbidden.iter().find(|w| code.contains(**w)) {
                        broken.push(format!("{}:{}: {what}", f.display(), n + 1));
                    }
                }
            }
        }
        assert!(broken.is_empty(), "imports against the layering:\n{}", broken.join("\n"));
    }
}
