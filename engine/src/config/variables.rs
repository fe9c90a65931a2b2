//! Variable type constraints and Terraform-like value conversion.

use std::fmt;
use std::ops::Range;

use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::Span as _;
use serde_json::Value;

use super::values::describe;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VarType {
    Any,
    String,
    Number,
    Bool,
    List(Box<VarType>),
    Set(Box<VarType>),
    Map(Box<VarType>),
    Object(Vec<ObjectAttr>),
    Tuple(Vec<VarType>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectAttr {
    pub name: String,
    pub ty: VarType,
    pub optional: bool,
    pub default: Option<Value>,
}

impl fmt::Display for VarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarType::Any => f.write_str("any"),
            VarType::String => f.write_str("string"),
            VarType::Number => f.write_str("number"),
            VarType::Bool => f.write_str("bool"),
            VarType::List(t) => write!(f, "list({t})"),
            VarType::Set(t) => write!(f, "set({t})"),
            VarType::Map(t) => write!(f, "map({t})"),
            VarType::Tuple(ts) => {
                let parts: Vec<String> = ts.iter().map(ToString::to_string).collect();
                write!(f, "tuple([{}])", parts.join(", "))
            }
            VarType::Object(attrs) => {
                let parts: Vec<String> = attrs
                    .iter()
                    .map(|a| {
                        if a.optional {
                            format!("{} = optional({})", a.name, a.ty)
                        } else {
                            format!("{} = {}", a.name, a.ty)
                        }
                    })
                    .collect();
                write!(f, "object({{{}}})", parts.join(", "))
            }
        }
    }
}

pub(crate) const TYPE_HINT: &str =
    "use string, number, bool, any, list(T), set(T), map(T), tuple([T, ...]) or object({ name = T, ... })";

/// Parses a type constraint expression (`list(string)`, `object({ a = number })`). Errors carry
/// the byte range of the offending part.
pub(crate) fn parse_type(e: &Expression) -> Result<VarType, TypeError> {
    let here = || e.span().unwrap_or(0..0);
    match e {
        Expression::Variable(v) => match v.as_str() {
            "any" => Ok(VarType::Any),
            "string" => Ok(VarType::String),
            "number" => Ok(VarType::Number),
            "bool" => Ok(VarType::Bool),
            "list" | "set" | "map" => Ok(wrap(v.as_str(), VarType::Any)),
            other => Err((here(), format!("unknown type `{other}`"))),
        },
        // Terraform 0.11 style: type = "string".
        Expression::String(s) => match s.value().as_str() {
            "string" => Ok(VarType::String),
            "list" => Ok(VarType::List(Box::new(VarType::Any))),
            "map" => Ok(VarType::Map(Box::new(VarType::Any))),
            other => Err((here(), format!("unknown type \"{other}\""))),
        },
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            match (name, args.as_slice()) {
                ("list" | "set" | "map", [inner]) => Ok(wrap(name, parse_type(inner)?)),
                ("tuple", [Expression::Array(items)]) => {
                    Ok(VarType::Tuple(items.iter().map(parse_type).collect::<Result<_, _>>()?))
                }
                ("object", [Expression::Object(obj)]) => {
                    let mut attrs = Vec::new();
                    for (k, v) in obj.iter() {
                        let name = match k {
                            ObjectKey::Ident(id) => id.as_str().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                            ObjectKey::Expression(other) => {
                                return Err((
                                    other.span().unwrap_or_else(here),
                                    "object attribute names must be plain names".into(),
                                ))
                            }
                        };
                        let (ty, optional, default) = parse_object_attr(v.expr())?;
                        attrs.push(ObjectAttr { name, ty, optional, default });
                    }
                    Ok(VarType::Object(attrs))
                }
                _ => Err((here(), format!("invalid type constraint `{name}(...)`"))),
            }
        }
        _ => Err((here(), "invalid type constraint".into())),
    }
}

fn wrap(name: &str, inner: VarType) -> VarType {
    match name {
        "list" => VarType::List(Box::new(inner)),
        "set" => VarType::Set(Box::new(inner)),
        _ => VarType::Map(Box::new(inner)),
    }
}

/// A type error: the byte range of the offending part and a message.
pub(crate) type TypeError = (Range<usize>, String);

/// `(type, optional, default)` of one object attribute.
type ObjectAttrSpec = (VarType, bool, Option<Value>);

fn parse_object_attr(e: &Expression) -> Result<ObjectAttrSpec, TypeError> {
    if let Expression::FuncCall(call) = e {
        if call.name.name.as_str() == "optional" {
            let args: Vec<&Expression> = call.args.iter().collect();
            return match args.as_slice() {
                [t] => Ok((parse_type(t)?, true, None)),
                [t, default] => {
                    let ty = parse_type(t)?;
                    let value = constant(default).ok_or_else(|| {
                        (
                            default.span().unwrap_or(0..0),
                            "optional() defaults must be constant values".to_string(),
                        )
                    })?;
                    Ok((ty, true, Some(value)))
                }
                _ => {
                    Err((e.span().unwrap_or(0..0), "optional() takes a type and an optional default".into()))
                }
            };
        }
    }
    Ok((parse_type(e)?, false, None))
}

/// Evaluates an expression without variables or functions (literals only).
fn constant(e: &Expression) -> Option<Value> {
    let mut ctx = hcl::eval::Context::new();
    super::functions::declare_operators(&mut ctx);
    super::functions::evaluate(e.clone(), &ctx).ok().map(|v| super::values::hcl_to_json(&v))
}

/// Converts `v` to `ty` the way Terraform does ("5" → 5 for number, 5 → "5" for string).
/// The error says what was expected and what was found, with the path inside the value.
pub(crate) fn convert(v: &Value, ty: &VarType) -> Result<Value, String> {
    convert_at(v, ty, "")
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at `{path}`")
    }
}

fn mismatch(v: &Value, ty: &VarType, path: &str) -> String {
    format!("expected {ty}, got {}{}", describe(v), at(path))
}

fn convert_at(v: &Value, ty: &VarType, path: &str) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        VarType::Any => Ok(v.clone()),
        VarType::String => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(mismatch(v, ty, path)),
        },
        VarType::Number => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => parse_number(s.trim()).ok_or_else(|| mismatch(v, ty, path)),
            _ => Err(mismatch(v, ty, path)),
        },
        VarType::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(mismatch(v, ty, path)),
        },
        VarType::List(inner) | VarType::Set(inner) => {
            let Value::Array(items) = v else { return Err(mismatch(v, ty, path)) };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let c = convert_at(item, inner, &format!("{path}[{i}]"))?;
                if matches!(ty, VarType::Set(_)) && out.contains(&c) {
                    continue;
                }
                out.push(c);
            }
            Ok(Value::Array(out))
        }
        VarType::Tuple(types) => {
            let Value::Array(items) = v else { return Err(mismatch(v, ty, path)) };
            if items.len() != types.len() {
                return Err(format!(
                    "expected {ty} with {} element(s), got {}{}",
                    types.len(),
                    items.len(),
                    at(path)
                ));
            }
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (item, t))| convert_at(item, t, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        VarType::Map(inner) => {
            let Value::Object(o) = v else { return Err(mismatch(v, ty, path)) };
            let mut out = serde_json::Map::new();
            for (k, item) in o {
                out.insert(k.clone(), convert_at(item, inner, &join(path, k))?);
            }
            Ok(Value::Object(out))
        }
        VarType::Object(attrs) => {
            let Value::Object(o) = v else { return Err(mismatch(v, ty, path)) };
            let mut out = serde_json::Map::new();
            for a in attrs {
                match o.get(&a.name) {
                    Some(item) => {
                        out.insert(a.name.clone(), convert_at(item, &a.ty, &join(path, &a.name))?);
                    }
                    None if a.optional => {
                        out.insert(a.name.clone(), a.default.clone().unwrap_or(Value::Null));
                    }
                    None => {
                        return Err(format!("attribute `{}` is required{}", a.name, at(path)));
                    }
                }
            }
            Ok(Value::Object(out))
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_number(s: &str) -> Option<Value> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite()).and_then(serde_json::Number::from_f64).map(Value::Number)
}

/// Interprets a raw `-var` / environment value: strings stay as written; other types parse it
/// as an HCL expression (`["a","b"]`, `{a = 1}`, `5`), falling back to the raw string so the
/// type check reports a clear mismatch.
pub(crate) fn interpret_raw(raw: &str, ty: &VarType) -> Value {
    if *ty == VarType::String {
        return Value::String(raw.to_string());
    }
    if let Ok(e) = hcl::edit::parser::parse_expr(raw) {
        let mut ctx = hcl::eval::Context::new();
        super::functions::declare_all(&mut ctx);
        if let Ok(v) = super::functions::evaluate(e, &ctx) {
            return super::values::hcl_to_json(&v);
        }
    }
    Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(src: &str) -> VarType {
        parse_type(&hcl::edit::parser::parse_expr(src).unwrap()).unwrap()
    }

    #[test]
    fn parses_type_constraints() {
        assert_eq!(ty("string"), VarType::String);
        assert_eq!(ty("list(string)").to_string(), "list(string)");
        assert_eq!(ty("map(number)").to_string(), "map(number)");
        assert_eq!(
            ty("object({ a = string, b = optional(number, 3) })").to_string(),
            "object({a = string, b = optional(number)})"
        );
        assert_eq!(ty("tuple([string, bool])").to_string(), "tuple([string, bool])");
        assert_eq!(ty("\"string\""), VarType::String);
        let bad = parse_type(&hcl::edit::parser::parse_expr("strng").unwrap()).unwrap_err();
        assert!(bad.1.contains("unknown type `strng`"));
    }

    #[test]
    fn converts_like_terraform() {
        assert_eq!(convert(&json!("5"), &VarType::Number).unwrap(), json!(5));
        assert_eq!(convert(&json!("2.5"), &VarType::Number).unwrap(), json!(2.5));
        assert_eq!(convert(&json!(5), &VarType::String).unwrap(), json!("5"));
        assert_eq!(convert(&json!("true"), &VarType::Bool).unwrap(), json!(true));
        let e = convert(&json!("abc"), &VarType::Number).unwrap_err();
        assert_eq!(e, "expected number, got string \"abc\"");
        let e = convert(&json!(["a", "x"]), &ty("list(number)")).unwrap_err();
        assert!(e.contains("at `[0]`"), "{e}");
        assert_eq!(convert(&json!(["a", "a"]), &ty("set(string)")).unwrap(), json!(["a"]));
        let obj = ty("object({ a = string, b = optional(number, 3) })");
        assert_eq!(convert(&json!({"a": "x", "extra": 1}), &obj).unwrap(), json!({"a": "x", "b": 3}));
        assert!(convert(&json!({}), &obj).unwrap_err().contains("attribute `a` is required"));
    }

    #[test]
    fn interprets_raw_values() {
        assert_eq!(interpret_raw("[\"a\",\"b\"]", &ty("list(string)")), json!(["a", "b"]));
        assert_eq!(interpret_raw("abc", &VarType::Number), json!("abc"));
        assert_eq!(interpret_raw("5", &VarType::Number), json!(5));
        assert_eq!(interpret_raw("[1]", &VarType::String), json!("[1]"));
    }
}
