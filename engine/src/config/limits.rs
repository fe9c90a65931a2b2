//! Resource limits of evaluation, so a few lines of hostile HCL (a pull request) cannot exhaust
//! memory or time: each limit is refused with an error located at the expression, the module
//! call or the inventory that exceeds it.
//!
//! hcl-rs evaluates `for` expressions, templates and function calls itself, so the limits inside
//! one expression are enforced by guard functions that [`super::functions::evaluate`] wraps
//! around each `for` collection ([`LOOP_FN`]: counts iterations) and around each function call,
//! template interpolation and `for` element ([`SIZE_FN`]: checks the value's size and counts the
//! bytes the expression has produced so far). The budgets are per evaluated expression.
//!
//! The figures are a judgement (no vendor imposes them): far above what a monitoring
//! configuration needs (the largest in the test suite are a few thousand objects), and low
//! enough that the bombs of issue 15 stop in well under a second and 200 MB.

use std::cell::Cell;

use hcl::eval::FuncArgs;
use hcl::Value;

/// Longest string a value may hold (1 MiB).
pub(crate) const MAX_STRING_BYTES: usize = 1 << 20;
/// Most elements (list items, map entries, nested ones included) in one value.
pub(crate) const MAX_ELEMENTS: usize = 500_000;
/// Most elements `range()` produces.
pub(crate) const MAX_RANGE: usize = 200_000;
/// Largest value an expression computes (its string bytes and 8 bytes per element; 4 MiB). A
/// plain reference (`inventory.hosts`) copies, it does not compute, and is not measured. Set
/// from the list-doubling bomb (`concat([local.a], [local.a])` forty times): at 4 MiB it stops
/// at about 100 MB peak in a debug build.
pub(crate) const MAX_VALUE_BYTES: usize = 4 << 20;
/// Most `for` iterations in one expression (nested loops multiply).
pub(crate) const MAX_ITERATIONS: usize = 1_000_000;
/// Most bytes one expression may produce through function calls, interpolations and `for`
/// elements (64 MiB).
pub(crate) const MAX_PRODUCED_BYTES: usize = 64 << 20;
/// Most module instances (calls, nested ones included) in one configuration.
pub(crate) const MAX_MODULES: usize = 256;
/// Most addresses (vendor objects and blocks that expand into them) in one configuration.
pub(crate) const MAX_OBJECTS: usize = 200_000;
/// Most rows in one inventory.
pub(crate) const MAX_INVENTORY_ROWS: usize = 200_000;
/// Largest inventory file (64 MiB).
pub(crate) const MAX_INVENTORY_BYTES: u64 = 64 << 20;

/// Name of the guard around `for` collections (not in `FUNCTIONS`, like the checked operators;
/// calling it by name does no harm: it only counts).
pub(crate) const LOOP_FN: &str = "wk__loop";
/// Name of the guard around function calls, interpolations and `for` elements.
pub(crate) const SIZE_FN: &str = "wk__size";

thread_local! {
    static ITERATIONS: Cell<usize> = const { Cell::new(0) };
    static PRODUCED: Cell<usize> = const { Cell::new(0) };
}

/// Starts the budgets of one expression's evaluation.
pub(crate) fn reset_budgets() {
    ITERATIONS.with(|c| c.set(0));
    PRODUCED.with(|c| c.set(0));
}

/// Size of a value: its string bytes (map keys included) and its element count, without
/// recursion (values can nest deeply).
pub(crate) fn measure(v: &Value) -> (usize, usize, usize) {
    let (mut bytes, mut elements, mut longest) = (0usize, 0usize, 0usize);
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                bytes += s.len();
                longest = longest.max(s.len());
            }
            Value::Array(a) => {
                elements += a.len();
                bytes += 8 * a.len();
                stack.extend(a.iter());
            }
            Value::Object(o) => {
                elements += o.len();
                for (k, v) in o {
                    bytes += k.len() + 8;
                    longest = longest.max(k.len());
                    stack.push(v);
                }
            }
            _ => bytes += 8,
        }
    }
    (bytes, elements, longest)
}

/// Why a value is too large, if it is.
#[cfg(test)]
pub(crate) fn check_value(v: &Value) -> Result<(), String> {
    let (bytes, elements, longest) = measure(v);
    check_measured(bytes, elements, longest)
}

fn check_measured(bytes: usize, elements: usize, longest: usize) -> Result<(), String> {
    if longest > MAX_STRING_BYTES {
        return Err(format!(
            "a string of {longest} bytes exceeds the limit of {MAX_STRING_BYTES} bytes (1 MiB) per string"
        ));
    }
    if elements > MAX_ELEMENTS {
        return Err(format!(
            "a collection of {elements} elements exceeds the limit of {MAX_ELEMENTS} elements per value"
        ));
    }
    if bytes > MAX_VALUE_BYTES {
        return Err(format!(
            "a value of about {} MiB exceeds the limit of {} MiB per value",
            bytes >> 20,
            MAX_VALUE_BYTES >> 20
        ));
    }
    Ok(())
}

/// The `for` collection guard: counts its elements against [`MAX_ITERATIONS`].
pub(crate) fn loop_guard(args: FuncArgs) -> Result<Value, String> {
    let v = args.into_values().into_iter().next().unwrap_or(Value::Null);
    let n = match &v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    let total = ITERATIONS.with(|c| {
        let t = c.get().saturating_add(n);
        c.set(t);
        t
    });
    if total > MAX_ITERATIONS {
        return Err(format!(
            "`for` expressions would iterate more than {MAX_ITERATIONS} times in this expression (nested loops multiply)"
        ));
    }
    Ok(v)
}

/// The size guard: refuses an oversized value and counts produced bytes against
/// [`MAX_PRODUCED_BYTES`].
pub(crate) fn size_guard(args: FuncArgs) -> Result<Value, String> {
    let v = args.into_values().into_iter().next().unwrap_or(Value::Null);
    let (bytes, elements, longest) = measure(&v);
    check_measured(bytes, elements, longest)?;
    let total = PRODUCED.with(|c| {
        let t = c.get().saturating_add(bytes);
        c.set(t);
        t
    });
    if total > MAX_PRODUCED_BYTES {
        return Err(format!(
            "this expression would produce more than {} MiB of values",
            MAX_PRODUCED_BYTES >> 20
        ));
    }
    Ok(v)
}

/// The hint that goes with every refusal.
pub(crate) const HINT: &str = "watchkeep limits what one configuration may compute (README.md, \"Limits\"): \
     make the value smaller, or split the work over inventories and modules";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_without_recursion_and_refuses_oversized_values() {
        let v =
            Value::Array(vec![Value::from("ab"), Value::Object([("k".to_string(), Value::from(1))].into())]);
        assert_eq!(measure(&v), (2 + 16 + 1 + 8 + 8, 3, 2));
        assert!(check_value(&Value::from("x".repeat(MAX_STRING_BYTES))).is_ok());
        let err = check_value(&Value::from("x".repeat(MAX_STRING_BYTES + 1))).unwrap_err();
        assert!(err.contains("1 MiB"), "{err}");
        let err = check_value(&Value::Array(vec![Value::Null; MAX_ELEMENTS + 1])).unwrap_err();
        assert!(err.contains("elements"), "{err}");
        let err = check_value(&Value::Array(vec![Value::from("x".repeat(MAX_STRING_BYTES)); 5])).unwrap_err();
        assert!(err.contains("4 MiB per value"), "{err}");
    }
}
