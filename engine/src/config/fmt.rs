//! `watchkeep fmt`: canonical layout like `terraform fmt`.
//!
//! - 2-space indentation by bracket nesting (the same per-line algorithm as hclwrite);
//! - `=` aligned within runs of consecutive attribute lines at the same level;
//! - runs of blank lines collapsed to one, a blank line after each multi-line top-level block,
//!   no leading/trailing blank lines, a single final newline, trailing spaces removed;
//! - comments kept where they are; heredoc bodies, block-comment continuations and lines inside
//!   multi-line string interpolations are left exactly as written.
//!
//! Only whitespace outside strings changes, so the meaning is preserved; `format_source` checks
//! that anyway and returns the input unchanged if the result would parse differently.

/// A lexical frame while scanning.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    /// `(`, `[` or `{` in code.
    Bracket,
    /// Inside `"..."`.
    Str,
    /// `${ ... }` / `%{ ... }` inside a string or heredoc.
    Interp,
    /// Heredoc body until the line holding only `id`.
    Heredoc {
        id: String,
    },
    BlockComment,
}

fn is_template(f: &Frame) -> bool {
    matches!(f, Frame::Str | Frame::Interp | Frame::Heredoc { .. } | Frame::BlockComment)
}

#[derive(Debug)]
struct Line<'t> {
    text: &'t str,
    /// Starts inside a heredoc, string, interpolation or block comment: keep as written.
    verbatim: bool,
    /// Net brackets opened by code on this line.
    net: i32,
    /// Ends inside a string: trailing spaces are content.
    ends_in_string: bool,
}

fn scan(text: &str) -> Vec<Line<'_>> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut lines = Vec::new();
    let mut pending_heredoc: Option<String> = None;
    for raw in text.split_inclusive('\n') {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let verbatim = stack.iter().any(is_template);
        // A heredoc terminator line closes the heredoc.
        if let Some(Frame::Heredoc { id }) = stack.last() {
            if line.trim_end_matches('\r').trim() == id {
                stack.pop();
                lines.push(Line { text: line, verbatim: true, net: 0, ends_in_string: false });
                continue;
            }
        }
        let mut net = 0i32;
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            let in_template_code = stack.iter().any(is_template);
            match stack.last() {
                Some(Frame::BlockComment) => {
                    if c == '*' && next == Some('/') {
                        stack.pop();
                        i += 1;
                    }
                }
                Some(Frame::Str) | Some(Frame::Heredoc { .. }) => {
                    let in_str = matches!(stack.last(), Some(Frame::Str));
                    if in_str && c == '\\' {
                        i += 1; // skip the escaped character
                    } else if in_str && c == '"' {
                        stack.pop();
                    } else if (c == '$' || c == '%') && next == Some(c) && chars.get(i + 2) == Some(&'{') {
                        i += 2; // `$${` / `%%{` are literal
                    } else if (c == '$' || c == '%') && next == Some('{') {
                        stack.push(Frame::Interp);
                        i += 1;
                    }
                }
                _ => {
                    // Code (top level, brackets, or an interpolation).
                    match c {
                        '"' => stack.push(Frame::Str),
                        '#' => break,
                        '/' if next == Some('/') => break,
                        '/' if next == Some('*') => {
                            stack.push(Frame::BlockComment);
                            i += 1;
                        }
                        '<' if next == Some('<') => {
                            let mut j = i + 2;
                            if chars.get(j) == Some(&'-') {
                                j += 1;
                            }
                            let start = j;
                            while j < chars.len()
                                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '-')
                            {
                                j += 1;
                            }
                            if j > start && chars[j..].iter().all(|c| *c == '\r') {
                                pending_heredoc = Some(chars[start..j].iter().collect());
                                i = j;
                                continue;
                            }
                            i += 1;
                        }
                        '(' | '[' | '{' => {
                            stack.push(Frame::Bracket);
                            if !in_template_code {
                                net += 1;
                            }
                        }
                        ')' | ']' | '}' => match stack.last() {
                            Some(Frame::Bracket) => {
                                stack.pop();
                                if !in_template_code {
                                    net -= 1;
                                }
                            }
                            Some(Frame::Interp) if c == '}' => {
                                stack.pop();
                            }
                            _ => {
                                // Unbalanced: the parser has rejected this already; count it so
                                // indentation stays sane.
                                net -= 1;
                            }
                        },
                        _ => {}
                    }
                }
            }
            i += 1;
        }
        // Also inside an interpolation of a string: the template keeps its raw text.
        let ends_in_string = stack.contains(&Frame::Str);
        lines.push(Line { text: line, verbatim, net, ends_in_string });
        if let Some(id) = pending_heredoc.take() {
            stack.push(Frame::Heredoc { id });
        }
    }
    lines
}

/// `name = value` at the start of a code line → (name, value).
fn split_attribute(s: &str) -> Option<(&str, &str)> {
    let first = s.chars().next()?;
    if !(first.is_alphabetic() || first == '_') {
        return None;
    }
    let key_end = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(s.len());
    let rest = s[key_end..].trim_start();
    let after = rest.strip_prefix('=')?;
    if after.starts_with('=') || after.starts_with('>') {
        return None;
    }
    Some((&s[..key_end], after.trim_start()))
}

#[derive(Debug)]
enum Out<'t> {
    Blank,
    Verbatim(&'t str),
    Code {
        level: usize,
        text: String,
        attr: Option<(String, String)>,
        /// Takes part in `=` alignment: a one-line attribute (hclwrite leaves lines that open a
        /// multi-line value out of the run).
        align: bool,
        closes_top_block: bool,
    },
}

/// Formats HCL text (which must already parse). See the module docs for the rules.
pub(crate) fn format_hcl(text: &str) -> String {
    let lines = scan(text);
    let mut indents: Vec<i32> = Vec::new();
    let mut out: Vec<Out> = Vec::new();
    for l in &lines {
        let level_before = indents.len();
        // hclwrite's method: a net opener indents the following lines by one level and
        // remembers how many brackets it opened; closers pop those levels again.
        let level = match l.net {
            n if n > 0 => {
                indents.push(n);
                level_before
            }
            n if n < 0 => {
                let mut closed = -n;
                while closed > 0 {
                    let Some(top) = indents.last_mut() else { break };
                    if closed >= *top {
                        closed -= *top;
                        indents.pop();
                    } else {
                        *top -= closed;
                        closed = 0;
                    }
                }
                indents.len()
            }
            _ => level_before,
        };
        if l.verbatim {
            out.push(Out::Verbatim(l.text));
            continue;
        }
        let mut t = l.text.trim_start();
        if !l.ends_in_string {
            t = t.trim_end();
        } else {
            t = t.trim_end_matches(['\n']);
        }
        if t.is_empty() {
            out.push(Out::Blank);
            continue;
        }
        let attr = split_attribute(t).map(|(k, v)| (k.to_string(), v.to_string()));
        let closes_top_block = l.net < 0 && indents.is_empty() && t.starts_with('}');
        let align = attr.is_some() && l.net == 0;
        out.push(Out::Code { level, text: t.to_string(), attr, align, closes_top_block });
    }

    // Alignment of `=` in runs of attribute lines at the same level.
    let mut widths: Vec<usize> = vec![0; out.len()];
    let mut i = 0;
    while i < out.len() {
        let Out::Code { level, align: true, .. } = &out[i] else {
            i += 1;
            continue;
        };
        let run_level = *level;
        let mut j = i;
        let mut width = 0;
        while let Some(Out::Code { level, attr: Some((k, _)), align: true, .. }) = out.get(j) {
            if *level != run_level {
                break;
            }
            width = width.max(k.chars().count());
            j += 1;
        }
        for w in widths.iter_mut().take(j).skip(i) {
            *w = width;
        }
        i = j;
    }

    let mut result = String::with_capacity(text.len() + 64);
    let mut pending_blank = false;
    let mut wrote_any = false;
    for (idx, o) in out.iter().enumerate() {
        match o {
            Out::Blank => {
                pending_blank = wrote_any;
                continue;
            }
            Out::Verbatim(t) => {
                if pending_blank {
                    result.push('\n');
                    pending_blank = false;
                }
                result.push_str(t);
                result.push('\n');
            }
            Out::Code { level, text, attr, closes_top_block, .. } => {
                if pending_blank {
                    result.push('\n');
                    pending_blank = false;
                }
                result.push_str(&"  ".repeat(*level));
                match attr {
                    Some((k, v)) => {
                        result.push_str(k);
                        result.push_str(&" ".repeat(widths[idx].saturating_sub(k.chars().count())));
                        result.push_str(" =");
                        if !v.is_empty() {
                            result.push(' ');
                            result.push_str(v);
                        }
                    }
                    None => result.push_str(text),
                }
                result.push('\n');
                if *closes_top_block {
                    pending_blank = true;
                }
            }
        }
        wrote_any = true;
    }
    while result.ends_with("\n\n") {
        result.pop();
    }
    if result.trim().is_empty() {
        return String::new();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_meaning(a: &str, b: &str) {
        let pa = hcl::Body::from(hcl::edit::parser::parse_body(a).unwrap());
        let pb = hcl::Body::from(hcl::edit::parser::parse_body(b).unwrap());
        assert_eq!(pa, pb, "meaning changed:\n{a}\n---\n{b}");
    }

    const MESSY: &str = r##"

# Routes
route "oncall" {
pagerduty { routing_key = var.key }
    slack {
  channel = "#ops"   # the main channel
      account="acme"
  }
}
alert "cpu" {
	scope = inventory.prod
  metric  =   "cpu"
  above = 85
  severity = "critical"
  message = <<-EOT
      CPU is high on ${var.x}
        indented line
      EOT
  routes = [
  route.oncall,
      route.other,
  ]
  runbook = "https://x/${join(",", [
    "a", "b"])}"
}



/* block
   comment */
locals {
  a    = { x = 1, yy = 2 }
  long_name = "s   "
  q = a == b ? 1 : 2
  obj = {
    k = 1
    longer = 2
  }
}
"##;

    const EXPECTED: &str = r##"# Routes
route "oncall" {
  pagerduty { routing_key = var.key }
  slack {
    channel = "#ops"   # the main channel
    account = "acme"
  }
}

alert "cpu" {
  scope    = inventory.prod
  metric   = "cpu"
  above    = 85
  severity = "critical"
  message  = <<-EOT
      CPU is high on ${var.x}
        indented line
      EOT
  routes = [
    route.oncall,
    route.other,
  ]
  runbook = "https://x/${join(",", [
    "a", "b"])}"
}

/* block
   comment */
locals {
  a         = { x = 1, yy = 2 }
  long_name = "s   "
  q         = a == b ? 1 : 2
  obj = {
    k      = 1
    longer = 2
  }
}
"##;

    #[test]
    fn formats_like_terraform_fmt() {
        let out = format_hcl(MESSY);
        assert_eq!(out, EXPECTED, "got:\n{out}");
        same_meaning(MESSY, &out);
    }

    #[test]
    fn is_idempotent() {
        let once = format_hcl(MESSY);
        assert_eq!(format_hcl(&once), once);
        let odd = "a = [\n  1,\n  2]\nb = {\n  c = [\n    {\n      d = 1\n    }]\n}\n";
        let once = format_hcl(odd);
        assert_eq!(format_hcl(&once), once);
        same_meaning(odd, &once);
    }

    #[test]
    fn keeps_heredocs_and_escapes_intact() {
        let src = "x {\n    a = <<EOF\n  keep   \n\n\n  me\nEOF\n    b = \"$${not} %%{x} \\\" {\"\n}\n";
        let out = format_hcl(src);
        assert!(out.contains("  a = <<EOF\n  keep   \n\n\n  me\nEOF\n"), "{out}");
        assert!(out.contains("  b = \"$${not} %%{x} \\\" {\"\n}"), "{out}");
        same_meaning(src, &out);
    }

    #[test]
    fn crlf_and_nested_brackets() {
        let src = "a=1\r\nb {\r\n  c=2\r\n  obj = { a = [\r\n1, 2\r\n], b = 3 }\r\n}\r\nd = 4";
        let out = format_hcl(src);
        assert_eq!(out, "a = 1\nb {\n  c = 2\n  obj = { a = [\n    1, 2\n  ], b = 3 }\n}\n\nd = 4\n");
        assert_eq!(format_hcl(&out), out);
        same_meaning(src, &out);
    }

    #[test]
    fn empty_and_comment_only() {
        assert_eq!(format_hcl("\n\n"), "");
        assert_eq!(format_hcl("# hi\n\n\n# there"), "# hi\n\n# there\n");
    }
}
