//! Built-in functions available in expressions, modelled on Terraform's.
//!
//! hcl-rs calls functions through plain `fn` pointers, so `file` cannot capture the configuration
//! directory; the loader sets it in a thread-local ([`BaseDirGuard`]) while it evaluates a module.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use hcl::edit::expr::{BinaryOperator, Expression, FuncCall, FuncName, Object, ObjectKey};
use hcl::edit::template::ForTemplateExpr;
use hcl::edit::visit_mut::{visit_expr_mut, visit_for_template_expr_mut, VisitMut};
use hcl::edit::Ident;
use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Map, Number, Value};

use super::confine::{self, Policy};
use super::limits;
use super::values::{hcl_to_json, json_to_hcl, type_name};

thread_local! {
    static BASE_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
    static READ_POLICY: RefCell<Option<Policy>> = const { RefCell::new(None) };
}

/// Sets where `file(...)` may read (the configuration's [`Policy`]) for the duration of a load,
/// restoring the previous one when dropped. Without one, reads are confined to the base directory.
pub(crate) struct PolicyGuard {
    previous: Option<Policy>,
}

impl PolicyGuard {
    pub fn set(policy: Policy) -> PolicyGuard {
        PolicyGuard { previous: READ_POLICY.with(|p| p.replace(Some(policy))) }
    }
}

impl Drop for PolicyGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        READ_POLICY.with(|p| *p.borrow_mut() = previous);
    }
}

/// The read policy of the load in progress (see [`PolicyGuard`]).
pub(crate) fn read_policy() -> Policy {
    READ_POLICY.with(|p| p.borrow().clone()).unwrap_or_else(|| {
        let base = BASE_DIR.with(|b| b.borrow().clone()).unwrap_or_else(|| PathBuf::from("."));
        Policy::new(&base, &std::collections::BTreeMap::new())
    })
}

/// Sets the directory `file(...)` resolves relative paths against, restoring the previous one
/// when dropped.
pub(crate) struct BaseDirGuard {
    previous: Option<PathBuf>,
}

impl BaseDirGuard {
    pub fn set(dir: &Path) -> BaseDirGuard {
        let previous = BASE_DIR.with(|b| b.replace(Some(dir.to_path_buf())));
        BaseDirGuard { previous }
    }
}

impl Drop for BaseDirGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        BASE_DIR.with(|b| *b.borrow_mut() = previous);
    }
}

/// Every function name, for "unknown function" checks and suggestions.
pub(crate) const FUNCTIONS: &[&str] = &[
    "abs",
    "coalesce",
    "compact",
    "concat",
    "contains",
    "csvdecode",
    "distinct",
    "element",
    "endswith",
    "file",
    "fileexists",
    "flatten",
    "format",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "lookup",
    "lower",
    "max",
    "merge",
    "min",
    "range",
    "replace",
    "reverse",
    "sort",
    "split",
    "startswith",
    "substr",
    "title",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "upper",
    "values",
    "zipmap",
];

/// Declares every built-in function in `ctx`.
pub(crate) fn declare_all(ctx: &mut Context<'_>) {
    let any = || ParamType::Any;
    let fixed = |n: usize, f: hcl::eval::Func| FuncDef::new(f, vec![ParamType::Any; n]);
    let variadic = |n: usize, f: hcl::eval::Func| {
        FuncDef::builder().params(vec![ParamType::Any; n]).variadic_param(any()).build(f)
    };
    ctx.declare_func("abs", fixed(1, abs));
    ctx.declare_func("coalesce", variadic(0, coalesce));
    ctx.declare_func("compact", fixed(1, compact));
    ctx.declare_func("concat", variadic(0, concat));
    ctx.declare_func("contains", fixed(2, contains));
    ctx.declare_func("csvdecode", fixed(1, csvdecode));
    ctx.declare_func("distinct", fixed(1, distinct));
    ctx.declare_func("element", fixed(2, element));
    ctx.declare_func("endswith", fixed(2, endswith));
    ctx.declare_func("file", fixed(1, file));
    ctx.declare_func("fileexists", fixed(1, fileexists));
    ctx.declare_func("flatten", fixed(1, flatten));
    ctx.declare_func("format", variadic(1, format));
    ctx.declare_func("join", fixed(2, join));
    ctx.declare_func("jsondecode", fixed(1, jsondecode));
    ctx.declare_func("jsonencode", fixed(1, jsonencode));
    ctx.declare_func("keys", fixed(1, keys));
    ctx.declare_func("length", fixed(1, length));
    ctx.declare_func("lookup", variadic(2, lookup));
    ctx.declare_func("lower", fixed(1, lower));
    ctx.declare_func("max", variadic(1, max));
    ctx.declare_func("merge", variadic(0, merge));
    ctx.declare_func("min", variadic(1, min));
    ctx.declare_func("range", variadic(1, range));
    ctx.declare_func("replace", fixed(3, replace));
    ctx.declare_func("reverse", fixed(1, reverse));
    ctx.declare_func("sort", fixed(1, sort));
    ctx.declare_func("split", fixed(2, split));
    ctx.declare_func("startswith", fixed(2, startswith));
    ctx.declare_func("substr", fixed(3, substr));
    ctx.declare_func("title", fixed(1, title));
    ctx.declare_func("tolist", fixed(1, tolist));
    ctx.declare_func("tomap", fixed(1, tomap));
    ctx.declare_func("tonumber", fixed(1, tonumber));
    ctx.declare_func("toset", fixed(1, toset));
    ctx.declare_func("tostring", fixed(1, tostring));
    ctx.declare_func("trim", fixed(2, trim));
    ctx.declare_func("trimprefix", fixed(2, trimprefix));
    ctx.declare_func("trimspace", fixed(1, trimspace));
    ctx.declare_func("trimsuffix", fixed(2, trimsuffix));
    ctx.declare_func("upper", fixed(1, upper));
    ctx.declare_func("values", fixed(1, values));
    ctx.declare_func("zipmap", fixed(2, zipmap));
    declare_operators(ctx);
}

/// The arithmetic operators and the checked functions that evaluate them (see [`evaluate`]).
/// The names are not in [`FUNCTIONS`], so configurations cannot call them directly.
const OPERATORS: &[(BinaryOperator, &str, hcl::eval::Func)] = &[
    (BinaryOperator::Plus, "wk__add", op_add),
    (BinaryOperator::Minus, "wk__sub", op_sub),
    (BinaryOperator::Mul, "wk__mul", op_mul),
    (BinaryOperator::Div, "wk__div", op_div),
    (BinaryOperator::Mod, "wk__mod", op_mod),
];

/// Declares only the checked arithmetic operators (for contexts without the other functions).
pub(crate) fn declare_operators(ctx: &mut Context<'_>) {
    ctx.declare_func(limits::LOOP_FN, FuncDef::new(limits::loop_guard, vec![ParamType::Any]));
    ctx.declare_func(limits::SIZE_FN, FuncDef::new(limits::size_guard, vec![ParamType::Any]));
    for (_, name, f) in OPERATORS {
        ctx.declare_func(*name, FuncDef::new(*f, vec![ParamType::Any; 2]));
    }
}

/// The operator a checked arithmetic function stands for, given the function's name.
pub(crate) fn operator_of(func: &str) -> Option<BinaryOperator> {
    OPERATORS.iter().find(|(_, name, _)| *name == func).map(|(op, _, _)| *op)
}

/// Evaluates an expression with checked arithmetic. hcl-rs computes `+ - * / %` on integers
/// unchecked: `1 % 0` panics, and `18446744073709551615 + 1` or `1 / 0` panic in debug builds and
/// give wrong numbers in release builds. So every arithmetic operation is first rewritten into a
/// call of its checked function (declared by [`declare_all`] and [`declare_operators`]).
///
/// Then the resource guards of [`super::limits`] are wrapped around each `for` collection, each
/// function call, each template interpolation and each `for` element, and their budgets reset.
pub(crate) fn evaluate(e: Expression, ctx: &Context<'_>) -> Result<Value, hcl::eval::Error> {
    let computed = !matches!(&e, Expression::Traversal(_) | Expression::Variable(_));
    evaluate_with(e, ctx, computed)
}

/// [`evaluate`]; `computed` is false for a plain reference as written (before its value was
/// substituted), whose outermost value is a copy and not measured.
pub(crate) fn evaluate_with(
    mut e: Expression,
    ctx: &Context<'_>,
    computed: bool,
) -> Result<Value, hcl::eval::Error> {
    CheckedArithmetic.visit_expr_mut(&mut e);
    Guards.visit_expr_mut(&mut e);
    // The outermost value (an array or object literal, say) is checked too.
    if computed && !matches!(&e, Expression::FuncCall(f) if f.name.name.as_str() == limits::SIZE_FN) {
        wrap(limits::SIZE_FN, &mut e);
    }
    limits::reset_budgets();
    hcl::Expression::from(e).evaluate(ctx)
}

fn guarded(name: &str, e: Expression) -> Expression {
    let args = hcl::edit::expr::FuncArgs::from(vec![e]);
    Expression::from(FuncCall::new(FuncName::new(Ident::new(name)), args))
}

fn wrap(name: &str, e: &mut Expression) {
    let inner = std::mem::replace(e, Expression::from(false));
    *e = guarded(name, inner);
}

/// Visits an object's keys as well as its values: the default visitor skips keys (they cannot be
/// changed in place, so the object is rebuilt).
fn visit_object_with_keys(v: &mut impl VisitMut, object: &mut Object) {
    for (mut key, mut value) in std::mem::take(object) {
        if let ObjectKey::Expression(e) = &mut key {
            v.visit_expr_mut(e);
        }
        v.visit_expr_mut(value.expr_mut());
        object.insert(key, value);
    }
}

/// Wraps the resource guards around what can grow (see [`evaluate`]).
struct Guards;

impl VisitMut for Guards {
    fn visit_expr_mut(&mut self, expr: &mut Expression) {
        visit_expr_mut(self, expr);
        match expr {
            Expression::FuncCall(f)
                if operator_of(f.name.name.as_str()).is_none()
                    && f.name.name.as_str() != limits::SIZE_FN
                    && f.name.name.as_str() != limits::LOOP_FN =>
            {
                wrap(limits::SIZE_FN, expr)
            }
            Expression::ForExpr(f) => {
                wrap(limits::LOOP_FN, &mut f.intro.collection_expr);
                wrap(limits::SIZE_FN, &mut f.value_expr);
            }
            Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => wrap(limits::SIZE_FN, expr),
            _ => {}
        }
    }

    fn visit_object_mut(&mut self, object: &mut Object) {
        visit_object_with_keys(self, object);
    }

    fn visit_interpolation_mut(&mut self, node: &mut hcl::edit::template::Interpolation) {
        self.visit_expr_mut(&mut node.expr);
        wrap(limits::SIZE_FN, &mut node.expr);
    }

    fn visit_for_template_expr_mut(&mut self, node: &mut ForTemplateExpr) {
        self.visit_expr_mut(&mut node.collection_expr);
        wrap(limits::LOOP_FN, &mut node.collection_expr);
        visit_for_template_expr_mut(self, node);
    }
}

struct CheckedArithmetic;

impl VisitMut for CheckedArithmetic {
    fn visit_expr_mut(&mut self, expr: &mut Expression) {
        visit_expr_mut(self, expr);
        let Expression::BinaryOp(op) = expr else { return };
        let Some((_, name, _)) = OPERATORS.iter().find(|(o, _, _)| o == op.operator.value()) else { return };
        let Expression::BinaryOp(op) = std::mem::replace(expr, Expression::from(false)) else { return };
        let args = hcl::edit::expr::FuncArgs::from(vec![op.lhs_expr, op.rhs_expr]);
        *expr = Expression::from(FuncCall::new(FuncName::new(Ident::new(*name)), args));
    }

    // The default visitor skips object keys (they cannot be changed in place: the object is
    // rebuilt) and the collection of a template `for` directive.
    fn visit_object_mut(&mut self, object: &mut Object) {
        visit_object_with_keys(self, object);
    }

    fn visit_for_template_expr_mut(&mut self, node: &mut ForTemplateExpr) {
        self.visit_expr_mut(&mut node.collection_expr);
        visit_for_template_expr_mut(self, node);
    }
}

fn operands(args: &FuncArgs, op: &str) -> Result<(Number, Number), String> {
    match (&args[0], &args[1]) {
        (Value::Number(a), Value::Number(b)) => Ok((*a, *b)),
        (a, b) => Err(format!("operator `{op}` needs two numbers, got {} and {}", got(a), got(b))),
    }
}

fn integer_of(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// `a op b` on integers when both are and the result fits in an i64 or u64, else on floats.
fn arithmetic(
    args: &FuncArgs,
    op: &str,
    int: fn(i128, i128) -> Option<i128>,
    float: fn(f64, f64) -> f64,
) -> FnResult {
    let (a, b) = operands(args, op)?;
    let exact = integer_of(&a).zip(integer_of(&b)).and_then(|(x, y)| int(x, y)).and_then(|r| {
        i64::try_from(r).map(Value::from).ok().or_else(|| u64::try_from(r).map(Value::from).ok())
    });
    if let Some(v) = exact {
        return Ok(v);
    }
    let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
    Number::from_f64(float(x, y))
        .map(Value::Number)
        .ok_or_else(|| format!("the result of `{op}` is out of range ({x} {op} {y})"))
}

fn is_zero(n: &Number) -> bool {
    n.as_f64().is_some_and(|f| f == 0.0)
}

fn op_add(args: FuncArgs) -> FnResult {
    arithmetic(&args, "+", i128::checked_add, |x, y| x + y)
}

fn op_sub(args: FuncArgs) -> FnResult {
    arithmetic(&args, "-", i128::checked_sub, |x, y| x - y)
}

fn op_mul(args: FuncArgs) -> FnResult {
    arithmetic(&args, "*", i128::checked_mul, |x, y| x * y)
}

fn op_div(args: FuncArgs) -> FnResult {
    let (_, b) = operands(&args, "/")?;
    if is_zero(&b) {
        return Err("division by zero".into());
    }
    // Like HCL: always a float division, integral results come back as integers.
    arithmetic(&args, "/", |_, _| None, |x, y| x / y)
}

fn op_mod(args: FuncArgs) -> FnResult {
    let (_, b) = operands(&args, "%")?;
    if is_zero(&b) {
        return Err("modulo by zero".into());
    }
    arithmetic(&args, "%", i128::checked_rem, |x, y| x % y)
}

type FnResult = Result<Value, String>;

fn got(v: &Value) -> String {
    type_name(v).to_string()
}

fn string_arg<'a>(args: &'a FuncArgs, i: usize, what: &str) -> Result<&'a str, String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("{what} must be a string, got {}", got(other))),
        None => Err(format!("missing {what}")),
    }
}

/// Strings, numbers and bools convert to strings, like Terraform's automatic conversion.
fn stringish(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn array_arg<'a>(args: &'a FuncArgs, i: usize, what: &str) -> Result<&'a Vec<Value>, String> {
    match args.get(i) {
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!("{what} must be a list, got {}", got(other))),
        None => Err(format!("missing {what}")),
    }
}

fn object_arg<'a>(args: &'a FuncArgs, i: usize, what: &str) -> Result<&'a Map<String, Value>, String> {
    match args.get(i) {
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(format!("{what} must be a map or object, got {}", got(other))),
        None => Err(format!("missing {what}")),
    }
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

fn number_arg(args: &FuncArgs, i: usize, what: &str) -> Result<f64, String> {
    match args.get(i) {
        Some(v) => number_of(v).ok_or_else(|| format!("{what} must be a number, got {}", got(v))),
        None => Err(format!("missing {what}")),
    }
}

fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        // Integral values stay integers so `range(3)` renders as 0, 1, 2.
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        Value::Number(Number::from(i))
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

fn file_path(rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    BASE_DIR.with(|b| b.borrow().as_ref().map_or_else(|| p.to_path_buf(), |d| d.join(p)))
}

fn file(args: FuncArgs) -> FnResult {
    let rel = string_arg(&args, 0, "the path")?;
    let path = file_path(rel);
    // Confined to the configuration (symlinks resolved first); /proc, devices and FIFOs refused.
    // The refusal names the path, never the file's content.
    confine::read_text(&path, confine::MAX_SOURCE_BYTES, &read_policy())
        .map(Value::String)
        .map_err(|e| format!("cannot read `{rel}`: {}; {}", e.reason(), e.hint()))
}

fn fileexists(args: FuncArgs) -> FnResult {
    let rel = string_arg(&args, 0, "the path")?;
    // A file the configuration may not read does not exist for it.
    Ok(Value::Bool(confine::check(&file_path(rel), &read_policy()).is_ok()))
}

fn csvdecode(args: FuncArgs) -> FnResult {
    let text = string_arg(&args, 0, "the CSV text")?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("invalid CSV header: {e}"))?.clone();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("invalid CSV on row {}: {e}", i + 2))?;
        let mut obj = Map::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            obj.insert(h.to_string(), Value::String(v.to_string()));
        }
        rows.push(Value::Object(obj));
    }
    Ok(Value::Array(rows))
}

fn jsondecode(args: FuncArgs) -> FnResult {
    let text = string_arg(&args, 0, "the JSON text")?;
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(json_to_hcl(&json))
}

fn jsonencode(args: FuncArgs) -> FnResult {
    let json = hcl_to_json(&args[0]);
    serde_json::to_string(&json).map(Value::String).map_err(|e| e.to_string())
}

fn lower(args: FuncArgs) -> FnResult {
    Ok(Value::String(string_arg(&args, 0, "the argument")?.to_lowercase()))
}

fn upper(args: FuncArgs) -> FnResult {
    Ok(Value::String(string_arg(&args, 0, "the argument")?.to_uppercase()))
}

fn title(args: FuncArgs) -> FnResult {
    let s = string_arg(&args, 0, "the argument")?;
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    Ok(Value::String(out))
}

fn trimspace(args: FuncArgs) -> FnResult {
    Ok(Value::String(string_arg(&args, 0, "the argument")?.trim().to_string()))
}

fn trim(args: FuncArgs) -> FnResult {
    let s = string_arg(&args, 0, "the string")?;
    let chars: Vec<char> = string_arg(&args, 1, "the characters to trim")?.chars().collect();
    Ok(Value::String(s.trim_matches(|c| chars.contains(&c)).to_string()))
}

fn trimprefix(args: FuncArgs) -> FnResult {
    let s = string_arg(&args, 0, "the string")?;
    let p = string_arg(&args, 1, "the prefix")?;
    Ok(Value::String(s.strip_prefix(p).unwrap_or(s).to_string()))
}

fn trimsuffix(args: FuncArgs) -> FnResult {
    let s = string_arg(&args, 0, "the string")?;
    let p = string_arg(&args, 1, "the suffix")?;
    Ok(Value::String(s.strip_suffix(p).unwrap_or(s).to_string()))
}

fn startswith(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(string_arg(&args, 0, "the string")?.starts_with(string_arg(&args, 1, "the prefix")?)))
}

fn endswith(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(string_arg(&args, 0, "the string")?.ends_with(string_arg(&args, 1, "the suffix")?)))
}

fn substr(args: FuncArgs) -> FnResult {
    let s: Vec<char> = string_arg(&args, 0, "the string")?.chars().collect();
    let offset = number_arg(&args, 1, "the offset")?;
    let length = number_arg(&args, 2, "the length")?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]
    let start = if offset < 0.0 { (s.len() as i64 + offset as i64).max(0) as usize } else { offset as usize };
    let start = start.min(s.len());
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let end = if length < 0.0 { s.len() } else { start.saturating_add(length as usize).min(s.len()) };
    Ok(Value::String(s[start..end].iter().collect()))
}

fn replace(args: FuncArgs) -> FnResult {
    let s = string_arg(&args, 0, "the string")?;
    let from = string_arg(&args, 1, "the substring to replace")?;
    let to = string_arg(&args, 2, "the replacement")?;
    if from.is_empty() {
        return Err("the substring to replace must not be empty".into());
    }
    Ok(Value::String(s.replace(from, to)))
}

fn join(args: FuncArgs) -> FnResult {
    let sep = string_arg(&args, 0, "the separator")?;
    let items = array_arg(&args, 1, "the list")?;
    let parts: Result<Vec<String>, String> = items
        .iter()
        .map(|v| stringish(v).ok_or_else(|| format!("list elements must be strings, got {}", got(v))))
        .collect();
    Ok(Value::String(parts?.join(sep)))
}

fn split(args: FuncArgs) -> FnResult {
    let sep = string_arg(&args, 0, "the separator")?;
    let s = string_arg(&args, 1, "the string")?;
    if sep.is_empty() {
        return Ok(Value::Array(s.chars().map(|c| Value::String(c.to_string())).collect()));
    }
    Ok(Value::Array(s.split(sep).map(|p| Value::String(p.to_string())).collect()))
}

/// `format("%s-%d", a, b)`: verbs `%s %d %f %.Nf %v %q %t %%`.
fn format(args: FuncArgs) -> FnResult {
    let spec = string_arg(&args, 0, "the format string")?;
    let mut rest = args.iter().skip(1);
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            precision = digits.parse::<usize>().ok();
        }
        let verb = chars.next().ok_or("format string ends with a lone `%`")?;
        let arg = rest.next().ok_or_else(|| format!("not enough arguments for `%{verb}`"))?;
        match verb {
            's' | 'v' => match arg {
                Value::String(s) => out.push_str(s),
                Value::Number(_) | Value::Bool(_) => out.push_str(&stringish(arg).unwrap_or_default()),
                other => out.push_str(&hcl_to_json(other).to_string()),
            },
            'q' => out.push_str(&serde_json::Value::String(stringish(arg).unwrap_or_default()).to_string()),
            'd' => {
                let n = number_of(arg).ok_or_else(|| format!("`%d` needs a number, got {}", got(arg)))?;
                if n.fract() != 0.0 {
                    return Err(format!("`%d` needs a whole number, got {n}"));
                }
                out.push_str(&format!("{n:.0}"));
            }
            'f' => {
                let n = number_of(arg).ok_or_else(|| format!("`%f` needs a number, got {}", got(arg)))?;
                out.push_str(&format!("{n:.*}", precision.unwrap_or(6).min(64)));
            }
            't' => match arg {
                Value::Bool(b) => out.push_str(&b.to_string()),
                other => return Err(format!("`%t` needs a bool, got {}", got(other))),
            },
            other => return Err(format!("unsupported format verb `%{other}` (use %s, %d, %f, %v, %q, %t)")),
        }
    }
    if rest.next().is_some() {
        return Err("too many arguments for the format string".into());
    }
    Ok(Value::String(out))
}

fn length(args: FuncArgs) -> FnResult {
    let n = match &args[0] {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        other => return Err(format!("length needs a string, list or map, got {}", got(other))),
    };
    Ok(Value::from(n))
}

fn sorted_keys(o: &Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = o.keys().collect();
    keys.sort();
    keys
}

fn keys(args: FuncArgs) -> FnResult {
    let o = object_arg(&args, 0, "the argument")?;
    Ok(Value::Array(sorted_keys(o).into_iter().map(|k| Value::String(k.clone())).collect()))
}

fn values(args: FuncArgs) -> FnResult {
    let o = object_arg(&args, 0, "the argument")?;
    Ok(Value::Array(sorted_keys(o).into_iter().map(|k| o[k].clone()).collect()))
}

fn lookup(args: FuncArgs) -> FnResult {
    if args.len() > 3 {
        return Err(format!("lookup takes 2 or 3 arguments, got {}", args.len()));
    }
    let o = object_arg(&args, 0, "the map")?;
    let key =
        stringish(&args[1]).ok_or_else(|| format!("the key must be a string, got {}", got(&args[1])))?;
    match (o.get(&key), args.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!("key `{key}` not found and no default given")),
    }
}

fn merge(args: FuncArgs) -> FnResult {
    let mut out = Map::new();
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Value::Object(o) => out.extend(o.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Null => {}
            other => return Err(format!("argument {} must be a map or object, got {}", i + 1, got(other))),
        }
    }
    Ok(Value::Object(out))
}

fn concat(args: FuncArgs) -> FnResult {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Value::Array(a) => out.extend(a.iter().cloned()),
            other => return Err(format!("argument {} must be a list, got {}", i + 1, got(other))),
        }
    }
    Ok(Value::Array(out))
}

fn contains(args: FuncArgs) -> FnResult {
    let list = array_arg(&args, 0, "the list")?;
    Ok(Value::Bool(list.contains(&args[1])))
}

fn coalesce(args: FuncArgs) -> FnResult {
    args.iter()
        .find(|v| !matches!(v, Value::Null) && !matches!(v, Value::String(s) if s.is_empty()))
        .cloned()
        .ok_or_else(|| "no non-null, non-empty argument".to_string())
}

fn compact(args: FuncArgs) -> FnResult {
    let list = array_arg(&args, 0, "the list")?;
    Ok(Value::Array(
        list.iter()
            .filter(|v| !matches!(v, Value::Null) && !matches!(v, Value::String(s) if s.is_empty()))
            .cloned()
            .collect(),
    ))
}

fn tostring(args: FuncArgs) -> FnResult {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        v => stringish(v).map(Value::String).ok_or_else(|| format!("cannot convert {} to a string", got(v))),
    }
}

fn tonumber(args: FuncArgs) -> FnResult {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(*n)),
        Value::String(s) => {
            s.trim().parse::<f64>().map(num).map_err(|_| format!("cannot convert \"{s}\" to a number"))
        }
        other => Err(format!("cannot convert {} to a number", got(other))),
    }
}

fn dedup(items: &[Value]) -> Vec<Value> {
    // Scalars are looked up in hash sets: a linear scan per element made `toset` of 100,000
    // strings take a minute. Lists and maps (not hashable) are compared one by one.
    let mut strings = std::collections::HashSet::new();
    let mut numbers = std::collections::HashSet::new();
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for v in items {
        let new = match v {
            Value::String(s) => strings.insert(s.as_str()),
            Value::Number(n) => numbers.insert(*n),
            other => !out.contains(other),
        };
        if new {
            out.push(v.clone());
        }
    }
    out
}

fn distinct(args: FuncArgs) -> FnResult {
    Ok(Value::Array(dedup(array_arg(&args, 0, "the list")?)))
}

/// Sets are represented as de-duplicated lists (keeping first-seen order).
fn toset(args: FuncArgs) -> FnResult {
    Ok(Value::Array(dedup(array_arg(&args, 0, "the list")?)))
}

fn tolist(args: FuncArgs) -> FnResult {
    Ok(Value::Array(array_arg(&args, 0, "the argument")?.clone()))
}

fn tomap(args: FuncArgs) -> FnResult {
    Ok(Value::Object(object_arg(&args, 0, "the argument")?.clone()))
}

fn flatten_into(items: &[Value], out: &mut Vec<Value>) {
    for v in items {
        match v {
            Value::Array(inner) => flatten_into(inner, out),
            other => out.push(other.clone()),
        }
    }
}

fn flatten(args: FuncArgs) -> FnResult {
    let mut out = Vec::new();
    flatten_into(array_arg(&args, 0, "the list")?, &mut out);
    Ok(Value::Array(out))
}

fn range(args: FuncArgs) -> FnResult {
    let nums: Result<Vec<f64>, String> =
        (0..args.len()).map(|i| number_arg(&args, i, &format!("argument {}", i + 1))).collect();
    let (start, end, step) = match nums?.as_slice() {
        [end] => (0.0, *end, 1.0),
        [start, end] => (*start, *end, if end >= start { 1.0 } else { -1.0 }),
        [start, end, step] => (*start, *end, *step),
        other => return Err(format!("range takes 1 to 3 arguments, got {}", other.len())),
    };
    if step == 0.0 {
        return Err("the step must not be zero".into());
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0.0 && i < end) || (step < 0.0 && i > end) {
        if out.len() >= limits::MAX_RANGE {
            return Err(format!("range would produce more than {} elements", limits::MAX_RANGE));
        }
        out.push(num(i));
        i += step;
    }
    Ok(Value::Array(out))
}

fn abs(args: FuncArgs) -> FnResult {
    Ok(num(number_arg(&args, 0, "the argument")?.abs()))
}

fn extremum(args: &FuncArgs, pick_max: bool) -> FnResult {
    let mut best: Option<f64> = None;
    for i in 0..args.len() {
        let n = number_arg(args, i, &format!("argument {}", i + 1))?;
        best = Some(match best {
            None => n,
            Some(b) if pick_max => b.max(n),
            Some(b) => b.min(n),
        });
    }
    best.map(num).ok_or_else(|| "needs at least one number".into())
}

fn max(args: FuncArgs) -> FnResult {
    extremum(&args, true)
}

fn min(args: FuncArgs) -> FnResult {
    extremum(&args, false)
}

fn sort(args: FuncArgs) -> FnResult {
    let list = array_arg(&args, 0, "the list")?;
    let mut strings: Vec<String> = list
        .iter()
        .map(|v| {
            stringish(v)
                .ok_or_else(|| format!("sort needs a list of strings, got an element of type {}", got(v)))
        })
        .collect::<Result<_, _>>()?;
    strings.sort();
    Ok(Value::Array(strings.into_iter().map(Value::String).collect()))
}

fn reverse(args: FuncArgs) -> FnResult {
    let mut list = array_arg(&args, 0, "the list")?.clone();
    list.reverse();
    Ok(Value::Array(list))
}

fn element(args: FuncArgs) -> FnResult {
    let list = array_arg(&args, 0, "the list")?;
    if list.is_empty() {
        return Err("cannot take an element of an empty list".into());
    }
    let idx = number_arg(&args, 1, "the index")?;
    if idx < 0.0 {
        return Err("the index must not be negative".into());
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = idx as usize % list.len();
    Ok(list[i].clone())
}

fn zipmap(args: FuncArgs) -> FnResult {
    let keys = array_arg(&args, 0, "the key list")?;
    let vals = array_arg(&args, 1, "the value list")?;
    if keys.len() != vals.len() {
        return Err(format!("the lists have different lengths ({} keys, {} values)", keys.len(), vals.len()));
    }
    let mut out = Map::new();
    for (k, v) in keys.iter().zip(vals) {
        let k = stringish(k).ok_or_else(|| format!("keys must be strings, got {}", got(k)))?;
        out.insert(k, v.clone());
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    fn eval(src: &str) -> Result<serde_json::Value, String> {
        let mut ctx = Context::new();
        declare_all(&mut ctx);
        let expr: hcl::Expression = src.parse().map_err(|e: hcl::Error| e.to_string())?;
        expr.evaluate(&ctx).map(|v| hcl_to_json(&v)).map_err(|e| e.to_string())
    }

    fn ok(src: &str) -> serde_json::Value {
        eval(src).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn every_declared_function_is_listed() {
        let mut sorted = FUNCTIONS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, FUNCTIONS, "keep FUNCTIONS sorted");
        for f in FUNCTIONS {
            // Calling with no arguments fails with an argument error, never "undefined function".
            let err = eval(&format!("{f}()")).err().unwrap_or_default();
            assert!(!err.contains("undefined function"), "{f}: {err}");
        }
    }

    #[test]
    fn string_functions() {
        assert_eq!(ok(r#"lower("AbC")"#), "abc");
        assert_eq!(ok(r#"upper("AbC")"#), "ABC");
        assert_eq!(ok(r#"title("hello world")"#), "Hello World");
        assert_eq!(ok(r#"trimspace("  x \n")"#), "x");
        assert_eq!(ok(r#"trim("--x--", "-")"#), "x");
        assert_eq!(ok(r#"trimprefix("web-1", "web-")"#), "1");
        assert_eq!(ok(r#"trimsuffix("a.hcl", ".hcl")"#), "a");
        assert_eq!(ok(r#"startswith("web-1", "web")"#), true);
        assert_eq!(ok(r#"endswith("web-1", "web")"#), false);
        assert_eq!(ok(r#"substr("hello", 1, 3)"#), "ell");
        assert_eq!(ok(r#"replace("a-b-c", "-", "_")"#), "a_b_c");
        assert_eq!(ok(r#"join(",", ["a", "b", 3])"#), "a,b,3");
        assert_eq!(ok(r#"split(",", "a,b")"#), serde_json::json!(["a", "b"]));
        assert_eq!(
            ok(r#"format("%s-%d-%.1f-%q-%t-%%-%v", "x", 5, 2.25, "q", true, 7)"#),
            "x-5-2.2-\"q\"-true-%-7"
        );
        assert!(eval(r#"format("%d", "abc")"#).unwrap_err().contains("needs a number"));
        assert!(eval(r#"format("%s %s", "a")"#).unwrap_err().contains("not enough arguments"));
        assert_eq!(ok(r#"tostring(5)"#), "5");
        assert_eq!(ok(r#"tonumber("5")"#), 5);
        assert_eq!(ok(r#"tonumber("2.5")"#), 2.5);
        assert!(eval(r#"tonumber("abc")"#).unwrap_err().contains("cannot convert"));
    }

    #[test]
    fn collection_functions() {
        assert_eq!(ok(r#"merge({a = 1}, {b = 2, a = 3})"#), serde_json::json!({"a": 3, "b": 2}));
        assert_eq!(ok(r#"concat(["a"], ["b", "c"])"#), serde_json::json!(["a", "b", "c"]));
        assert_eq!(ok(r#"lookup({a = 1}, "a")"#), 1);
        assert_eq!(ok(r#"lookup({a = 1}, "b", 9)"#), 9);
        assert!(eval(r#"lookup({a = 1}, "b")"#).unwrap_err().contains("not found"));
        assert_eq!(ok(r#"length("héllo")"#), 5);
        assert_eq!(ok(r#"length([1, 2])"#), 2);
        assert_eq!(ok(r#"length({a = 1})"#), 1);
        assert_eq!(ok(r#"keys({b = 1, a = 2})"#), serde_json::json!(["a", "b"]));
        assert_eq!(ok(r#"values({b = 1, a = 2})"#), serde_json::json!([2, 1]));
        assert_eq!(ok(r#"contains(["a", "b"], "b")"#), true);
        assert_eq!(ok(r#"coalesce(null, "", "x")"#), "x");
        assert_eq!(ok(r#"compact(["a", "", null, "b"])"#), serde_json::json!(["a", "b"]));
        assert_eq!(ok(r#"distinct(["a", "b", "a"])"#), serde_json::json!(["a", "b"]));
        assert_eq!(ok(r#"toset(["b", "a", "b"])"#), serde_json::json!(["b", "a"]));
        assert_eq!(ok(r#"tolist(["a"])"#), serde_json::json!(["a"]));
        assert_eq!(ok(r#"tomap({a = "b"})"#), serde_json::json!({"a": "b"}));
        assert_eq!(ok(r#"flatten([["a"], ["b", ["c"]], "d"])"#), serde_json::json!(["a", "b", "c", "d"]));
        assert_eq!(ok("range(3)"), serde_json::json!([0, 1, 2]));
        assert_eq!(ok("range(1, 4)"), serde_json::json!([1, 2, 3]));
        assert_eq!(ok("range(0, 10, 5)"), serde_json::json!([0, 5]));
        assert_eq!(ok("range(3, 0)"), serde_json::json!([3, 2, 1]));
        assert_eq!(ok("abs(-3)"), 3);
        assert_eq!(ok("max(1, 5, 2)"), 5);
        assert_eq!(ok("min(4, 2.5)"), 2.5);
        assert_eq!(ok(r#"sort(["b", "a"])"#), serde_json::json!(["a", "b"]));
        assert_eq!(ok(r#"reverse([1, 2])"#), serde_json::json!([2, 1]));
        assert_eq!(ok(r#"element(["a", "b"], 3)"#), "b");
        assert_eq!(ok(r#"zipmap(["a"], [1])"#), serde_json::json!({"a": 1}));
    }

    #[test]
    fn encoding_and_file_functions() {
        assert_eq!(ok(r#"jsondecode("{\"a\": [1, true]}")"#), serde_json::json!({"a": [1, true]}));
        assert_eq!(ok(r#"jsonencode({a = [1, "x"]})"#), r#"{"a":[1,"x"]}"#);
        assert_eq!(
            ok(r#"csvdecode("name,kind\nweb-1,server\n")"#),
            serde_json::json!([{"name": "web-1", "kind": "server"}])
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("msg.txt"), "hello").unwrap();
        let _guard = BaseDirGuard::set(dir.path());
        assert_eq!(ok(r#"file("msg.txt")"#), "hello");
        assert_eq!(ok(r#"fileexists("msg.txt")"#), true);
        assert!(eval(r#"file("missing.txt")"#).unwrap_err().contains("cannot read `missing.txt`"));
    }

    #[test]
    fn file_is_confined_to_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("conf");
        std::fs::create_dir(&conf).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "TOPSECRET").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), conf.join("link.txt")).unwrap();
        let _guard = BaseDirGuard::set(&conf);
        for call in [r#"file("/proc/self/environ")"#, r#"file("../secret.txt")"#, r#"file("link.txt")"#] {
            let e = eval(call).unwrap_err();
            assert!(e.contains("cannot read") && !e.contains("TOPSECRET"), "{call}: {e}");
        }
        assert!(eval(r#"file("/proc/self/environ")"#).unwrap_err().contains("never reads /proc"));
        assert!(eval(r#"file("../secret.txt")"#).unwrap_err().contains(confine::ALLOW_ENV));
        assert_eq!(ok(r#"fileexists("link.txt")"#), false);
        let env = std::collections::BTreeMap::from([(
            confine::ALLOW_ENV.to_string(),
            dir.path().display().to_string(),
        )]);
        let _policy = PolicyGuard::set(Policy::new(&conf, &env));
        assert_eq!(ok(r#"file("link.txt")"#), "TOPSECRET");
    }
}
