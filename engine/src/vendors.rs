//! The one list of vendors. Every vendor name, resource type and per-vendor language rule the
//! engine uses is derived from [`ALL`]: the `provider` names the configuration accepts and the
//! config schema lists, the resource types of `resource "<type>"`, which vendor owns a type, which
//! references to ids are allowed before apply, the providers `version` reports and the commands
//! can configure.
//!
//! Adding a vendor: its provider crate exports a [`ProviderFactory`] value; list it in [`ALL`] and
//! append its index to [`LANGUAGE_ORDER`].
//!
//! A leaf module: it imports the provider crates and nothing else of the engine.

use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};
use watchkeep_provider::{Provider, ProviderError, ProviderFactory};

/// How many vendors [`ALL`] lists (it sizes [`LANGUAGE_ORDER`], so the two cannot drift apart).
const COUNT: usize = 3;

/// Every vendor this build can manage, in the order the commands list them: `version`, the
/// "supported providers" hint, and resource types (config schema, "unknown resource type").
pub static ALL: [&dyn ProviderFactory; COUNT] =
    [&watchkeep_datadog::FACTORY, &watchkeep_cloudwatch::FACTORY, &watchkeep_newrelic::FACTORY];

/// The order in which the configuration language lists vendor names, as indices into [`ALL`]:
/// the `provider` enum of `schema/config.schema.json` and the "allowed providers" / "allowed
/// values" hints have always said datadog, newrelic, cloudwatch, while the command outputs say
/// datadog, cloudwatch, newrelic. Kept so both texts stay as they were; a new vendor appends its
/// index here.
const LANGUAGE_ORDER: [usize; COUNT] = [0, 2, 1];

static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| ALL.iter().map(|f| f.name()).collect());
static LANGUAGE_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| LANGUAGE_ORDER.iter().map(|&i| ALL[i].name()).collect());
static RESOURCE_TYPES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| ALL.iter().flat_map(|f| f.resource_types().iter().copied()).collect());

/// Vendor names in [`ALL`]'s order (`version`, "supported providers: …").
pub fn names() -> &'static [&'static str] {
    &NAMES
}

/// Vendor names in the configuration language's order (the `provider` attribute's enum in the
/// config schema, "allowed providers" hints). See [`LANGUAGE_ORDER`].
pub fn config_names() -> &'static [&'static str] {
    &LANGUAGE_NAMES
}

/// Every resource type `resource "<type>" "<name>"` accepts, vendor by vendor in [`ALL`]'s order.
pub fn resource_types() -> &'static [&'static str] {
    &RESOURCE_TYPES
}

/// The vendor named `name` (as written in HCL).
pub fn get(name: &str) -> Option<&'static dyn ProviderFactory> {
    ALL.iter().copied().find(|f| f.name() == name)
}

/// The vendor that owns a resource type: the one whose type prefixes contain the text before its
/// first `_` (`sns_topic` belongs to `cloudwatch`). `None` for a prefix no vendor owns.
pub fn owner_of(resource_type: &str) -> Option<&'static dyn ProviderFactory> {
    let prefix = resource_type.split('_').next().unwrap_or_default();
    ALL.iter().copied().find(|f| f.type_prefixes().contains(&prefix))
}

/// The name of the vendor that owns a resource type (see [`owner_of`]).
pub fn provider_of(resource_type: &str) -> Option<&'static str> {
    owner_of(resource_type).map(|f| f.name())
}

/// Whether `<type>.<name>.id` may be used before apply. It compiles to a typed link
/// (`plan::links`) that the engine fills with the vendor id from state or from the create earlier
/// in the same apply. CloudWatch names its objects, so references there use names (a raw
/// `sns:<name>` of a declared topic is linked the same way). See
/// [`ProviderFactory::resolves_id_refs`].
pub fn resolves_id_refs(resource_type: &str) -> bool {
    owner_of(resource_type).is_some_and(|f| f.resolves_id_refs())
}

/// Whether an unknown name looks like a misspelt resource type (`datadog_monitr`,
/// `aws_cloudwatch_metric_alarm`): it starts with `<vendor name>_` or with one of a vendor's
/// suggestion prefixes ([`ProviderFactory::suggest_prefixes`]) and `_`. Further owned prefixes
/// (`sns`) do not count, as before the registry: a misspelt `sns_topc` is answered as an unknown
/// name with "did you mean `sns_topic`?".
pub fn looks_like_resource_type(name: &str) -> bool {
    ALL.iter()
        .flat_map(|f| std::iter::once(f.name()).chain(f.suggest_prefixes().iter().copied()))
        .any(|p| name.strip_prefix(p).is_some_and(|rest| rest.starts_with('_')))
}

/// Builds the provider `name` from its `provider` block's attributes and the environment.
/// `None` when no vendor of that name exists in this build.
pub fn configure(
    name: &str,
    attrs: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Result<Arc<dyn Provider>, ProviderError>> {
    get(name).map(|f| f.configure(attrs, env))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_resource_type_is_owned_by_exactly_one_vendor_and_follows_its_prefix_rule() {
        for f in ALL {
            assert!(!f.resource_types().is_empty(), "{} manages no resource type", f.name());
            for t in f.resource_types() {
                let owners: Vec<&str> =
                    ALL.iter().filter(|g| g.resource_types().contains(t)).map(|g| g.name()).collect();
                assert_eq!(owners, [f.name()], "`{t}` must be listed by exactly one vendor");
                let (prefix, rest) = t.split_once('_').unwrap_or((t, ""));
                assert!(
                    f.type_prefixes().contains(&prefix) && !rest.is_empty(),
                    "`{t}` of {} must start with one of {:?} followed by `_`",
                    f.name(),
                    f.type_prefixes()
                );
                assert_eq!(provider_of(t), Some(f.name()), "{t}");
            }
        }
        assert_eq!(resource_types().len(), ALL.iter().map(|f| f.resource_types().len()).sum::<usize>());
        assert_eq!(resource_types().iter().collect::<BTreeSet<_>>().len(), resource_types().len());
    }

    #[test]
    fn prefixes_and_names_do_not_overlap() {
        let mut owned = BTreeSet::new();
        for f in ALL {
            assert!(f.type_prefixes().contains(&f.name()), "{} must own its own name as a prefix", f.name());
            for p in f.type_prefixes() {
                assert!(
                    !p.contains('_') && owned.insert(*p),
                    "type prefix `{p}` is owned twice or contains `_`"
                );
            }
        }
        for f in ALL {
            for p in f.suggest_prefixes() {
                assert!(!owned.contains(p), "suggestion prefix `{p}` of {} is owned by a vendor", f.name());
            }
        }
        assert_eq!(names().iter().collect::<BTreeSet<_>>().len(), ALL.len(), "vendor names must be unique");
        let mut language: Vec<&str> = config_names().to_vec();
        let mut all: Vec<&str> = names().to_vec();
        language.sort_unstable();
        all.sort_unstable();
        assert_eq!(language, all, "LANGUAGE_ORDER must list every vendor once");
    }

    /// These orders are printed (`version`, "supported providers", "allowed providers",
    /// "unknown resource type (known: …)") and written into `schema/config.schema.json`; a change
    /// here changes user-facing text, so it must be deliberate.
    #[test]
    fn listing_orders_are_the_ones_users_see() {
        assert_eq!(names(), ["datadog", "cloudwatch", "newrelic"]);
        assert_eq!(config_names(), ["datadog", "newrelic", "cloudwatch"]);
        assert_eq!(
            resource_types()[..4],
            ["datadog_monitor", "datadog_dashboard", "datadog_downtime", "cloudwatch_metric_alarm"]
        );
        assert_eq!(resource_types().last(), Some(&"newrelic_muting_rule"));
    }

    #[test]
    fn lookups() {
        assert_eq!(get("newrelic").map(|f| f.name()), Some("newrelic"));
        assert!(get("pagerduty").is_none());
        assert_eq!(provider_of("sns_subscription"), Some("cloudwatch"));
        assert_eq!(provider_of("aws_cloudwatch_metric_alarm"), None);
        assert!(resolves_id_refs("datadog_monitor") && resolves_id_refs("newrelic_alert_policy"));
        assert!(!resolves_id_refs("cloudwatch_metric_alarm") && !resolves_id_refs("sns_topic"));
        assert!(!resolves_id_refs("unknown_type"));
        assert!(looks_like_resource_type("aws_cloudwatch_metric_alarm"));
        assert!(looks_like_resource_type("datadog_monitr"));
        assert!(looks_like_resource_type("newrelic_alert_polcy"));
        assert!(!looks_like_resource_type("datadogmonitor") && !looks_like_resource_type("foo_bar"));
        // Only vendor names and suggestion prefixes, as the loader has always had it.
        assert!(!looks_like_resource_type("sns_topc"));
    }

    #[test]
    fn configure_builds_known_vendors_only() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("not-a-real-secret".to_string()),
            _ => None,
        };
        let attrs: Map<String, Value> = serde_json::from_str(r#"{"region": "us-east-1"}"#).unwrap();
        let p = configure("cloudwatch", &attrs, &env).expect("known vendor").expect("configured");
        assert_eq!(p.name(), "cloudwatch");
        assert!(configure("pagerduty", &attrs, &env).is_none());
        let bad: Map<String, Value> = serde_json::from_str(r#"{"regoin": "us-east-1"}"#).unwrap();
        assert!(matches!(
            configure("cloudwatch", &bad, &env),
            Some(Err(ProviderError::InvalidConfig { .. }))
        ));
    }
}
