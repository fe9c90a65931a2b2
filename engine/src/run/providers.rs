//! Configuring the providers a run needs, and the figures they count (requests, rate limits).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use watchkeep_provider::{Provider, ProviderError};

use super::{Error, Stats, Workspace};
use crate::apply::Providers;
use crate::config::Config;

/// Builds one provider from its `provider "<name>" { … }` attributes and the environment, through
/// the vendor registry (`crate::vendors`).
pub fn configure_one(
    name: &str,
    attrs: &serde_json::Map<String, serde_json::Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Provider>, ProviderError> {
    crate::vendors::configure(name, attrs, env).unwrap_or_else(|| {
        Err(ProviderError::InvalidConfig {
            message: format!("provider `{name}` is not available in this version of watchkeep"),
        })
    })
}

/// Configures every provider in `needed`, from the configuration's provider blocks (if any) and
/// the environment.
pub fn configure(
    ws: &Workspace,
    cfg: Option<&Config>,
    needed: &BTreeSet<String>,
) -> Result<Providers, Error> {
    let mut out: Providers = BTreeMap::new();
    let empty = serde_json::Map::new();
    for name in needed {
        if crate::vendors::get(name).is_none() {
            return Err(Error::msg(format!(
                "provider `{name}` is not available in this version of watchkeep\nhint: supported providers: {}",
                crate::vendors::names().join(", ")
            )));
        }
        let attrs = cfg.and_then(|c| c.providers.get(name)).map(|p| &p.attrs).unwrap_or(&empty);
        let env = |k: &str| ws.env.get(k).cloned();
        let p = configure_one(name, attrs, &env).map_err(|e| provider_failure(name, cfg, e))?;
        out.insert(name.clone(), p);
    }
    Ok(out)
}

fn provider_failure(name: &str, cfg: Option<&Config>, e: ProviderError) -> Error {
    let at = cfg
        .and_then(|c| c.providers.get(name))
        .map(|p| format!(" (provider block at {})", p.span))
        .unwrap_or_default();
    Error::msg(format!("cannot configure provider `{name}`{at}: {e}"))
}

/// The figures of this run so far.
pub fn stats(ws: &Workspace, providers: &Providers) -> Stats {
    Stats {
        api_calls: providers.values().map(|p| p.api_calls()).sum(),
        rate_limited: providers.values().filter_map(|p| p.rate_budget()).map(|b| b.throttled).sum(),
        rate_wait_ms: providers
            .values()
            .filter_map(|p| p.rate_budget())
            .map(|b| b.waited.as_millis() as u64)
            .sum(),
        wall_ms: ws.started.elapsed().as_millis() as u64,
        peak_rss_bytes: peak_rss(),
    }
}

/// VmHWM from /proc/self/status.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
