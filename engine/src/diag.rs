//! Diagnostics with source spans, collected rather than thrown at the first problem.
//!
//! A [`Diagnostic`] says what went wrong (`summary`, `detail`), where ([`Span`]) and what to do
//! (`hint`). [`Diagnostics::render`] prints them the way rustc does:
//!
//! ```text
//! error: unknown reference `route.pager`
//!  --> main.hcl:12:11
//!    |
//! 12 |   route = route.pager
//!    |           ^^^^^^^^^^^
//!    |
//!    = hint: did you mean `route.pagerduty`?
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::term::termcolor::{Ansi, NoColor, WriteColor};
use codespan_reporting::term::{self, Chars};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

/// A position in a configuration file. `line` and `col` count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Span {
    /// Path as the user should see it (relative to the working directory when possible).
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// Byte offsets into the file's text, for rendering a snippet.
    pub start: usize,
    pub end: usize,
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// One loaded `.hcl` file, kept for diagnostics and `fmt`.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in the configuration (or anywhere else the engine points at a source).
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// One line: what went wrong, with names in backticks.
    pub summary: String,
    /// More context (expected vs got, where a value came from, where a duplicate was first defined).
    pub detail: Option<String>,
    pub span: Option<Span>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: None,
            span: None,
            hint: None,
        }
    }

    pub fn warning(summary: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(summary) }
    }

    pub fn with_span(mut self, span: impl Into<Option<Span>>) -> Diagnostic {
        self.span = span.into();
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the hint only when there is one (e.g. an optional "did you mean").
    pub fn with_opt_hint(mut self, hint: Option<String>) -> Diagnostic {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `validate --json` shape: `{severity, summary, detail, file, line, col, hint}`.
impl Serialize for Diagnostic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Diagnostic", 7)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("summary", &self.summary)?;
        s.serialize_field("detail", &self.detail)?;
        s.serialize_field("file", &self.span.as_ref().map(|sp| sp.file.display().to_string()))?;
        s.serialize_field("line", &self.span.as_ref().map(|sp| sp.line))?;
        s.serialize_field("col", &self.span.as_ref().map(|sp| sp.col))?;
        s.serialize_field("hint", &self.hint)?;
        s.end()
    }
}

/// Plain one-line form, `file:line:col: error: summary`, for logs and `Display` of errors.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        write!(f, "{}: {}", self.severity, self.summary)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

/// Proof that an error diagnostic was reported: the `Err` of a step that failed after saying why.
///
/// The only way to obtain one is [`Diagnostics::report`], which records the diagnostic, so a
/// function returning `Result<_, Reported>` cannot fail silently. It is `Copy`: a step that
/// collects several failures may pass on the token of any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported(());

/// A collection of diagnostics; `load` returns it as the error when any of them is an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Records an error diagnostic and returns the token that proves it was recorded.
    ///
    /// `diagnostic` must be an error (warnings do not make a step fail: [`push`](Self::push)
    /// them); a warning passed here is recorded as an error so the token never lies.
    pub fn report(&mut self, mut diagnostic: Diagnostic) -> Reported {
        debug_assert!(diagnostic.is_error(), "report() is for errors: {diagnostic}");
        diagnostic.severity = Severity::Error;
        self.0.push(diagnostic);
        Reported(())
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    /// Stable order for output: by file, position, then severity, keeping insertion order for
    /// diagnostics without a span (they go last).
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| match (&a.span, &b.span) {
            (Some(x), Some(y)) => (&x.file, x.start, a.severity).cmp(&(&y.file, y.start, b.severity)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }

    /// Renders every diagnostic like rustc: header, ` --> file:line:col`, the source line with a
    /// caret underline, then `= hint: ...`. Source text comes from `files` (matched by path); a
    /// file that is not there is read from disk, and if that fails only the location is shown.
    pub fn render(&self, files: &[SourceFile], color: bool) -> String {
        self.0.iter().map(|d| render_one(d, files, color)).collect()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(v: Vec<Diagnostic>) -> Self {
        Diagnostics(v)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Widest source line quoted in a snippet (in characters): a longer line is cut to a window
/// around the error's column, marked with `…` (a 400 KB line is not echoed whole).
pub const SNIPPET_WIDTH: usize = 200;
/// Largest file read from disk for a snippet.
const MAX_SNIPPET_FILE_BYTES: u64 = 16 << 20;

fn source_text(
    files: &[SourceFile],
    path: &Path,
    cache: &mut HashMap<PathBuf, Option<String>>,
) -> Option<String> {
    if let Some(f) = files.iter().find(|f| f.path == path) {
        return Some(f.text.clone());
    }
    cache.entry(path.to_path_buf()).or_insert_with(|| read_for_snippet(path)).clone()
}

/// Reads a file a span names, for its snippet, only when it is what the loader parses (after
/// resolving symlinks: `.hcl`, `.wkvars`, or an inventory's `.csv` / `.json`), a regular file, not
/// under /proc, /sys or /dev, and of bounded size: a snippet never quotes `/proc/self/environ` or
/// another file a symlink points at. The loader's own reads are confined to the configuration
/// (`config::confine`); this is the renderer's own guard, as it cannot see that policy.
fn read_for_snippet(path: &Path) -> Option<String> {
    use std::io::Read;
    let resolved = std::fs::canonicalize(path).ok()?;
    if ["/proc", "/sys", "/dev"].iter().any(|f| resolved.starts_with(f)) {
        return None;
    }
    let ext = resolved.extension().and_then(|e| e.to_str())?;
    if !["hcl", "wkvars", "csv", "json"].contains(&ext) {
        return None;
    }
    let meta = std::fs::metadata(&resolved).ok()?;
    if !meta.is_file() || meta.len() > MAX_SNIPPET_FILE_BYTES {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&resolved).ok()?.take(MAX_SNIPPET_FILE_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}

/// A file's text with every line over [`SNIPPET_WIDTH`] characters cut: the line holding the
/// span's start to a window around it, the others to their beginning. Lines keep their numbers;
/// `shift` is how many characters the start line lost before the window, so columns stay true.
struct Excerpt {
    name: String,
    text: String,
    line_starts: Vec<usize>,
    start: usize,
    end: usize,
    start_line: usize,
    shift: usize,
}

impl Excerpt {
    fn new(name: String, text: &str, start: usize, end: usize) -> Excerpt {
        let start_line = text[..start].matches('\n').count();
        let mut out = String::new();
        let (mut new_start, mut new_end, mut shift) = (None, None, 0);
        let mut offset = 0;
        for (idx, line) in text.split_inclusive('\n').enumerate() {
            let line_start = offset;
            offset += line.len();
            let body = line.strip_suffix('\n').unwrap_or(line);
            let newline = &line[body.len()..];
            let base = out.len();
            let in_line = |b: usize| b >= line_start && b <= line_start + body.len();
            if body.chars().count() <= SNIPPET_WIDTH {
                out.push_str(line);
                if idx == start_line {
                    new_start = Some(base + (start - line_start));
                }
                if new_start.is_some() && new_end.is_none() && in_line(end) {
                    new_end = Some(base + (end - line_start));
                }
                continue;
            }
            // Char boundaries of the kept window.
            let bounds: Vec<usize> = body.char_indices().map(|(i, _)| i).chain([body.len()]).collect();
            let from_char = if idx == start_line {
                let col = body[..start - line_start].chars().count();
                col.saturating_sub(SNIPPET_WIDTH / 2)
            } else {
                0
            };
            let to_char = (from_char + SNIPPET_WIDTH).min(bounds.len() - 1);
            let (from, to) = (bounds[from_char], bounds[to_char]);
            let lead = if from > 0 { "…" } else { "" };
            out.push_str(lead);
            out.push_str(&body[from..to]);
            if to < body.len() {
                out.push('…');
            }
            out.push_str(newline);
            let window_start = base + lead.len();
            let map = |b: usize| window_start + (b - line_start).clamp(from, to) - from;
            if idx == start_line {
                new_start = Some(map(start));
                shift = from_char - lead.chars().count();
            }
            if new_start.is_some() && new_end.is_none() && in_line(end) {
                new_end = Some(map(end));
            }
        }
        let start = new_start.unwrap_or(out.len());
        let end = new_end.unwrap_or(start).max(start);
        let mut line_starts = vec![0];
        line_starts.extend(out.match_indices('\n').map(|(i, _)| i + 1));
        Excerpt { name, text: out, line_starts, start, end, start_line, shift }
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Excerpt {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), byte_index: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self.line_starts.binary_search(&byte_index).unwrap_or_else(|next| next - 1))
    }

    fn line_range(
        &'a self,
        (): (),
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        let start =
            *self.line_starts.get(line_index).ok_or(codespan_reporting::files::Error::LineTooLarge {
                given: line_index,
                max: self.line_starts.len() - 1,
            })?;
        let end = self.line_starts.get(line_index + 1).copied().unwrap_or(self.text.len());
        Ok(start..end)
    }

    fn column_number(
        &'a self,
        (): (),
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        let range = self.line_range((), line_index)?;
        let col = codespan_reporting::files::column_index(&self.text, range, byte_index) + 1;
        Ok(if line_index == self.start_line { col + self.shift } else { col })
    }
}

fn render_one(d: &Diagnostic, files: &[SourceFile], color: bool) -> String {
    let severity = match d.severity {
        Severity::Error => codespan_reporting::diagnostic::Severity::Error,
        Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
    };
    let mut notes = Vec::new();
    if let Some(detail) = &d.detail {
        notes.push(detail.clone());
    }
    if let Some(hint) = &d.hint {
        notes.push(format!("hint: {hint}"));
    }
    let mut cs = CsDiagnostic::new(severity).with_message(&d.summary);
    let mut excerpt = Excerpt::new(String::new(), "", 0, 0);
    if let Some(span) = &d.span {
        let mut cache = HashMap::new();
        let text = source_text(files, &span.file, &mut cache);
        match text {
            Some(text)
                if span.start <= span.end
                    && span.end <= text.len()
                    && text.is_char_boundary(span.start)
                    && text.is_char_boundary(span.end) =>
            {
                excerpt = Excerpt::new(span.file.display().to_string(), &text, span.start, span.end);
                cs = cs.with_labels(vec![Label::primary((), excerpt.start..excerpt.end)]);
            }
            _ => {
                // No source to show: still say where, then the notes.
                notes.insert(0, format!("at {span}"));
            }
        }
    }
    cs = cs.with_notes(notes);
    let config = term::Config { chars: Chars::ascii(), ..term::Config::default() };
    let rendered = if color {
        let mut writer = Ansi::new(Vec::new());
        emit(&mut writer, &config, &excerpt, &cs).map(|()| writer.into_inner())
    } else {
        let mut writer = NoColor::new(Vec::new());
        emit(&mut writer, &config, &excerpt, &cs).map(|()| writer.into_inner())
    };
    match rendered {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => format!("{d}\n"),
    }
}

fn emit(
    writer: &mut dyn WriteColor,
    config: &term::Config,
    files: &Excerpt,
    diagnostic: &CsDiagnostic<()>,
) -> Result<(), codespan_reporting::files::Error> {
    term::emit(writer, config, files, diagnostic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(file: &str, text: &str, needle: &str) -> Span {
        let start = text.find(needle).unwrap();
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
        Span { file: PathBuf::from(file), line, col, start, end: start + needle.len() }
    }

    #[test]
    fn renders_like_rustc_with_location_caret_and_hint() {
        let text = "alert \"a\" {\n  route = route.pager\n}\n";
        let files = vec![SourceFile { path: PathBuf::from("main.hcl"), text: text.to_string() }];
        let d = Diagnostic::error("unknown reference `route.pager`")
            .with_span(span("main.hcl", text, "route.pager"))
            .with_hint("did you mean `route.pagerduty`?");
        let out = Diagnostics::from(d).render(&files, false);
        assert!(out.starts_with("error: unknown reference `route.pager`"), "{out}");
        assert!(out.contains("--> main.hcl:2:11"), "{out}");
        assert!(out.contains("  route = route.pager"), "{out}");
        assert!(out.contains("^^^^^^^^^^^"), "{out}");
        assert!(out.contains("= hint: did you mean `route.pagerduty`?"), "{out}");
    }

    #[test]
    fn a_long_line_is_cut_around_the_column_and_the_column_stays_true() {
        let long = format!("x = \"{}\" + bad + \"{}\"", "a".repeat(400_000), "b".repeat(400_000));
        let text = format!("ok = 1\n{long}\ny = 2\n");
        let files = vec![SourceFile { path: PathBuf::from("main.hcl"), text: text.clone() }];
        let sp = span("main.hcl", &text, "bad");
        let col = sp.col;
        let out = Diagnostics::from(Diagnostic::error("unknown `bad`").with_span(sp)).render(&files, false);
        assert!(out.len() < 2_000, "{} bytes: {}", out.len(), &out[..2_000.min(out.len())]);
        assert!(out.contains(&format!("--> main.hcl:2:{col}")), "{out}");
        assert!(out.contains("…aaaa") && out.contains("+ bad +") && out.contains("bbb…"), "{out}");
        let line = out.lines().find(|l| l.contains("+ bad +")).unwrap();
        let caret = out.lines().find(|l| l.contains("^^^")).unwrap();
        let chars_before = |l: &str, i: usize| l[..i].chars().count();
        assert_eq!(
            chars_before(caret, caret.find('^').unwrap()),
            chars_before(line, line.find("bad").unwrap())
        );
        // A short file renders as before.
        let out = Diagnostics::from(Diagnostic::error("e").with_span(span("main.hcl", &text, "y = 2")))
            .render(&files, false);
        assert!(out.contains("--> main.hcl:3:1") && out.contains("3 | y = 2"), "{out}");
    }

    #[test]
    fn snippets_never_read_what_a_symlink_points_outside_hcl_at() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("secret.txt"), "TOPSECRET line\n").unwrap();
        std::os::unix::fs::symlink(d.path().join("secret.txt"), d.path().join("a.hcl")).unwrap();
        std::os::unix::fs::symlink("/proc/self/environ", d.path().join("env.hcl")).unwrap();
        for f in ["a.hcl", "env.hcl"] {
            let sp = Span { file: d.path().join(f), line: 1, col: 1, start: 0, end: 3 };
            let out = Diagnostics::from(Diagnostic::error("e").with_span(sp)).render(&[], false);
            assert!(
                !out.contains("TOPSECRET") && out.contains(&format!("at {}", d.path().join(f).display())),
                "{out}"
            );
        }
    }

    #[test]
    fn renders_without_source_and_serializes() {
        let d = Diagnostic::warning("something odd").with_span(Span {
            file: PathBuf::from("/nonexistent/x.hcl"),
            line: 3,
            col: 4,
            start: 10,
            end: 12,
        });
        let out = Diagnostics::from(d.clone()).render(&[], false);
        assert!(out.contains("warning: something odd"), "{out}");
        assert!(out.contains("/nonexistent/x.hcl:3:4"), "{out}");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["severity"], "warning");
        assert_eq!(json["file"], "/nonexistent/x.hcl");
        assert_eq!(json["line"], 3);
        assert_eq!(json["col"], 4);
        assert!(json["hint"].is_null());
        let plain = Diagnostics::from(Diagnostic::error("no span")).render(&[], true);
        assert!(plain.contains("no span"));
    }

    #[test]
    fn reporting_records_the_error_and_yields_the_token() {
        let mut diags = Diagnostics::new();
        diags.push(Diagnostic::warning("only a warning"));
        assert!(!diags.has_errors());
        let d = Diagnostic::error("unknown route `x`").with_hint("declare it");
        let token: Reported = diags.report(d.clone());
        // The token exists only because the diagnostic is now in the collection.
        assert_eq!(diags.len(), 2);
        assert_eq!(diags.0[1], d);
        assert!(diags.has_errors());
        // A function failing with the token carries it to its caller unchanged.
        let failed: Result<(), Reported> = Err(token);
        assert_eq!(failed, Err(token));
    }
}
