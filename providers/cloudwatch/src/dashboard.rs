//! `cloudwatch_dashboard`: PutDashboard, GetDashboard, ListDashboards, DeleteDashboards. The id
//! is the dashboard name.
//!
//! Dashboards have no tags, so the ownership marker is a last text widget whose markdown is
//! `managed-by:watchkeep watchkeep-address:<marker>`. PutDashboard is an upsert keyed by name:
//! `create` reads the dashboard first and refuses to overwrite one without this address's marker.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Map, Value};
use watchkeep_provider::{LiveObject, ProviderError, Result};

use crate::client::{map_error, Service};
use crate::marker;
use crate::normalize;
use crate::wire::{self, Fields};
use crate::CloudWatchProvider;

pub(crate) const TYPE: &str = "cloudwatch_dashboard";

/// What PutDashboard takes.
pub const ATTRIBUTES: &[&str] = &["DashboardName", "DashboardBody"];

/// Dashboards read in full at once while listing.
pub(crate) const READ_CONCURRENCY: usize = 8;

/// Widget height CloudWatch uses when a widget sets none.
const DEFAULT_WIDGET_HEIGHT: i64 = 6;

/// A parsed `cloudwatch_dashboard`.
#[derive(Debug, Clone)]
pub(crate) struct DashboardSpec {
    name: String,
    body: Map<String, Value>,
}

impl DashboardSpec {
    pub(crate) fn parse(attrs: &Value) -> Result<Self> {
        let f = Fields::new(TYPE, wire::object(TYPE, attrs)?);
        f.check_known(ATTRIBUTES)?;
        let name = f.req_str("DashboardName")?;
        let body = match f.map.get("DashboardBody") {
            Some(Value::Object(o)) => o.clone(),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(o)) => o,
                Ok(_) => return Err(wire::invalid(TYPE, "`DashboardBody` must be a JSON object")),
                Err(e) => {
                    return Err(wire::invalid(TYPE, format!("`DashboardBody` is not valid JSON ({e})")))
                }
            },
            None | Some(Value::Null) => return Err(f.missing("DashboardBody")),
            Some(other) => {
                return Err(wire::invalid(
                    TYPE,
                    format!("`DashboardBody` must be an object (got {})", crate::config::value_type(other)),
                ))
            }
        };
        Ok(DashboardSpec { name, body })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.name.is_empty()
            || self.name.len() > 255
            || !self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(wire::invalid(
                TYPE,
                format!(
                    "dashboard name `{}` is not valid: use 1 to 255 letters, digits, `-` and `_`",
                    self.name
                ),
            ));
        }
        match self.body.get("widgets") {
            Some(Value::Array(_)) => Ok(()),
            _ => Err(wire::invalid(
                TYPE,
                format!("dashboard `{}`: `DashboardBody` needs a `widgets` list", self.name),
            )),
        }
    }
}

fn is_marker_widget(w: &Value) -> bool {
    w.get("type").and_then(Value::as_str) == Some("text")
        && w.pointer("/properties/markdown").and_then(Value::as_str).is_some_and(|m| marker::from_text(m).0)
}

/// `(owned, marker)` from the body's marker widget (the last one, if several).
pub(crate) fn ownership(body: &Value) -> (bool, Option<String>) {
    body.get("widgets")
        .and_then(Value::as_array)
        .and_then(|ws| ws.iter().rev().find(|w| is_marker_widget(w)))
        .and_then(|w| w.pointer("/properties/markdown").and_then(Value::as_str))
        .map(marker::from_text)
        .unwrap_or((false, None))
}

/// Appends (or replaces) the marker text widget, full width, below every other widget.
/// Adds the marker widget, and the provider's region to metric widgets that name none (AWS
/// requires `properties.region` on them; the configuration need not repeat it).
pub(crate) fn mark_in_region(attrs: &mut Value, address: &str, region: &str) {
    mark(attrs, address);
    let Some(Value::Array(widgets)) = attrs.pointer_mut("/DashboardBody/widgets") else { return };
    for w in widgets.iter_mut() {
        if w.get("type").and_then(Value::as_str) != Some("metric") {
            continue;
        }
        if let Some(Value::Object(props)) = w.get_mut("properties") {
            props.entry("region").or_insert_with(|| Value::String(region.to_string()));
        }
    }
}

pub(crate) fn mark(attrs: &mut Value, address: &str) {
    let Value::Object(m) = attrs else { return };
    let mut body = match m.get("DashboardBody") {
        Some(Value::Object(o)) => o.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => o,
            _ => return,
        },
        None | Some(Value::Null) => Map::new(),
        Some(_) => return,
    };
    let widgets = body.entry("widgets").or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(list) = widgets else { return };
    list.retain(|w| !is_marker_widget(w));
    let number = |w: &Value, k: &str| w.get(k).and_then(Value::as_f64).map(|f| f as i64);
    let placed_bottom = list
        .iter()
        .filter_map(|w| Some(number(w, "y")? + number(w, "height").unwrap_or(DEFAULT_WIDGET_HEIGHT)))
        .max();
    // Widgets without `y` flow from the top; stacking their heights is a safe bound.
    let unplaced: i64 = list
        .iter()
        .filter(|w| number(w, "y").is_none())
        .map(|w| number(w, "height").unwrap_or(DEFAULT_WIDGET_HEIGHT))
        .sum();
    let y = placed_bottom.unwrap_or(0).max(unplaced);
    list.push(json!({
        "type": "text",
        "x": 0,
        "y": y,
        "width": 24,
        "height": 1,
        "properties": { "markdown": marker::marker_line(address) },
    }));
    m.insert("DashboardBody".into(), Value::Object(body));
}

fn live(name: &str, body: &str, modified: Option<String>) -> LiveObject {
    let attrs = normalize::dashboard(&json!({ "DashboardName": name, "DashboardBody": body }));
    let (owned, marker) = ownership(&attrs["DashboardBody"]);
    LiveObject { id: name.to_string(), resource_type: TYPE.to_string(), attrs, modified, marker, owned }
}

async fn get(p: &CloudWatchProvider, name: &str, modified: Option<String>) -> Result<Option<LiveObject>> {
    match p.aws.cw().await.get_dashboard().dashboard_name(name).send().await {
        Ok(out) => Ok(Some(live(
            out.dashboard_name().unwrap_or(name),
            out.dashboard_body().unwrap_or("{}"),
            modified,
        ))),
        Err(e) => match map_error(Service::CloudWatch, "GetDashboard", e, &[]) {
            ProviderError::NotFound { .. } => Ok(None),
            e => Err(e),
        },
    }
}

pub(crate) async fn read(p: &CloudWatchProvider, name: &str) -> Result<Option<LiveObject>> {
    if name.is_empty() {
        return Ok(None);
    }
    // GetDashboard carries no modification time; ListDashboards does.
    let modified = modified_time(p, name).await?;
    get(p, name, modified).await
}

async fn modified_time(p: &CloudWatchProvider, name: &str) -> Result<Option<String>> {
    let out = p
        .aws
        .cw()
        .await
        .list_dashboards()
        .dashboard_name_prefix(name)
        .send()
        .await
        .map_err(|e| map_error(Service::CloudWatch, "ListDashboards", e, &[]))?;
    Ok(out
        .dashboard_entries()
        .iter()
        .find(|d| d.dashboard_name() == Some(name))
        .and_then(|d| wire::rfc3339(d.last_modified())))
}

pub(crate) async fn list(p: &CloudWatchProvider, owned_only: bool) -> Result<Vec<LiveObject>> {
    let mut entries: Vec<(String, Option<String>)> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = p
            .aws
            .cw()
            .await
            .list_dashboards()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| map_error(Service::CloudWatch, "ListDashboards", e, &[]))?;
        entries.extend(
            page.dashboard_entries()
                .iter()
                .filter_map(|d| Some((d.dashboard_name()?.to_string(), wire::rfc3339(d.last_modified())))),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let found: Vec<Option<LiveObject>> = stream::iter(entries)
        .map(|(name, modified)| async move { get(p, &name, modified).await })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    // `None`: deleted between the list and the read.
    Ok(found.into_iter().flatten().filter(|d| !owned_only || d.owned).collect())
}

pub(crate) async fn create(p: &CloudWatchProvider, attrs: &Value) -> Result<LiveObject> {
    let spec = DashboardSpec::parse(attrs)?;
    let (_, own_marker) = ownership(&Value::Object(spec.body.clone()));
    if let Some(existing) = get(p, &spec.name, None).await? {
        let ours = existing.owned && own_marker.is_some() && existing.marker == own_marker;
        if !ours {
            let reason = match (existing.owned, existing.marker) {
                (true, Some(other)) => format!(
                    "is managed by watchkeep for another address (`{other}`, not `{}`)",
                    own_marker.as_deref().unwrap_or("?")
                ),
                _ => "is not managed by watchkeep (it has no watchkeep marker widget for this address)"
                    .to_string(),
            };
            return Err(ProviderError::Conflict {
                message: format!(
                    "a dashboard named `{}` already exists in {} and {reason}; watchkeep will not overwrite it\n\
                     hint: rename the dashboard in the configuration, or rename/delete the existing dashboard and plan again",
                    spec.name,
                    p.region()
                ),
            });
        }
    }
    put(p, spec).await
}

pub(crate) async fn update(p: &CloudWatchProvider, id: &str, attrs: &Value) -> Result<LiveObject> {
    let spec = DashboardSpec::parse(attrs)?;
    if spec.name != id {
        return Err(wire::invalid(
            TYPE,
            format!("cannot rename dashboard `{id}` to `{}` in place (a rename is a replace)", spec.name),
        ));
    }
    put(p, spec).await
}

async fn put(p: &CloudWatchProvider, spec: DashboardSpec) -> Result<LiveObject> {
    let body = Value::Object(spec.body).to_string();
    p.aws
        .cw()
        .await
        .put_dashboard()
        .dashboard_name(&spec.name)
        .dashboard_body(&body)
        .send()
        .await
        .map_err(|e| map_error(Service::CloudWatch, "PutDashboard", e, &[]))?;
    match read(p, &spec.name).await? {
        Some(live) => Ok(live),
        None => Ok(live(&spec.name, &body, None)),
    }
}

pub(crate) async fn delete(p: &CloudWatchProvider, name: &str) -> Result<()> {
    if name.is_empty() {
        return Ok(());
    }
    match p
        .aws
        .cw()
        .await
        .delete_dashboards()
        .dashboard_names(name)
        .send()
        .await
        .map_err(|e| map_error(Service::CloudWatch, "DeleteDashboards", e, &[]))
    {
        Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_widgets_get_the_provider_region() {
        let mut d = json!({ "DashboardName": "web", "DashboardBody": { "widgets": [
            { "type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {"metrics": []} },
            { "type": "metric", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {"region": "eu-west-1"} },
        ] } });
        mark_in_region(&mut d, "dashboard.web", "us-east-2");
        assert_eq!(d["DashboardBody"]["widgets"][0]["properties"]["region"], "us-east-2");
        assert_eq!(d["DashboardBody"]["widgets"][1]["properties"]["region"], "eu-west-1");
        assert!(d["DashboardBody"]["widgets"][2]["properties"].get("region").is_none());
    }

    #[test]
    fn mark_appends_the_marker_widget_below_everything() {
        let mut d = json!({ "DashboardName": "web", "DashboardBody": { "widgets": [
            { "type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {} },
            { "type": "metric", "x": 12, "y": 3, "width": 12, "height": 9, "properties": {} },
        ] } });
        mark(&mut d, r#"dashboard.web["eu"]"#);
        let widgets = d["DashboardBody"]["widgets"].as_array().unwrap();
        assert_eq!(widgets.len(), 3);
        assert_eq!(
            widgets[2],
            json!({ "type": "text", "x": 0, "y": 12, "width": 24, "height": 1,
                    "properties": { "markdown": "managed-by:watchkeep watchkeep-address:dashboard.web.eu" } })
        );
        assert_eq!(ownership(&d["DashboardBody"]), (true, Some("dashboard.web.eu".into())));
        let once = d.clone();
        mark(&mut d, r#"dashboard.web["eu"]"#);
        assert_eq!(d, once, "idempotent");
        mark(&mut d, "dashboard.other");
        assert_eq!(d["DashboardBody"]["widgets"].as_array().unwrap().len(), 3);
        assert_eq!(ownership(&d["DashboardBody"]).1.as_deref(), Some("dashboard.other"));

        let mut s = json!({ "DashboardName": "x", "DashboardBody": "{\"widgets\":[{\"type\":\"text\",\"height\":2,\"properties\":{\"markdown\":\"hi\"}}]}" });
        mark(&mut s, "a");
        assert_eq!(s["DashboardBody"]["widgets"][1]["y"], 2);
        DashboardSpec::parse(&s).unwrap().validate().unwrap();
    }

    #[test]
    fn validation() {
        let err =
            DashboardSpec::parse(&json!({ "DashboardName": "a b", "DashboardBody": { "widgets": [] } }))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
        assert!(err.contains("not valid"), "{err}");
        let err = DashboardSpec::parse(&json!({ "DashboardName": "a", "DashboardBody": "{" }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = DashboardSpec::parse(&json!({ "DashboardName": "a" })).unwrap_err().to_string();
        assert!(err.contains("`DashboardBody` is required"), "{err}");
        let err = DashboardSpec::parse(&json!({ "DashboardName": "a", "DashboardBody": {} }))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`widgets`"), "{err}");
    }
}
