//! Stage 3: every reference of each declaration resolved to the declaration it names (unknown
//! references are errors at the reference); the result is each declaration's dependencies.

use std::collections::{HashMap, HashSet};

use super::{Decl, Declarations, FileEntry, Kind, ModuleInfo, Ref, Stage, Target, Tree};
use crate::config::functions;
use crate::config::refs::{Collected, Part, RawRef};
use crate::config::suggest;
use crate::diag::{Diagnostic, Diagnostics};
use crate::vendors;

/// Reference roots that name a block of one kind.
const BLOCK_ROOTS: &[(&str, Kind)] = &[
    ("var", Kind::Variable),
    ("local", Kind::Local),
    ("inventory", Kind::Inventory),
    ("route", Kind::Route),
    ("alert", Kind::Alert),
    ("baseline", Kind::Baseline),
    ("metric", Kind::Metric),
    ("dashboard", Kind::Dashboard),
];

/// Every name an expression may start with (for suggestions).
fn known_roots() -> Vec<&'static str> {
    let mut v: Vec<&str> = BLOCK_ROOTS.iter().map(|(r, _)| *r).collect();
    v.extend(["component", "module", "each", "count", "path"]);
    v.extend(vendors::resource_types().iter().copied());
    v
}

/// Resolves the references of every declaration into its `refs` and `deps`; a declaration with
/// an unresolvable reference joins `failed`.
pub(super) fn resolve_all<'a>(
    tree: &'a Tree,
    declared: &mut Declarations<'a>,
    failed: &mut HashSet<usize>,
    diags: &mut Diagnostics,
) {
    let Tree { files, modules } = tree;
    let Declarations { decls, index, static_components, dynamic_producers } = declared;
    Resolver { files, modules, decls, index, static_components, dynamic_producers, failed, diags }
        .resolve_all();
}

struct Resolver<'a, 'r> {
    files: &'a [FileEntry],
    modules: &'a [ModuleInfo],
    decls: &'r mut Vec<Decl<'a>>,
    index: &'r HashMap<(usize, String), usize>,
    static_components: &'r HashMap<(usize, String), usize>,
    dynamic_producers: &'r HashMap<usize, Vec<usize>>,
    failed: &'r mut HashSet<usize>,
    diags: &'r mut Diagnostics,
}

impl<'a> Stage<'a> for Resolver<'a, '_> {
    fn files(&self) -> &'a [FileEntry] {
        self.files
    }

    fn modules(&self) -> &'a [ModuleInfo] {
        self.modules
    }

    fn decls(&self) -> &[Decl<'a>] {
        self.decls
    }

    fn diags(&mut self) -> &mut Diagnostics {
        self.diags
    }
}

impl Resolver<'_, '_> {
    fn resolve_all(&mut self) {
        // Module variables take their values from the module block in the parent.
        for m in 1..self.modules.len() {
            let Some((parent, call)) = self.modules[m].parent.clone() else { continue };
            let Some(&call_decl) = self.index.get(&(parent, format!("module.{call}"))) else { continue };
            for d in 0..self.decls.len() {
                if self.decls[d].module == m && self.decls[d].kind == Kind::Variable {
                    self.decls[d].deps.push(call_decl);
                }
            }
        }
        for d in 0..self.decls.len() {
            let mut c = Collected::default();
            let decl = &self.decls[d];
            match (decl.kind, decl.attr, decl.block) {
                (_, Some(a), _) => c.expr(&a.value),
                (Kind::Variable, _, Some(b)) => {
                    for a in b.body.attributes().filter(|a| a.key.as_str() != "type") {
                        c.expr(&a.value);
                    }
                }
                (Kind::Module, _, Some(b)) => {
                    for a in b.body.attributes().filter(|a| a.key.as_str() != "source") {
                        c.expr(&a.value);
                    }
                }
                (_, _, Some(b)) => c.body(&b.body),
                _ => {}
            }
            let file = decl.file;
            for f in c.funcs {
                if !functions::FUNCTIONS.contains(&f.name.as_str()) {
                    let hint = match suggest::closest(&f.name, functions::FUNCTIONS.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("available functions: {}", functions::FUNCTIONS.join(", ")),
                    };
                    let span = self.span_in(file, Some(f.range));
                    self.error(
                        Diagnostic::error(format!("unknown function `{}`", f.name))
                            .with_span(span)
                            .with_hint(hint),
                    );
                    self.failed.insert(d);
                }
            }
            if self.decls[d].kind == Kind::Variable {
                if let Some(r) = c.refs.first() {
                    let span = self.span_in(file, Some(r.range(r.parts.len())));
                    self.error(
                        Diagnostic::error(format!(
                            "a variable's default cannot refer to `{}`",
                            r.text(r.parts.len())
                        ))
                        .with_span(span)
                        .with_hint("use a constant default, and compute derived values in a `locals` block"),
                    );
                    self.failed.insert(d);
                }
                continue;
            }
            for r in c.refs {
                if let Some(resolved) = self.resolve(d, r) {
                    match &resolved.target {
                        Target::Decl(t) => self.decls[d].deps.push(*t),
                        Target::Component(name) => {
                            let m = self.decls[d].module;
                            match self.static_components.get(&(m, name.clone())) {
                                Some(&p) if p != d => self.decls[d].deps.push(p),
                                Some(_) => {}
                                None => {
                                    let producers =
                                        self.dynamic_producers.get(&m).cloned().unwrap_or_default();
                                    self.decls[d].deps.extend(producers.into_iter().filter(|&p| p != d));
                                }
                            }
                        }
                        Target::Builtin => {}
                    }
                    self.decls[d].refs.push(resolved);
                } else {
                    self.failed.insert(d);
                }
            }
        }
    }

    fn unknown_ref(&mut self, d: usize, r: &RawRef, used: usize, candidates: Vec<String>, what: &str) {
        let text = r.text(used);
        let span = self.span(d, Some(r.range(used)));
        let hint = match suggest::closest(&text, candidates.iter().map(String::as_str)) {
            Some(c) => format!("did you mean `{c}`?"),
            None if candidates.is_empty() => format!("declare the {what} first"),
            None => format!(
                "declare it, or use one of: {}",
                suggest::list(candidates.iter().take(12).map(String::as_str))
            ),
        };
        self.error(Diagnostic::error(format!("unknown reference `{text}`")).with_span(span).with_hint(hint));
    }

    fn candidates(&self, module: usize, root: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .index
            .keys()
            .filter(|(m, a)| *m == module && a.split('.').next() == Some(root))
            .map(|(_, a)| a.clone())
            .collect();
        v.sort();
        v
    }

    fn resolve(&mut self, d: usize, r: RawRef) -> Option<Ref> {
        let m = self.decls[d].module;
        let name = r.parts.first().and_then(Part::name).map(str::to_string);
        let root = r.root.clone();
        let needs_name = |this: &mut Self, example: &str| {
            let span = this.span(d, Some(r.range(r.parts.len())));
            this.error(
                Diagnostic::error(format!("`{}` needs a name after it", r.text(r.parts.len())))
                    .with_span(span)
                    .with_hint(format!("write {example}")),
            );
        };
        if BLOCK_ROOTS.iter().any(|(rt, _)| *rt == root) {
            let Some(name) = name else {
                needs_name(self, &format!("{root}.<name>"));
                return None;
            };
            let Some(&t) = self.index.get(&(m, format!("{root}.{name}"))) else {
                let cands = self.candidates(m, &root);
                self.unknown_ref(d, &r, 1, cands, &format!("{root} block"));
                return None;
            };
            return Some(Ref { raw: r, used: 1, target: Target::Decl(t) });
        }
        match root.as_str() {
            "component" => {
                let Some(name) = name else {
                    needs_name(self, "component.<name>");
                    return None;
                };
                let known = self.static_components.contains_key(&(m, name.clone()))
                    || self.dynamic_producers.get(&m).is_some_and(|p| p.iter().any(|&p| p != d));
                if !known {
                    let mut cands: Vec<String> = self
                        .static_components
                        .keys()
                        .filter(|(mm, _)| *mm == m)
                        .map(|(_, n)| format!("component.{n}"))
                        .collect();
                    cands.sort();
                    self.unknown_ref(d, &r, 1, cands, "component");
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Component(name) })
            }
            "module" => {
                let (Some(call), Some(out)) = (name, r.parts.get(1).and_then(Part::name).map(str::to_string))
                else {
                    needs_name(self, "module.<module>.<output>");
                    return None;
                };
                let Some(&call_decl) = self.index.get(&(m, format!("module.{call}"))) else {
                    let cands = self.candidates(m, "module");
                    self.unknown_ref(d, &r, 1, cands, "module");
                    return None;
                };
                let child = self.modules.iter().position(|mi| mi.parent.as_ref() == Some(&(m, call.clone())));
                let target = child.and_then(|c| self.index.get(&(c, format!("output.{out}"))).copied());
                let Some(t) = target else {
                    let cands: Vec<String> = child
                        .map(|c| {
                            self.candidates(c, "output")
                                .into_iter()
                                .map(|o| format!("module.{call}.{}", o.trim_start_matches("output.")))
                                .collect()
                        })
                        .unwrap_or_default();
                    self.unknown_ref(d, &r, 2, cands, "output in the module");
                    return None;
                };
                let _ = call_decl;
                Some(Ref { raw: r, used: 2, target: Target::Decl(t) })
            }
            "each" => {
                let decl = &self.decls[d];
                let span = self.span(d, Some(r.range(1)));
                if !decl.has_for_each {
                    self.error(
                        Diagnostic::error("`each` is only available in a block that sets `for_each`")
                            .with_span(span)
                            .with_hint("add for_each = ... to this block, or remove the reference"),
                    );
                    return None;
                }
                if !matches!(name.as_deref(), Some("key" | "value")) {
                    self.error(
                        Diagnostic::error(format!("unknown reference `{}`", r.text(1)))
                            .with_span(span)
                            .with_hint("use each.key or each.value"),
                    );
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Builtin })
            }
            "count" => {
                let decl = &self.decls[d];
                let span = self.span(d, Some(r.range(1)));
                if !decl.has_count {
                    self.error(
                        Diagnostic::error("`count` is only available in a resource that sets `count`")
                            .with_span(span)
                            .with_hint("add count = N to this resource, or remove the reference"),
                    );
                    return None;
                }
                if name.as_deref() != Some("index") {
                    self.error(
                        Diagnostic::error(format!("unknown reference `{}`", r.text(1)))
                            .with_span(span)
                            .with_hint("use count.index"),
                    );
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Builtin })
            }
            "path" => {
                if !matches!(name.as_deref(), Some("module" | "root" | "cwd")) {
                    let span = self.span(d, Some(r.range(1)));
                    self.error(
                        Diagnostic::error(format!("unknown reference `{}`", r.text(1)))
                            .with_span(span)
                            .with_hint("use path.module, path.root or path.cwd"),
                    );
                    return None;
                }
                Some(Ref { raw: r, used: 1, target: Target::Builtin })
            }
            rtype if vendors::resource_types().contains(&rtype) => {
                let Some(name) = name else {
                    needs_name(self, &format!("{rtype}.<name>"));
                    return None;
                };
                let Some(&t) = self.index.get(&(m, format!("{rtype}.{name}"))) else {
                    let cands = self.candidates(m, rtype);
                    self.unknown_ref(d, &r, 1, cands, "resource");
                    return None;
                };
                // The first attribute after the name (and an optional instance key).
                let attr_at = r.parts.iter().skip(1).position(|p| matches!(p, Part::Attr(_))).map(|i| i + 1);
                if let Some(i) = attr_at {
                    if r.parts[i].name() == Some("id") && !vendors::resolves_id_refs(rtype) {
                        let span = self.span(d, Some(r.range(i + 1)));
                        self.error(
                            Diagnostic::error(format!(
                                "`{}` is not known until apply; not supported yet",
                                r.text(i + 1)
                            ))
                            .with_span(span)
                            .with_detail("vendor ids are assigned when the object is created")
                            .with_hint(format!(
                                "refer to it by name instead, or order with depends_on = [{rtype}.{name}]"
                            )),
                        );
                        return None;
                    }
                    if !matches!(r.parts[i].name(), Some("name" | "address" | "key" | "id")) {
                        let span = self.span(d, Some(r.range(i + 1)));
                        self.error(
                            Diagnostic::error(format!("`{}` is not available at load time", r.text(i + 1)))
                                .with_span(span)
                                .with_detail(
                                    "a reference to a raw resource gives its `name`, `address` and `key`",
                                )
                                .with_hint("use a local value for anything shared between resources"),
                        );
                        return None;
                    }
                }
                Some(Ref { raw: r, used: 1, target: Target::Decl(t) })
            }
            other => {
                let span = self.span(d, Some(r.range(usize::from(!r.parts.is_empty()))));
                let looks_like_resource = vendors::looks_like_resource_type(other);
                let diag = if looks_like_resource {
                    Diagnostic::error(format!("unknown resource type `{other}`"))
                        .with_span(span)
                        .with_hint(suggest::allowed_hint(other, vendors::resource_types(), "resource types"))
                } else {
                    let roots = known_roots();
                    let hint = match suggest::closest(other, roots.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => "references start with var., local., inventory., component., route., metric., module., or a resource type; strings need quotes".to_string(),
                    };
                    Diagnostic::error(format!("unknown name `{other}`")).with_span(span).with_hint(hint)
                };
                self.error(diag);
                None
            }
        }
    }
}
