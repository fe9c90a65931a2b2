//! Fuzzing harness for the HCL loader, the expression evaluator, `fmt` and the state loader:
//! no panics, no hangs, located diagnostics; and for what a plan shows of secrets: nothing.
//!
//! `cargo fuzz` needs a nightly toolchain; this is the stable equivalent, built on proptest:
//! random inputs from several generators, each run on its own thread with a deadline, and on
//! failure the input shrunk to a minimal case that can be pasted into a regression test.
//!
//! Generators:
//! - raw bytes, arbitrary Unicode text and "token soup" (HCL fragments in random order);
//! - grammar-aware HCL: random compositions of every block type with random attributes,
//!   references (valid, unknown, cyclic), expressions (arithmetic, conditionals, templates,
//!   heredocs, `for` expressions, splats, calls of every built-in function with any arity and
//!   argument types), huge numbers and Unicode, plus variables files, `-var`s, inventory files and
//!   a local module;
//! - mutations of the configurations in `examples/` (byte flips, duplicated, deleted and swapped
//!   lines, inserted fragments) and their truncation at every length;
//! - state files: valid states from a generator (which must load back equal) and their
//!   truncations and mutations (wrong types, huge numbers, deep nesting);
//! - nesting 63 to 10,000 levels deep (states: to 100,000) of every kind of bracket, block and
//!   template, and values nested deeper through chains of locals, run in a child process on a
//!   2 MiB stack so that a stack overflow (which aborts the process) is reported as a failure
//!   naming the input that caused it;
//! - collections of 100,000 elements through every collection function, `for_each` over 20,000
//!   keys and an inventory of 10,000 rows (linear work takes milliseconds, quadratic work minutes);
//! - secrets (issue 15): a root variable the operator gives from outside the configuration
//!   (`WATCHKEEP_VAR_*`, `-var`, a `-var-file` outside it; declared without `sensitive = true`)
//!   and one declared sensitive, each a random 24-40 character string, through random chains of
//!   the evaluator's string functions and expressions (templates, heredocs, `for`, conditionals,
//!   `format`, `join(split())`, `reverse`, `jsonencode`, `lookup`, `element`, `coalesce`, ...)
//!   into locals, map keys and values, a module input, a `for_each` and a monitor's name,
//!   message, tags and nested options.
//!
//! Properties: every call returns (Ok, or Err with diagnostics) within the deadline; every error
//! diagnostic has a span whose byte range, line and column lie inside the file it names; a
//! configuration that loads has no errors and accounts for every block it declares; rendering
//! diagnostics never panics; `format_source` on anything that parses is idempotent and keeps the
//! parse (and never needs its "keep the input" safety net); a loaded state is sorted, unique and of
//! a supported format; `derived_secrets_never_show`: the plan of a secrets configuration, rendered
//! by the library functions the CLI uses (as printed, Markdown, `--json`, the plan file, or the
//! errors of a failed run), holds no 6 characters in a row of either secret, nor of its upper-case,
//! lower-case, title-case, reversed, base64 or URL-encoded forms, nor its SHA-256 or MD5 hex (a
//! match that the same configuration also shows with other secrets is a coincidence, not a leak).
//! The endpoint check has its own property, `providers/core/tests/endpoint_fuzz.rs`.
//!
//! Knobs (environment variables):
//! - `WATCHKEEP_FUZZ_CASES`: cases per property (default [`DEFAULT_CASES`], about half a minute
//!   for the whole harness in a debug build on 2 cores; `derived_secrets_never_show`, which plans
//!   each case, runs half as many). A longer run:
//!   `WATCHKEEP_FUZZ_CASES=100000 cargo test -p watchkeep --test fuzz --release`
//! - `WATCHKEEP_FUZZ_SEED`: a u64; the default is fixed so CI runs are reproducible.
//! - `WATCHKEEP_FUZZ_TIMEOUT_MS`: the per-case deadline (default [`DEFAULT_TIMEOUT_MS`]).
//! - `WATCHKEEP_FUZZ_VERBOSE`: print every error that rejected a configuration (to see what the
//!   generators get wrong most often).
//!
//! Each property prints (to stderr, even without `--nocapture`) how many cases ran. Before a case
//! runs its input is written to `target/tmp/fuzz-<property>.last`: if the process ever aborts
//! (a stack overflow outside the nesting test), that file holds the culprit. Proptest's failure
//! persistence is off, so nothing is written into the repository.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::Union;
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use serde_json::{json, Value};

use watchkeep::config::{self, LoadOptions, SourceFile, Span};
use watchkeep::diag::Diagnostic;
use watchkeep::state::{LocalBackend, State, FORMAT_VERSION};

// ---- settings ------------------------------------------------------------------------------

/// Cases per property when `WATCHKEEP_FUZZ_CASES` is not set.
const DEFAULT_CASES: u32 = 4_000;
/// Seed when `WATCHKEEP_FUZZ_SEED` is not set: fixed, so CI runs are reproducible.
const DEFAULT_SEED: u64 = 0x5eed_3a7c_4ee9_2026;
/// Per-case deadline when `WATCHKEEP_FUZZ_TIMEOUT_MS` is not set. Cases take milliseconds; this
/// leaves room for a loaded CI machine running a debug build.
const DEFAULT_TIMEOUT_MS: u64 = 3_000;
/// Stack of the thread a case runs on: the CLI loads on the main thread, which has 8 MiB.
const CASE_STACK: usize = 8 << 20;
/// Stack for the nesting tests: a spawned thread's default (tests, tokio workers), so the limits
/// hold with room to spare wherever the loader runs.
const SMALL_STACK: usize = 2 << 20;
/// A case that hangs leaves its thread running; after this many, cases are skipped (counted as
/// passing) so that shrinking ends with the last input that really hung.
const MAX_LEAKED_THREADS: usize = 3;

fn env_number(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    match raw.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name} must be a whole number, got {raw:?}"),
    }
}

fn cases() -> u32 {
    env_number("WATCHKEEP_FUZZ_CASES").map_or(DEFAULT_CASES, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Cases of `derived_secrets_never_show`: each plans a configuration (and plans it again with
/// other secrets when a window matches), a few times the work of a load, so half of [`cases`]
/// (the default keeps it near the other properties' time).
fn secret_cases() -> u32 {
    (cases() / 2).max(1)
}

fn base_seed() -> u64 {
    env_number("WATCHKEEP_FUZZ_SEED").unwrap_or(DEFAULT_SEED)
}

fn deadline() -> Duration {
    Duration::from_millis(env_number("WATCHKEEP_FUZZ_TIMEOUT_MS").unwrap_or(DEFAULT_TIMEOUT_MS))
}

/// Writes straight to the process's stderr, which the test harness does not capture.
fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

// ---- running one case with a deadline ------------------------------------------------------

static LEAKED_THREADS: AtomicUsize = AtomicUsize::new(0);

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a non-string panic payload)".to_string())
}

/// Runs `f` on a fresh thread and waits at most [`deadline`] for it. `Ok(None)`: skipped because
/// too many earlier cases hung. A panic or a hang is an `Err` describing it.
fn run_bounded<T: Send + 'static>(
    label: &str,
    stack: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>, String> {
    if LEAKED_THREADS.load(Ordering::SeqCst) >= MAX_LEAKED_THREADS {
        return Ok(None);
    }
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("fuzz:{label}"))
        .stack_size(stack)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    let limit = deadline();
    match rx.recv_timeout(limit) {
        Ok(v) => {
            let _ = handle.join();
            Ok(Some(v))
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => Err(format!("panicked: {}", panic_message(payload.as_ref()))),
            Ok(()) => Err("the case ended without a result".to_string()),
        },
        Err(RecvTimeoutError::Timeout) => {
            LEAKED_THREADS.fetch_add(1, Ordering::SeqCst);
            Err(format!("did not finish within {limit:?}: a hang (or far too slow)"))
        }
    }
}

/// `run_bounded` for checks that return `Result<bool, String>` (`true`: the input was accepted).
fn bounded_check(
    label: &str,
    stack: usize,
    f: impl FnOnce() -> Result<bool, String> + Send + 'static,
) -> Result<bool, String> {
    run_bounded(label, stack, f)?.unwrap_or(Ok(false))
}

// ---- the property driver -------------------------------------------------------------------

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Each property gets its own stream, derived from the base seed and its name.
fn seed_for(name: &str) -> u64 {
    name.bytes()
        .fold(base_seed() ^ 0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn rng_for(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    let mut x = seed;
    for chunk in bytes.chunks_mut(8) {
        x = splitmix(x);
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

fn breadcrumb(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{name}.last"))
}

/// Runs `check` on [`cases`] inputs from `strategy`. `check` returns whether the input was
/// accepted (for the summary) or what went wrong; a failure is shrunk and reported with the
/// minimal input.
fn fuzz<S>(name: &str, strategy: S, check: impl Fn(&S::Value) -> Result<bool, String>)
where
    S: Strategy,
    S::Value: Debug,
{
    fuzz_n(name, cases(), strategy, check);
}

/// [`fuzz`] with `cases` inputs (for properties whose cases cost more than a load).
fn fuzz_n<S>(name: &str, cases: u32, strategy: S, check: impl Fn(&S::Value) -> Result<bool, String>)
where
    S: Strategy,
    S::Value: Debug,
{
    let seed = seed_for(name);
    let config = RunnerConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        max_shrink_time: 120_000,
        ..RunnerConfig::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng_for(seed));
    let crumb = breadcrumb(name);
    let (inputs, accepted, slowest) = (Cell::new(0usize), Cell::new(0usize), Cell::new(Duration::ZERO));
    let start = Instant::now();
    let result = runner.run(&strategy, |value| {
        let _ = std::fs::write(&crumb, format!("{value:#?}\n"));
        let t = Instant::now();
        let verdict = check(&value);
        slowest.set(slowest.get().max(t.elapsed()));
        inputs.set(inputs.get() + 1);
        match verdict {
            Ok(ok) => {
                accepted.set(accepted.get() + usize::from(ok));
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(e)),
        }
    });
    note(&format!(
        "fuzz {name}: {} inputs in {:.1} s ({} accepted; slowest {} ms; seed {seed:#x})",
        inputs.get(),
        start.elapsed().as_secs_f64(),
        accepted.get(),
        slowest.get().as_millis(),
    ));
    match result {
        Ok(()) => {
            let _ = std::fs::remove_file(&crumb);
        }
        Err(TestError::Fail(reason, minimal)) => panic!(
            "fuzz property `{name}` failed (WATCHKEEP_FUZZ_SEED={}): {reason}\n\nminimal input:\n{minimal:#?}",
            base_seed()
        ),
        Err(TestError::Abort(reason)) => panic!("fuzz property `{name}` aborted: {reason}"),
    }
}

// ---- checking a load -----------------------------------------------------------------------

/// A configuration directory: files (path relative to the directory → content), `-var`s and
/// environment variables.
#[derive(Clone, Default)]
struct Tree {
    files: Vec<(String, Vec<u8>)>,
    vars: Vec<String>,
    env: Vec<(String, String)>,
}

impl Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Tree");
        for (path, bytes) in &self.files {
            match std::str::from_utf8(bytes) {
                Ok(text) => d.field(path, &text),
                Err(_) => d.field(path, bytes),
            };
        }
        if !self.vars.is_empty() {
            d.field("vars", &self.vars);
        }
        if !self.env.is_empty() {
            d.field("env", &self.env);
        }
        d.finish()
    }
}

impl Tree {
    fn text(files: &[(&str, String)]) -> Tree {
        Tree {
            files: files.iter().map(|(p, t)| ((*p).to_string(), t.clone().into_bytes())).collect(),
            ..Tree::default()
        }
    }
}

/// 1-based line and column (in characters) of a byte offset, as `SourceText` computes them.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

fn check_span(span: &Span, text: &str) -> Result<(), String> {
    if span.start > span.end || span.end > text.len() {
        return Err(format!("span {}..{} is outside the text ({} bytes)", span.start, span.end, text.len()));
    }
    if !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
        return Err(format!("span {}..{} splits a character", span.start, span.end));
    }
    let (line, col) = line_col(text, span.start);
    if (span.line, span.col) != (line, col) {
        return Err(format!(
            "span says line {} col {}, but byte {} is at line {line} col {col}",
            span.line, span.col, span.start
        ));
    }
    Ok(())
}

/// Errors that cannot point into a file: a file that is not text, and `-var` arguments.
fn may_lack_span(d: &Diagnostic, texts: &[(PathBuf, Option<&str>)]) -> bool {
    let unreadable = texts.iter().any(|(_, t)| t.is_none());
    (unreadable && d.summary.starts_with("cannot read `"))
        || d.summary.starts_with("invalid -var")
        || d.summary.starts_with("-var sets")
}

fn check_diagnostic(d: &Diagnostic, texts: &[(PathBuf, Option<&str>)]) -> Result<(), String> {
    let Some(span) = &d.span else {
        if d.is_error() && !may_lack_span(d, texts) {
            return Err(format!("error without a location: {}", d.summary));
        }
        return Ok(());
    };
    let Some((_, text)) = texts.iter().find(|(p, _)| *p == span.file) else {
        return Err(format!(
            "`{}` points at `{}`, which is not a file of the configuration",
            d.summary,
            span.file.display()
        ));
    };
    let Some(text) = text else {
        return Err(format!("`{}` points into `{}`, which is not text", d.summary, span.file.display()));
    };
    check_span(span, text).map_err(|e| format!("`{}` at {span}: {e}", d.summary))
}

/// Parses to the comparable (span-free) form.
fn parse(text: &str) -> Result<hcl::Body, String> {
    hcl::edit::parser::parse_body(text).map(hcl::Body::from).map_err(|e| e.to_string())
}

/// `format_source` agrees with the parser, is idempotent, keeps the parse, and formats (its
/// safety net, which returns the input unchanged when formatting would change the meaning, must
/// not be needed). A leading newline is added so that an unformatted result is recognisable.
fn check_fmt(text: &str, path: &Path) -> Result<(), String> {
    let input = format!("\n{text}");
    match (config::format_source(&input, path), parse(&input)) {
        (Err(diags), Err(_)) => {
            let texts = [(path.to_path_buf(), Some(input.as_str()))];
            diags.iter().try_for_each(|d| check_diagnostic(d, &texts)).map_err(|e| format!("fmt: {e}"))
        }
        (Err(diags), Ok(_)) => Err(format!("fmt rejects text that parses: {diags}")),
        (Ok(_), Err(e)) => Err(format!("fmt accepts text that does not parse: {e}")),
        (Ok(once), Ok(before)) => {
            if once.starts_with('\n') {
                return Err("fmt would change the meaning (format_source fell back to the input)".to_string());
            }
            let after = parse(&once).map_err(|e| format!("fmt output does not parse: {e}\n{once}"))?;
            if after != before {
                return Err(format!("fmt changed the meaning:\n{once}"));
            }
            match config::format_source(&once, path) {
                Ok(twice) if twice == once => Ok(()),
                Ok(twice) => Err(format!("fmt is not idempotent:\nonce:\n{once}\ntwice:\n{twice}")),
                Err(d) => Err(format!("fmt output is rejected by fmt: {d}")),
            }
        }
    }
}

/// Addresses the root-module blocks of `text` must produce when the configuration loads
/// (components with `for_each` or `name` are left out: their addresses depend on values, and a
/// `for_each` over an empty set legitimately produces none).
fn expected_addresses(text: &str) -> Vec<String> {
    let Ok(body) = hcl::edit::parser::parse_body(text) else { return Vec::new() };
    let mut out = Vec::new();
    for b in body.blocks() {
        let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
        let has = |name: &str| b.body.get_attribute(name).is_some();
        match (b.ident.as_str(), labels.as_slice()) {
            ("locals", []) => out.extend(b.body.attributes().map(|a| format!("local.{}", a.key.as_str()))),
            ("variable", [n]) => out.push(format!("var.{n}")),
            ("component", [n]) if !has("for_each") && !has("name") => out.push(format!("component.{n}")),
            ("resource", [t, n]) => out.push(format!("{t}.{n}")),
            (
                kind @ ("provider" | "inventory" | "route" | "alert" | "baseline" | "metric" | "dashboard"
                | "module"),
                [n],
            ) => out.push(format!("{kind}.{n}")),
            _ => {}
        }
    }
    out
}

/// Loads the tree and checks every property of the result (in the calling thread).
fn load_and_check(tree: &Tree) -> Result<bool, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    // The configuration sits one level down, so that `../` stays inside the temporary directory.
    let root = tmp.path().join("root");
    for (rel, bytes) in &tree.files {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("mkdir: {e}"))?;
        }
        std::fs::write(&p, bytes).map_err(|e| format!("write: {e}"))?;
    }
    let opts = LoadOptions {
        dir: root.clone(),
        vars: tree.vars.clone(),
        var_files: Vec::new(),
        env: tree.env.iter().cloned().collect::<BTreeMap<_, _>>(),
        extra_files: Vec::new(),
    };
    let result = config::load(&opts);
    if std::env::var_os("WATCHKEEP_FUZZ_VERBOSE").is_some() {
        // For tuning the generators: what rejects the inputs.
        if let Err(d) = &result {
            d.errors().for_each(|e| note(&format!("rejected: {}", e.summary)));
        }
    }
    let texts: Vec<(PathBuf, Option<&str>)> =
        tree.files.iter().map(|(rel, b)| (root.join(rel), std::str::from_utf8(b).ok())).collect();
    let (diags, loaded) = match &result {
        Ok((_, warnings)) => (warnings, true),
        Err(errors) => (errors, false),
    };
    if loaded && diags.has_errors() {
        return Err(format!("loaded, but with errors: {diags}"));
    }
    if !loaded && !diags.has_errors() {
        return Err(format!("failed without an error diagnostic: {diags:?}"));
    }
    for d in diags.iter() {
        check_diagnostic(d, &texts)?;
    }
    let sources: Vec<SourceFile> = texts
        .iter()
        .filter_map(|(p, t)| t.map(|t| SourceFile { path: p.clone(), text: t.to_string() }))
        .collect();
    let _ = diags.render(&sources, false);
    let _ = diags.render(&sources, true);
    if let Ok((cfg, _)) = &result {
        // Nothing declared is dropped without an error.
        for (rel, text) in tree.files.iter().zip(&texts).filter_map(|((rel, _), (_, t))| Some((rel, (*t)?))) {
            if rel.contains('/') || !rel.ends_with(".hcl") {
                continue;
            }
            for address in expected_addresses(text) {
                let found =
                    cfg.addresses.keys().any(|a| *a == address || a.starts_with(&format!("{address}[")));
                if !found {
                    return Err(format!(
                        "loaded without errors, but `{address}` (declared in {rel}) is missing"
                    ));
                }
            }
        }
    }
    for (path, text) in &texts {
        if let (Some(text), true) = (text, path.extension().is_some_and(|e| e == "hcl")) {
            check_fmt(text, path)?;
        }
    }
    Ok(loaded)
}

fn check_tree(label: &str, tree: &Tree) -> Result<bool, String> {
    let tree = tree.clone();
    bounded_check(label, CASE_STACK, move || load_and_check(&tree))
}

// ---- strategies: building blocks -----------------------------------------------------------

fn pick(items: &[&'static str]) -> BoxedStrategy<String> {
    select(items.to_vec()).prop_map(str::to_string).boxed()
}

/// An HCL quoted string literal for `s` (escaping quotes, backslashes, controls and templates).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const TEXTS: &[&str] = &[
    "",
    "x",
    "web-1",
    "#ops",
    "a@example.com",
    "ünïcødé ✓",
    "日本語のテキスト",
    "emoji 🙂👍🏽",
    "${",
    "%{",
    "}",
    "\\",
    "\"",
    "line\nbreak",
    "tab\tand\r\nnewline",
    "$${literal}",
    " ",
    "5m",
    "server",
    "datadog",
    "2026-11-01",
    "a,b\n1,2\n",
    "name,kind\nweb,server\n",
    "{\"a\": [1, true, null]}",
    "[[[[[[[[1]]]]]]]]",
    "%s-%d-%.2f-%q-%t-%v-%%",
    "%",
    "%.99999999999999999999f",
    "%d",
    "main.hcl",
    "missing.txt",
    "/dev/zero",
    "/dev/null",
    ".",
    "/",
    "../",
    "modules/m/main.hcl",
    "\u{feff}bom",
    "\u{0}nul",
    "\u{202e}rtl",
    "zero\u{200b}width",
];

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => pick(TEXTS),
        1 => "\\PC{0,12}",
        1 => Just("a".repeat(300)),
    ]
    .boxed()
}

fn string_literal() -> BoxedStrategy<String> {
    text().prop_map(|s| quote(&s)).boxed()
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2.5",
    "0.1",
    "3",
    "85",
    "1e308",
    "1e-308",
    "1e400",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "99999999999999999999999999999999999999999",
    "1.7976931348623157e308",
    "4.9e-324",
    "0.000000000000000000001",
    "007",
    "1e",
    "1.",
];

fn number() -> BoxedStrategy<String> {
    prop_oneof![
        4 => pick(NUMBERS),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => (proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO)
            .prop_map(|f| format!("{f:?}")),
    ]
    .boxed()
}

/// References: valid ones (to the blocks the generators declare), unknown ones, and odd ones.
const REFS: &[&str] = &[
    "var.a",
    "var.b",
    "var.key",
    "var.missing",
    "local.a",
    "local.b",
    "local.c",
    "local.missing",
    "route.oncall",
    "route.team",
    "route.missing",
    "inventory.prod",
    "inventory.prod.components",
    "inventory.prod.name",
    "inventory.missing",
    "component.web",
    "component.web.identifier.host",
    "component.db",
    "component.missing",
    "metric.queue",
    "alert.cpu",
    "baseline.soc2",
    "dashboard.infra",
    "datadog_monitor.m",
    "datadog_monitor.m.name",
    "datadog_monitor.m.id",
    "datadog_monitor.m.query",
    "datadog_monitor.m[\"a\"].address",
    "datadog_monitor.m[0].key",
    "datadog_dashboard.d",
    "module.m.out",
    "module.m.missing",
    "module.missing.out",
    "module.m",
    "each.key",
    "each.value",
    "each.value.a",
    "each.other",
    "count.index",
    "count.other",
    "path.module",
    "path.root",
    "path.cwd",
    "path.bogus",
    "self.x",
    "unknown",
    "aws_instance.x",
    "datadog_thing.x",
    "var",
    "local",
    "each",
    "k",
    "v",
    "x",
];

/// Every function the loader registers (with its usual number of arguments), plus unknown and
/// namespaced names.
const FUNCS: &[(&str, usize)] = &[
    ("abs", 1),
    ("coalesce", 2),
    ("compact", 1),
    ("concat", 2),
    ("contains", 2),
    ("csvdecode", 1),
    ("distinct", 1),
    ("element", 2),
    ("endswith", 2),
    ("file", 1),
    ("fileexists", 1),
    ("flatten", 1),
    ("format", 2),
    ("join", 2),
    ("jsondecode", 1),
    ("jsonencode", 1),
    ("keys", 1),
    ("length", 1),
    ("lookup", 3),
    ("lower", 1),
    ("max", 2),
    ("merge", 2),
    ("min", 2),
    ("replace", 3),
    ("reverse", 1),
    ("sort", 1),
    ("split", 2),
    ("startswith", 2),
    ("substr", 3),
    ("title", 1),
    ("tolist", 1),
    ("tomap", 1),
    ("tonumber", 1),
    ("toset", 1),
    ("tostring", 1),
    ("trim", 2),
    ("trimprefix", 2),
    ("trimspace", 1),
    ("trimsuffix", 2),
    ("upper", 1),
    ("values", 1),
    ("zipmap", 2),
    ("nope", 1),
    ("lenght", 1),
    ("wk__add", 2),
    ("provider::x::f", 1),
];

/// `range` gets bounded arguments: `range(1e6)` is legal and takes a while, and nested inside
/// `for` expressions it would multiply into a (legitimately) slow case. Its limit has its own test.
const RANGE_CALLS: &[&str] = &[
    "range(3)",
    "range(0)",
    "range(-3)",
    "range(1, 4)",
    "range(4, 1)",
    "range(0, 10, 5)",
    "range(0, 1, 0)",
    "range(0, 1, -1)",
    "range(1.5)",
    "range(\"2\")",
    "range(\"x\")",
    "range()",
    "range(1, 2, 3, 4)",
    "range(null)",
    "range(0, 0.3, 0.1)",
];

const BINARY_OPS: &[&str] = &["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"];

const SUFFIXES: &[&str] = &[
    "[*]",
    "[*].name",
    ".*.key",
    "[*].identifier.host",
    "[0]",
    "[1]",
    "[\"name\"]",
    ".name",
    ".0",
    "[-1]",
    "[18446744073709551615]",
    "[\"\"]",
    ".components[0].name",
];

const OBJECT_KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "\"k\"",
    "\"\"",
    "\"ü\"",
    "(local.a)",
    "(1)",
    "(var.a)",
    "\"${var.a}\"",
    "true",
    "null",
];

fn template(inner: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let part = prop_oneof![
        2 => text().prop_map(|s| {
            let q = quote(&s);
            q[1..q.len() - 1].to_string()
        }),
        3 => inner.clone().prop_map(|e| format!("${{{e}}}")),
        1 => inner.clone().prop_map(|e| format!("${{~ {e} ~}}")),
        1 => inner.clone().prop_map(|e| format!("%{{ if {e} }}yes%{{ else }}no%{{ endif }}")),
        1 => inner.clone().prop_map(|e| format!("%{{ for x in {e} }}${{x}},%{{ endfor }}")),
        1 => inner.prop_map(|e| format!("%{{ for k, v in {e} }}${{k}}=${{v}}%{{ endfor }}")),
    ];
    vec(part, 0..4).prop_map(|parts| format!("\"{}\"", parts.concat())).boxed()
}

fn heredoc(inner: BoxedStrategy<String>) -> BoxedStrategy<String> {
    (inner, any::<bool>())
        .prop_map(|(e, indent)| {
            if indent {
                format!("<<-EOT\n    indented ${{{e}}}\n      more\n    EOT\n")
            } else {
                format!("<<EOT\nline ${{{e}}}\n%{{ if true }}y%{{ endif }}\nEOT\n")
            }
        })
        .boxed()
}

fn for_expr(inner: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let collection = prop_oneof![
        2 => inner.clone(),
        3 => pick(&[
            "[1, 2, 3]",
            "{ a = 1, b = \"x\" }",
            "local.a",
            "var.b",
            "inventory.prod.components",
            "range(3)",
            "\"str\"",
            "null",
            "[]",
            "{}",
            "[[1, 2], [3]]",
        ]),
    ];
    let key = prop_oneof![2 => pick(&["k", "v", "\"k\"", "tostring(v)"]), 1 => inner.clone()];
    let value = prop_oneof![2 => pick(&["v", "k", "v.name", "v * 2", "[k, v]"]), 1 => inner.clone()];
    let cond =
        proptest::option::weighted(0.3, prop_oneof![pick(&["v != null", "k == 0", "true", "v"]), inner]);
    (collection, key, value, cond, 0u8..4)
        .prop_map(|(c, k, v, cond, shape)| {
            let cond = cond.map(|x| format!(" if {x}")).unwrap_or_default();
            match shape {
                0 => format!("[for v in {c} : {v}{cond}]"),
                1 => format!("[for k, v in {c} : {v}{cond}]"),
                2 => format!("{{ for k, v in {c} : {k} => {v}{cond} }}"),
                _ => format!("{{ for k, v in {c} : {k} => {v}...{cond} }}"),
            }
        })
        .boxed()
}

/// References that resolve against [`PRELUDE`] (`each` only inside its `for_each` resource).
const PRELUDE_REFS: &[&str] = &[
    "var.a",
    "var.b",
    "local.a",
    "local.b",
    "local.c",
    "route.oncall",
    "inventory.prod",
    "inventory.prod.components",
    "inventory.prod.components[0].identifier",
    "component.web",
    "component.web.identifier.host",
    "metric.queue",
    "datadog_monitor.m",
    "datadog_monitor.m.name",
    "path.module",
];

/// Random expressions of every kind, a few levels deep, with references mostly from `refs`.
fn expression(refs: &'static [&'static str]) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        3 => number(),
        3 => string_literal(),
        1 => pick(&["true", "false", "null"]),
        4 => pick(refs),
        1 => pick(REFS),
        1 => pick(RANGE_CALLS),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            3 => (inner.clone(), pick(BINARY_OPS), inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            1 => (pick(&["!", "-", "--"]), inner.clone()).prop_map(|(op, a)| format!("{op}{a}")),
            1 => (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| format!("{c} ? {a} : {b}")),
            1 => inner.clone().prop_map(|a| format!("({a})")),
            2 => (vec(inner.clone(), 0..4), pick(&[", ", ",\n", "\n,", ",\n  "])).prop_map(|(v, sep)| format!("[{}]", v.join(&sep))),
            2 => vec((pick(OBJECT_KEYS), inner.clone()), 0..4).prop_map(|kv| {
                let items: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", items.join(", "))
            }),
            5 => (select(FUNCS), vec(inner.clone(), 4), 0u8..10).prop_map(|((f, arity), args, r)| {
                // Mostly the right number of arguments, so calls get past the arity check.
                let n = if r < 7 { arity } else { usize::from(r - 6) };
                let dots = if r == 9 { "..." } else { "" };
                format!("{f}({}{dots})", args[..n.min(4)].join(", "))
            }),
            2 => for_expr(inner.clone()),
            1 => (inner.clone(), pick(SUFFIXES)).prop_map(|(a, t)| format!("({a}){t}")),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, i)| format!("({a})[{i}]")),
            2 => template(inner.clone()),
            1 => heredoc(inner),
        ]
    })
    .boxed()
}

// ---- strategies: grammar-aware configurations ------------------------------------------------

/// Values per attribute name (as HCL text): plausible ones, and wrong ones (`Err`).
fn values_for(key: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match key {
        "kind" => (
            &["\"server\"", "\"database\"", "\"container\"", "\"cloud_service\"", "\"custom\""],
            &["\"toaster\"", "1"],
        ),
        "provider" => (&["\"datadog\"", "\"newrelic\"", "\"cloudwatch\""], &["\"aws\"", "null", "[]"]),
        "kinds" => (
            &["[\"server\"]", "[\"server\", \"database\"]", "[]"],
            &["[\"nope\"]", "\"server\"", "[1]", "[null]"],
        ),
        "scope" | "inventory" => (
            &["inventory.prod", "\"prod\""],
            &["inventory.missing", "\"nope\"", "inventory.prod.components", "null", "{}"],
        ),
        "route" => {
            (&["route.oncall", "\"oncall\"", "route.team"], &["route.missing", "null", "1", "{ name = 1 }"])
        }
        "routes" => (
            &["[route.oncall]", "[route.oncall, route.team]", "[\"oncall\"]", "[]"],
            &["route.oncall", "[null]", "[route.missing]"],
        ),
        "components" => (
            &["[component.web]", "[\"web\"]", "[]"],
            &["[component.missing]", "component.web", "[\"missing\"]"],
        ),
        "metric" => (
            &["\"cpu\"", "\"disk\"", "\"memory\"", "\"network\"", "\"uptime\"", "metric.queue"],
            &["\"bogus\"", "null", "metric.missing", "{}"],
        ),
        "above" | "below" | "warning" | "critical" => (
            &["85", "90.5", "70", "95", "-1", "\"80\"", "1e308", "18446744073709551615", "0.000001"],
            &["\"x\"", "null", "[]", "1e400"],
        ),
        "for" => (
            &["\"5m\"", "\"30s\"", "\"1h\"", "\"2d\"", "\"99999999999999999999999m\""],
            &["\"5\"", "\"-5m\"", "\"5 m\"", "\"1.5h\"", "5", "\"\""],
        ),
        "severity" => {
            (&["\"critical\"", "\"warning\"", "\"info\"", "\"high\""], &["\"urgent\"", "\"\"", "null"])
        }
        "runbook" | "url" | "api_url" | "endpoint_url" => {
            (&["\"https://wiki.example.com/r\"", "\"\"", "\"not a url\"", "\"${var.a}\""], &["[]", "{}"])
        }
        "reviewed_on" => (
            &["\"2026-11-01\"", "\"0001-01-01\""],
            &["\"2026-02-30\"", "\"yesterday\"", "\"+12026-01-01\"", "\"2026-1-1\"", "20261101"],
        ),
        "reviewed_by" | "owner" | "environment" | "description" | "title" | "unit" | "service"
        | "account" | "routing_key" | "name" | "site" | "region" | "query" | "nrql" | "namespace"
        | "metric_name" | "statistic" | "message" | "q" | "priority" | "type" => (
            &[
                "\"lead@example.com\"",
                "\"production\"",
                "\"\"",
                "\"ünï ✓\"",
                "\"${var.a}-x\"",
                "\"%{ if true }y%{ endif }\"",
                "\"avg:cpu{$scope} > 1\"",
                "5",
                "true",
            ],
            &["[\"a\"]", "{ k = \"v\" }", "var.missing"],
        ),
        "identifier" | "tags" => (
            &["{ host = \"web-1\" }", "{}", "{ n = 1, b = true }", "{ \"a b\" = \"c\" }"],
            &["{ a = [1] }", "\"web-1\"", "{ host = each.key }"],
        ),
        "channel" => (&["\"#ops\"", "\"ops\""], &["\"#\"", "\"\"", "[\"#ops\"]"]),
        "to" => (
            &["[\"a@example.com\"]", "[\"a@example.com\", \"b@example.com\"]"],
            &["[]", "[\"nope\"]", "\"a@example.com\""],
        ),
        "for_each" => (
            &[
                "toset([\"a\", \"b\"])",
                "{ a = 1, b = \"x\" }",
                "{}",
                "[]",
                "[\"a\", \"a\"]",
                "{ a = { x = 1 } }",
            ],
            &["[\"a\", 1]", "\"str\"", "local.missing", "range(3)", "{ \"\" = 1 }", "null"],
        ),
        "count" => (
            &["0", "1", "3", "\"2\"", "2.0"],
            &["-1", "1.5", "10001", "1e20", "18446744073709551616", "var.b", "null"],
        ),
        "depends_on" => (
            &["[datadog_monitor.m]", "[route.oncall]", "[]"],
            &["[\"x\"]", "datadog_monitor.m", "[1 + 1]", "[module.m]", "[datadog_monitor.missing]"],
        ),
        "sensitive" | "nullable" | "enabled" => (&["true", "false", "\"true\""], &["1", "\"yes\"", "[]"]),
        "source" => (
            &["\"inventory.csv\"", "\"inv.json\""],
            &["\"missing.csv\"", "\"/dev/zero\"", "\".\"", "\"../\"", "\"\"", "1"],
        ),
        "path" => (&["\".watchkeep/state.json\"", "\"/tmp/x\""], &["\"\"", "1", "[]"]),
        "account_id" => (&["1234567", "\"1234567\""], &["-1", "[]"]),
        "value" => {
            (&["local.a", "var.a", "\"out\"", "[1, 2]", "null", "route.oncall"], &["local.missing", "1 % 0"])
        }
        "default" => (&["\"x\"", "1", "[1, 2]", "{ a = 1 }", "null", "true"], &["var.a", "local.a", "1 / 0"]),
        _ => (&["\"text\"", "1", "[\"a\"]", "{ k = \"v\" }", "true"], &["var.missing", "1 % 0", "each.key"]),
    }
}

/// A value for attribute `key`: mostly plausible, sometimes wrong, sometimes any expression.
fn value_for(key: &str, expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    let (good, bad) = values_for(key);
    prop_oneof![14 => pick(good), 1 => pick(bad), 2 => expr.clone()].boxed()
}

/// `key = value` for one of `keys`.
fn attribute(keys: &[&'static str], expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    if keys.is_empty() {
        return Just("bogus = 1".to_string()).boxed();
    }
    let options: Vec<BoxedStrategy<String>> = keys
        .iter()
        .map(|&key| value_for(key, expr).prop_map(move |value| format!("{key} = {value}")).boxed())
        .collect();
    Union::new(options).boxed()
}

/// Drops attributes whose name was already set (a duplicate is a syntax error, which would stop
/// the whole file from being evaluated; one of [`ODD_BLOCKS`] covers it).
fn unique_keys(lines: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    lines.into_iter().filter(|l| seen.insert(l.split(" = ").next().unwrap_or_default().to_string())).collect()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("  {l}\n") }).collect()
}

fn block(ident: &str, labels: &[String], lines: &[String]) -> String {
    let mut out = ident.to_string();
    for l in labels {
        out.push(' ');
        out.push_str(&quote(l));
    }
    out.push_str(" {\n");
    for line in lines {
        out.push_str(&indent(line));
    }
    out.push_str("}\n");
    out
}

/// A block `ident "<label>" { attributes... nested... }`. `keys` starting with `!` are required:
/// they are (nearly) always set.
fn block_of(
    ident: &'static str,
    labels: BoxedStrategy<Vec<String>>,
    keys: &'static [&'static str],
    max_optional: usize,
    nested: Option<BoxedStrategy<String>>,
    expr: &BoxedStrategy<String>,
) -> BoxedStrategy<String> {
    let required: Vec<BoxedStrategy<String>> = keys
        .iter()
        .filter_map(|k| k.strip_prefix('!'))
        .map(|key| value_for(key, expr).prop_map(move |value| format!("{key} = {value}")).boxed())
        .collect();
    let optional: Vec<&'static str> = keys.iter().copied().filter(|k| !k.starts_with('!')).collect();
    let nested = nested.map_or_else(|| Just(Vec::new()).boxed(), |n| vec(n, 0..3).boxed());
    (
        labels,
        required,
        proptest::bool::weighted(0.05),
        vec(attribute(&optional, expr), 0..=max_optional),
        nested,
    )
        .prop_map(move |(labels, mut required, drop_one, optional, nested)| {
            if drop_one && !required.is_empty() {
                required.remove(0);
            }
            required.extend(optional);
            let mut lines = unique_keys(required);
            lines.extend(nested);
            block(ident, &labels, &lines)
        })
        .boxed()
}

/// One label from `names` (the first ones far more often).
fn label(names: &'static [&'static str]) -> BoxedStrategy<Vec<String>> {
    let first = names.first().copied().unwrap_or_default();
    prop_oneof![3 => Just(first.to_string()), 2 => pick(names)].prop_map(|l| vec![l]).boxed()
}

fn no_label() -> BoxedStrategy<Vec<String>> {
    Just(Vec::new()).boxed()
}

const TYPES: &[&str] = &[
    "string",
    "number",
    "bool",
    "any",
    "list(string)",
    "list(number)",
    "map(number)",
    "set(string)",
    "list",
    "map",
    "\"string\"",
    "\"list\"",
    "strng",
    "object({ a = string, b = optional(number, 3) })",
    "object({ a = optional(number, 1 % 0) })",
    "object({ a = optional(number, 18446744073709551615 * 2) })",
    "object({ (x) = string })",
    "tuple([string, bool])",
    "tuple(string)",
    "list(list(list(string)))",
    "list(string, number)",
    "optional(string)",
    "1",
];

fn variable_block(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    let type_line = pick(TYPES).prop_map(|t| format!("type = {t}"));
    let others =
        attribute(&["default", "default", "description", "sensitive", "nullable", "validation"], expr);
    (label(&["a", "b", "key", "x", "a-b", "1x"]), vec(prop_oneof![1 => type_line, 3 => others], 0..4))
        .prop_map(|(name, lines)| block("variable", &name, &unique_keys(lines)))
        .boxed()
}

fn locals_block(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    let line =
        (pick(&["a", "b", "c", "d", "a-b", "each", "_x"]), prop_oneof![1 => pick(REFS), 3 => expr.clone()])
            .prop_map(|(k, v)| format!("{k} = {v}"));
    vec(line, 0..5).prop_map(|lines| block("locals", &[], &unique_keys(lines))).boxed()
}

fn route_block(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    let target = prop_oneof![
        3 => block_of("pagerduty", no_label(), &["service", "routing_key"], 2, None, expr),
        3 => block_of("slack", no_label(), &["!channel", "account"], 1, None, expr),
        3 => block_of("email", no_label(), &["!to"], 0, None, expr),
        2 => block_of("webhook", no_label(), &["name", "url"], 2, None, expr),
        1 => block_of("bogus", no_label(), &["x"], 1, None, expr),
    ];
    (label(&["oncall", "team", "r", "ünï", "a\"b"]), vec(target, 0..3))
        .prop_map(|(name, targets)| block("route", &name, &targets))
        .boxed()
}

/// Nested blocks of raw resources: any name, optional labels, repeated, a few levels deep.
fn resource_body_block(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    let attrs = attribute(&["critical", "warning", "q", "title", "type"], expr);
    let leaf = (pick(&["options", "thresholds", "widget", "definition", "x"]), vec(attrs.clone(), 0..3))
        .prop_map(|(ident, lines)| block(&ident, &[], &unique_keys(lines)))
        .boxed();
    leaf.prop_recursive(3, 8, 2, move |inner| {
        (
            pick(&["options", "thresholds", "widget", "definition", "x", "name"]),
            vec(pick(&["a", "b"]), 0..2),
            vec(prop_oneof![attrs.clone(), inner], 0..3),
        )
            .prop_map(|(ident, labels, lines)| block(&ident, &labels, &unique_keys(lines)))
    })
    .boxed()
}

fn resource_block(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    let labels = (
        prop_oneof![6 => pick(&["datadog_monitor", "datadog_dashboard"]), 1 => pick(&["datadog_thing", "aws_x"])],
        pick(&["m", "n", "d"]),
    )
        .prop_map(|(t, n)| vec![t, n])
        .boxed();
    block_of(
        "resource",
        labels,
        &[
            "name",
            "type",
            "query",
            "message",
            "tags",
            "priority",
            "for_each",
            "count",
            "depends_on",
            "options",
        ],
        5,
        Some(resource_body_block(expr)),
        expr,
    )
}

/// Blocks that are always wrong in some way.
const ODD_BLOCKS: &[&str] = &[
    "alert {}\n",
    "route \"a\" \"b\" {}\n",
    "route \"\" {}\n",
    "bogus \"x\" {}\n",
    "x = 1\n",
    "locals {\n  nested {}\n}\n",
    "variable \"v\" {\n  default = var.w\n}\n",
    "resource \"datadog_monitor\" \"fc\" {\n  for_each = toset([\"a\"])\n  count = 1\n}\n",
    "output \"o\" {\n  value = 1\n}\n",
    "provider \"datadog\" {}\nprovider \"datadog\" {}\n",
    "locals {\n  a = local.b\n  b = local.a\n}\n",
    "locals {\n  self = local.self\n}\n",
    "component \"web\" {\n  kind = \"server\"\n  provider = \"datadog\"\n  inventory = component.web\n}\n",
    "watchkeep {\n  state \"s3\" {}\n}\n",
    "watchkeep {\n  state \"local\" { path = 1 % 0 }\n}\n",
    "alert \"dup\" {}\nalert \"dup\" {}\n",
    "route \"r\" {\n  slack = {}\n}\n",
    "metric \"m\" {\n  datadog {}\n  datadog {}\n}\n",
    "locals {\n  a = 1\n  a = 2\n}\n",
    "module \"m\" {\n  source = \"./modules/missing\"\n}\n",
    "module \"m\" {\n  source = \"../\"\n}\n",
    "module \"m\" {\n  source = \"./\"\n}\n",
    "module \"m\" {\n  source = var.a\n}\n",
];

/// Any top-level block, as text.
fn top_block(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    let inline_component = block_of(
        "component",
        label(&["web", "db", "web-1", "a b", "日本"]),
        &["!kind", "!provider", "environment", "owner", "identifier", "tags", "description", "bogus"],
        3,
        None,
        expr,
    );
    prop_oneof![
        2 => variable_block(expr),
        3 => locals_block(expr),
        1 => block_of("provider", label(&["datadog", "newrelic", "cloudwatch", "aws"]), &["site", "api_url", "region", "account_id"], 2, None, expr),
        3 => block_of("inventory", label(&["prod", "staging"]), &["source", "reviewed_on", "reviewed_by", "description", "bogus"], 2, Some(inline_component), expr),
        2 => block_of("component", label(&["web", "db", "fe", "x.y", "${x}"]), &["!kind", "!provider", "for_each", "name", "inventory", "environment", "owner", "identifier", "tags", "count"], 4, None, expr),
        2 => route_block(expr),
        3 => block_of("alert", label(&["cpu", "a", "\u{1f642}"]), &["!metric", "!above", "scope", "kinds", "components", "below", "warning", "for", "severity", "route", "routes", "runbook", "message", "bogus"], 4, None, expr),
        2 => block_of(
            "baseline",
            label(&["soc2", "b"]),
            &["scope", "kinds", "routes", "route", "runbook"],
            3,
            Some(block_of("override", label(&["disk", "cpu", "bogus"]), &["above", "below", "warning", "for", "severity", "enabled"], 3, None, expr)),
            expr,
        ),
        1 => block_of(
            "metric",
            label(&["queue", "m"]),
            &["unit", "description"],
            1,
            Some(prop_oneof![
                block_of("datadog", no_label(), &["!query"], 0, None, expr),
                block_of("cloudwatch", no_label(), &["namespace", "metric_name", "statistic"], 3, None, expr),
                block_of("newrelic", no_label(), &["nrql"], 1, None, expr),
            ].boxed()),
            expr,
        ),
        1 => block_of("dashboard", label(&["infra", "d", " "]), &["scope", "kinds", "title"], 3, None, expr),
        3 => resource_block(expr),
        1 => block_of("module", label(&["m"]), &["a", "b", "x"], 2, None, expr)
            .prop_map(|b| b.replacen("{\n", "{\n  source = \"./modules/m\"\n", 1)),
        1 => block_of("watchkeep", no_label(), &[], 0, Some(block_of("state", label(&["local", "s3", ""]), &["path"], 1, None, expr)), expr),
        1 => pick(ODD_BLOCKS),
    ]
    .boxed()
}

/// Blocks for `modules/m/main.hcl`.
fn module_block(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![
        3 => variable_block(expr),
        2 => locals_block(expr),
        3 => block_of("output", label(&["out", "o2"]), &["!value", "sensitive", "description"], 2, None, expr),
        1 => route_block(expr),
        1 => resource_block(expr),
        1 => block_of("module", label(&["sub", "again"]), &["x"], 0, None, expr)
            .prop_map(|b| b.replacen("{\n", "{\n  source = \"../..\"\n", 1)),
        1 => block_of("provider", label(&["datadog"]), &["site"], 1, None, expr),
        1 => block_of("watchkeep", no_label(), &[], 0, None, expr),
    ]
    .boxed()
}

const CSV_FILES: &[&str] = &[
    "name,kind,environment,owner,provider,identifier\nweb,server,production,a@example.com,datadog,host=web-1\ndb,database,production,,cloudwatch,DBInstanceIdentifier=orders\n",
    "name,kind,provider\nweb,toaster,datadog\n",
    "name,kind,provider,identifier,tags\nweb,server,datadog,host=a;oops,team=x;critical\n",
    "name,kind\n",
    "",
    "\"unterminated\n",
    "name,kind,provider\n,server,datadog\nweb,server,datadog\nweb,server,datadog\n",
    "name;kind;provider\nweb;server;datadog\n",
    "name,kind,provider\nwéb,server,datadog\n日本,server,newrelic\n",
    "name,kind,provider,extra\nweb,server,datadog,1,2,3\n",
];

const JSON_FILES: &[&str] = &[
    "[{\"name\": \"web\", \"kind\": \"server\", \"provider\": \"datadog\", \"identifier\": {\"host\": \"web-1\"}}]",
    "{\"name\": \"web\"}",
    "[1, \"x\", null]",
    "[{\"name\": \"web\", \"kind\": \"server\", \"provider\": \"datadog\", \"identifier\": [1]}]",
    "[{\"nam\": \"web\"}]",
    "[",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
    "[{\"name\": \"web\", \"kind\": \"server\", \"provider\": \"datadog\", \"tags\": {\"a\": 1e400}}]",
];

fn wkvars_line(expr: &BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![
        2 => pick(&["a = \"x\"", "b = [1, 2]", "key = 1 % 0", "missing = 1", "a = var.b", "x {}", "b = 18446744073709551615 + 1", "a = file(\"/dev/zero\")"]),
        1 => (pick(&["a", "b", "key"]), expr.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
    ]
    .boxed()
}

/// Re-indents lines and adds blank lines, comments (with brackets in them) and CRLF endings, so
/// that `fmt` has something to do.
fn mangle(text: &str, codes: &[u8]) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in text.lines().enumerate() {
        let code = codes.get(i % codes.len().max(1)).copied().unwrap_or(0);
        match code {
            0..=5 => out.push_str(&" ".repeat(usize::from(code))),
            6 => out.push('\t'),
            7 => out.push('\n'),
            11 => out.push_str("  /* c */ "),
            12 => out.push_str("/* multi\n   line { ( */\n"),
            _ => {}
        }
        out.push_str(line.trim_start());
        match code {
            5 => out.push_str("   "),
            8 => out.push_str(" # note {[("),
            9 => out.push_str(" // x )]}"),
            10 => out.push('\r'),
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// A whole configuration directory.
fn config_tree() -> BoxedStrategy<Tree> {
    let expr = expression(REFS);
    let main = (
        vec(top_block(&expr), 0..7),
        proptest::bool::weighted(0.4),
        proptest::option::weighted(0.3, vec(0u8..13, 1..12)),
    )
        .prop_map(|(blocks, prelude, indents)| {
            // With the prelude, most references resolve. A block whose first line was seen before
            // is dropped: duplicate declarations are covered by `ODD_BLOCKS`.
            let mut all: Vec<String> = if prelude {
                PRELUDE.split("\n\n").map(|b| format!("{}\n", b.trim_end())).collect()
            } else {
                Vec::new()
            };
            all.extend(blocks);
            let mut seen = std::collections::HashSet::new();
            all.retain(|b| seen.insert(b.lines().next().unwrap_or_default().to_string()));
            let text = all.concat();
            indents.map_or(text.clone(), |i| mangle(&text, &i))
        });
    let extra = proptest::option::weighted(0.2, vec(top_block(&expr), 1..3).prop_map(|b| b.concat()));
    let module = proptest::option::weighted(0.25, vec(module_block(&expr), 0..5).prop_map(|b| b.concat()));
    let csv = proptest::option::weighted(0.4, pick(CSV_FILES));
    let json_file = proptest::option::weighted(0.15, pick(JSON_FILES));
    let wkvars = proptest::option::weighted(0.2, vec(wkvars_line(&expr), 0..3).prop_map(|l| l.join("\n")));
    let vars = prop_oneof![
        4 => Just(Vec::new()),
        1 => vec(
        pick(&[
            "a=1",
            "a=[1, 2]",
            "b=x",
            "missing=1",
            "noeq",
            "a={x = 1 % 0}",
            "key=${",
            "b=18446744073709551615 + 1",
            "key=[[[[1]]]]",
        ]),
        1..3,
    ),
    ];
    let env = vec(
        (
            pick(&["WATCHKEEP_VAR_a", "WATCHKEEP_VAR_key", "WATCHKEEP_VAR_b", "OTHER"]),
            pick(&["5", "[1", "\"s\"", "{a = 1}", "1 / 0"]),
        ),
        0..2,
    );
    (main, extra, module, csv, json_file, wkvars, vars, env)
        .prop_map(|(main, extra, module, csv, json_file, wkvars, vars, env)| {
            let mut files = vec![("main.hcl".to_string(), main.into_bytes())];
            let optional = [
                ("extra.hcl", extra),
                ("modules/m/main.hcl", module),
                ("inventory.csv", csv),
                ("inv.json", json_file),
                ("watchkeep.wkvars", wkvars),
            ];
            for (path, text) in optional {
                if let Some(text) = text {
                    files.push((path.to_string(), text.into_bytes()));
                }
            }
            Tree { files, vars, env }
        })
        .boxed()
}

/// Blocks every reference in [`REFS`] can resolve against, for the expression property.
const PRELUDE: &str = r##"variable "a" {
  default = "x"
}

variable "b" {
  type    = list(number)
  default = [1, 2]
}

inventory "prod" {
  component "web" {
    kind       = "server"
    provider   = "datadog"
    identifier = { host = "web-1" }
  }
}

route "oncall" {
  slack {
    channel = "#ops"
  }
}

route "team" {
  email {
    to = ["team@example.com"]
  }
}

metric "queue" {
  datadog {
    query = "avg:q{$scope}"
  }
}

resource "datadog_monitor" "m" {
  name = "m"
}
"##;

/// Well-typed expressions: numbers, strings, lists of strings and maps.
#[derive(Clone)]
struct Typed {
    num: BoxedStrategy<String>,
    string: BoxedStrategy<String>,
    list: BoxedStrategy<String>,
    map: BoxedStrategy<String>,
}

/// Expressions that mostly evaluate (so evaluation gets past the first type error), built bottom
/// up a few levels deep from every kind of operation and most functions.
fn typed() -> Typed {
    let mut t = Typed {
        num: prop_oneof![
            2 => pick(&["0", "1", "2.5", "-3", "85", "1e300", "18446744073709551615", "var.b[0]", "length(var.b)"]),
            1 => (-1000i64..1000).prop_map(|n| n.to_string()),
        ]
        .boxed(),
        string: prop_oneof![
            2 => string_literal(),
            1 => pick(&[
                "var.a",
                "route.oncall.name",
                "component.web.identifier.host",
                "inventory.prod.name",
                "path.module",
                "datadog_monitor.m.name",
            ]),
        ]
        .boxed(),
        list: pick(&["[\"a\", \"b\"]", "[]", "[var.a]", "inventory.prod.components[*].name", "keys(component.web.identifier)"]),
        map: pick(&["{ a = \"x\" }", "{}", "component.web.identifier", "{ \"k\" = var.a, b = \"y\" }"]),
    };
    for _ in 0..3 {
        let Typed { num: n, string: s, list: l, map: m } = t.clone();
        let cond = prop_oneof![
            (n.clone(), pick(&["<", ">", "<=", ">=", "==", "!="]), n.clone())
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (l.clone(), s.clone()).prop_map(|(a, b)| format!("contains({a}, {b})")),
            (s.clone(), s.clone()).prop_map(|(a, b)| format!("startswith({a}, {b})")),
            (s.clone(), s.clone()).prop_map(|(a, b)| format!("!endswith({a}, {b})")),
            (s.clone(), s.clone()).prop_map(|(a, b)| format!("({a} == {b}) || true && false")),
        ];
        let num = prop_oneof![
            3 => n.clone(),
            4 => (n.clone(), pick(&["+", "-", "*", "/", "%"]), n.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            1 => n.clone().prop_map(|a| format!("-{a}")),
            1 => n.clone().prop_map(|a| format!("abs({a})")),
            1 => (n.clone(), n.clone()).prop_map(|(a, b)| format!("max({a}, {b})")),
            1 => (n.clone(), n.clone(), n.clone()).prop_map(|(a, b, c)| format!("min({a}, {b}, {c})")),
            1 => l.clone().prop_map(|a| format!("length({a})")),
            1 => s.clone().prop_map(|a| format!("length({a})")),
            1 => m.clone().prop_map(|a| format!("length({a})")),
            1 => n.clone().prop_map(|a| format!("tonumber(tostring({a}))")),
            1 => (cond.clone(), n.clone(), n.clone()).prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
            1 => (n.clone(), n.clone()).prop_map(|(a, b)| format!("element([{a}, {b}], 1)")),
        ];
        let string = prop_oneof![
            3 => s.clone(),
            2 => (s.clone(), n.clone()).prop_map(|(a, b)| format!("\"${{{a}}}-${{{b}}}\"")),
            1 => (pick(&["upper", "lower", "title", "trimspace", "jsonencode"]), s.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            1 => (s.clone(), n.clone()).prop_map(|(a, b)| format!("format(\"%s-%v-%q\", {a}, {b}, {a})")),
            1 => n.clone().prop_map(|a| format!("format(\"%.2f\", {a})")),
            1 => l.clone().prop_map(|a| format!("join(\",\", {a})")),
            1 => (s.clone(), s.clone()).prop_map(|(a, b)| format!("replace({a}, \"a\", {b})")),
            1 => (s.clone(), n.clone(), n.clone()).prop_map(|(a, b, c)| format!("substr({a}, {b}, {c})")),
            1 => n.clone().prop_map(|a| format!("tostring({a})")),
            1 => (s.clone(), s.clone()).prop_map(|(a, b)| format!("trimprefix({a}, {b})")),
            1 => (s.clone(), s.clone()).prop_map(|(a, b)| format!("trim({a}, {b})")),
            1 => (s.clone(), s.clone()).prop_map(|(a, b)| format!("coalesce(\"\", {a}, {b})")),
            1 => (m.clone(), s.clone()).prop_map(|(a, b)| format!("lookup({a}, {b}, \"default\")")),
            1 => l.clone().prop_map(|a| format!("\"%{{ for x in {a} }}<${{x}}>%{{ endfor }}\"")),
            1 => (cond.clone(), s.clone()).prop_map(|(c, a)| format!("\"%{{ if {c} }}${{{a}}}%{{ else }}no%{{ endif }}\"")),
            1 => s.clone().prop_map(|a| format!("<<EOT\n${{{a}}}\nEOT\n")),
            1 => (cond, s.clone(), s.clone()).prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
            1 => m.clone().prop_map(|a| format!("jsonencode({a})")),
        ];
        let list = prop_oneof![
            3 => l.clone(),
            2 => vec(s.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
            1 => (l.clone(), l.clone()).prop_map(|(a, b)| format!("concat({a}, {b})")),
            1 => (pick(&["reverse", "sort", "distinct", "compact", "toset", "tolist"]), l.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            1 => l.clone().prop_map(|a| format!("[for x in {a} : upper(x) if x != \"\"]")),
            1 => m.clone().prop_map(|a| format!("keys({a})")),
            1 => m.clone().prop_map(|a| format!("[for k, v in {a} : \"${{k}}=${{v}}\"]")),
            1 => s.clone().prop_map(|a| format!("split(\",\", {a})")),
            1 => (l.clone(), l.clone()).prop_map(|(a, b)| format!("flatten([{a}, [{b}]])")),
            1 => l.clone().prop_map(|a| format!("({a})[*]")),
            1 => s.clone().prop_map(|a| format!("csvdecode(\"h\\n${{{a}}}\\n\")[*].h")),
        ];
        let map = prop_oneof![
            3 => m.clone(),
            2 => vec((pick(&["a", "b", "\"c d\"", "(var.a)"]), s.clone()), 0..3).prop_map(|kv| {
                let items: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", items.join(", "))
            }),
            1 => (m.clone(), m.clone()).prop_map(|(a, b)| format!("merge({a}, {b})")),
            1 => l.clone().prop_map(|a| format!("{{ for x in {a} : x => upper(x)... }}")),
            1 => m.clone().prop_map(|a| format!("{{ for k, v in {a} : upper(k) => v }}")),
            1 => (l.clone(), l.clone()).prop_map(|(a, b)| format!("zipmap({a}, {b})")),
            1 => m.clone().prop_map(|a| format!("tomap(jsondecode(jsonencode({a})))")),
        ];
        t = Typed { num: num.boxed(), string: string.boxed(), list: list.boxed(), map: map.boxed() };
    }
    t
}

/// The prelude plus locals, a `for_each` resource and an alert with random expressions, mostly
/// well typed so that many load completely.
fn expression_tree() -> BoxedStrategy<Tree> {
    let expr = expression(PRELUDE_REFS);
    let t = typed();
    let any_typed = prop_oneof![t.num.clone(), t.string.clone(), t.list.clone(), t.map.clone()];
    let value = prop_oneof![4 => any_typed, 1 => expr.clone()];
    let for_each = prop_oneof![
        2 => t.map.clone(),
        2 => t.list.clone().prop_map(|l| format!("toset({l})")),
        1 => value_for("for_each", &expr),
    ];
    let each = prop_oneof![
        3 => pick(&["each.key", "\"${each.key}-x\"", "tostring(each.value)", "jsonencode(each.value)"]),
        1 => expr.clone(),
    ];
    (
        vec(value, 1..5),
        proptest::option::of((for_each, each)),
        proptest::option::of((
            prop_oneof![3 => t.num, 1 => expr.clone()],
            prop_oneof![3 => t.string, 1 => expr],
        )),
    )
        .prop_map(|(locals, for_each, alert)| {
            let mut text = PRELUDE.to_string();
            let lines: Vec<String> =
                locals.iter().zip(["a", "b", "c", "d"]).map(|(v, k)| format!("{k} = {v}")).collect();
            text.push_str(&block("locals", &[], &lines));
            if let Some((fe, name)) = for_each {
                let lines = [format!("for_each = {fe}"), format!("name = {name}")];
                text.push_str(&block("resource", &["datadog_monitor".into(), "fe".into()], &lines));
            }
            if let Some((above, message)) = alert {
                let lines = [
                    "scope = inventory.prod".to_string(),
                    "metric = \"cpu\"".to_string(),
                    format!("above = {above}"),
                    "severity = \"critical\"".to_string(),
                    "route = route.oncall".to_string(),
                    format!("message = {message}"),
                ];
                text.push_str(&block("alert", &["x".into()], &lines));
            }
            Tree::text(&[("main.hcl", text)])
        })
        .boxed()
}

/// HCL fragments for token soup and insertions.
const TOKENS: &[&str] = &[
    "locals",
    "variable",
    "resource",
    "alert",
    "route",
    "inventory",
    "component",
    "module",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    "\"",
    "${",
    "%{",
    "<<EOT\n",
    "<<-EOT\n",
    "\nEOT\n",
    "\n",
    " ",
    "#",
    "//",
    "/*",
    "*/",
    "a",
    "var.a",
    "local.a",
    "1",
    "1e400",
    "18446744073709551616",
    ",",
    ".",
    "...",
    "?",
    ":",
    "=>",
    "for",
    "in",
    "if",
    "else",
    "endif",
    "endfor",
    "*",
    "[*]",
    "\\",
    "\\u00e9",
    "é",
    "\t",
    "\r\n",
    "\r",
    "\"datadog_monitor\"",
    "\"x\"",
    "true",
    "null",
    "ÿ",
    "\u{feff}",
    "\u{0}",
    "!",
    "-",
    "%",
    "&&",
    "::",
    "~",
];

fn token_soup() -> BoxedStrategy<String> {
    vec(pick(TOKENS), 0..80).prop_map(|t| t.concat()).boxed()
}

// ---- examples ------------------------------------------------------------------------------

/// The configurations in `examples/`: one tree per directory holding `*.hcl` files.
fn examples() -> Vec<(String, Tree)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.is_file()
                            && p.extension()
                                .and_then(|e| e.to_str())
                                .is_some_and(|e| matches!(e, "hcl" | "csv" | "json" | "wkvars"))
                    })
                    .filter_map(|p| Some((p.file_name()?.to_str()?.to_string(), std::fs::read(&p).ok()?)))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.iter().any(|(n, _)| n.ends_with(".hcl")) {
            // Required variables of the examples (those without a default), as the quickstart
            // script sets them.
            let mut env = Vec::new();
            for text in files.iter().filter_map(|(_, b)| std::str::from_utf8(b).ok()) {
                let mut lines = text.lines();
                while let Some(line) = lines.next() {
                    let Some(name) =
                        line.trim().strip_prefix("variable \"").and_then(|r| r.split('"').next())
                    else {
                        continue;
                    };
                    let one_line = line.trim_end().ends_with('}');
                    let mut has_default = line.contains("default");
                    if !one_line {
                        for body in lines.by_ref() {
                            has_default |= body.trim_start().starts_with("default");
                            if body.trim() == "}" {
                                break;
                            }
                        }
                    }
                    if !has_default {
                        env.push((format!("WATCHKEEP_VAR_{name}"), "example-value".to_string()));
                    }
                }
            }
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, Tree { files, vars: Vec::new(), env }));
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: Index, xor: u8 },
    Insert { at: Index, text: String },
    Delete { at: Index, len: u8 },
    DuplicateLines { from: Index, count: u8, to: Index },
    DeleteLines { from: Index, count: u8 },
    SwapLines(Index, Index),
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1u8..=255).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        2 => (any::<Index>(), pick(TOKENS)).prop_map(|(at, text)| Mutation::Insert { at, text }),
        1 => (any::<Index>(), 1u8..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<Index>(), 1u8..6, any::<Index>()).prop_map(|(from, count, to)| Mutation::DuplicateLines { from, count, to }),
        1 => (any::<Index>(), 1u8..6).prop_map(|(from, count)| Mutation::DeleteLines { from, count }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
    .boxed()
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let pos = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
    match m {
        Mutation::Flip { at, xor } => {
            if !bytes.is_empty() {
                let i = pos(at, bytes.len());
                bytes[i] ^= xor;
            }
        }
        Mutation::Insert { at, text } => {
            let i = pos(at, bytes.len() + 1);
            bytes.splice(i..i, text.bytes());
        }
        Mutation::Delete { at, len } => {
            let i = pos(at, bytes.len() + 1);
            let end = (i + usize::from(*len)).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::DuplicateLines { from, count, to } => {
            let mut lines = lines_of(bytes);
            if !lines.is_empty() {
                let f = pos(from, lines.len());
                let end = (f + usize::from(*count)).min(lines.len());
                let copy: Vec<Vec<u8>> = lines[f..end].to_vec();
                let t = pos(to, lines.len() + 1);
                lines.splice(t..t, copy);
                *bytes = lines.concat();
            }
        }
        Mutation::DeleteLines { from, count } => {
            let mut lines = lines_of(bytes);
            if !lines.is_empty() {
                let f = pos(from, lines.len());
                let end = (f + usize::from(*count)).min(lines.len());
                lines.drain(f..end);
                *bytes = lines.concat();
            }
        }
        Mutation::SwapLines(a, b) => {
            let mut lines = lines_of(bytes);
            if !lines.is_empty() {
                let (a, b) = (pos(a, lines.len()), pos(b, lines.len()));
                lines.swap(a, b);
                *bytes = lines.concat();
            }
        }
    }
}

// ---- state files ---------------------------------------------------------------------------

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Quarters print and parse back exactly.
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 4.0)),
        text().prop_map(Value::from),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::from),
                vec((text(), inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

fn resource_json() -> BoxedStrategy<Value> {
    let address = prop_oneof![
        3 => "[a-z_]{1,8}\\.[a-z0-9_]{1,8}",
        1 => "baseline\\.soc2\\[\"[a-z0-9-]{1,6}\"\\]\\.(cpu|disk)",
        1 => text(),
    ];
    (
        address,
        pick(&["datadog_monitor", "datadog_dashboard", ""]),
        pick(&["datadog", "newrelic"]),
        text(),
        proptest::option::of(text()),
        json_value(),
        proptest::option::of(pick(&["2026-01-02T03:04:05Z", "yesterday"])),
        pick(&["2026-01-02T03:04:05Z", ""]),
        vec(pick(&["query", "options.x", "a.b[0]"]), 0..2),
        proptest::option::of(json_value()),
    )
        .prop_map(
            |(address, rtype, provider, id, origin, attrs, vendor_modified, changed_at, sensitive, extra)| {
                let mut r = json!({
                    "address": address,
                    "resource_type": rtype,
                    "provider": provider,
                    "id": id,
                    "origin": origin,
                    "attrs": attrs,
                    "vendor_modified": vendor_modified,
                    "changed_at": changed_at,
                });
                if !sensitive.is_empty() {
                    r["sensitive_paths"] = json!(sensitive);
                }
                if let Some(extra) = extra {
                    r["added_later"] = extra;
                }
                r
            },
        )
        .boxed()
}

/// A valid state document (unique addresses, supported format).
fn state_json() -> BoxedStrategy<Value> {
    (
        1..=FORMAT_VERSION,
        any::<u64>(),
        prop_oneof!["[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text()],
        pick(&["0.1.0", "", "99.0.0"]),
        vec(resource_json(), 0..6),
        proptest::option::of(json_value()),
    )
        .prop_map(|(format_version, serial, lineage, version, resources, extra)| {
            let mut seen = std::collections::HashSet::new();
            let resources: Vec<Value> = resources
                .into_iter()
                .filter(|r| seen.insert(r["address"].as_str().map(str::to_string)))
                .collect();
            let mut s = json!({
                "format_version": format_version,
                "serial": serial,
                "lineage": lineage,
                "watchkeep_version": version,
                "resources": resources,
            });
            if let Some(extra) = extra {
                s["something_new"] = extra;
            }
            s
        })
        .boxed()
}

/// Raw JSON values put in place of a field.
const WRONG_VALUES: &[&str] = &[
    "null",
    "-1",
    "0",
    "2",
    "1e400",
    "-1e400",
    "18446744073709551616",
    "4294967296",
    "-9223372036854775809",
    "1.5",
    "\"1\"",
    "[]",
    "{}",
    "true",
    "\"\"",
    "\"\\ud800\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]",
    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}",
];

const STATE_FIELDS: &[&str] = &["format_version", "serial", "lineage", "watchkeep_version", "resources"];
const RESOURCE_FIELDS: &[&str] = &[
    "address",
    "resource_type",
    "provider",
    "id",
    "origin",
    "attrs",
    "vendor_modified",
    "changed_at",
    "sensitive_paths",
];

#[derive(Debug, Clone)]
enum StateMutation {
    Bytes(Mutation),
    Truncate(Index),
    /// Replaces a top-level field (`resource: None`) or a field of a resource with raw JSON.
    Replace {
        resource: Option<Index>,
        field: String,
        with: String,
    },
    Remove {
        resource: Option<Index>,
        field: String,
    },
    DuplicateResource(Index),
}

fn state_mutation() -> BoxedStrategy<StateMutation> {
    let field = |resource: Option<Index>| {
        if resource.is_some() {
            pick(RESOURCE_FIELDS)
        } else {
            pick(STATE_FIELDS)
        }
    };
    prop_oneof![
        3 => mutation().prop_map(StateMutation::Bytes),
        2 => any::<Index>().prop_map(StateMutation::Truncate),
        4 => proptest::option::of(any::<Index>())
            .prop_flat_map(move |r| (Just(r), field(r), pick(WRONG_VALUES)))
            .prop_map(|(resource, field, with)| StateMutation::Replace { resource, field, with }),
        1 => proptest::option::of(any::<Index>())
            .prop_flat_map(move |r| (Just(r), field(r)))
            .prop_map(|(resource, field)| StateMutation::Remove { resource, field }),
        1 => any::<Index>().prop_map(StateMutation::DuplicateResource),
    ]
    .boxed()
}

const MARKER: &str = "\u{1}WATCHKEEP-FUZZ-MARKER\u{1}";

fn mutate_state(doc: &Value, mutations: &[StateMutation]) -> Vec<u8> {
    let mut doc = doc.clone();
    let mut raw: Option<String> = None;
    let mut byte_ops = Vec::new();
    for m in mutations {
        let count = doc["resources"].as_array().map_or(0, Vec::len);
        match m {
            StateMutation::Replace { resource, field, with } => {
                let slot = match resource {
                    None => Some(&mut doc),
                    Some(i) if count > 0 => doc["resources"].get_mut(i.index(count)),
                    Some(_) => None,
                };
                if let Some(Value::Object(o)) = slot {
                    o.insert(field.clone(), Value::from(MARKER));
                    raw = Some(with.clone());
                }
            }
            StateMutation::Remove { resource, field } => {
                let slot = match resource {
                    None => Some(&mut doc),
                    Some(i) if count > 0 => doc["resources"].get_mut(i.index(count)),
                    Some(_) => None,
                };
                if let Some(Value::Object(o)) = slot {
                    o.remove(field);
                }
            }
            StateMutation::DuplicateResource(i) => {
                if let Some(list) = doc["resources"].as_array_mut() {
                    if !list.is_empty() {
                        let r = list[i.index(list.len())].clone();
                        list.push(r);
                    }
                }
            }
            StateMutation::Bytes(_) | StateMutation::Truncate(_) => byte_ops.push(m.clone()),
        }
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    if let Some(raw) = raw {
        let quoted = serde_json::to_string(MARKER).unwrap_or_default();
        text = text.replace(&quoted, &raw);
    }
    let mut bytes = text.into_bytes();
    for m in byte_ops {
        match m {
            StateMutation::Bytes(b) => apply(&mut bytes, &b),
            StateMutation::Truncate(at) => {
                let len = at.index(bytes.len() + 1);
                bytes.truncate(len);
            }
            _ => {}
        }
    }
    bytes
}

/// Loads `bytes` as a state file. `Ok(true)`: it loaded (and is sorted, unique, supported).
fn load_state(bytes: &[u8]) -> Result<Result<State, String>, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let path = tmp.path().join(".watchkeep").join("state.json");
    std::fs::create_dir_all(path.parent().unwrap_or(tmp.path())).map_err(|e| format!("mkdir: {e}"))?;
    std::fs::write(&path, bytes).map_err(|e| format!("write: {e}"))?;
    match LocalBackend::new(&path).load() {
        Ok(Some(state)) => {
            if state.format_version == 0 || state.format_version > FORMAT_VERSION {
                return Err(format!("loaded a state of format version {}", state.format_version));
            }
            if state.resources.windows(2).any(|w| w[0].address >= w[1].address) {
                return Err("loaded resources are not sorted by unique address".to_string());
            }
            Ok(Ok(state))
        }
        Ok(None) => Err("the state file exists but load() says there is none".to_string()),
        Err(e) => {
            let message = e.to_string();
            if message.trim().is_empty() {
                return Err(format!("an error with an empty message: {e:?}"));
            }
            Ok(Err(message))
        }
    }
}

fn check_state_bytes(bytes: Vec<u8>) -> Result<bool, String> {
    bounded_check("state", CASE_STACK, move || load_state(&bytes).map(|r| r.is_ok()))
}

// ---- the properties ------------------------------------------------------------------------

#[test]
fn raw_bytes_never_crash_the_loader() {
    let strategy = prop_oneof![
        2 => vec(any::<u8>(), 0..400),
        2 => any::<String>().prop_map(String::into_bytes),
        3 => token_soup().prop_map(String::into_bytes),
    ];
    fuzz("raw_bytes", strategy, |bytes| {
        let tree = Tree { files: vec![("main.hcl".to_string(), bytes.clone())], ..Tree::default() };
        check_tree("raw_bytes", &tree)
    });
}

#[test]
fn generated_configurations_load_or_fail_with_located_errors() {
    fuzz("configurations", config_tree(), |tree| check_tree("configurations", tree));
}

#[test]
fn generated_expressions_evaluate_or_fail_with_located_errors() {
    fuzz("expressions", expression_tree(), |tree| check_tree("expressions", tree));
}

#[test]
fn examples_load_unchanged() {
    let examples = examples();
    assert!(!examples.is_empty(), "no examples found");
    for (name, tree) in examples {
        let loaded = check_tree("examples", &tree).unwrap_or_else(|e| panic!("example {name}: {e}"));
        assert!(loaded, "example {name} does not load");
    }
}

#[test]
fn mutated_examples_never_crash_the_loader() {
    let examples = examples();
    let count = examples.len();
    let strategy = (0..count, any::<Index>(), vec(mutation(), 1..4));
    fuzz("mutated_examples", strategy, |(example, file, mutations)| {
        let mut tree = examples[*example].1.clone();
        let f = file.index(tree.files.len());
        for m in mutations {
            apply(&mut tree.files[f].1, m);
        }
        check_tree("mutated_examples", &tree).map_err(|e| format!("{e}\nmutated tree: {tree:#?}"))
    });
}

#[test]
fn examples_truncated_at_every_length_never_crash_the_loader() {
    let start = Instant::now();
    let mut runs = 0;
    for (name, tree) in examples() {
        for f in 0..tree.files.len() {
            let full = tree.files[f].1.clone();
            for len in 0..=full.len() {
                let mut cut = tree.clone();
                cut.files[f].1.truncate(len);
                runs += 1;
                if let Err(e) = check_tree("truncated_examples", &cut) {
                    panic!("example {name}, {} cut to {len} bytes: {e}\ntree: {cut:#?}", tree.files[f].0);
                }
            }
        }
    }
    note(&format!("fuzz truncated_examples: {runs} inputs in {:.1} s", start.elapsed().as_secs_f64()));
}

#[test]
fn generated_states_load_back_equal() {
    // Older formats are migrated on load: compare everything but the format version, which must
    // be the current one.
    fn comparable(s: &State) -> Result<Value, String> {
        let mut v = serde_json::to_value(s).map_err(|e| e.to_string())?;
        v.as_object_mut().map(|o| o.remove("format_version"));
        Ok(v)
    }
    fuzz("valid_states", state_json(), |doc| {
        let bytes = serde_json::to_vec_pretty(doc).map_err(|e| e.to_string())?;
        let mut expected: State =
            serde_json::from_value(doc.clone()).map_err(|e| format!("generator: {e}"))?;
        expected.resources.sort_by(|a, b| a.address.cmp(&b.address));
        let expected = comparable(&expected)?;
        bounded_check("valid_states", CASE_STACK, move || match load_state(&bytes)? {
            Ok(state) if state.format_version != FORMAT_VERSION => {
                Err(format!("loaded as format {}, not {FORMAT_VERSION}", state.format_version))
            }
            Ok(state) if comparable(&state)? == expected => Ok(true),
            Ok(state) => Err(format!("loaded {state:#?}\nexpected {expected:#}")),
            Err(e) => Err(format!("a valid state was refused: {e}")),
        })
    });
}

#[test]
fn mutated_states_never_crash_the_state_loader() {
    let strategy = prop_oneof![
        6 => (state_json(), vec(state_mutation(), 1..4)).prop_map(|(doc, m)| mutate_state(&doc, &m)),
        1 => vec(any::<u8>(), 0..300),
        1 => token_soup().prop_map(|t| format!("{{\"format_version\": 1, {t}").into_bytes()),
    ];
    fuzz("mutated_states", strategy, |bytes| {
        check_state_bytes(bytes.clone())
            .map_err(|e| format!("{e}\nfile: {:?}", String::from_utf8_lossy(bytes)))
    });
}

#[test]
fn derived_secrets_never_show() {
    fuzz_n("derived_secrets", secret_cases(), secret_case(), |case| {
        let c = case.clone();
        bounded_check("derived_secrets", CASE_STACK, move || check_secret_case(&c))
    });
}

// ---- size ----------------------------------------------------------------------------------

/// Big collections through every collection function, `for_each` and inventories: each must load
/// within the deadline (linear work is milliseconds; quadratic work is minutes).
#[test]
fn huge_collections_load_within_the_deadline() {
    const N: usize = 100_000;
    let strings = format!("[for i in range({N}) : tostring(i)]");
    let map = format!("{{ for i in range({N}) : tostring(i) => i }}");
    let exprs = [
        format!("length(toset({strings}))"),
        format!("length(toset(range({N})))"),
        format!("length(distinct({strings}))"),
        format!("length(distinct(range({N})))"),
        format!("length(sort({strings}))"),
        format!("length(reverse(range({N})))"),
        format!("length(compact({strings}))"),
        format!("length(flatten([range({N}), [range({N})]]))"),
        format!("length(concat(range({N}), range({N})))"),
        format!("contains(range({N}), {})", N - 1),
        format!("length(keys({map}))"),
        format!("length(values({map}))"),
        format!("length(merge({map}, {{ a = 1 }}))"),
        format!("length(zipmap({strings}, range({N})))"),
        format!("lookup({map}, \"{}\", 0)", N - 1),
        format!("length(split(\",\", join(\",\", {strings})))"),
        format!("length(replace(join(\"\", {strings}), \"1\", \"one\"))"),
        format!("length(jsondecode(jsonencode(range({N}))))"),
        format!("length(csvdecode(join(\"\\n\", concat([\"h\"], {strings}))))"),
        format!("length([for x in range({N}) : x if x % 2 == 0])"),
        format!("length(\"%{{ for x in range({N}) }}${{x}}%{{ endfor }}\")"),
        format!("element(range({N}), {})", N - 1),
        format!("max(range({N})...)"),
    ];
    let mut cases: Vec<(String, Tree)> = exprs.iter().map(|e| (e.clone(), local(e))).collect();
    let keys = 20_000;
    cases.push((
        format!("for_each over {keys} keys"),
        Tree::text(&[(
            "main.hcl",
            format!(
                "resource \"datadog_monitor\" \"m\" {{\n  for_each = toset([for i in range({keys}) : tostring(i)])\n  name = each.key\n}}\n"
            ),
        )]),
    ));
    let rows = 10_000;
    let csv: String = (0..rows).map(|i| format!("web-{i},server,datadog,host=web-{i}\n")).collect();
    cases.push((
        format!("inventory of {rows} rows"),
        Tree::text(&[
            (
                "main.hcl",
                "inventory \"p\" {\n  source = \"inventory.csv\"\n}\nalert \"a\" {\n  scope = inventory.p\n  metric = \"cpu\"\n  above = 1\n}\n".to_string(),
            ),
            ("inventory.csv", format!("name,kind,provider,identifier\n{csv}")),
        ]),
    ));
    let start = Instant::now();
    for (name, tree) in &cases {
        let t = tree.clone();
        let loaded = run_bounded("huge", CASE_STACK, move || {
            let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            for (rel, bytes) in &t.files {
                std::fs::write(tmp.path().join(rel), bytes).map_err(|e| e.to_string())?;
            }
            config::load(&LoadOptions::new(tmp.path())).map(|_| ()).map_err(|d| d.to_string())
        })
        .unwrap_or_else(|e| panic!("`{name}`: {e}"));
        if let Some(Err(e)) = loaded {
            panic!("`{name}` does not load: {e}");
        }
    }
    note(&format!("fuzz huge_collections: {} inputs in {:.1} s", cases.len(), start.elapsed().as_secs_f64()));
}

/// Issue 15: resource bombs, each in several shapes, are refused (not evaluated) with a located
/// error in under 2 s.
#[test]
fn resource_bombs_are_refused_with_a_located_error() {
    let big = "x".repeat(100);
    let doubling = |n: usize, step: &dyn Fn(usize) -> String| {
        let mut t = format!("locals {{\n  s0 = \"{big}\"\n");
        for i in 1..=n {
            t.push_str(&format!("  s{i} = {}\n", step(i - 1)));
        }
        t.push_str("}\n");
        t
    };
    let cases: Vec<(String, String)> = vec![
        ("template doubling".into(), doubling(40, &|p| format!("\"${{local.s{p}}}${{local.s{p}}}\""))),
        ("join doubling".into(), doubling(40, &|p| format!("join(\"\", [local.s{p}, local.s{p}])"))),
        ("format doubling".into(), doubling(40, &|p| format!("format(\"%s%s\", local.s{p}, local.s{p})"))),
        ("replace growth".into(), doubling(40, &|p| format!("replace(local.s{p}, \"x\", \"xx\")"))),
        ("list doubling".into(), doubling(40, &|p| format!("concat([local.s{p}], [local.s{p}], local.s{p} == \"\" ? [] : [])"))),
        ("list concat doubling".into(), {
            let mut t = "locals {\n  l0 = [1, 2, 3, 4, 5, 6, 7, 8]\n".to_string();
            for i in 1..=40 {
                t.push_str(&format!("  l{i} = concat(local.l{}, local.l{})\n", i - 1, i - 1));
            }
            t.push_str("}\n");
            t
        }),
        ("nested range for".into(), "locals {\n  g = [for i in range(1000000) : [for j in range(1000000) : i * j]]\n}\n".into()),
        ("nested for product".into(), "locals {\n  g = [for i in range(150000) : [for j in range(150000) : j]]\n}\n".into()),
        ("object for product".into(), "locals {\n  g = { for i in range(150000) : tostring(i) => [for j in range(150000) : j] }\n}\n".into()),
        ("template for product".into(), "locals {\n  g = \"%{ for i in range(150000) }%{ for j in range(150000) }x%{ endfor }%{ endfor }\"\n}\n".into()),
        ("string times loop".into(), format!("locals {{\n  b = join(\"\", [for i in range(5000) : \"{big}\"])\n  g = [for i in range(2000) : [for j in range(100) : local.b]]\n}}\n")),
    ];
    let start = Instant::now();
    for (name, text) in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("main.hcl"), text).expect("write");
        let t = Instant::now();
        let path = dir.path().to_path_buf();
        let result =
            run_bounded("bomb", CASE_STACK, move || config::load(&LoadOptions::new(&path)).map(|_| ()))
                .unwrap_or_else(|e| panic!("`{name}`: {e}"))
                .expect("ran");
        let errors = result.expect_err(name);
        let e = errors.iter().next().unwrap_or_else(|| panic!("`{name}`: no error"));
        assert!(e.span.is_some(), "`{name}`: not located: {}", e.summary);
        assert!(t.elapsed() < Duration::from_secs(2), "`{name}` took {:?}", t.elapsed());
    }
    note(&format!("fuzz resource_bombs: {} inputs in {:.1} s", cases.len(), start.elapsed().as_secs_f64()));
}

// ---- nesting -------------------------------------------------------------------------------

const DEEP_CHILD_ENV: &str = "WATCHKEEP_FUZZ_DEEP_CHILD";
const DEPTHS: &[usize] = &[63, 64, 65, 100, 256, 1_000, 10_000];

fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
    format!("{}{middle}{}", open.repeat(depth), close.repeat(depth))
}

fn local(expr: &str) -> Tree {
    Tree::text(&[("main.hcl", format!("locals {{\n  x = {expr}\n}}\n"))])
}

/// Deeply nested inputs: (name, tree, whether it must be rejected).
fn deep_cases() -> Vec<(String, Tree, bool)> {
    let mut out = Vec::new();
    for &d in DEPTHS {
        // hcl-edit rejects more than 64 levels; where exactly the count starts does not matter here.
        let too_deep = d >= 100;
        let shapes: Vec<(&str, String)> = vec![
            ("arrays", nested("[", "1", "]", d)),
            ("objects", nested("{ a = ", "1", " }", d)),
            ("parentheses", nested("(", "1", ")", d)),
            ("calls", nested("length(", "\"x\"", ")", d)),
            ("conditionals", nested("true ? ", "1", " : 0", d)),
            ("templates", nested("\"${", "1", "}\"", d)),
            ("for expressions", nested("[for v in ", "[1]", " : v]", d)),
            ("mixed", nested("[{ a = (", "1", ") }]", d)),
            ("arithmetic in parentheses", nested("(1 + ", "1", ")", d)),
        ];
        for (shape, expr) in shapes {
            out.push((format!("{shape} x{d}"), local(&expr), too_deep));
        }
        // Flat, but long: chains of operators and traversals.
        out.push((format!("not x{d}"), local(&format!("{}true", "!".repeat(d))), false));
        out.push((format!("minus x{d}"), local(&format!("{}1", "-".repeat(d))), false));
        out.push((format!("sum of {d}"), local(&format!("1{}", " + 1".repeat(d))), d > 128));
        out.push((format!("attribute chain x{d}"), local(&format!("local.y{}", ".a".repeat(d))), false));
        out.push((format!("index chain x{d}"), local(&format!("[1]{}", "[0]".repeat(d))), false));
        out.push((
            format!("blocks x{d}"),
            Tree::text(&[(
                "main.hcl",
                format!(
                    "resource \"datadog_monitor\" \"m\" {{\n{}}}\n",
                    nested("a {\n", "b = 1\n", "}\n", d)
                ),
            )]),
            too_deep,
        ));
        out.push((
            format!("type x{d}"),
            Tree::text(&[(
                "main.hcl",
                format!("variable \"v\" {{\n  type = {}\n}}\n", nested("list(", "string", ")", d)),
            )]),
            too_deep,
        ));
        out.push((
            format!("heredoc x{d}"),
            Tree::text(&[(
                "main.hcl",
                format!("locals {{\n  x = <<EOT\n${{{}}}\nEOT\n}}\n", nested("[", "1", "]", d)),
            )]),
            too_deep,
        ));
        let deep_json = serde_json::to_string(&nested("[", "1", "]", d)).unwrap_or_default();
        out.push((format!("jsondecode x{d}"), local(&format!("jsondecode({deep_json})")), d >= 256));
        let mut var = Tree::text(&[("main.hcl", "variable \"v\" {}\n".to_string())]);
        var.vars = vec![format!("v={}", nested("[", "1", "]", d))];
        out.push((format!("-var x{d}"), var.clone(), false));
        var.vars.clear();
        var.files.push((
            "watchkeep.wkvars".to_string(),
            format!("v = {}\n", nested("[", "1", "]", d)).into_bytes(),
        ));
        out.push((format!("wkvars x{d}"), var, too_deep));
    }
    // Values nested deeper than any one expression, through chains of locals.
    for (shape, open, close) in [("arrays", "[", "]"), ("objects", "{ a = ", " }")] {
        for locals in [4, 5, 170] {
            let mut text = String::from("locals {\n  l0 = 1\n");
            for i in 1..=locals {
                text.push_str(&format!("  l{i} = {}local.l{}{}\n", open.repeat(60), i - 1, close.repeat(60)));
            }
            text.push_str("}\n");
            out.push((
                format!("chained {shape}: {locals} locals x 60"),
                Tree::text(&[("main.hcl", text)]),
                locals > 4,
            ));
        }
    }
    let mut text = String::from("locals {\n  l0 = 1\n");
    for i in 1..=200 {
        let json = serde_json::to_string(&nested("[", "0", "]", 100)).unwrap_or_default();
        text.push_str(&format!("  l{i} = [local.l{}, jsondecode({json})]\n", i - 1));
    }
    text.push_str("}\n");
    out.push(("chained jsondecode".to_string(), Tree::text(&[("main.hcl", text)]), true));
    out
}

/// Deeply nested state files: (name, bytes, whether it must be refused).
fn deep_states() -> Vec<(String, Vec<u8>, bool)> {
    let mut out = Vec::new();
    for &d in &[100, 127, 128, 129, 1_000, 10_000, 100_000] {
        // serde_json refuses more than 128 levels.
        let too_deep = d > 128;
        let deep = nested("[", "1", "]", d);
        out.push((
            format!("state attrs x{d}"),
            format!(
                "{{\"format_version\": 1, \"serial\": 1, \"lineage\": \"l\", \"watchkeep_version\": \"v\", \"resources\": [{{\"address\": \"a.b\", \"resource_type\": \"t\", \"provider\": \"p\", \"id\": \"i\", \"origin\": null, \"attrs\": {deep}, \"vendor_modified\": null, \"changed_at\": \"\"}}]}}"
            )
            .into_bytes(),
            too_deep,
        ));
        out.push((
            format!("state unknown field x{d}"),
            format!("{{\"format_version\": 1, \"x\": {deep}}}").into_bytes(),
            true,
        ));
        out.push((
            format!("state version x{d}"),
            format!("{{\"format_version\": {deep}}}").into_bytes(),
            true,
        ));
        out.push((
            format!("state objects x{d}"),
            format!("{{\"format_version\": 1, \"x\": {}}}", nested("{\"a\": ", "1", "}", d)).into_bytes(),
            true,
        ));
    }
    out
}

/// Runs the nesting cases (in the child process): a stack overflow aborts the process, and the
/// parent reports the last case announced on stderr.
fn run_deep_cases() {
    for (name, tree, must_fail) in deep_cases() {
        note(&format!("deep case: {name}"));
        let t = tree.clone();
        match bounded_check("deep", SMALL_STACK, move || load_and_check(&t)) {
            Ok(loaded) if loaded && must_fail => panic!("{name}: loaded, but it is too deep to accept"),
            Ok(_) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    for (name, bytes, must_fail) in deep_states() {
        note(&format!("deep case: {name}"));
        match run_bounded("deep", SMALL_STACK, move || load_state(&bytes)) {
            Ok(Some(Ok(Ok(_)))) if must_fail => panic!("{name}: a state this deep loaded"),
            Ok(_) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn deep_nesting_is_rejected_without_overflowing_the_stack() {
    if std::env::var_os(DEEP_CHILD_ENV).is_some() {
        run_deep_cases();
        return;
    }
    let start = Instant::now();
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "deep_nesting_is_rejected_without_overflowing_the_stack",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DEEP_CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child test process");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let limit = Duration::from_secs(600);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for the child test process: {e}"),
        }
    };
    let (out, err) = (out_reader.join().unwrap_or_default(), err_reader.join().unwrap_or_default());
    let cases = err.lines().filter(|l| l.starts_with("deep case: ")).count();
    let last = err.lines().rfind(|l| l.starts_with("deep case: ")).unwrap_or("(none)");
    match status {
        Some(s) if s.success() => {
            note(&format!("fuzz deep_nesting: {cases} inputs in {:.1} s", start.elapsed().as_secs_f64()));
        }
        Some(s) => panic!(
            "the nesting cases failed ({s}); the last case started was `{last}`\n--- stdout\n{}\n--- stderr\n{}",
            tail(&out),
            tail(&err)
        ),
        None => panic!("the nesting cases did not finish within {limit:?}; the last case started was `{last}`"),
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

// ---- secrets: what a pull request can see -----------------------------------------------------
//
// Issue 15, item 4: a value the operator supplies from outside the configuration (no
// `sensitive = true` needed: a pull request could delete it) and a variable declared sensitive
// flow through random chains of the evaluator's string functions and expressions into a
// resource's attributes, a module and a `for_each`; then everything a pull request sees of a
// plan is rendered by the library functions the CLI calls (the plan as `plan` prints it, the
// Markdown plan, `plan --json`, the plan file, or the rendered errors of a failed run), and no
// 6 characters in a row of either secret may appear in it, nor of its upper-case, lower-case,
// title-case, reversed, base64 or URL-encoded forms, nor its SHA-256 or MD5 hex.
//
// Only string functions of `engine/src/config/functions.rs` are used (it has no base64encode,
// urlencode, sha256, md5 or try: the forms are checked all the same, in case a later function
// or a vendor's normaliser produces them). Numbers and booleans computed from a secret
// (`length(x)`) are left out: they are not masked by design, and are becoming a load error.

/// Every secret starts with this, so that a leak is recognisable in a failure message.
const SECRET_PREFIX: &str = "Sx9";

/// How the operator gives a root variable's value: never from inside the configuration.
#[derive(Clone, Copy, Debug)]
enum Given {
    /// `WATCHKEEP_VAR_<name>`.
    Env,
    /// `-var name=value`.
    Var,
    /// A `-var-file` outside the configuration directory.
    VarFileOutside,
}

/// One generated configuration with its two secrets: `op` (declared without `sensitive = true`)
/// and `key` (declared sensitive).
#[derive(Clone)]
struct SecretCase {
    op: String,
    key: String,
    op_given: Given,
    key_given: Given,
    files: Vec<(String, String)>,
}

impl Debug for SecretCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("SecretCase");
        d.field("op", &self.op).field("op_given", &self.op_given);
        d.field("key", &self.key).field("key_given", &self.key_given);
        for (path, text) in &self.files {
            d.field(path, text);
        }
        d.finish()
    }
}

fn secret_value() -> BoxedStrategy<String> {
    let alnum: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    vec(select(alnum), 24 - SECRET_PREFIX.len()..=40 - SECRET_PREFIX.len())
        .prop_map(|cs| format!("{SECRET_PREFIX}{}", cs.into_iter().collect::<String>()))
        .boxed()
}

fn given() -> BoxedStrategy<Given> {
    prop_oneof![Just(Given::Env), Just(Given::Var), Just(Given::VarFileOutside)].boxed()
}

/// Separators and patterns for `split`, `replace`, `trim`: letters and digits a secret holds
/// often, and punctuation the wrappers add.
const SEPARATORS: &[&str] = &["a", "e", "7", "Q", "x", "9", ",", "S", "k", "-", " "];

/// Applies wrapper `w` (with parameter `p`) to the string expression `x`; every result is a
/// string computed from `x`.
fn wrap(x: &str, w: u8, p: u8) -> String {
    let sep = SEPARATORS[usize::from(p) % SEPARATORS.len()];
    let sep2 = SEPARATORS[usize::from(p / 7) % SEPARATORS.len()];
    let n = p % 5;
    match w % 40 {
        0 => format!("upper({x})"),
        1 => format!("lower({x})"),
        2 => format!("title({x})"),
        3 => format!("trimspace({x})"),
        4 => format!("tostring({x})"),
        5 => format!("replace({x}, \"{sep}\", \"{sep2}\")"),
        6 => format!("substr({x}, {n}, {})", 6 + p % 40),
        7 => format!("substr({x}, -{}, -1)", 6 + p % 30),
        8 => match p % 5 {
            0 => format!("\"pre-${{{x}}}-post\""),
            1 => format!("\" ${{{x}}}\""),
            2 => format!("\"${{{x}}} \""),
            3 => format!("\"${{{x}}}\\n\""),
            _ => format!("\"\\t${{{x}}}\\n \""),
        },
        // Heredocs end with a newline (and may indent); the closing marker ends the line.
        9 => format!("<<EOT\n${{{x}}}\nEOT\n"),
        10 => format!("<<-EOT\n    ${{{x}}}\n    EOT\n"),
        11 => match p % 4 {
            0 => format!("format(\"%s\", {x})"),
            1 => format!("format(\"x%sy%s\", {x}, \"z\")"),
            2 => format!("format(\"%q\", {x})"),
            _ => format!("format(\"%v!\", {x})"),
        },
        12 => format!("join(\"{sep2}\", split(\"{sep}\", {x}))"),
        13 => format!("join(\"\", reverse(split(\"\", {x})))"),
        14 => format!("jsonencode({{ a = {x} }})"),
        15 => format!("jsonencode([{x}])"),
        16 => format!("lookup({{ k = {x} }}, \"k\", \"d\")"),
        17 => format!("element(split(\"{sep}\", {x}), {n})"),
        18 => format!("coalesce(\"\", {x})"),
        19 => match p % 3 {
            0 => format!("trimprefix({x}, \"{SECRET_PREFIX}\")"),
            1 => format!("trimsuffix({x}, \"{sep}\")"),
            _ => format!("trim({x}, \"{sep}S\")"),
        },
        20 => format!("({x} == \"\" ? \"never\" : {x})"),
        21 => format!("({x} != \"{sep}\" ? {x} : \"short\")"),
        22 => format!("join(\",\", [for c in split(\"{sep}\", {x}) : upper(c)])"),
        23 => format!("join(\";\", [for i, c in split(\"{sep}\", {x}) : \"${{i}}=${{c}}\"])"),
        24 => format!("jsondecode(jsonencode({x}))"),
        25 => format!("join(\"-\", sort(split(\"{sep}\", {x})))"),
        26 => format!("keys({{ ({x}) = 1 }})[0]"),
        27 => format!("values({{ a = {x} }})[0]"),
        28 => format!("concat([{x}], [\"z\"])[0]"),
        29 => format!("merge({{ a = {x} }}, {{ b = \"c\" }}).a"),
        30 => format!("csvdecode(\"h\\n${{{x}}}\")[0].h"),
        31 => format!("flatten([[{x}]])[0]"),
        32 => format!("zipmap([\"k\"], [{x}]).k"),
        33 => format!("join(\" \", compact([\"\", {x}]))"),
        34 => format!("join(\"\", distinct(split(\"\", {x})))"),
        35 => format!("\"%{{ for c in split(\"{sep}\", {x}) }}${{c}}.%{{ endfor }}\""),
        36 => format!("\"%{{ if {x} != \"\" }}${{{x}}}%{{ else }}none%{{ endif }}\""),
        37 => format!("tolist(toset([{x}]))[0]"),
        38 => format!("jsonencode({{ ({x}) = \"v\" }})"),
        _ => format!("lower(upper({x}))"),
    }
}

/// A string expression: one of `leaves` through 0 to 4 wrappers.
fn derived(leaves: &'static [&'static str]) -> BoxedStrategy<String> {
    (select(leaves), vec((any::<u8>(), any::<u8>()), 0..5))
        .prop_map(|(leaf, chain)| chain.iter().fold(leaf.to_string(), |x, &(w, p)| wrap(&x, w, p)))
        .boxed()
}

const ROOT_LEAVES: &[&str] = &["var.op", "var.key"];
const L1_LEAVES: &[&str] = &["var.op", "var.key", "local.l0"];
const L2_LEAVES: &[&str] = &["var.op", "var.key", "local.l0", "local.l1"];
const SINK_LEAVES: &[&str] = &["var.op", "var.key", "local.l0", "local.l1", "local.l2"];
const EACH_LEAVES: &[&str] = &["each.value", "each.value", "local.l2"];
const MODULE_LEAVES: &[&str] = &["var.input"];

/// `attr = value` lines, indented by two spaces.
fn lines(attrs: &[(&str, Option<String>)]) -> String {
    attrs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("  {k} = {v}\n"))).collect()
}

fn secret_case() -> BoxedStrategy<SecretCase> {
    let op_decl =
        pick(&["", "\n  sensitive = false\n", "\n  type = string\n", "\n  default = \"public-default\"\n"]);
    let locals = (derived(ROOT_LEAVES), derived(L1_LEAVES), derived(L2_LEAVES));
    // A map with a computed key and a value, and a `for` expression keyed by pieces of a secret.
    let maps = (derived(SINK_LEAVES), derived(SINK_LEAVES), derived(SINK_LEAVES), select(SEPARATORS));
    let sinks = (
        derived(SINK_LEAVES),
        proptest::option::of(derived(SINK_LEAVES)),
        proptest::option::of(derived(SINK_LEAVES)),
        proptest::option::of(derived(SINK_LEAVES)),
        proptest::option::of(derived(SINK_LEAVES)),
        any::<u8>(),
    );
    let each = proptest::option::of((derived(SINK_LEAVES), derived(EACH_LEAVES)));
    // New Relic's normaliser trims and upper-cases its enumerations (`incidentPreference`).
    let policy = proptest::option::of((derived(SINK_LEAVES), derived(SINK_LEAVES)));
    // CloudWatch's lower-cases an SNS subscription's `Protocol`.
    let subscription = proptest::option::of((derived(SINK_LEAVES), derived(SINK_LEAVES)));
    let module = proptest::option::of((derived(SINK_LEAVES), derived(MODULE_LEAVES), derived(MODULE_LEAVES)));
    (secret_value(), secret_value(), given(), given(), op_decl, locals, maps, sinks, (each, policy, subscription), module)
        .prop_map(|(op, key, op_given, key_given, op_decl, (l0, l1, l2), maps, sinks, (each, policy, subscription), module)| {
            let (mk, mv, fv, fsep) = maps;
            let (name, message, tag, escalation, deep, uses) = sinks;
            let mut main = format!(
                "variable \"op\" {{{op_decl}}}\nvariable \"key\" {{\n  sensitive = true\n}}\nlocals {{\n{}}}\n",
                lines(&[
                    ("l0", Some(l0)),
                    ("l1", Some(l1)),
                    ("l2", Some(l2)),
                    ("m", Some(format!("{{ ({mk}) = {mv}, plain = \"p\" }}"))),
                    (
                        "f",
                        Some(format!("{{ for i, c in split(\"{fsep}\", {fv}) : \"k${{i}}-${{c}}\" => upper(c) }}")),
                    ),
                ])
            );
            let tags = tag.map(|t| format!("[{t}, \"team:ops\"]"));
            let options = {
                let mut o = Vec::new();
                if let Some(e) = escalation {
                    o.push(format!("escalation_message = {e}"));
                }
                if uses & 1 != 0 {
                    o.push("silenced = local.f".to_string());
                }
                let mut vars = Vec::new();
                if uses & 2 != 0 {
                    vars.push("local.m".to_string());
                }
                if let Some(d) = deep {
                    vars.push(format!("{{ name = \"v\", nested = {{ deep = {d} }} }}"));
                }
                if !vars.is_empty() {
                    o.push(format!("variables = [{}]", vars.join(", ")));
                }
                (!o.is_empty()).then(|| format!("{{\n    {}\n  }}", o.join("\n    ")))
            };
            main.push_str(&format!(
                "resource \"datadog_monitor\" \"r\" {{\n{}}}\n",
                lines(&[
                    ("name", Some(name)),
                    ("type", Some("\"metric alert\"".to_string())),
                    ("query", Some("\"avg(last_5m):avg:system.cpu.user{*} > 90\"".to_string())),
                    ("message", message),
                    ("tags", tags),
                    ("options", options),
                ])
            ));
            if let Some((value, message)) = each {
                // Literal keys (a key computed from a secret is refused), secret values.
                main.push_str(&format!(
                    "resource \"datadog_monitor\" \"each\" {{\n{}}}\n",
                    lines(&[
                        ("for_each", Some(format!("{{ a = {value}, b = \"plain-b\" }}"))),
                        ("name", Some("\"n-${each.key}\"".to_string())),
                        ("type", Some("\"metric alert\"".to_string())),
                        ("query", Some("\"avg(last_5m):avg:system.cpu.user{*} > 90\"".to_string())),
                        ("message", Some(message)),
                    ])
                ));
            }
            if let Some((name, preference)) = policy {
                main.push_str(&format!(
                    "resource \"newrelic_alert_policy\" \"p\" {{\n{}}}\n",
                    lines(&[("name", Some(name)), ("incidentPreference", Some(preference))])
                ));
            }
            if let Some((protocol, endpoint)) = subscription {
                main.push_str(&format!(
                    "provider \"cloudwatch\" {{\n  region = \"us-east-1\"\n}}\nresource \"sns_subscription\" \"s\" {{\n{}}}\n",
                    lines(&[
                        ("TopicArn", Some("\"arn:aws:sns:us-east-1:123456789012:t\"".to_string())),
                        ("Protocol", Some(protocol)),
                        ("Endpoint", Some(endpoint)),
                    ])
                ));
            }
            let mut files = Vec::new();
            if let Some((input, name, message)) = module {
                main.push_str(&format!("module \"m\" {{\n  source = \"./mod\"\n  input = {input}\n}}\n"));
                files.push((
                    "mod/main.hcl".to_string(),
                    format!(
                        "variable \"input\" {{}}\nresource \"datadog_monitor\" \"r\" {{\n{}}}\n",
                        lines(&[
                            ("name", Some(name)),
                            ("type", Some("\"metric alert\"".to_string())),
                            ("query", Some("\"avg(last_5m):avg:system.cpu.user{*} > 90\"".to_string())),
                            ("message", Some(message)),
                        ])
                    ),
                ));
            }
            files.insert(0, ("main.hcl".to_string(), main));
            SecretCase { op, key, op_given, key_given, files }
        })
        .boxed()
}

/// Everything a pull request can see of `watchkeep plan -refresh=false` on `case` with the given
/// secret values, through the library functions the CLI calls: the plan as printed, the
/// Markdown plan, `plan --json`, the plan file (`-out`); or, when the run fails, its rendered
/// errors (with and without colour). `true` when a plan was made.
fn plan_as_seen(case: &SecretCase, op: &str, key: &str) -> Result<(String, bool), String> {
    use watchkeep::run::{self, plan::PlanInput, Vars, Workspace};
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let root = tmp.path().join("root");
    for (rel, text) in &case.files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(&root)).map_err(|e| format!("mkdir: {e}"))?;
        std::fs::write(&p, text).map_err(|e| format!("write: {e}"))?;
    }
    // Keys for the provider, which this plan never calls (no refresh).
    let mut env: BTreeMap<String, String> = [
        ("DD_API_KEY", "dd-api-fuzz"),
        ("DD_APP_KEY", "dd-app-fuzz"),
        ("NEW_RELIC_API_KEY", "nr-api-fuzz"),
        ("NEW_RELIC_ACCOUNT_ID", "1234"),
        ("AWS_ACCESS_KEY_ID", "AKIDFUZZ"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-fuzz"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
    .collect();
    let mut vars = Vars::default();
    let mut outside = String::new();
    for (name, value, given) in [("op", op, case.op_given), ("key", key, case.key_given)] {
        match given {
            Given::Env => {
                env.insert(format!("WATCHKEEP_VAR_{name}"), value.to_string());
            }
            Given::Var => vars.vars.push(format!("{name}={value}")),
            Given::VarFileOutside => outside.push_str(&format!("{name} = \"{value}\"\n")),
        }
    }
    if !outside.is_empty() {
        let f = tmp.path().join("ci.wkvars");
        std::fs::write(&f, outside).map_err(|e| format!("write: {e}"))?;
        vars.var_files.push(f);
    }
    let ws = Workspace::new(root.clone(), env, false);
    let input =
        PlanInput { vars, refresh: false, targets: Vec::new(), destroy: false, parallelism: 1, lock: false };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    match rt.block_on(run::plan::plan(&ws, &input)) {
        Ok(out) => {
            let plan_file = tmp.path().join("plan.json");
            run::plan::save(&out.plan, &plan_file).map_err(|e| e.render(false))?;
            let saved = std::fs::read_to_string(&plan_file).map_err(|e| format!("read: {e}"))?;
            let json = serde_json::to_string_pretty(&out).map_err(|e| format!("json: {e}"))?;
            let text = [
                watchkeep::output::human::plan(&out.plan),
                watchkeep::output::markdown::plan(&out.plan),
                json,
                saved,
            ]
            .join("\n");
            Ok((text, true))
        }
        Err(e) => {
            let text = e.render(false);
            if std::env::var_os("WATCHKEEP_FUZZ_VERBOSE").is_some() {
                // For tuning the generator: what refuses the configurations.
                note(&format!("refused: {}", text.lines().find(|l| !l.trim().is_empty()).unwrap_or("")));
            }
            Ok((format!("{text}\n{}", e.render(true)), false))
        }
    }
}

/// Replaces the redactor's masks (`(sensitive:<12 hex>)`, a keyed hash, not the secret) so that
/// their hex cannot be taken for a window of a hash.
fn without_masks(text: &str) -> String {
    static MASK: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\(sensitive:[0-9a-f]{12}\)").expect("regex"));
    MASK.replace_all(text, "(sensitive:…)").into_owned()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn url_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// MD5 (RFC 1321), for the one check that needs it (no crate in the tree provides it).
fn md5_hex(input: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15,
        21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let k: Vec<u32> = (0..64).map(|i| ((f64::from(i + 1)).sin().abs() * 4_294_967_296.0) as u32).collect();
    let mut msg = input.to_vec();
    let bit_len = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in msg.chunks(64) {
        let m: Vec<u32> = block.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().flat_map(|x| x.to_le_bytes()).map(|b| format!("{b:02x}")).collect()
}

/// What to look for of `secret`: (which form, the text whose every 6-character window must not
/// appear, or whose whole must not appear for a hash).
fn leak_forms(secret: &str) -> Vec<(String, String, bool)> {
    use sha2::{Digest, Sha256};
    let title = |s: &str| {
        let mut cs = s.chars();
        cs.next().map(|c| c.to_uppercase().chain(cs).collect::<String>()).unwrap_or_default()
    };
    let rev = |s: &str| s.chars().rev().collect::<String>();
    let mut out = Vec::new();
    for (name, form) in
        [("it", secret.to_string()), ("upper", secret.to_uppercase()), ("lower", secret.to_lowercase())]
    {
        out.push((name.to_string(), form.clone(), true));
        out.push((format!("reversed {name}"), rev(&form), true));
        out.push((format!("base64 of {name}"), base64(form.as_bytes()), true));
        out.push((format!("sha256 of {name}"), hex::encode(Sha256::digest(form.as_bytes())), false));
        out.push((format!("md5 of {name}"), md5_hex(form.as_bytes()), false));
    }
    out.push(("title case".to_string(), title(&secret.to_lowercase()), true));
    out.push(("url-encoded".to_string(), url_encoded(secret), true));
    out
}

/// Each (what, window) of `secrets` found in `text`, with some context.
fn leaks_in(text: &str, secrets: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (var, secret) in secrets {
        for (form, s, windows) in leak_forms(secret) {
            let needles: Vec<&str> = if windows {
                (0..=s.len().saturating_sub(6)).map(|i| &s[i..(i + 6).min(s.len())]).collect()
            } else {
                vec![s.as_str()]
            };
            for needle in needles {
                if found.iter().any(|(n, _): &(String, String)| n == needle) {
                    break;
                }
                if let Some(at) = text.find(needle) {
                    let from = text.floor_char_boundary(at.saturating_sub(60));
                    let to = text.ceil_char_boundary((at + needle.len() + 60).min(text.len()));
                    found.push((
                        needle.to_string(),
                        format!("`{needle}` ({form} of var.{var}) in …{}…", &text[from..to]),
                    ));
                    break;
                }
            }
        }
    }
    found
}

/// Each character moved within its class, so that no window of the original survives.
fn rotated(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 13) % 26),
            'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 13) % 26),
            '0'..='9' => char::from(b'0' + (c as u8 - b'0' + 5) % 10),
            other => other,
        })
        .collect()
}

fn check_secret_case(case: &SecretCase) -> Result<bool, String> {
    let (text, planned) = plan_as_seen(case, &case.op, &case.key)?;
    let text = without_masks(&text);
    let mut leaks = leaks_in(&text, &[("op", &case.op), ("key", &case.key)]);
    if leaks.is_empty() {
        return Ok(planned);
    }
    // A window the same run shows with other secrets comes from the configuration or the
    // output's own words, not from the secret.
    let (control, _) = plan_as_seen(case, &rotated(&case.op), &rotated(&case.key))?;
    let control = without_masks(&control);
    leaks.retain(|(needle, _)| !control.contains(needle.as_str()));
    if leaks.is_empty() {
        return Ok(planned);
    }
    let list: Vec<String> = leaks.into_iter().map(|(_, what)| what).collect();
    Err(format!("a secret leaks into what a pull request sees:\n{}", list.join("\n")))
}

// ---- regression tests for bugs the harness found -------------------------------------------

mod regressions {
    use super::*;

    /// The leak checker's own encoders, against RFC 1321 and RFC 4648 test vectors.
    #[test]
    fn leak_forms_use_correct_encodings() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        assert_eq!(
            [base64(b"f"), base64(b"fo"), base64(b"foo"), base64(b"foobar")],
            ["Zg==", "Zm8=", "Zm9v", "Zm9vYmFy"]
        );
        assert_eq!(url_encoded("a b/c"), "a%20b%2Fc");
        let leaks = leaks_in("x WKSECRETVALUE9 y", &[("k", "wksecretvalue9")]);
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert!(leaks[0].1.contains("upper"), "{leaks:?}");
        let reversed = leaks_in("xx eulavterces yy", &[("k", "secretvalue")]);
        assert!(reversed.iter().any(|(_, what)| what.contains("reversed it of var.k")), "{reversed:?}");
        assert!(leaks_in("(sensitive:…) plain text", &[("k", "Sx9abcdefGHIJ")]).is_empty());
    }

    fn secret_case_of(op: &str, key: &str, main: &str) -> SecretCase {
        SecretCase {
            op: op.to_string(),
            key: key.to_string(),
            op_given: Given::Env,
            key_given: Given::Env,
            files: vec![("main.hcl".to_string(), main.to_string())],
        }
    }

    /// Outside what `derived_secrets_never_show` can see (it renders in-process; this is a line
    /// on stderr, which CI logs show): a map key computed from a secret, in a field the vendor's
    /// schema does not list as writable, was named in full by the "not writable" warning of
    /// `plan`. Runs the real binary.
    #[test]
    fn the_unwritable_field_warning_does_not_name_a_secret_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("main.hcl"),
            "variable \"key\" {\n  sensitive = true\n}\nvariable \"op\" {}\nresource \"datadog_monitor\" \"r\" {\n  name = \"n\"\n  type = \"metric alert\"\n  query = \"avg(last_5m):avg:system.cpu.user{*} > 90\"\n  options = { (upper(var.key)) = 1, (\"${var.op}x\") = 2 }\n}\n",
        )
        .expect("write");
        let (key, op) = ("Sx9keyZXCVBnm5678lkjhPOIU", "Sx9opQWERTYuiop1234asdfGH");
        let out = Command::new(env!("CARGO_BIN_EXE_watchkeep"))
            .args(["plan", "-refresh=false", "-lock=false", "-var", &format!("key={key}")])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DD_API_KEY", "dd-api-fuzz")
            .env("DD_APP_KEY", "dd-app-fuzz")
            .env("WATCHKEEP_VAR_op", op)
            .output()
            .expect("run watchkeep");
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{text}");
        assert!(text.contains("not writable"), "the warning is still given: {text}");
        let leaks = leaks_in(&without_masks(&text), &[("key", key), ("op", op)]);
        assert!(leaks.is_empty(), "{leaks:#?}");
    }

    /// Found by `derived_secrets_never_show`: New Relic's normaliser upper-cases
    /// `incidentPreference`, so an operator's value put there was shown in capitals.
    #[test]
    fn a_secret_upper_cased_by_the_normaliser_stays_masked() {
        let case = secret_case_of(
            "Sx9bbbbbbbbbbbbbbbaaaaaa",
            "Sx9aaaaaaaaaaaaaaaaaaaaa",
            "variable \"op\" {}\nvariable \"key\" {\n  sensitive = true\n}\nresource \"newrelic_alert_policy\" \"p\" {\n  name = \"p\"\n  incidentPreference = var.op\n}\nresource \"newrelic_alert_policy\" \"q\" {\n  name = \"q\"\n  incidentPreference = \" ${var.key} \"\n}\n",
        );
        assert_eq!(check_secret_case(&case), Ok(true));
    }

    /// Found by `derived_secrets_never_show`: pieces of a secret as map keys (a `for` keyed by
    /// `split("a", var.key)`) were listed in the change's `sensitive_paths`, which `plan --json`,
    /// the plan file and state show unredacted.
    /// Found by `derived_secrets_never_show`: `" ${local.l0}"` into a module whose monitor's
    /// message is `lower(upper(var.input))`: the value registered as secret starts with a
    /// space, Datadog's normaliser trims the message, and the plan showed the rest.
    #[test]
    fn a_derived_secret_trimmed_by_the_normaliser_stays_masked() {
        let mut case = secret_case_of(
            "Sx9aaaaaaaaaaaaaaabbbbbb",
            "Sx9aaaaaaaaaaaaaaaaaaaaa",
            "variable \"op\" {}\nvariable \"key\" {\n  sensitive = true\n}\nlocals {\n  l0 = var.op\n}\nmodule \"m\" {\n  source = \"./mod\"\n  input = \" ${local.l0}\"\n}\n",
        );
        case.files.push((
            "mod/main.hcl".to_string(),
            "variable \"input\" {}\nresource \"datadog_monitor\" \"r\" {\n  name = var.input\n  type = \"metric alert\"\n  query = \"avg(last_5m):avg:system.cpu.user{*} > 90\"\n  message = lower(upper(var.input))\n}\n".to_string(),
        ));
        assert_eq!(check_secret_case(&case), Ok(true));
    }

    #[test]
    fn map_keys_computed_from_a_secret_stay_out_of_sensitive_paths() {
        let case = secret_case_of(
            "Sx9aaaaaaaaaaaaaaaaaaaaa",
            "Sx9aaaaaaaaaaaaaaabbbbbb",
            "variable \"op\" {}\nvariable \"key\" {\n  sensitive = true\n}\nlocals {\n  m = { (var.op) = var.op, plain = \"p\" }\n  f = { for i, c in split(\"a\", var.key) : \"k${i}-${c}\" => upper(c) }\n}\nresource \"datadog_monitor\" \"r\" {\n  name = var.op\n  type = \"metric alert\"\n  query = \"avg(last_5m):avg:system.cpu.user{*} > 90\"\n  options = {\n    silenced = local.f\n    variables = [local.m]\n  }\n}\n",
        );
        assert_eq!(check_secret_case(&case), Ok(true));
    }

    /// Loads one `main.hcl`; `Err` holds the errors as `line:col: summary`.
    fn load(text: &str) -> Result<(), Vec<String>> {
        let tree = Tree::text(&[("main.hcl", text.to_string())]);
        let t = tree.clone();
        let checked = run_bounded("regression", CASE_STACK, move || load_and_check(&t))
            .unwrap_or_else(|e| panic!("{e}"))
            .expect("ran");
        checked.unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("main.hcl"), text).expect("write");
        match config::load(&LoadOptions::new(dir.path())) {
            Ok(_) => Ok(()),
            Err(d) => Err(d
                .errors()
                .map(|e| match &e.span {
                    Some(s) => format!("{}:{}: {}", s.line, s.col, e.summary),
                    None => e.summary.clone(),
                })
                .collect()),
        }
    }

    #[test]
    fn modulo_by_zero_is_a_located_error_not_a_panic() {
        let errors = load("locals {\n  x = 2 * (7 % 0)\n}\n").unwrap_err();
        assert_eq!(errors, ["2:12: cannot evaluate expression: modulo by zero"]);
    }

    #[test]
    fn division_by_zero_is_a_located_error_not_a_panic() {
        let errors = load("locals {\n  x = 1 / 0\n}\n").unwrap_err();
        assert_eq!(errors, ["2:7: cannot evaluate expression: division by zero"]);
    }

    #[test]
    fn integer_overflow_in_arithmetic_is_checked() {
        for (expr, want) in [
            ("18446744073709551615 + 1", json!(18_446_744_073_709_551_616.0)),
            ("9223372036854775807 * 3", json!(27_670_116_110_564_327_421.0)),
            ("0 - 9223372036854775808", json!(i64::MIN)),
            ("-9223372036854775808 % -1", json!(0)),
            ("-9223372036854775807 - 9223372036854775807", json!(-18_446_744_073_709_551_614.0)),
            ("7 % 3", json!(1)),
            ("-7 % 3", json!(-1)),
            ("7 / 2", json!(3.5)),
            ("6 / 3", json!(2)),
            ("1 + 2 * 3 - 4", json!(3)),
            ("\"x${2 + 3}\"", json!("x5")),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("main.hcl"), format!("locals {{\n  x = {expr}\n}}\n"))
                .expect("write");
            let (cfg, _) =
                config::load(&LoadOptions::new(dir.path())).unwrap_or_else(|d| panic!("{expr}: {d}"));
            assert_eq!(cfg.locals["x"], want, "{expr}");
        }
        let errors = load("locals {\n  x = 1e308 * 10\n}\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("2:7: cannot evaluate expression: the result of `*` is out of range"),
            "{errors:?}"
        );
        let errors = load("locals {\n  x = \"a\" + 1\n}\n").unwrap_err();
        assert_eq!(
            errors,
            ["2:7: cannot evaluate expression: operator `+` needs two numbers, got string and number"]
        );
    }

    #[test]
    fn arithmetic_in_template_for_directives_and_object_keys_is_checked() {
        let errors = load("locals {\n  x = \"%{ for x in 3 * 9223372036854775807 }${x},%{ endfor }\"\n}\n")
            .unwrap_err();
        assert_eq!(errors, ["2:7: cannot evaluate expression: expected an array or object, got a number"]);
        let errors = load("locals {\n  x = { (1 % 0) = 1 }\n}\n").unwrap_err();
        assert_eq!(errors, ["2:7: cannot evaluate expression: modulo by zero"]);
        let dir = tempfile::tempdir().expect("tempdir");
        let text =
            "locals {\n  x = { (\"k${1 + 1}\") = 2 * 3, b = \"%{ for v in [1 + 1] }${v}%{ endfor }\" }\n}\n";
        std::fs::write(dir.path().join("main.hcl"), text).expect("write");
        let (cfg, _) = config::load(&LoadOptions::new(dir.path())).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(cfg.locals["x"], json!({"k2": 6, "b": "2"}));
    }

    #[test]
    fn arithmetic_in_optional_defaults_and_var_values_is_checked() {
        let errors =
            load("variable \"v\" {\n  type = object({ a = optional(number, 1 % 0) })\n  default = {}\n}\n")
                .unwrap_err();
        assert_eq!(
            errors,
            ["2:40: invalid type for variable `v`: optional() defaults must be constant values"]
        );
        let tree = Tree {
            files: vec![("main.hcl".to_string(), b"variable \"v\" {\n  type = number\n}\n".to_vec())],
            vars: vec!["v=1 % 0".to_string()],
            env: Vec::new(),
        };
        assert!(!check_tree("regression", &tree).unwrap_or_else(|e| panic!("{e}")));
    }

    #[test]
    fn substr_with_huge_length_does_not_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "locals {\n  a = substr(\"hello\", 1, 1e30)\n  b = substr(\"hello\", -1e30, 2)\n}\n";
        std::fs::write(dir.path().join("main.hcl"), text).expect("write");
        let (cfg, _) = config::load(&LoadOptions::new(dir.path())).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(cfg.locals["a"], "ello");
        assert_eq!(cfg.locals["b"], "he");
    }

    #[test]
    fn file_refuses_devices_and_fifos_instead_of_reading_forever() {
        let errors = load("locals {\n  x = file(\"/dev/zero\")\n}\n").unwrap_err();
        assert_eq!(
            errors,
            ["2:7: cannot evaluate expression: call to `file` failed: cannot read `/dev/zero`: it resolves to `/dev/zero`, and watchkeep never reads /proc, /sys or /dev; point it at a regular file inside the configuration (a symlink is followed first)"]
        );
        assert!(load("locals {\n  x = fileexists(\"/dev/zero\")\n}\n").is_ok());
    }

    #[test]
    fn inventory_source_refuses_devices_instead_of_reading_forever() {
        let errors = load("inventory \"p\" {\n  source = \"/dev/zero\"\n}\n").unwrap_err();
        // Issue 15: devices (and all of /dev, /proc, /sys) are refused after resolving symlinks.
        assert_eq!(
            errors,
            ["2:12: cannot read inventory source `/dev/zero`: it resolves to `/dev/zero`, and watchkeep never reads /proc, /sys or /dev"]
        );
    }

    #[test]
    fn null_for_a_required_attribute_is_an_error_not_a_silent_drop() {
        let errors = load("alert \"cpu\" {\n  metric = null\n  above = 85\n}\n").unwrap_err();
        assert_eq!(errors, ["2:12: `metric` is required, but its value is null"]);
        let errors = load("component \"web\" {\n  kind = null\n  provider = var.p\n}\nvariable \"p\" {\n  default = null\n}\n")
            .unwrap_err();
        assert_eq!(
            errors,
            [
                "2:10: `kind` is required, but its value is null",
                "3:14: `provider` is required, but its value is null"
            ]
        );
        let errors = load(
            "inventory \"p\" {\n  component \"db\" {\n    kind = \"database\"\n    provider = null\n  }\n}\n",
        )
        .unwrap_err();
        assert_eq!(errors, ["4:16: `provider` is required, but its value is null"]);
        let errors =
            load("route \"r\" {\n  slack {\n    channel = \"#ops\"\n  }\n  email {\n    to = null\n  }\n}\n")
                .unwrap_err();
        assert_eq!(errors, ["6:10: `to` is required, but its value is null"]);
        let errors =
            load("metric \"m\" {\n  datadog {\n    query = null\n  }\n  newrelic {\n    nrql = \"SELECT 1\"\n  }\n}\n")
                .unwrap_err();
        assert_eq!(errors, ["3:13: `query` is required, but its value is null"]);
    }

    #[test]
    fn missing_module_directory_is_reported_at_the_module_source() {
        let errors = load("module \"m\" {\n  source = \"./modules/missing\"\n}\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("2:12: cannot read configuration directory `"), "{errors:?}");
        let tree = Tree::text(&[
            ("main.hcl", "module \"m\" {\n  source = \"./modules/empty\"\n}\n".to_string()),
            ("modules/empty/README", String::new()),
        ]);
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, bytes) in &tree.files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, bytes).expect("write");
        }
        let Err(errors) = config::load(&LoadOptions::new(dir.path())) else { panic!("expected an error") };
        let e = errors.errors().next().expect("one error");
        assert!(e.summary.starts_with("no *.hcl files in `"), "{}", e.summary);
        assert_eq!(e.span.as_ref().map(|s| (s.line, s.col)), Some((2, 12)));
        assert!(check_tree("regression", &tree).is_ok());
    }

    #[test]
    fn fmt_keeps_trailing_spaces_inside_a_multi_line_interpolation() {
        // The template keeps its raw text, so trimming there changed the parse and `fmt` fell back
        // to leaving the whole file unformatted.
        let input = "x {\na = \"${[0,   \n1]}\"\n     b=2\n}\n";
        let formatted = config::format_source(input, Path::new("main.hcl")).expect("parses");
        assert_eq!(formatted, "x {\n  a = \"${[0,   \n1]}\"\n  b = 2\n}\n");
        assert!(check_fmt(input, Path::new("main.hcl")).is_ok());
    }

    #[test]
    fn toset_distinct_and_for_each_deduplicate_in_linear_time() {
        // Each took a linear scan per element: 100,000 elements took a minute.
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "locals {\n  s = toset([\"b\", \"a\", \"b\", 1, 1.0, 2, [1], [1], null, null, true, true])\n  d = distinct([for i in range(100000) : tostring(i % 50000)])\n}\nresource \"datadog_monitor\" \"m\" {\n  for_each = toset([for i in range(40000) : tostring(i % 20000)])\n  name = each.key\n}\n";
        std::fs::write(dir.path().join("main.hcl"), text).expect("write");
        let path = dir.path().to_path_buf();
        let start = Instant::now();
        let (cfg, _) = run_bounded("regression", CASE_STACK, move || config::load(&LoadOptions::new(&path)))
            .unwrap_or_else(|e| panic!("{e}"))
            .expect("ran")
            .unwrap_or_else(|d| panic!("{d}"));
        assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
        assert_eq!(cfg.locals["s"], json!(["b", "a", 1, 2, [1], null, true]));
        assert_eq!(cfg.locals["d"].as_array().map(Vec::len), Some(50_000));
        assert_eq!(cfg.resources.len(), 20_000);
    }

    #[test]
    fn values_nested_deeper_than_256_levels_are_rejected() {
        let mut text = String::from("locals {\n  l0 = 1\n");
        for i in 1..=5 {
            text.push_str(&format!("  l{i} = {}local.l{}{}\n", "[".repeat(60), i - 1, "]".repeat(60)));
        }
        text.push_str("}\n");
        let errors = load(&text).unwrap_err();
        assert_eq!(
            errors,
            ["7:8: cannot evaluate expression: the value is nested deeper than 256 levels"],
            "only the first local over the limit is reported"
        );
    }
}
