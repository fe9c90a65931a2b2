//! Reading desired attributes (JSON named like the AWS API) into typed values, strictly: an
//! attribute the API does not take, or a value of the wrong type, is an error naming it, never
//! silently dropped. Also small conversions of SDK values back to JSON.

use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use serde_json::{Map, Value};
use watchkeep_provider::ProviderError;

use crate::config::{quoted_list, value_type as type_name};

/// An attribute error on a resource of type `rtype` (no request was made).
pub(crate) fn invalid(rtype: &str, message: impl std::fmt::Display) -> ProviderError {
    ProviderError::InvalidConfig { message: format!("`{rtype}`: {message}") }
}

/// The attributes as an object.
pub(crate) fn object<'a>(rtype: &str, attrs: &'a Value) -> Result<&'a Map<String, Value>, ProviderError> {
    attrs
        .as_object()
        .ok_or_else(|| invalid(rtype, format!("attributes must be an object (got {})", type_name(attrs))))
}

/// Typed access to one object's fields; `path` names it in messages (`Metrics[1].MetricStat`).
pub(crate) struct Fields<'a> {
    pub(crate) rtype: &'a str,
    pub(crate) path: String,
    pub(crate) map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(rtype: &'a str, map: &'a Map<String, Value>) -> Self {
        Fields { rtype, path: String::new(), map }
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, want: &str, got: &Value) -> ProviderError {
        invalid(self.rtype, format!("`{}` must be {want} (got {})", self.name(key), type_name(got)))
    }

    pub(crate) fn missing(&self, key: &str) -> ProviderError {
        invalid(self.rtype, format!("`{}` is required", self.name(key)))
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    pub(crate) fn req_str(&self, key: &str) -> Result<String, ProviderError> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.missing(key)),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(self.wrong(key, "a boolean", other)),
        }
    }

    pub(crate) fn i32(&self, key: &str) -> Result<Option<i32>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    return i32::try_from(i).map(Some).map_err(|_| {
                        invalid(self.rtype, format!("`{}` is out of range (got {n})", self.name(key)))
                    });
                }
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f >= i32::MIN as f64 && f <= i32::MAX as f64 => {
                        Ok(Some(f as i32))
                    }
                    _ => Err(invalid(
                        self.rtype,
                        format!("`{}` must be a whole number (got {n})", self.name(key)),
                    )),
                }
            }
            Some(other) => Err(self.wrong(key, "a whole number", other)),
        }
    }

    pub(crate) fn f64(&self, key: &str) -> Result<Option<f64>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_f64().map(Some).ok_or_else(|| self.wrong(key, "a number", &Value::Null))
            }
            Some(other) => Err(self.wrong(key, "a number", other)),
        }
    }

    pub(crate) fn str_list(&self, key: &str) -> Result<Option<Vec<String>>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(invalid(
                        self.rtype,
                        format!("`{}[{i}]` must be a string (got {})", self.name(key), type_name(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong(key, "a list of strings", other)),
        }
    }

    /// A list of objects, each as [`Fields`] with its own path.
    pub(crate) fn objects(&self, key: &str) -> Result<Option<Vec<Fields<'a>>>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(map) => {
                        Ok(Fields { rtype: self.rtype, path: format!("{}[{i}]", self.name(key)), map })
                    }
                    other => Err(invalid(
                        self.rtype,
                        format!("`{}[{i}]` must be an object (got {})", self.name(key), type_name(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong(key, "a list of objects", other)),
        }
    }

    pub(crate) fn object(&self, key: &str) -> Result<Option<Fields<'a>>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields { rtype: self.rtype, path: self.name(key), map })),
            Some(other) => Err(self.wrong(key, "an object", other)),
        }
    }

    pub(crate) fn check_known(&self, known: &[&str]) -> Result<(), ProviderError> {
        let unknown: Vec<&str> = self.map.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let within = if self.path.is_empty() { String::new() } else { format!(" in `{}`", self.path) };
        Err(invalid(
            self.rtype,
            format!(
                "unknown attribute{} {}{within}\nhint: the attributes are named as in the AWS API: {}",
                if unknown.len() == 1 { "" } else { "s" },
                quoted_list(&unknown),
                quoted_list(known)
            ),
        ))
    }

    /// `[{Key, Value}]` tags.
    pub(crate) fn tags(&self, key: &str) -> Result<Option<Vec<(String, String)>>, ProviderError> {
        let Some(items) = self.objects(key)? else { return Ok(None) };
        items
            .iter()
            .map(|t| {
                t.check_known(&["Key", "Value"])?;
                Ok((t.req_str("Key")?, t.str("Value")?.unwrap_or_default()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `[{Name, Value}]` dimensions.
    pub(crate) fn dimensions(&self, key: &str) -> Result<Option<Vec<(String, String)>>, ProviderError> {
        let Some(items) = self.objects(key)? else { return Ok(None) };
        items
            .iter()
            .map(|d| {
                d.check_known(&["Name", "Value"])?;
                Ok((d.req_str("Name")?, d.req_str("Value")?))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// RFC 3339 text of an SDK timestamp.
pub(crate) fn rfc3339(t: Option<&DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
}

/// Inserts `key: value` when the value is present.
pub(crate) fn put(m: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        m.insert(key.to_string(), v);
    }
}

pub(crate) fn string(s: Option<&str>) -> Option<Value> {
    s.map(|s| Value::String(s.to_string()))
}

pub(crate) fn strings(items: &[String]) -> Option<Value> {
    Some(Value::Array(items.iter().cloned().map(Value::String).collect()))
}

pub(crate) fn pairs(items: impl IntoIterator<Item = (String, String)>, k: &str, v: &str) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|(a, b)| {
                let mut m = Map::new();
                m.insert(k.to_string(), Value::String(a));
                m.insert(v.to_string(), Value::String(b));
                Value::Object(m)
            })
            .collect(),
    )
}

/// A JSON number for an `f64` (non-finite values cannot occur in AWS answers; they become null).
pub(crate) fn number(f: f64) -> Value {
    serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_access_names_the_attribute() {
        let v = json!({ "Period": "60", "Threshold": 1.5, "EvaluationPeriods": 2.0, "Bad": 1.5,
                        "Metrics": [{ "Id": "m1" }, 5], "Tags": [{ "Key": "a", "Value": "b", "X": 1 }] });
        let f = Fields::new("cloudwatch_metric_alarm", v.as_object().unwrap());
        let msg = f.i32("Period").unwrap_err().to_string();
        assert!(msg.contains("`Period` must be a whole number (got a string)"), "{msg}");
        assert_eq!(f.f64("Threshold").unwrap(), Some(1.5));
        assert_eq!(f.i32("EvaluationPeriods").unwrap(), Some(2));
        assert!(f.i32("Bad").unwrap_err().to_string().contains("whole number"));
        let msg = f.objects("Metrics").err().unwrap().to_string();
        assert!(msg.contains("`Metrics[1]` must be an object (got a number)"), "{msg}");
        let msg = f.tags("Tags").unwrap_err().to_string();
        assert!(msg.contains("`X`") && msg.contains("in `Tags[0]`"), "{msg}");
        assert_eq!(f.str("Missing").unwrap(), None);
        assert!(f.req_str("AlarmName").unwrap_err().to_string().contains("`AlarmName` is required"));
    }

    #[test]
    fn unknown_attributes_are_listed() {
        let v = json!({ "AlarmName": "a", "Treshold": 1 });
        let msg = Fields::new("cloudwatch_metric_alarm", v.as_object().unwrap())
            .check_known(&["AlarmName", "Threshold"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown attribute `Treshold`") && msg.contains("`Threshold`"), "{msg}");
    }
}
