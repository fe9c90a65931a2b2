//! A small NRQL engine over the events posted to the stand-in (`POST /v1/accounts/{id}/events`,
//! New Relic's Event API shape), for `actor.account(id).nrql(query:)`, for the charts a
//! snapshot draws, and for evaluating NRQL conditions so that they open and close incidents
//! while `watchkeep-sandbox` runs.
//!
//! The subset is what watchkeep writes (`engine/src/compile/newrelic.rs`):
//!
//! ```text
//! SELECT average(attr) | max(attr) | min(attr) | sum(attr) | latest(attr) | count(*)
//!        (combined with + - * / and numbers: `average(rx) + average(tx)`, `sum(x) / 60`)
//!   FROM EventType
//!   [WHERE attr = 'v' | attr != 'v' | attr = 12 | attr IN ('a', 'b') [AND ...]]
//!   [FACET attr] [SINCE <epoch ms> | <n> <unit> ago] [UNTIL <epoch ms> | <n> <unit> ago]
//!   [TIMESERIES [<n> <unit> | AUTO]]
//! ```
//!
//! Anything else valid in NRQL is answered `STAND_IN_NOT_IMPLEMENTED`; text that is not NRQL
//! at all, `INVALID_INPUT` with `NRQL Syntax Error: …` (guess: the message New Relic gives for
//! a syntax error; its errorClass is not documented). Results are shaped as NerdGraph gives
//! them: without `TIMESERIES` one object `{"average.cpuPercent": 12.5}` (`count` for
//! `count(*)`); with it one per bucket, `{"beginTimeSeconds", "endTimeSeconds", <aggregate>}`,
//! `null` where a bucket has no event (guess: New Relic gives `null` for averages of empty
//! buckets and `0` for counts; so does this). `FACET` adds `"facet": <value>` to each. Without a
//! bucket size, `TIMESERIES` picks one of whole minutes giving at most 60 buckets (guess: New
//! Relic's automatic bucket differs in detail). `SINCE` defaults to an hour before `UNTIL`,
//! which defaults to now (New Relic's default window is also 1 hour).
//!
//! ## Conditions
//!
//! After every ingest, each enabled static NRQL condition of the account is evaluated
//! ([`evaluate_conditions`]): its query's aggregate per `signal.aggregationWindow` (default 60 s)
//! over the last `thresholdDuration` of its CRITICAL term (ending at the newest event the query
//! selects), compared with `operator` (`ABOVE`, `ABOVE_OR_EQUALS`, `BELOW`, `BELOW_OR_EQUALS`,
//! `EQUALS`, `NOT_EQUALS`) and `threshold`; `thresholdOccurrences` `ALL` needs every window of
//! that span breached (and each with data), `AT_LEAST_ONCE` one. Breached and no incident open
//! for the condition: an incident opens (priority `CRITICAL`, title `<condition name> query
//! result is <operator> <threshold> for <duration> seconds`: guess at New Relic's default title),
//! at the newest event's time. Not breached (and the span has data) while one is open: it
//! closes then. This is a simplification of New Relic's streaming evaluation (no delay, no
//! gap filling, no loss-of-signal, warning terms ignored).

use serde_json::{json, Map, Value};

use super::incidents;
use super::state::{id_text, Account};

/// What an aggregate function is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Average,
    Max,
    Min,
    Sum,
    Latest,
    Count,
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Query {
    pub(crate) func: Func,
    /// `None` for `count(*)`.
    pub(crate) attr: Option<String>,
    /// The whole SELECT expression (aggregates combined with `+ - * /` and numbers).
    pub(crate) select: Expr,
    pub(crate) event_type: String,
    pub(crate) wheres: Vec<Cond>,
    pub(crate) facet: Option<String>,
    pub(crate) since_ms: Option<i64>,
    pub(crate) until_ms: Option<i64>,
    /// `Some(None)`: `TIMESERIES` with an automatic bucket.
    pub(crate) timeseries: Option<Option<i64>>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cond {
    attr: String,
    negate: bool,
    values: Vec<Value>,
}

/// Why a query is not answered: `(errorClass, message)`.
pub(crate) type Refusal = (&'static str, String);

fn syntax(msg: impl Into<String>) -> Refusal {
    ("INVALID_INPUT", format!("NRQL Syntax Error: {}", msg.into()))
}

fn unsupported(what: &str) -> Refusal {
    (
        super::exec::NOT_IMPLEMENTED,
        format!("The New Relic stand-in's NRQL does not implement {what}; see tests/src/newrelic/nrql.rs"),
    )
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Sym(char),
}

fn tokens(q: &str) -> Result<Vec<Tok>, Refusal> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            // `\'` inside a string is a quote (the compiler escapes names so).
            let mut text = String::new();
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return Err(syntax("unterminated string")),
                    Some('\\') if j + 1 < chars.len() => {
                        text.push(chars[j + 1]);
                        j += 2;
                    }
                    Some(x) if *x == c => break,
                    Some(x) => {
                        text.push(*x);
                        j += 1;
                    }
                }
            }
            out.push(Tok::Str(text));
            i = j + 1;
        } else if c == '`' {
            let end =
                chars[i + 1..].iter().position(|x| *x == '`').ok_or_else(|| syntax("unterminated `name`"))?;
            out.push(Tok::Word(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if c.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Tok::Num(text.parse().map_err(|_| syntax(format!("bad number {text}")))?));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else if c == '!' && chars.get(i + 1) == Some(&'=') {
            out.push(Tok::Sym('≠'));
            i += 2;
        } else if "(),=*+-/".contains(c) {
            out.push(Tok::Sym(c));
            i += 1;
        } else {
            return Err(unsupported(&format!("the character `{c}`")));
        }
    }
    Ok(out)
}

struct P {
    toks: Vec<Tok>,
    at: usize,
}

impl P {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.at), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    fn kw(&mut self, kw: &str) -> Result<(), Refusal> {
        if self.peek_kw(kw) {
            self.at += 1;
            Ok(())
        } else {
            Err(syntax(format!("expected {kw} at token {}", self.at + 1)))
        }
    }
    fn sym(&mut self, c: char) -> Result<(), Refusal> {
        if self.toks.get(self.at) == Some(&Tok::Sym(c)) {
            self.at += 1;
            Ok(())
        } else {
            Err(syntax(format!("expected `{c}` at token {}", self.at + 1)))
        }
    }
    fn word(&mut self) -> Result<String, Refusal> {
        match self.toks.get(self.at) {
            Some(Tok::Word(w)) => {
                self.at += 1;
                Ok(w.clone())
            }
            _ => Err(syntax(format!("expected a name at token {}", self.at + 1))),
        }
    }
    fn value(&mut self) -> Result<Value, Refusal> {
        if self.toks.get(self.at) == Some(&Tok::Sym('-')) {
            if let Some(Tok::Num(n)) = self.toks.get(self.at + 1).cloned() {
                self.at += 2;
                return Ok(json!(-n));
            }
        }
        let v = match self.toks.get(self.at) {
            Some(Tok::Str(s)) => json!(s),
            Some(Tok::Num(n)) => json!(n),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                json!(w.eq_ignore_ascii_case("true"))
            }
            _ => return Err(syntax(format!("expected a value at token {}", self.at + 1))),
        };
        self.at += 1;
        Ok(v)
    }
    /// `<epoch ms>` or `<n> <unit> ago`, relative to `now`.
    fn time(&mut self, now: i64) -> Result<i64, Refusal> {
        let Some(Tok::Num(n)) = self.toks.get(self.at).cloned() else {
            return Err(unsupported("a time that is not epoch milliseconds or `<n> <unit> ago`"));
        };
        self.at += 1;
        if self.peek_kw("ago") {
            return Err(syntax("a unit is needed before AGO"));
        }
        match self.toks.get(self.at) {
            Some(Tok::Word(u)) if unit_ms(u).is_some() => {
                let ms = unit_ms(u).unwrap_or(1);
                self.at += 1;
                self.kw("ago")?;
                Ok(now - (n * ms as f64) as i64)
            }
            _ => Ok(n as i64),
        }
    }
}

/// A SELECT expression: aggregates, numbers, `+ - * /`, parentheses.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    Agg(Func, Option<String>),
    Num(f64),
    Bin(Box<Expr>, char, Box<Expr>),
}

impl Expr {
    fn first_aggregate(&self) -> Option<(Func, Option<String>)> {
        match self {
            Expr::Agg(f, a) => Some((*f, a.clone())),
            Expr::Num(_) => None,
            Expr::Bin(l, _, r) => l.first_aggregate().or_else(|| r.first_aggregate()),
        }
    }

    /// The value over some events; `null` when an aggregate has no data or a division is by 0.
    fn eval(&self, events: &[&Value]) -> Option<f64> {
        match self {
            Expr::Agg(f, a) => aggregate(*f, a.as_deref(), events).as_f64(),
            Expr::Num(n) => Some(*n),
            Expr::Bin(l, op, r) => {
                let (l, r) = (l.eval(events)?, r.eval(events)?);
                match op {
                    '+' => Some(l + r),
                    '-' => Some(l - r),
                    '*' => Some(l * r),
                    _ => (r != 0.0).then(|| l / r),
                }
            }
        }
    }

    /// The result's key: `average.cpuPercent`, `count`, or for an expression its aggregates'
    /// keys with the operators (guess: how New Relic names such a result is not documented here).
    fn key(&self) -> String {
        match self {
            Expr::Agg(Func::Count, _) => "count".into(),
            Expr::Agg(f, a) => format!("{}.{}", func_name(*f), a.as_deref().unwrap_or_default()),
            Expr::Num(n) => format!("{n}"),
            Expr::Bin(l, op, r) => format!("{} {op} {}", l.key(), r.key()),
        }
    }
}

fn func_name(f: Func) -> &'static str {
    match f {
        Func::Average => "average",
        Func::Max => "max",
        Func::Min => "min",
        Func::Sum => "sum",
        Func::Latest => "latest",
        Func::Count => "count",
    }
}

impl P {
    fn expr(&mut self) -> Result<Expr, Refusal> {
        let mut left = self.term()?;
        while let Some(Tok::Sym(op @ ('+' | '-'))) = self.toks.get(self.at).cloned() {
            self.at += 1;
            left = Expr::Bin(Box::new(left), op, Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, Refusal> {
        let mut left = self.factor()?;
        while let Some(Tok::Sym(op @ ('*' | '/'))) = self.toks.get(self.at).cloned() {
            self.at += 1;
            left = Expr::Bin(Box::new(left), op, Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, Refusal> {
        match self.toks.get(self.at).cloned() {
            Some(Tok::Num(n)) => {
                self.at += 1;
                Ok(Expr::Num(n))
            }
            Some(Tok::Sym('(')) => {
                self.at += 1;
                let e = self.expr()?;
                self.sym(')')?;
                Ok(e)
            }
            Some(Tok::Word(fname)) => {
                self.at += 1;
                let func = match fname.to_ascii_lowercase().as_str() {
                    "average" | "avg" => Func::Average,
                    "max" => Func::Max,
                    "min" => Func::Min,
                    "sum" => Func::Sum,
                    "latest" => Func::Latest,
                    "count" => Func::Count,
                    other => return Err(unsupported(&format!("the function `{other}`"))),
                };
                self.sym('(')?;
                let attr = if self.toks.get(self.at) == Some(&Tok::Sym('*')) {
                    self.at += 1;
                    None
                } else {
                    Some(self.word()?)
                };
                self.sym(')')?;
                if func != Func::Count && attr.is_none() {
                    return Err(syntax(format!("{fname}(*) needs an attribute")));
                }
                Ok(Expr::Agg(func, attr))
            }
            _ => Err(syntax(format!("expected an aggregate at token {}", self.at + 1))),
        }
    }
}

fn unit_ms(u: &str) -> Option<i64> {
    Some(match u.to_ascii_lowercase().trim_end_matches('s') {
        "second" => 1_000,
        "minute" => 60_000,
        "hour" => 3_600_000,
        "day" => 86_400_000,
        "week" => 604_800_000,
        _ => return None,
    })
}

/// Parses a query of the supported subset; relative times count back from `now` (ms).
pub(crate) fn parse(q: &str, now: i64) -> Result<Query, Refusal> {
    let mut p = P { toks: tokens(q)?, at: 0 };
    p.kw("SELECT")?;
    let select = p.expr()?;
    let Some((func, attr)) = select.first_aggregate() else {
        return Err(syntax("the SELECT list needs an aggregate function"));
    };
    if p.toks.get(p.at) == Some(&Tok::Sym(',')) {
        return Err(unsupported("more than one aggregate"));
    }
    p.kw("FROM")?;
    let event_type = p.word()?;
    let mut q = Query {
        func,
        attr,
        select,
        event_type,
        wheres: Vec::new(),
        facet: None,
        since_ms: None,
        until_ms: None,
        timeseries: None,
    };
    while p.at < p.toks.len() {
        if p.peek_kw("WHERE") || (p.peek_kw("AND") && !q.wheres.is_empty()) {
            p.at += 1;
            let attr = p.word()?;
            let cond = if p.peek_kw("IN") || p.peek_kw("NOT") {
                let negate = p.peek_kw("NOT");
                if negate {
                    p.at += 1;
                }
                p.kw("IN")?;
                p.sym('(')?;
                let mut values = vec![p.value()?];
                while p.toks.get(p.at) == Some(&Tok::Sym(',')) {
                    p.at += 1;
                    values.push(p.value()?);
                }
                p.sym(')')?;
                Cond { attr, negate, values }
            } else {
                let negate = match p.toks.get(p.at) {
                    Some(Tok::Sym('=')) => false,
                    Some(Tok::Sym('≠')) => true,
                    _ => return Err(unsupported("conditions other than =, !=, IN")),
                };
                p.at += 1;
                Cond { attr, negate, values: vec![p.value()?] }
            };
            q.wheres.push(cond);
        } else if p.peek_kw("OR") {
            return Err(unsupported("OR"));
        } else if p.peek_kw("FACET") {
            p.at += 1;
            q.facet = Some(p.word()?);
        } else if p.peek_kw("SINCE") {
            p.at += 1;
            q.since_ms = Some(p.time(now)?);
        } else if p.peek_kw("UNTIL") {
            p.at += 1;
            q.until_ms = Some(p.time(now)?);
        } else if p.peek_kw("TIMESERIES") {
            p.at += 1;
            q.timeseries = Some(None);
            if p.peek_kw("AUTO") {
                p.at += 1;
            } else if let Some(Tok::Num(n)) = p.toks.get(p.at).cloned() {
                p.at += 1;
                let unit = p.word()?;
                let ms = unit_ms(&unit).ok_or_else(|| syntax(format!("unknown unit {unit}")))?;
                q.timeseries = Some(Some((n * ms as f64) as i64));
            }
        } else {
            return Err(unsupported(&format!("the clause at token {}", p.at + 1)));
        }
    }
    Ok(q)
}

fn matches(event: &Value, q: &Query) -> bool {
    event["eventType"].as_str() == Some(q.event_type.as_str())
        && q.wheres.iter().all(|c| {
            let v = &event[c.attr.as_str()];
            let hit = c.values.iter().any(|want| match (v, want) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                _ => v == want,
            });
            hit != c.negate
        })
}

fn aggregate(func: Func, attr: Option<&str>, events: &[&Value]) -> Value {
    if func == Func::Count {
        return json!(events.len());
    }
    let Some(attr) = attr else { return Value::Null };
    let mut vals: Vec<(i64, f64)> =
        events.iter().filter_map(|e| Some((e["timestamp"].as_i64()?, e[attr].as_f64()?))).collect();
    if vals.is_empty() {
        return Value::Null;
    }
    vals.sort_by_key(|v| v.0);
    let xs = vals.iter().map(|v| v.1);
    json!(match func {
        Func::Average => xs.sum::<f64>() / vals.len() as f64,
        Func::Max => xs.fold(f64::NEG_INFINITY, f64::max),
        Func::Min => xs.fold(f64::INFINITY, f64::min),
        Func::Sum => xs.sum::<f64>(),
        Func::Latest => vals[vals.len() - 1].1,
        Func::Count => vals.len() as f64,
    })
}

/// The SELECT's value over some events (a bare `count(*)` stays a whole number).
fn select_value(q: &Query, events: &[&Value]) -> Value {
    match &q.select {
        Expr::Agg(f, a) => aggregate(*f, a.as_deref(), events),
        e => e.eval(events).map_or(Value::Null, |v| json!(v)),
    }
}

fn result_key(q: &Query) -> String {
    q.select.key()
}

/// The bucket size of `TIMESERIES` over a window (see the module docs).
fn bucket_ms(q: &Query, window: i64) -> i64 {
    match q.timeseries {
        Some(Some(b)) if b > 0 => b.max(1_000),
        _ => {
            let minutes = (window + 59 * 60_000) / (60 * 60_000);
            minutes.max(1) * 60_000
        }
    }
}

/// Runs a query over `events`; `now` is epoch ms.
pub(crate) fn run(q: &Query, events: &[Value], now: i64) -> Result<Vec<Value>, Refusal> {
    let until = q.until_ms.unwrap_or(now);
    let since = q.since_ms.unwrap_or(until - 3_600_000);
    if until <= since {
        return Err(syntax("UNTIL must be after SINCE"));
    }
    let selected: Vec<&Value> = events
        .iter()
        .filter(|e| matches(e, q))
        .filter(|e| e["timestamp"].as_i64().is_some_and(|t| t >= since && t < until))
        .collect();
    let facets: Vec<Option<Value>> = match &q.facet {
        None => vec![None],
        Some(f) => {
            let mut vs: Vec<Value> =
                selected.iter().map(|e| e[f.as_str()].clone()).filter(|v| !v.is_null()).collect();
            vs.sort_by_key(Value::to_string);
            vs.dedup();
            vs.into_iter().map(Some).collect()
        }
    };
    let key = result_key(q);
    let mut out = Vec::new();
    for facet in facets {
        let of_facet: Vec<&Value> = selected
            .iter()
            .copied()
            .filter(|e| {
                facet.as_ref().is_none_or(|f| q.facet.as_ref().is_some_and(|name| &e[name.as_str()] == f))
            })
            .collect();
        let mut push = |mut m: Map<String, Value>| {
            if let Some(f) = &facet {
                m.insert("facet".into(), f.clone());
            }
            out.push(Value::Object(m));
        };
        match q.timeseries {
            None => {
                let mut m = Map::new();
                m.insert(key.clone(), select_value(q, &of_facet));
                push(m);
            }
            Some(_) => {
                let step = bucket_ms(q, until - since);
                let mut start = since;
                while start < until {
                    let end = (start + step).min(until);
                    let inside: Vec<&Value> = of_facet
                        .iter()
                        .copied()
                        .filter(|e| e["timestamp"].as_i64().is_some_and(|t| t >= start && t < end))
                        .collect();
                    let mut m = Map::new();
                    m.insert("beginTimeSeconds".into(), json!(start / 1000));
                    m.insert("endTimeSeconds".into(), json!(end / 1000));
                    m.insert(key.clone(), select_value(q, &inside));
                    push(m);
                    start = end;
                }
            }
        }
    }
    Ok(out)
}

/// An event as posted to the Event API, checked: an object with a string `eventType` and
/// attributes that are strings, numbers or booleans; `timestamp` (seconds or milliseconds,
/// as the Event API accepts) becomes epoch ms, `now` when absent.
pub(crate) fn event(raw: &Value, now: i64) -> Result<Value, String> {
    let Some(obj) = raw.as_object() else { return Err("each event must be a JSON object".into()) };
    let Some(ty) = obj.get("eventType").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Err("each event needs a string `eventType`".into());
    };
    if !ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.') {
        return Err(format!("`eventType` {ty:?} may hold only letters, digits, `_`, `:` and `.`"));
    }
    let mut out = Map::new();
    for (k, v) in obj {
        match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            _ => return Err(format!("attribute `{k}` must be a string, number or boolean")),
        }
        out.insert(k.clone(), v.clone());
    }
    let ts = match obj.get("timestamp") {
        None => now,
        Some(v) => {
            let n = v.as_i64().ok_or("`timestamp` must be whole epoch seconds or milliseconds")?;
            // The Event API takes seconds or milliseconds (New Relic's "Event API" docs).
            if n < 100_000_000_000 {
                n * 1000
            } else {
                n
            }
        }
    };
    out.insert("timestamp".into(), json!(ts));
    Ok(Value::Object(out))
}

fn breaches(op: &str, value: f64, threshold: f64) -> bool {
    match op {
        "ABOVE" => value > threshold,
        "ABOVE_OR_EQUALS" => value >= threshold,
        "BELOW" => value < threshold,
        "BELOW_OR_EQUALS" => value <= threshold,
        "EQUALS" => value == threshold,
        "NOT_EQUALS" => value != threshold,
        _ => false,
    }
}

/// Evaluates every enabled static NRQL condition of the account (see the module docs); opens
/// and closes incidents. Returns the ids of the incidents opened and closed.
pub(crate) fn evaluate_conditions(
    account: &mut Account,
    new_uuid: &mut dyn FnMut() -> String,
) -> (Vec<String>, Vec<String>) {
    let (mut opened, mut closed) = (Vec::new(), Vec::new());
    let conditions: Vec<Value> = account.conditions.values().cloned().collect();
    for c in conditions {
        if c["enabled"] == json!(false) || c["type"].as_str().is_some_and(|t| t != "STATIC") {
            continue;
        }
        let Some(id) = id_text(&c["id"]) else { continue };
        let Some(term) = c["terms"].as_array().and_then(|ts| {
            ts.iter().find(|t| t["priority"].as_str().is_none_or(|p| p.eq_ignore_ascii_case("CRITICAL")))
        }) else {
            continue;
        };
        let (Some(threshold), Some(op)) = (term["threshold"].as_f64(), term["operator"].as_str()) else {
            continue;
        };
        let op = op.to_ascii_uppercase();
        let duration = term["thresholdDuration"].as_i64().unwrap_or(60).max(1) * 1000;
        let all = term["thresholdOccurrences"].as_str().is_none_or(|o| o.eq_ignore_ascii_case("ALL"));
        let window = c["signal"]["aggregationWindow"].as_i64().unwrap_or(60).max(1) * 1000;
        let Ok(mut q) = parse(c["nrql"]["query"].as_str().unwrap_or_default(), 0) else { continue };
        if q.facet.is_some() {
            continue; // one incident per facet is not modelled
        }
        let newest =
            account.events.iter().filter(|e| matches(e, &q)).filter_map(|e| e["timestamp"].as_i64()).max();
        let Some(newest) = newest else { continue };
        let end = newest + 1;
        q.since_ms = Some(end - duration);
        q.until_ms = Some(end);
        q.timeseries = Some(Some(window));
        let Ok(buckets) = run(&q, &account.events, end) else { continue };
        let key = result_key(&q);
        let values: Vec<Option<f64>> = buckets.iter().map(|b| b[key.as_str()].as_f64()).collect();
        let with_data: Vec<f64> = values.iter().flatten().copied().collect();
        if with_data.is_empty() {
            continue;
        }
        let breached = if all {
            values.iter().all(|v| v.is_some_and(|v| breaches(&op, v, threshold)))
        } else {
            with_data.iter().any(|v| breaches(&op, *v, threshold))
        };
        let open: Vec<String> = account
            .incidents
            .iter()
            .filter(|(_, i)| {
                i["conditionFamilyId"].as_str() == Some(id.as_str()) && i["state"] == json!("CREATED")
            })
            .map(|(k, _)| k.clone())
            .collect();
        if breached && open.is_empty() {
            let name = c["name"].as_str().unwrap_or("condition");
            let title = format!(
                "{name} query result is {} {threshold} for {} seconds",
                op.to_ascii_lowercase().replace('_', " "),
                duration / 1000
            );
            let incident_id = new_uuid();
            let incident = incidents::new_incident(account, &incident_id, &id, "CRITICAL", &title, newest);
            account.incidents.insert(incident_id.clone(), incident);
            opened.push(incident_id);
        } else if !breached {
            for i in open {
                if let Some(incident) = account.incidents.get_mut(&i) {
                    if incidents::close(incident, newest) {
                        closed.push(i);
                    }
                }
            }
        }
    }
    (opened, closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_compiler_writes() {
        let q = parse("SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1' TIMESERIES", 0)
            .unwrap();
        assert_eq!(q.func, Func::Average);
        assert_eq!(q.attr.as_deref(), Some("cpuPercent"));
        assert_eq!(q.event_type, "SystemSample");
        assert_eq!(q.wheres.len(), 1);
        assert_eq!(q.timeseries, Some(None));
        let q = parse(
            "SELECT count(*) FROM X WHERE a IN ('p', 'q') AND b != 3 FACET h SINCE 2 hours ago UNTIL 5000000",
            10_000_000,
        )
        .unwrap();
        assert_eq!(q.since_ms, Some(10_000_000 - 7_200_000));
        assert_eq!(q.until_ms, Some(5_000_000));
        assert_eq!(q.facet.as_deref(), Some("h"));
        let q = parse(r"SELECT count(*) FROM X WHERE `hostname` = 'o\'hara'", 0).unwrap();
        assert_eq!(q.wheres[0].values, vec![json!("o'hara")]);
        assert_eq!(
            parse("SELECT percentile(x, 95) FROM X", 0).unwrap_err().0,
            super::super::exec::NOT_IMPLEMENTED
        );
        assert_eq!(parse("SELEKT x", 0).unwrap_err().0, "INVALID_INPUT");
        assert_eq!(
            parse("SELECT average(x) FROM X WHERE a = 1 OR b = 2", 0).unwrap_err().0,
            super::super::exec::NOT_IMPLEMENTED
        );
    }

    #[test]
    fn runs_timeseries_and_plain() {
        let ev = |t: i64, host: &str, cpu: f64| json!({"eventType": "SystemSample", "timestamp": t, "hostname": host, "cpuPercent": cpu});
        let events = vec![
            ev(0, "web-1", 10.0),
            ev(30_000, "web-1", 20.0),
            ev(60_000, "web-1", 90.0),
            ev(60_000, "web-2", 1.0),
        ];
        let q = parse("SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1' SINCE 0 UNTIL 180000 TIMESERIES 1 minute", 0).unwrap();
        let r = run(&q, &events, 0).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], json!({"beginTimeSeconds": 0, "endTimeSeconds": 60, "average.cpuPercent": 15.0}));
        assert_eq!(r[1]["average.cpuPercent"], 90.0);
        assert_eq!(r[2]["average.cpuPercent"], Value::Null);
        let q = parse("SELECT max(cpuPercent) FROM SystemSample SINCE 0 UNTIL 180000", 0).unwrap();
        assert_eq!(run(&q, &events, 0).unwrap(), vec![json!({"max.cpuPercent": 90.0})]);
        let q =
            parse("SELECT (max(cpuPercent) - min(cpuPercent)) / 2 FROM SystemSample SINCE 0 UNTIL 180000", 0)
                .unwrap();
        assert_eq!(run(&q, &events, 0).unwrap(), vec![json!({"max.cpuPercent - min.cpuPercent / 2": 44.5})]);
        let q = parse("SELECT average(cpuPercent) / 0 FROM SystemSample SINCE 0 UNTIL 180000", 0).unwrap();
        assert_eq!(run(&q, &events, 0).unwrap(), vec![json!({"average.cpuPercent / 0": null})]);
        let q = parse("SELECT count(*) FROM SystemSample FACET hostname SINCE 0 UNTIL 180000", 0).unwrap();
        assert_eq!(
            run(&q, &events, 0).unwrap(),
            vec![json!({"count": 3, "facet": "web-1"}), json!({"count": 1, "facet": "web-2"})]
        );
    }

    #[test]
    fn events_are_checked() {
        assert_eq!(
            event(&json!({"eventType": "A", "timestamp": 1_700_000_000}), 0).unwrap()["timestamp"],
            1_700_000_000_000i64
        );
        assert_eq!(event(&json!({"eventType": "A"}), 42).unwrap()["timestamp"], 42);
        assert!(event(&json!({"x": 1}), 0).is_err());
        assert!(event(&json!({"eventType": "A", "nested": {"a": 1}}), 0).is_err());
        assert!(event(&json!("A"), 0).is_err());
    }
}
