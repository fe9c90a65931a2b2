//! What a lock file holds: who took the state lock, where, when, and for what.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who holds the state lock. Written as JSON into the lock file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct LockInfo {
    /// Random id; `watchkeep force-unlock <id>` must name it.
    pub id: String,
    /// Who took the lock; see [`super::actor`].
    pub holder: String,
    /// Process id of the holder.
    pub pid: u32,
    /// Host name of the machine the holder runs on.
    pub host: String,
    /// What the holder is doing, e.g. `apply`.
    pub operation: String,
    /// When the lock was taken (RFC 3339, UTC).
    pub created: String,
    /// Version of watchkeep that took the lock.
    pub watchkeep_version: String,
}
