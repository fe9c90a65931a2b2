//! Replaces static references (`inventory.p.name`, `component.web-1.identifier.host`) in an
//! expression by their values before hcl-rs evaluates it.
//!
//! hcl-rs looks a variable up by cloning its whole value, so evaluating `component.web-1` would
//! copy every component; with thousands of components and hundreds of alerts that dominates load
//! time. Substituting only the part a traversal actually reaches keeps evaluation proportional to
//! what is used. What cannot be resolved statically (dynamic indexes, bare roots) is left for
//! hcl-rs and the evaluation context.

use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::template::{Directive, Element, Template};

use super::refs::Part;

/// Looks up `root.parts…` and returns the value reached and how many parts it consumed (at
/// least one), or `None` to leave the traversal alone.
pub(crate) type Resolver<'r> = dyn FnMut(&str, &[Part]) -> Option<(hcl::Value, usize)> + 'r;

pub(crate) fn substitute(e: &mut Expression, resolve: &mut Resolver<'_>) {
    let mut bound = Vec::new();
    walk(e, &mut bound, resolve);
}

fn literal(v: hcl::Value) -> Expression {
    Expression::from(hcl::Expression::from(v))
}

fn static_part(op: &TraversalOperator) -> Option<Part> {
    match op {
        TraversalOperator::GetAttr(id) => Some(Part::Attr(id.as_str().to_string())),
        TraversalOperator::Index(Expression::String(s)) => Some(Part::Key(s.value().clone())),
        TraversalOperator::Index(Expression::Number(n)) => n.value().as_u64().map(Part::Index),
        TraversalOperator::LegacyIndex(i) => Some(Part::Index(*i.value())),
        _ => None,
    }
}

fn walk(e: &mut Expression, bound: &mut Vec<String>, resolve: &mut Resolver<'_>) {
    match e {
        Expression::Traversal(t) => {
            let root = match &t.expr {
                Expression::Variable(v) if !bound.iter().any(|b| b == v.as_str()) => {
                    Some(v.as_str().to_string())
                }
                _ => None,
            };
            if let Some(root) = root {
                let parts: Vec<Part> = t.operators.iter().map_while(|op| static_part(op.value())).collect();
                if let Some((value, used)) =
                    resolve(&root, &parts).filter(|(_, used)| *used >= 1 && *used <= parts.len())
                {
                    if used == t.operators.len() {
                        *e = literal(value);
                        return;
                    }
                    t.expr = literal(value);
                    t.operators.drain(..used);
                }
            } else {
                walk(&mut t.expr, bound, resolve);
            }
            for op in &mut t.operators {
                if let TraversalOperator::Index(ix) = op.value_mut() {
                    walk(ix, bound, resolve);
                }
            }
        }
        Expression::Array(a) => a.iter_mut().for_each(|x| walk(x, bound, resolve)),
        Expression::Object(o) => {
            for (_, v) in o.iter_mut() {
                walk(v.expr_mut(), bound, resolve);
            }
        }
        Expression::StringTemplate(t) => walk_template(t, bound, resolve),
        Expression::HeredocTemplate(h) => walk_template(&mut h.template, bound, resolve),
        Expression::Parenthesis(p) => walk(p.inner_mut(), bound, resolve),
        Expression::Conditional(c) => {
            walk(&mut c.cond_expr, bound, resolve);
            walk(&mut c.true_expr, bound, resolve);
            walk(&mut c.false_expr, bound, resolve);
        }
        Expression::FuncCall(f) => f.args.iter_mut().for_each(|a| walk(a, bound, resolve)),
        Expression::UnaryOp(u) => walk(&mut u.expr, bound, resolve),
        Expression::BinaryOp(b) => {
            walk(&mut b.lhs_expr, bound, resolve);
            walk(&mut b.rhs_expr, bound, resolve);
        }
        Expression::ForExpr(f) => {
            walk(&mut f.intro.collection_expr, bound, resolve);
            let before = bound.len();
            if let Some(k) = &f.intro.key_var {
                bound.push(k.as_str().to_string());
            }
            bound.push(f.intro.value_var.as_str().to_string());
            if let Some(k) = &mut f.key_expr {
                walk(k, bound, resolve);
            }
            walk(&mut f.value_expr, bound, resolve);
            if let Some(c) = &mut f.cond {
                walk(&mut c.expr, bound, resolve);
            }
            bound.truncate(before);
        }
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_)
        | Expression::Variable(_) => {}
    }
}

fn walk_template(t: &mut Template, bound: &mut Vec<String>, resolve: &mut Resolver<'_>) {
    for el in t.iter_mut() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => walk(&mut i.expr, bound, resolve),
            Element::Directive(d) => match d.as_mut() {
                Directive::If(i) => {
                    walk(&mut i.if_expr.cond_expr, bound, resolve);
                    walk_template(&mut i.if_expr.template, bound, resolve);
                    if let Some(e) = &mut i.else_expr {
                        walk_template(&mut e.template, bound, resolve);
                    }
                }
                Directive::For(f) => {
                    let fe = &mut f.for_expr;
                    walk(&mut fe.collection_expr, bound, resolve);
                    let before = bound.len();
                    if let Some(k) = &fe.key_var {
                        bound.push(k.as_str().to_string());
                    }
                    bound.push(fe.value_var.as_str().to_string());
                    walk_template(&mut fe.template, bound, resolve);
                    bound.truncate(before);
                }
            },
        }
    }
}

/// Follows `parts` into `value` as far as they reach (at least the first one).
pub(crate) fn follow(root: &hcl::Map<String, hcl::Value>, parts: &[Part]) -> Option<(hcl::Value, usize)> {
    let first = parts.first()?.name()?;
    let mut cur = root.get(first)?;
    let mut used = 1;
    for p in &parts[1..] {
        let next = match (cur, p) {
            (hcl::Value::Object(o), Part::Attr(k) | Part::Key(k)) => o.get(k),
            (hcl::Value::Array(a), Part::Index(i)) => usize::try_from(*i).ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => {
                cur = n;
                used += 1;
            }
            None => break,
        }
    }
    Some((cur.clone(), used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    #[test]
    fn substitutes_static_prefixes_only() {
        let mut comps = hcl::Map::new();
        comps.insert("web-1".to_string(), hcl::value!({ identifier = { host = "h1" }, tags = ["a", "b"] }));
        let src = r#"["${component.web-1.identifier.host}", component.web-1.tags[1], [for component in ["x"] : component], component.web-1.tags[local.i]]"#;
        let mut e = hcl::edit::parser::parse_expr(src).unwrap();
        let mut calls = Vec::new();
        substitute(&mut e, &mut |root, parts| {
            calls.push(root.to_string());
            (root == "component").then(|| follow(&comps, parts)).flatten()
        });
        assert_eq!(calls, vec!["component", "component", "component", "local"]);
        let mut ctx = hcl::eval::Context::new();
        ctx.declare_var("local", hcl::value!({ i = 0 }));
        let v = hcl::Expression::from(e).evaluate(&ctx).unwrap();
        assert_eq!(v, hcl::value!(["h1", "b", ["x"], "a"]));
    }
}
