//! Layering, read from the sources (issue 11, "Must show"): no import circle between the source
//! files of the workspace's crates (engine, providers/*), none between engine's top-level modules,
//! and no file under `engine/src/cli/` naming a provider crate.
//!
//! How the graph is drawn (plain text analysis, no parser):
//! - a node is one source file (one module): `a/b.rs` or `a/b/mod.rs` is module `a::b`; `lib.rs`
//!   is the crate root. `main.rs` is a crate root of its own (the binary); it is read like the
//!   others but is not the root the library's `crate::` paths name.
//! - an edge A → B when A names B through `use crate::…`, a `crate::…::` path, `super::…` or
//!   `self::…` (use-trees with braces are expanded). A path resolves to the deepest module file that
//!   exists: `crate::state::State` is `state/mod.rs`, `crate::state::lock::Lock` is `state/lock.rs`.
//! - edges from a module to its own descendants are not counted (a `mod.rs` declares and re-exports
//!   its children): only child → ancestor and sibling/cousin edges are.
//! - comments, string and char literals are blanked first; an item after a `#[cfg(test)]` line
//!   (a `mod tests { … }` block, a `mod tests;` declaration and the file it names, a test-only
//!   function) is skipped up to its closing brace or semicolon.
//!
//! Known findings: the circles and the provider imports in `cli/` that issue 11 names exist on
//! today's main, and other helpers are removing them. They are listed in [`KNOWN_CYCLES`] and
//! [`KNOWN_CLI_PROVIDER_IMPORTS`]; the test fails when a finding is not listed AND when a listed one
//! no longer occurs, so whoever fixes one must remove its entry (the target is both lists empty).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// Today's file-level circles, each as the sorted set of files of one strongly connected
/// component. Remove an entry when its circle is broken (issue 11, item 1 and "Must show").
const KNOWN_CYCLES: &[&[&str]] = &[];

/// Today's circles between engine's top-level modules (sorted sets).
const KNOWN_MODULE_CYCLES: &[&[&str]] = &[];

/// `(file under engine/src/cli/, provider crate it names)` on today's main. Remove an entry when
/// the file stops naming the crate (issue 11: "no file under engine/src/cli/ imports a provider").
const KNOWN_CLI_PROVIDER_IMPORTS: &[(&str, &str)] = &[];

const PROVIDER_CRATES: &[&str] =
    &["watchkeep_provider", "watchkeep_datadog", "watchkeep_cloudwatch", "watchkeep_newrelic"];

// ---------------------------------------------------------------------------------------------
// Reading sources.

/// One source file: its crate (`engine`, `providers/newrelic`), its path inside `src/`, its text.
#[derive(Clone, Debug)]
struct SourceFile {
    krate: String,
    rel: String,
    text: String,
}

impl SourceFile {
    /// `engine/src/state/lock.rs`: how findings name a file.
    fn display(&self) -> String {
        format!("{}/src/{}", self.krate, self.rel)
    }
}

/// The module path of a file relative to `src/` (`None` for a crate root other than `lib.rs`).
fn module_path(rel: &str) -> Vec<String> {
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    match parts.last().map(String::as_str) {
        Some("mod") => {
            parts.pop();
        }
        Some("lib") | Some("main") if parts.len() == 1 => parts.clear(),
        _ => {}
    }
    parts
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `src/` of the engine and of each provider crate.
fn workspace_sources() -> Vec<SourceFile> {
    let root = workspace_root();
    let mut crates = vec!["engine".to_string()];
    let mut providers: Vec<String> = std::fs::read_dir(root.join("providers"))
        .expect("providers/ next to engine/")
        .flatten()
        .filter(|e| e.path().join("src").is_dir())
        .map(|e| format!("providers/{}", e.file_name().to_string_lossy()))
        .collect();
    providers.sort();
    crates.extend(providers);
    let mut out = Vec::new();
    for krate in crates {
        let src = root.join(&krate).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        files.sort();
        for f in files {
            let rel = f.strip_prefix(&src).expect("under src").to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
            out.push(SourceFile { krate: krate.clone(), rel, text });
        }
    }
    assert!(out.len() > 20, "found only {} source files under {}", out.len(), root.display());
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `text` with comments, string literals and char literals replaced by spaces (newlines kept),
/// so that neither a path in a doc comment nor a brace in a string is read as code.
fn blank_non_code(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || c == 'b') && is_raw_string_start(&b, i) {
            // r"…", r#"…"#, br"…": count the hashes, skip to the matching close.
            let mut j = i + 1;
            if b[i] == 'b' {
                j += 1;
            }
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            j += 1; // the opening quote
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &b[i..j.min(b.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a): only the former ends in a
            // quote within a few characters.
            let end = if next == Some('\\') {
                (i + 2..(i + 12).min(b.len())).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    for _ in i..=e {
                        out.push(' ');
                    }
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_raw_string_start(b: &[char], i: usize) -> bool {
    if i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_') {
        return false;
    }
    let mut j = i;
    if b[j] == 'b' {
        j += 1;
        if b.get(j) != Some(&'r') {
            return false;
        }
    }
    j += 1;
    while b.get(j) == Some(&'#') {
        j += 1;
    }
    b.get(j) == Some(&'"')
}

/// Blanks every item that follows a `#[cfg(test)]` attribute, up to its closing brace (balanced)
/// or its semicolon, whichever ends the item. Returns the code and the names of the modules
/// declared test-only with `mod NAME;` (their files are skipped).
fn strip_test_items(code: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(code.len());
    let mut test_mods = Vec::new();
    let mut rest = code;
    while let Some(pos) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..pos]);
        let item = &rest[pos..];
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, ch) in item.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        let skipped = &item[..end];
        let words: Vec<&str> =
            skipped.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        if skipped.trim_end().ends_with(';') {
            if let Some(k) = words.iter().position(|w| *w == "mod") {
                if let Some(name) = words.get(k + 1) {
                    test_mods.push(name.to_string());
                }
            }
        }
        out.extend(skipped.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_mods)
}

// ---------------------------------------------------------------------------------------------
// Paths.

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every module path that `code` names starting with `crate`, `super` or `self`, as segments
/// (`["super", "history", "HistoryEntry"]`), and whether a `use` named it (`false`: a path in
/// code, `crate::muting::normalize(v)`). Use-trees are expanded (`use crate::{a::B, c}` gives
/// `crate::a::B` and `crate::c`); `$crate::` (macros) is not ours.
fn paths_in(code: &str) -> Vec<(Vec<String>, bool)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_word_start = i == 0 || !(is_ident_char(chars[i - 1]) || chars[i - 1] == '$');
        if at_word_start {
            // `use` statements: expand the tree.
            if starts_word(&chars, i, "use") {
                let end = (i..chars.len()).find(|&j| chars[j] == ';').unwrap_or(chars.len());
                let tree: String = chars[i + 3..end].iter().collect();
                let tree = compact_use_tree(&tree);
                let mut paths = Vec::new();
                expand_use_tree(&tree, &mut Vec::new(), &mut paths);
                out.extend(paths.into_iter().filter(|p| is_local_root(p)).map(|p| (p, true)));
                i = end;
                continue;
            }
            for root in ["crate", "super", "self"] {
                if starts_word(&chars, i, root) && followed_by_colons(&chars, i + root.len()) {
                    let (segs, next) = read_path(&chars, i);
                    if segs.len() > 1 {
                        out.push((segs, false));
                    }
                    i = next;
                    break;
                }
            }
        }
        i += 1;
    }
    out
}

fn starts_word(chars: &[char], i: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    chars.len() >= i + w.len()
        && chars[i..i + w.len()] == w[..]
        && !chars.get(i + w.len()).copied().is_some_and(is_ident_char)
}

fn followed_by_colons(chars: &[char], mut i: usize) -> bool {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':')
}

/// Reads `a::b::c` from `i`; stops at `::{`, `::<`, `::*` or anything that is not a segment.
fn read_path(chars: &[char], mut i: usize) -> (Vec<String>, usize) {
    let mut segs = Vec::new();
    loop {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        let start = i;
        while chars.get(i).copied().is_some_and(is_ident_char) {
            i += 1;
        }
        if i == start {
            break;
        }
        segs.push(chars[start..i].iter().collect());
        if !followed_by_colons(chars, i) {
            break;
        }
        while chars[i] != ':' {
            i += 1;
        }
        i += 2;
    }
    (segs, i)
}

fn is_local_root(p: &[String]) -> bool {
    p.len() > 1 && matches!(p[0].as_str(), "crate" | "super" | "self")
}

/// A use-tree without whitespace and without `as NAME` renames: `a::{B as C, d}` → `a::{B,d}`.
fn compact_use_tree(tree: &str) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in tree.chars() {
        if is_ident_char(c) {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut out = String::new();
    let mut k = 0;
    while k < tokens.len() {
        if tokens[k] == "as" {
            k += 2; // `as` and the new name
            continue;
        }
        out.push_str(&tokens[k]);
        k += 1;
    }
    out
}

/// Expands a compact use-tree (`crate::{a::{B,C},d}`, see [`compact_use_tree`]) into full paths;
/// `self` inside braces names the prefix itself.
fn expand_use_tree(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim_start_matches("::");
    if tree.is_empty() {
        return;
    }
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        for part in split_top_level(inner) {
            expand_use_tree(part, prefix, out);
        }
        return;
    }
    let (head, tail) = match tree.find("::") {
        Some(k) => (&tree[..k], Some(&tree[k + 2..])),
        None => (tree, None),
    };
    if head == "*" {
        out.push(prefix.clone());
        return;
    }
    // `self` inside braces is the prefix itself; a leading `self` is kept (it is a root).
    let push = head != "self" || prefix.is_empty();
    if push {
        prefix.push(head.to_string());
    }
    match tail {
        Some(t) => expand_use_tree(t, prefix, out),
        None => out.push(prefix.clone()),
    }
    if push {
        prefix.pop();
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (k, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

// ---------------------------------------------------------------------------------------------
// Graphs.

struct Analysis {
    /// Display names of the files, by node index.
    files: Vec<String>,
    /// File-level edges (from, to), by display name, sorted.
    edges: BTreeSet<(String, String)>,
    /// The edges at least one `use` declaration draws (the others come from paths in code only).
    use_edges: BTreeSet<(String, String)>,
    /// Engine's top-level module edges (from, to), sorted.
    module_edges: BTreeSet<(String, String)>,
    /// `(file under engine/src/cli/, provider crate)`.
    cli_provider_imports: BTreeSet<(String, String)>,
}

fn analyse(sources: &[SourceFile]) -> Analysis {
    // Code without comments, strings and test items; test-only module files dropped.
    let mut code: Vec<(SourceFile, String)> = Vec::new();
    let mut test_only: BTreeSet<(String, Vec<String>)> = BTreeSet::new();
    for f in sources {
        let (stripped, test_mods) = strip_test_items(&blank_non_code(&f.text));
        let m = module_path(&f.rel);
        for name in test_mods {
            let mut child = m.clone();
            child.push(name);
            test_only.insert((f.krate.clone(), child));
        }
        code.push((f.clone(), stripped));
    }
    code.retain(|(f, _)| !test_only.contains(&(f.krate.clone(), module_path(&f.rel))));

    // (crate, module path) → file, for the library root and its modules (main.rs stands alone).
    let mut modules: BTreeMap<(String, Vec<String>), String> = BTreeMap::new();
    for (f, _) in &code {
        if f.rel != "main.rs" {
            modules.insert((f.krate.clone(), module_path(&f.rel)), f.display());
        }
    }

    let mut edges = BTreeSet::new();
    let mut use_edges = BTreeSet::new();
    let mut module_edges = BTreeSet::new();
    let mut cli_provider_imports = BTreeSet::new();
    for (f, text) in &code {
        let here = module_path(&f.rel);
        let from = f.display();
        for (p, from_use) in paths_in(text) {
            let mut base: Vec<String> = match p[0].as_str() {
                "crate" => Vec::new(),
                _ => here.clone(),
            };
            let mut rest = &p[..];
            if rest[0] == "crate" || rest[0] == "self" {
                rest = &rest[1..];
            }
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            // The deepest module file that exists.
            let mut target = None;
            for k in (0..=rest.len()).rev() {
                let mut m = base.clone();
                m.extend(rest[..k].iter().cloned());
                if let Some(file) = modules.get(&(f.krate.clone(), m.clone())) {
                    target = Some((m, file.clone()));
                    break;
                }
            }
            let Some((m, to)) = target else { continue };
            // Not to itself, not from a module to its own descendants (main.rs is a root apart).
            let descendant = f.rel != "main.rs" && m.len() > here.len() && m[..here.len()] == here[..];
            if to == from || descendant {
                continue;
            }
            if f.krate == "engine" && f.rel != "main.rs" {
                if let (Some(a), Some(b)) = (here.first(), m.first()) {
                    if a != b {
                        module_edges.insert((a.clone(), b.clone()));
                    }
                }
            }
            if from_use {
                use_edges.insert((from.clone(), to.clone()));
            }
            edges.insert((from.clone(), to));
        }
        if f.krate == "engine" && f.rel.starts_with("cli/") {
            for c in PROVIDER_CRATES {
                let named = text.match_indices(c).any(|(k, _)| {
                    let before = text[..k].chars().next_back();
                    let after = text[k + c.len()..].chars().next();
                    !before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char)
                });
                if named {
                    cli_provider_imports.insert((from.clone(), c.to_string()));
                }
            }
        }
    }
    let files = code.iter().map(|(f, _)| f.display()).collect();
    Analysis { files, edges, use_edges, module_edges, cli_provider_imports }
}

/// The strongly connected components with more than one node, each as its sorted node names,
/// with one readable cycle through it (`a.rs -> b.rs -> a.rs`) and its internal edges.
struct Cycle {
    members: Vec<String>,
    path: String,
    edges: Vec<(String, String)>,
}

fn cycles(nodes: &[String], edges: &BTreeSet<(String, String)>) -> Vec<Cycle> {
    let mut g: DiGraph<String, ()> = DiGraph::new();
    let mut index: BTreeMap<String, NodeIndex> = BTreeMap::new();
    let mut node = |g: &mut DiGraph<String, ()>, n: &str| {
        *index.entry(n.to_string()).or_insert_with(|| g.add_node(n.to_string()))
    };
    for n in nodes {
        node(&mut g, n);
    }
    for (a, b) in edges {
        let (x, y) = (node(&mut g, a), node(&mut g, b));
        g.update_edge(x, y, ());
    }
    let mut found = Vec::new();
    for scc in tarjan_scc(&g) {
        if scc.len() < 2 {
            continue;
        }
        let set: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let mut members: Vec<String> = scc.iter().map(|&n| g[n].clone()).collect();
        members.sort();
        let start = scc.iter().copied().min_by_key(|&n| g[n].clone()).expect("non-empty");
        let path =
            shortest_cycle(&g, start, &set).iter().map(|&n| g[n].clone()).collect::<Vec<_>>().join(" -> ");
        let internal: Vec<(String, String)> =
            edges.iter().filter(|(a, b)| members.contains(a) && members.contains(b)).cloned().collect();
        found.push(Cycle { members, path, edges: internal });
    }
    found.sort_by(|a, b| a.members.cmp(&b.members));
    found
}

/// A shortest path `start -> … -> start` inside `set` (breadth first, neighbours by name).
fn shortest_cycle(g: &DiGraph<String, ()>, start: NodeIndex, set: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut prev: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = g.neighbors(n).filter(|m| set.contains(m)).collect();
        next.sort_by_key(|&m| g[m].clone());
        for m in next {
            if m == start {
                let mut back = vec![n];
                let mut cur = n;
                while cur != start {
                    cur = prev[&cur];
                    back.push(cur);
                }
                back.reverse();
                back.push(start);
                return back;
            }
            if m != start && !prev.contains_key(&m) {
                prev.insert(m, n);
                queue.push_back(m);
            }
        }
    }
    vec![start]
}

/// The circles, each with its internal edges; an edge no `use` draws is marked `(path in code)`.
fn describe(cycles: &[Cycle], use_edges: &BTreeSet<(String, String)>) -> String {
    let mut s = String::new();
    for c in cycles {
        s.push_str(&format!("  circle: {}\n    members: {:?}\n    edges:\n", c.path, c.members));
        for e in &c.edges {
            let how = if use_edges.contains(e) { "" } else { "  (path in code)" };
            s.push_str(&format!("      {} -> {}{how}\n", e.0, e.1));
        }
    }
    s
}

/// Engine's top-level module of a file (`engine/src/state/lock.rs` → `state`); `None` outside
/// engine and for the crate roots.
fn engine_top(file: &str) -> Option<String> {
    let rel = file.strip_prefix("engine/src/")?;
    if rel == "lib.rs" || rel == "main.rs" {
        return None;
    }
    module_path(rel).first().cloned()
}

/// Compares findings with a known list: `(unlisted, no longer occurring)`.
fn compare<T: Ord + Clone>(found: &BTreeSet<T>, known: &BTreeSet<T>) -> (Vec<T>, Vec<T>) {
    (found.difference(known).cloned().collect(), known.difference(found).cloned().collect())
}

fn known_sets(list: &[&[&str]]) -> BTreeSet<Vec<String>> {
    list.iter()
        .filter(|m| !m.is_empty())
        .map(|m| {
            let mut v: Vec<String> = m.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn no_import_circles_and_no_provider_crates_in_cli() {
    let a = analyse(&workspace_sources());
    let mut failures = Vec::new();

    let file_cycles = cycles(&a.files, &a.edges);
    let found: BTreeSet<Vec<String>> = file_cycles.iter().map(|c| c.members.clone()).collect();
    let (new, gone) = compare(&found, &known_sets(KNOWN_CYCLES));
    if !new.is_empty() || !gone.is_empty() {
        failures.push(format!(
            "file-level import circles differ from KNOWN_CYCLES\n  new (not listed): {new:#?}\n  listed but gone (remove them from KNOWN_CYCLES): {gone:#?}\nall circles found:\n{}",
            describe(&file_cycles, &a.use_edges)
        ));
    }

    let modules: Vec<String> = a
        .module_edges
        .iter()
        .flat_map(|(x, y)| [x.clone(), y.clone()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let module_cycles = cycles(&modules, &a.module_edges);
    let module_use_edges: BTreeSet<(String, String)> = a
        .use_edges
        .iter()
        .filter_map(|(f, t)| Some((engine_top(f)?, engine_top(t)?)))
        .filter(|(x, y)| x != y)
        .collect();
    let found: BTreeSet<Vec<String>> = module_cycles.iter().map(|c| c.members.clone()).collect();
    let (new, gone) = compare(&found, &known_sets(KNOWN_MODULE_CYCLES));
    if !new.is_empty() || !gone.is_empty() {
        let mut files = String::new();
        for c in &module_cycles {
            for (x, y) in &c.edges {
                files.push_str(&format!("  {x} -> {y}, through:\n"));
                for (f, t) in &a.edges {
                    if engine_top(f).as_ref() == Some(x) && engine_top(t).as_ref() == Some(y) {
                        let how = if a.use_edges.contains(&(f.clone(), t.clone())) {
                            ""
                        } else {
                            "  (path in code)"
                        };
                        files.push_str(&format!("      {f} -> {t}{how}\n"));
                    }
                }
            }
        }
        failures.push(format!(
            "module-level circles (engine's top-level modules) differ from KNOWN_MODULE_CYCLES\n  new (not listed): {new:#?}\n  listed but gone (remove them): {gone:#?}\nall circles found:\n{}file edges behind them:\n{files}",
            describe(&module_cycles, &module_use_edges)
        ));
    }

    let known: BTreeSet<(String, String)> =
        KNOWN_CLI_PROVIDER_IMPORTS.iter().map(|(f, c)| (f.to_string(), c.to_string())).collect();
    let (new, gone) = compare(&a.cli_provider_imports, &known);
    if !new.is_empty() || !gone.is_empty() {
        failures.push(format!(
            "provider crates named under engine/src/cli/ differ from KNOWN_CLI_PROVIDER_IMPORTS\n  new (not listed): {new:#?}\n  listed but gone (remove them): {gone:#?}"
        ));
    }

    if !failures.is_empty() {
        let mut all = String::new();
        for (x, y) in &a.edges {
            all.push_str(&format!("  {x} -> {y}\n"));
        }
        panic!("{}\n\nevery file-level edge ({}):\n{all}", failures.join("\n\n"), a.edges.len());
    }
}

fn synthetic(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(rel, text)| SourceFile {
            krate: "engine".into(),
            rel: rel.to_string(),
            text: text.to_string(),
        })
        .collect()
}

#[test]
fn a_synthetic_circle_is_found_and_printed_as_a_path() {
    let a = analyse(&synthetic(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a/mod.rs", "pub mod x;\nuse crate::b::Thing;\n"),
        ("a/x.rs", "pub fn f() { crate::c::g() }\n"),
        ("b.rs", "use crate::{a::{x::f, Other}, c};\npub struct Thing;\n"),
        ("c.rs", "pub fn g() {}\n"),
    ]));
    assert!(a.edges.contains(&("engine/src/a/mod.rs".into(), "engine/src/b.rs".into())), "{:?}", a.edges);
    assert!(a.edges.contains(&("engine/src/b.rs".into(), "engine/src/a/x.rs".into())), "{:?}", a.edges);
    assert!(a.edges.contains(&("engine/src/a/x.rs".into(), "engine/src/c.rs".into())), "{:?}", a.edges);
    assert!(a.use_edges.contains(&("engine/src/b.rs".into(), "engine/src/a/x.rs".into())));
    assert!(!a.use_edges.contains(&("engine/src/a/x.rs".into(), "engine/src/c.rs".into())), "a path in code");
    let found = cycles(&a.files, &a.edges);
    assert_eq!(found.len(), 1, "{}", describe(&found, &a.use_edges));
    assert_eq!(found[0].members, ["engine/src/a/mod.rs", "engine/src/b.rs"]);
    assert_eq!(found[0].path, "engine/src/a/mod.rs -> engine/src/b.rs -> engine/src/a/mod.rs");

    let modules: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
    let found = cycles(&modules, &a.module_edges);
    assert_eq!(found.len(), 1, "{:?}", a.module_edges);
    assert_eq!(found[0].members, ["a", "b"]);
}

#[test]
fn parent_to_child_edges_comments_strings_and_test_items_are_not_counted() {
    let a = analyse(&synthetic(&[
        ("lib.rs", "pub mod state;\n"),
        ("state/mod.rs", "mod lock;\npub use self::lock::Lock;\npub struct State;\n#[cfg(test)]\nmod tests;\n"),
        // child -> parent, and a circle that exists only in a comment, a string and a test block.
        (
            "state/lock.rs",
            "use super::State;\n// use super::history::X;\nconst S: &str = \"super::history::Y\";\npub struct Lock;\n#[cfg(test)]\nmod tests {\n    use super::super::history::Z;\n    fn f() { let _ = '{'; }\n}\n",
        ),
        ("state/history.rs", "use super::lock::Lock;\n"),
        ("state/tests.rs", "use super::history::*;\nuse super::lock::Lock;\n"),
    ]));
    let edges: Vec<(String, String)> = a.edges.iter().cloned().collect();
    assert_eq!(
        edges,
        [
            ("engine/src/state/history.rs".to_string(), "engine/src/state/lock.rs".to_string()),
            ("engine/src/state/lock.rs".to_string(), "engine/src/state/mod.rs".to_string()),
        ],
        "state/mod.rs -> lock.rs is parent -> child; the rest is comment, string or test code"
    );
    assert!(cycles(&a.files, &a.edges).is_empty());
    assert!(!a.files.contains(&"engine/src/state/tests.rs".to_string()), "{:?}", a.files);
}

#[test]
fn provider_crates_named_under_cli_are_found() {
    let a = analyse(&synthetic(&[
        ("lib.rs", "pub mod cli;\n"),
        ("cli/mod.rs", "use watchkeep_datadog::DatadogProvider;\n// watchkeep_newrelic in a comment\n"),
        ("cli/plan.rs", "fn f() { let _ = watchkeep_provider::Secret::new(); }\n"),
        ("plan.rs", "use watchkeep_cloudwatch as cw;\n"),
    ]));
    let found: Vec<(String, String)> = a.cli_provider_imports.into_iter().collect();
    assert_eq!(
        found,
        [
            ("engine/src/cli/mod.rs".to_string(), "watchkeep_datadog".to_string()),
            ("engine/src/cli/plan.rs".to_string(), "watchkeep_provider".to_string()),
        ]
    );
}
