//! Reading live state from the vendors.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};
use watchkeep_provider::{with_retries, ProviderError, RetryPolicy};

use super::Error;
use crate::apply::Providers;
use crate::plan::LiveSet;
use crate::redact::Redactor;
use crate::state::State;

/// Reads all live objects of every (provider, type) in play with list calls, then reads one by
/// one only the state entries the lists did not return (e.g. someone removed our tag).
pub async fn refresh(
    providers: &Providers,
    types: &BTreeSet<(String, String)>,
    state: &State,
    owned_only: bool,
    parallelism: usize,
    redactor: &Redactor,
) -> Result<LiveSet, Error> {
    let policy = RetryPolicy::default();
    let mut live = LiveSet::default();
    let lists = futures::future::join_all(types.iter().map(|(prov, rtype)| {
        let policy = &policy;
        async move {
            let p = providers.get(prov).ok_or_else(|| ProviderError::InvalidConfig {
                message: format!("provider `{prov}` is not configured"),
            })?;
            with_retries(policy, || p.list(rtype, owned_only)).await.map(|objs| (rtype.clone(), objs))
        }
    }))
    .await;
    for res in lists {
        let (_, objs) = res.map_err(|e| {
            Error::msg(format!("refreshing live state failed: {}", redactor.str(&e.to_string())))
        })?;
        for o in objs {
            live.insert(o);
        }
    }
    let missing: Vec<_> = state
        .resources
        .iter()
        .filter(|r| {
            types.contains(&(r.provider.clone(), r.resource_type.clone()))
                && live.get(&r.resource_type, &r.id).is_none()
        })
        .collect();
    let reads: Vec<_> = stream::iter(missing.into_iter().map(|r| {
        let policy = &policy;
        async move {
            let p = providers.get(&r.provider).ok_or_else(|| ProviderError::InvalidConfig {
                message: format!("provider `{}` is not configured", r.provider),
            })?;
            with_retries(policy, || p.read(&r.resource_type, &r.id)).await
        }
    }))
    .buffer_unordered(parallelism.max(1))
    .collect()
    .await;
    for res in reads {
        if let Some(o) = res.map_err(|e| {
            Error::msg(format!("refreshing live state failed: {}", redactor.str(&e.to_string())))
        })? {
            live.insert(o);
        }
    }
    Ok(live)
}
