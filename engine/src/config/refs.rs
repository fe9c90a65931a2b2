//! Finds every reference (`var.x`, `route.oncall`, `each.key`) and function call in an
//! expression, with byte ranges, by walking hcl-edit's AST. Names bound by `for` expressions and
//! template `for` directives are not references.

use std::ops::Range;

use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::edit::structure::Body;
use hcl::edit::template::{Directive, Element, Template};
use hcl::edit::Span;

/// One step after the root of a reference.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Attr(String),
    Key(String),
    Index(u64),
}

impl Part {
    pub fn name(&self) -> Option<&str> {
        match self {
            Part::Attr(s) | Part::Key(s) => Some(s),
            Part::Index(_) => None,
        }
    }
}

/// `root.part.part…` as written, up to the first step that is not static.
#[derive(Debug, Clone)]
pub(crate) struct RawRef {
    pub root: String,
    pub parts: Vec<Part>,
    /// Start of the root; `ends[i]` is where part `i` ends (`ends` is empty for a bare root).
    pub start: usize,
    pub root_end: usize,
    pub ends: Vec<usize>,
}

impl RawRef {
    /// Range covering the root and the first `n` parts.
    pub fn range(&self, n: usize) -> Range<usize> {
        let end = if n == 0 {
            self.root_end
        } else {
            self.ends.get(n - 1).or(self.ends.last()).copied().unwrap_or(self.root_end)
        };
        self.start..end
    }

    /// `root.a.b` for the first `n` parts.
    pub fn text(&self, n: usize) -> String {
        let mut s = self.root.clone();
        for p in self.parts.iter().take(n) {
            match p {
                Part::Attr(a) => {
                    s.push('.');
                    s.push_str(a);
                }
                Part::Key(k) => s.push_str(&format!("[\"{k}\"]")),
                Part::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FuncUse {
    pub name: String,
    pub range: Range<usize>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Collected {
    pub refs: Vec<RawRef>,
    pub funcs: Vec<FuncUse>,
}

impl Collected {
    pub fn expr(&mut self, e: &Expression) {
        let mut bound = Vec::new();
        walk_expr(e, &mut bound, self);
    }

    pub fn body(&mut self, b: &Body) {
        for s in b.iter() {
            if let Some(a) = s.as_attribute() {
                self.expr(&a.value);
            } else if let Some(blk) = s.as_block() {
                self.body(&blk.body);
            }
        }
    }
}

fn walk_expr(e: &Expression, bound: &mut Vec<String>, out: &mut Collected) {
    match e {
        Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
        Expression::Array(a) => a.iter().for_each(|x| walk_expr(x, bound, out)),
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let ObjectKey::Expression(ke) = k {
                    // A bare word key (`{ host = ... }`) is parsed as an identifier, but a
                    // parenthesised or traversal key is an expression.
                    walk_expr(ke, bound, out);
                }
                walk_expr(v.expr(), bound, out);
            }
        }
        Expression::StringTemplate(t) => walk_template(t, bound, out),
        Expression::HeredocTemplate(h) => walk_template(&h.template, bound, out),
        Expression::Parenthesis(p) => walk_expr(p.inner(), bound, out),
        Expression::Variable(v) => {
            let name = v.as_str();
            if !bound.iter().any(|b| b == name) {
                let range = v.span().unwrap_or(0..0);
                out.refs.push(RawRef {
                    root: name.to_string(),
                    parts: Vec::new(),
                    start: range.start,
                    root_end: range.end,
                    ends: Vec::new(),
                });
            }
        }
        Expression::Conditional(c) => {
            walk_expr(&c.cond_expr, bound, out);
            walk_expr(&c.true_expr, bound, out);
            walk_expr(&c.false_expr, bound, out);
        }
        Expression::FuncCall(f) => {
            let name = f.name.name.as_str();
            let range = f.name.name.span().unwrap_or(0..0);
            let full = if f.name.namespace.is_empty() {
                name.to_string()
            } else {
                let mut ns: Vec<&str> = f.name.namespace.iter().map(|n| n.as_str()).collect();
                ns.push(name);
                ns.join("::")
            };
            out.funcs.push(FuncUse { name: full, range });
            f.args.iter().for_each(|a| walk_expr(a, bound, out));
        }
        Expression::Traversal(t) => walk_traversal(t, bound, out),
        Expression::UnaryOp(u) => walk_expr(&u.expr, bound, out),
        Expression::BinaryOp(b) => {
            walk_expr(&b.lhs_expr, bound, out);
            walk_expr(&b.rhs_expr, bound, out);
        }
        Expression::ForExpr(f) => {
            walk_expr(&f.intro.collection_expr, bound, out);
            let before = bound.len();
            if let Some(k) = &f.intro.key_var {
                bound.push(k.as_str().to_string());
            }
            bound.push(f.intro.value_var.as_str().to_string());
            if let Some(k) = &f.key_expr {
                walk_expr(k, bound, out);
            }
            walk_expr(&f.value_expr, bound, out);
            if let Some(c) = &f.cond {
                walk_expr(&c.expr, bound, out);
            }
            bound.truncate(before);
        }
    }
}

fn walk_traversal(t: &hcl::edit::expr::Traversal, bound: &mut Vec<String>, out: &mut Collected) {
    let root = match &t.expr {
        Expression::Variable(v) if !bound.iter().any(|b| b == v.as_str()) => Some(v),
        _ => None,
    };
    let Some(root) = root else {
        walk_expr(&t.expr, bound, out);
        for op in &t.operators {
            if let TraversalOperator::Index(ix) = op.value() {
                walk_expr(ix, bound, out);
            }
        }
        return;
    };
    let root_range = root.span().unwrap_or(0..0);
    let mut r = RawRef {
        root: root.as_str().to_string(),
        parts: Vec::new(),
        start: root_range.start,
        root_end: root_range.end,
        ends: Vec::new(),
    };
    let mut static_prefix = true;
    for op in &t.operators {
        let end = op.span().map(|s| s.end);
        if static_prefix {
            let part = match op.value() {
                TraversalOperator::GetAttr(id) => Some(Part::Attr(id.as_str().to_string())),
                TraversalOperator::Index(Expression::String(s)) => Some(Part::Key(s.value().clone())),
                TraversalOperator::Index(Expression::Number(n)) => n.value().as_u64().map(Part::Index),
                TraversalOperator::LegacyIndex(i) => Some(Part::Index(*i.value())),
                _ => None,
            };
            match (part, end) {
                (Some(p), Some(end)) => {
                    r.parts.push(p);
                    r.ends.push(end);
                }
                _ => static_prefix = false,
            }
        }
        if let TraversalOperator::Index(ix) = op.value() {
            walk_expr(ix, bound, out);
        }
    }
    out.refs.push(r);
}

fn walk_template(t: &Template, bound: &mut Vec<String>, out: &mut Collected) {
    for el in t.iter() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => walk_expr(&i.expr, bound, out),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(i) => {
                    walk_expr(&i.if_expr.cond_expr, bound, out);
                    walk_template(&i.if_expr.template, bound, out);
                    if let Some(e) = &i.else_expr {
                        walk_template(&e.template, bound, out);
                    }
                }
                Directive::For(f) => {
                    let fe = &f.for_expr;
                    walk_expr(&fe.collection_expr, bound, out);
                    let before = bound.len();
                    if let Some(k) = &fe.key_var {
                        bound.push(k.as_str().to_string());
                    }
                    bound.push(fe.value_var.as_str().to_string());
                    walk_template(&fe.template, bound, out);
                    bound.truncate(before);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(src: &str) -> Collected {
        let e = hcl::edit::parser::parse_expr(src).unwrap();
        let mut c = Collected::default();
        c.expr(&e);
        c
    }

    #[test]
    fn finds_references_with_ranges_and_skips_bound_names() {
        let src = r#"[for s in var.names : "${s}-${local.suffix}" if contains(route.a.x, s)]"#;
        let c = collect(src);
        let texts: Vec<String> = c.refs.iter().map(|r| r.text(r.parts.len())).collect();
        assert_eq!(texts, vec!["var.names", "local.suffix", "route.a.x"]);
        let r = &c.refs[2];
        assert_eq!(&src[r.range(1)], "route.a");
        assert_eq!(&src[r.range(2)], "route.a.x");
        assert_eq!(c.funcs.len(), 1);
        assert_eq!(&src[c.funcs[0].range.clone()], "contains");
    }

    #[test]
    fn index_steps_and_object_keys() {
        let c = collect(r#"{ host = datadog_monitor.x["k"].name, (local.k) = each.value[0] }"#);
        let texts: Vec<String> = c.refs.iter().map(|r| r.text(r.parts.len())).collect();
        assert_eq!(texts, vec!["datadog_monitor.x[\"k\"].name", "local.k", "each.value[0]"]);
        let c = collect(r#""%{ for k, v in var.m }${k}=${v}%{ endfor }""#);
        let texts: Vec<String> = c.refs.iter().map(|r| r.text(r.parts.len())).collect();
        assert_eq!(texts, vec!["var.m"]);
    }
}
