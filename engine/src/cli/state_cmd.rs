//! `watchkeep state list|show|rm`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{self, CmdResult, Context, Failure};
use super::{StateCommand, EXIT_OK};
use crate::plan::targeted;
use crate::state::{actor, now_rfc3339, source_revision, ChangeCounts, ChangeRecord, HistoryEntry};

/// One row of `state list --json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StateListItem {
    pub address: String,
    pub resource_type: String,
    pub provider: String,
    pub id: String,
    pub origin: Option<String>,
    pub changed_at: String,
}

pub fn run(ctx: &Context, cmd: &StateCommand) -> CmdResult {
    let backend = ctx.backend_quiet();
    match cmd {
        StateCommand::List { prefixes, json } => {
            let state = backend.load()?.unwrap_or_else(crate::state::State::new);
            let items: Vec<StateListItem> = state
                .resources
                .iter()
                .filter(|r| targeted(&r.address, prefixes))
                .map(|r| StateListItem {
                    address: r.address.clone(),
                    resource_type: r.resource_type.clone(),
                    provider: r.provider.clone(),
                    id: r.id.clone(),
                    origin: r.origin.clone(),
                    changed_at: r.changed_at.clone(),
                })
                .collect();
            if *json {
                common::print_json(&items)?;
            } else {
                for i in items {
                    println!("{}", i.address);
                }
            }
            Ok(EXIT_OK)
        }
        StateCommand::Show { address, json } => {
            let state = backend.load()?.unwrap_or_else(crate::state::State::new);
            let r = state.get(address).ok_or_else(|| {
                Failure::msg(format!(
                    "no resource `{address}` in state\nhint: `watchkeep state list` shows the addresses"
                ))
            })?;
            if *json {
                common::print_json(r)?;
            } else {
                println!("# {} ({} {})", r.address, r.resource_type, r.id);
                if let Some(o) = &r.origin {
                    println!("origin           = {o}");
                }
                println!("provider         = {}", r.provider);
                println!("changed_at       = {}", r.changed_at);
                if let Some(m) = &r.vendor_modified {
                    println!("vendor_modified  = {m}");
                }
                println!("attrs            = {}", serde_json::to_string_pretty(&r.attrs).unwrap_or_default());
            }
            Ok(EXIT_OK)
        }
        StateCommand::Rm { addresses } => {
            let lock = common::lock(&backend, "state rm")?;
            let mut state =
                backend.load()?.ok_or_else(|| Failure::msg("there is no state yet: nothing to remove"))?;
            let mut records = Vec::new();
            for a in addresses {
                match state.remove(a) {
                    Some(r) => records.push(ChangeRecord {
                        address: r.address,
                        resource_type: r.resource_type,
                        action: "forget".into(),
                        id: Some(r.id),
                        changed_attributes: Vec::new(),
                    }),
                    None => {
                        return Err(Failure::msg(format!(
                            "no resource `{a}` in state; nothing was removed\nhint: `watchkeep state list` shows the addresses"
                        )))
                    }
                }
            }
            lock.save(&mut state)?;
            lock.append_history(HistoryEntry {
                version: 0,
                serial: state.serial,
                lineage: state.lineage.clone(),
                timestamp: now_rfc3339(),
                operation: "state rm".into(),
                actor: actor(),
                source_revision: source_revision(&ctx.dir),
                outcome: "complete".into(),
                counts: ChangeCounts::default(),
                changes: records.clone(),
            })?;
            for r in records {
                println!(
                    "Removed {} from state (the vendor object {} was left alone).",
                    r.address,
                    r.id.unwrap_or_default()
                );
            }
            Ok(EXIT_OK)
        }
    }
}
