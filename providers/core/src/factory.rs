//! How the engine finds and builds a vendor's provider: one [`ProviderFactory`] value per provider
//! crate (`watchkeep_datadog::FACTORY`, …), listed once in the engine (`engine/src/vendors.rs`).
//! Every list of vendor names, resource types and per-vendor rules the engine uses is derived from
//! those values.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::{Provider, ProviderError};

/// A vendor as the engine knows it before any provider exists: its name, the resource types it
/// manages, the language rules that depend on it, and how to build a configured [`Provider`] from
/// a `provider "<name>" { … }` block.
///
/// Object safe: the engine holds `&'static dyn ProviderFactory` values.
pub trait ProviderFactory: Send + Sync {
    /// The vendor's name as written in HCL (`provider "datadog" {}`, `provider = "datadog"`).
    fn name(&self) -> &'static str;

    /// Every resource type `resource "<type>" "<name>"` accepts for this vendor, in the order the
    /// engine lists them (schema, messages). Each starts with one of [`Self::type_prefixes`]
    /// followed by `_`.
    fn resource_types(&self) -> &'static [&'static str];

    /// The prefixes (the text before the first `_`) of this vendor's resource types. A resource
    /// type belongs to the vendor whose prefixes contain its prefix, so no two vendors may share
    /// one (CloudWatch owns `cloudwatch_*` and `sns_*`).
    fn type_prefixes(&self) -> &'static [&'static str];

    /// Prefixes besides the vendor's name that make an unknown name look like one of this
    /// vendor's resource types, so the loader answers "unknown resource type … did you mean"
    /// rather than "unknown name" (CloudWatch: `aws`, as in Terraform's
    /// `aws_cloudwatch_metric_alarm`). Never owned by a vendor.
    fn suggest_prefixes(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether `<type>.<name>.id` of this vendor's resources may be used before apply: the vendor
    /// assigns ids at create time and the reference is resolved once the object exists. `false`
    /// for vendors whose objects are named by the user (CloudWatch), where references use names.
    fn resolves_id_refs(&self) -> bool;

    /// Builds the provider from the attributes of its `provider` block (an empty map when the
    /// configuration has none) and the environment (credentials are read only from there). Makes
    /// no request to the vendor.
    fn configure(
        &self,
        block: &Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Arc<dyn Provider>, ProviderError>;
}

impl std::fmt::Debug for dyn ProviderFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderFactory").field("name", &self.name()).finish_non_exhaustive()
    }
}
