//! Source text, byte ranges → [`Span`]s, and HCL parse errors → diagnostics.

use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl::edit::structure::Body;

use super::confine::{Policy, Refusal};
use super::model::Span;
use crate::diag::Diagnostic;

/// A file's text with its line index, so byte ranges convert to 1-based line/column.
#[derive(Debug, Clone)]
pub(crate) struct SourceText {
    /// The path as shown to users (relative to the working directory when under it).
    pub display: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceText {
    pub fn new(path: &Path, text: String) -> SourceText {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceText { display: display_path(path), text, line_starts }
    }

    /// Reads a file through the confinement [`Policy`] (symlinks resolved, special files and
    /// files outside the configuration refused, at most `limit` bytes).
    pub fn read(path: &Path, limit: u64, policy: &Policy) -> Result<SourceText, Refusal> {
        let text = super::confine::read_text(path, limit, policy)?;
        Ok(SourceText::new(path, text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.line_starts[line_idx];
        let col = self.text.get(line_start..offset).map_or(offset - line_start, |s| s.chars().count()) + 1;
        (line_idx + 1, col)
    }

    pub fn span(&self, range: Range<usize>) -> Span {
        let start = floor_char_boundary(&self.text, range.start.min(self.text.len()));
        let end = floor_char_boundary(&self.text, range.end.clamp(start, self.text.len()));
        let (line, col) = self.line_col(start);
        Span { file: self.display.clone(), line, col, start, end }
    }

    /// Span of a whole 1-based line (for CSV rows and the like).
    pub fn line_span(&self, line: usize) -> Span {
        let idx = line.saturating_sub(1).min(self.line_starts.len() - 1);
        let start = self.line_starts[idx];
        let end = self.text[start..].find('\n').map_or(self.text.len(), |i| start + i);
        let end = if self.text[start..end].ends_with('\r') { end - 1 } else { end };
        self.span(start..end)
    }

    /// Span at a 1-based line/column as reported by a parser.
    pub fn span_at(&self, line: usize, col: usize) -> Span {
        let idx = line.saturating_sub(1).min(self.line_starts.len() - 1);
        let line_start = self.line_starts[idx];
        let line_end = self.text[line_start..].find('\n').map_or(self.text.len(), |i| line_start + i);
        let mut start = line_start;
        for (n, (i, _)) in self.text[line_start..line_end].char_indices().enumerate() {
            start = line_start + i;
            if n + 1 == col {
                break;
            }
            start = line_end;
        }
        let end = self.text[start..line_end].chars().next().map_or(start, |c| start + c.len_utf8());
        self.span(start..end)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The error for a file that could not be read: names the path and what to do, never its content.
pub(crate) fn cannot_read(what: &str, path: &Path, e: &Refusal) -> Diagnostic {
    let what = if what.is_empty() { String::new() } else { format!("{what} ") };
    Diagnostic::error(format!("cannot read {what}`{}`: {}", display_path(path).display(), e.reason()))
        .with_hint(e.hint())
}

/// How a path is shown in diagnostics: relative to the current directory when it is under it.
pub(crate) fn display_path(path: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else { return path.to_path_buf() };
    let absolute = if path.is_absolute() { path.to_path_buf() } else { cwd.join(path) };
    let normalised = normalise(&absolute);
    match normalised.strip_prefix(normalise(&cwd)) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => normalised,
    }
}

/// Removes `.` and resolves `..` lexically (no filesystem access, so symlinks are kept).
pub(crate) fn normalise(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` after nothing or after another `..` stays; it cannot be popped (popping it
                // turned `../../shared` into `shared`). At the root, `/..` is `/`.
                let last = out.components().next_back();
                match last {
                    None | Some(Component::ParentDir) => out.push(".."),
                    Some(Component::RootDir | Component::Prefix(_)) => {}
                    Some(_) => {
                        out.pop();
                    }
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Parses HCL text, turning a syntax error into a located diagnostic.
pub(crate) fn parse_hcl(src: &SourceText) -> Result<Body, Box<Diagnostic>> {
    // A UTF-8 byte order mark (editors on Windows write one) is not HCL: it is parsed as three
    // spaces, so every byte offset stays that of the file.
    let text = match src.text.strip_prefix('\u{feff}') {
        Some(rest) => std::borrow::Cow::Owned(format!("   {rest}")),
        None => std::borrow::Cow::Borrowed(src.text.as_str()),
    };
    hcl::edit::parser::parse_body(&text).map_err(|e| {
        let loc = e.location();
        let span = src.span_at(loc.line(), loc.column());
        Box::new(Diagnostic::error(format!("syntax error: {}", e.message())).with_span(span).with_hint(
            "fix the HCL syntax at this position (check for a missing quote, bracket, `=` or value)",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_spans() {
        let src = SourceText::new(Path::new("/tmp/x.hcl"), "ab\ncdé f\n\nlast".to_string());
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(3), (2, 1));
        assert_eq!(src.line_col(8), (2, 5)); // after the two-byte é
        assert_eq!(src.line_col(11), (4, 1));
        let sp = src.span_at(2, 5);
        assert_eq!((sp.line, sp.col, &src.text[sp.start..sp.end]), (2, 5, "f"));
        let sp = src.line_span(2);
        assert_eq!(&src.text[sp.start..sp.end], "cdé f");
    }

    #[test]
    fn shows_paths_relative_to_the_working_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(display_path(&cwd.join("conf/main.hcl")), PathBuf::from("conf/main.hcl"));
        assert_eq!(display_path(Path::new("./conf/../main.hcl")), PathBuf::from("main.hcl"));
        assert_eq!(display_path(Path::new("/elsewhere/main.hcl")), PathBuf::from("/elsewhere/main.hcl"));
    }

    #[test]
    fn normalises_paths() {
        assert_eq!(normalise(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        // Leading `..` of a relative path are kept, each one (not popped by the next).
        assert_eq!(normalise(Path::new("./../../shared/mod")), PathBuf::from("../../shared/mod"));
        assert_eq!(normalise(Path::new("a/../../../b")), PathBuf::from("../../b"));
    }
}
