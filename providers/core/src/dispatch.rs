//! Resource-type dispatch: each provider maps a `resource_type` to its own kind and refuses the
//! rest with the same error.

use crate::ProviderError;

/// The error for a resource type `provider` does not manage, listing the ones it does.
pub fn unknown_resource_type(provider: &str, resource_type: &str, known: &[&str]) -> ProviderError {
    ProviderError::InvalidConfig {
        message: format!(
            "the {provider} provider does not manage `{resource_type}`\nhint: use one of `{}`",
            known.join("`, `")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_type_and_the_known_ones() {
        let e = unknown_resource_type("datadog", "datadog_slo", &["datadog_monitor", "datadog_dashboard"]);
        assert_eq!(
            e.to_string(),
            "invalid provider configuration: the datadog provider does not manage `datadog_slo`\nhint: use one of `datadog_monitor`, `datadog_dashboard`"
        );
        assert!(!e.is_retryable());
    }
}
