//! `watchkeep alerts note ALERT "what was done"`: the on-call engineer's resolution note on an
//! alert (SOC 2 CC7.1 "resolved alerts with timestamps and resolution notes"). Notes are dated,
//! hash-chained records beside the state, in `<state dir>/notes/`, written and checked by the same
//! code as the validation records ([`super::validations::append`] / [`super::validations::check`],
//! kind `alert-note`); the evidence bundle's alert log attaches each to the alert it is about.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Error, Workspace};
use crate::state::{actor, ResourceState, State};

/// Kind of a note record.
pub const KIND: &str = "alert-note";

/// Longest note accepted, in characters: a note says what was done, not a log dump.
pub const MAX_NOTE_CHARS: usize = 4_000;

/// The notes folder of a state file: `notes/` beside it.
pub fn dir_of(state_path: &Path) -> PathBuf {
    state_path.with_file_name("notes")
}

/// What `alerts note` is asked for.
#[derive(Debug, Clone)]
pub struct NoteInput {
    /// The alert: its address in state (`baseline.soc2["web-1"].cpu`) or its vendor id.
    pub alert: String,
    pub text: String,
    /// Which firing it is about (RFC 3339 or a date), when not the latest.
    pub about: Option<String>,
}

/// The body of one note record (`report` of the record envelope).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct Note {
    pub address: String,
    pub vendor: String,
    pub resource_type: String,
    pub id: String,
    /// Which firing it is about (RFC 3339, UTC), when the author said; otherwise the firing
    /// open at (or last before) the time of the note.
    pub about: Option<String>,
    pub author: String,
    pub text: String,
}

/// `alerts note` output: the note and the record it was written to.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NoteOutput {
    pub note: Note,
    pub noted_at: String,
    pub sequence: u64,
    pub file: String,
}

/// A note as read back, with its record's time.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNote {
    pub noted_at: String,
    pub note: Note,
}

pub fn note(ws: &Workspace, input: &NoteInput) -> Result<NoteOutput, Error> {
    let text = input.text.trim();
    if text.is_empty() {
        return Err(Error::msg("the note is empty\nhint: watchkeep alerts note ALERT \"what was done\""));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::msg(format!(
            "the note has {} characters; at most {MAX_NOTE_CHARS} are kept\nhint: say what was done and link the rest (a ticket, a post-mortem)",
            text.chars().count()
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::msg("the note contains control characters; write plain text"));
    }
    let about = input
        .about
        .as_deref()
        .map(|a| {
            super::alerts::parse_since(a, std::time::SystemTime::now())
                .map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                })
                .map_err(|e| Error::msg(e.replace("--since", "--about")))
        })
        .transpose()?;
    let backend = ws.backend_quiet();
    let state = backend.load()?.unwrap_or_else(State::new);
    let r = find(&state, &input.alert)?;
    let note = Note {
        address: r.address.clone(),
        vendor: r.provider.clone(),
        resource_type: r.resource_type.clone(),
        id: r.id.clone(),
        about,
        author: actor(),
        text: text.to_string(),
    };
    let key = backend.side_dir("notes");
    let dir = backend.folder(&key);
    let summary = format!("note on {}", r.address);
    let path = super::validations::append_in(dir, KIND, true, &summary, &note)
        .map_err(|e| Error::msg(format!("cannot write the note in {}: {e}", dir.path().display())))?;
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let record: super::validations::Record =
        dir.read(&file).ok().flatten().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(|| {
            Error::msg(format!("the note was written to {} but cannot be read back", path.display()))
        })?;
    Ok(NoteOutput { note, noted_at: record.recorded_at, sequence: record.sequence, file })
}

/// The managed alert `alert` names: an address, or a vendor id.
fn find<'a>(state: &'a State, alert: &str) -> Result<&'a ResourceState, Error> {
    let alerts = || {
        state.resources.iter().filter(|r| super::coverage::ALERT_TYPES.contains(&r.resource_type.as_str()))
    };
    if let Some(r) = state.get(alert) {
        if super::coverage::ALERT_TYPES.contains(&r.resource_type.as_str()) {
            return Ok(r);
        }
        return Err(Error::msg(format!(
            "{alert} is a {}, not an alert\nhint: `watchkeep alerts` lists the alerts and their state changes",
            r.resource_type
        )));
    }
    let by_id: Vec<&ResourceState> = alerts().filter(|r| r.id == alert).collect();
    match by_id.as_slice() {
        [one] => Ok(one),
        [] => {
            let known: Vec<&str> = alerts().map(|r| r.address.as_str()).collect();
            let hint = match crate::config::suggest::closest(alert, known.iter().copied()) {
                Some(c) => format!("did you mean `{c}`?"),
                None if known.is_empty() => {
                    "the state manages no alerts yet: run `watchkeep apply` first".to_string()
                }
                None => "`watchkeep state list` lists the addresses".to_string(),
            };
            Err(Error::msg(format!("no managed alert with the address or id `{alert}`\nhint: {hint}")))
        }
        many => Err(Error::msg(format!(
            "`{alert}` is the id of {} alerts ({}); name one by its address",
            many.len(),
            many.iter().map(|r| r.address.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Every note of the state in `backend`, oldest first, with the chain's check.
pub fn read(backend: &crate::state::Backend) -> Result<(Vec<StoredNote>, super::report::ChainReport), Error> {
    let key = backend.side_dir("notes");
    let dir = backend.folder(&key);
    let chain = super::validations::check_in(dir)
        .map_err(|e| Error::msg(format!("cannot read the notes in {}: {e}", dir.path().display())))?;
    let mut notes = Vec::new();
    for r in &chain.records {
        let Ok(Some(bytes)) = dir.read(&r.file) else { continue };
        let Ok(record) = serde_json::from_slice::<super::validations::Record>(&bytes) else { continue };
        if record.kind != KIND {
            continue;
        }
        if let Ok(note) = serde_json::from_value::<Note>(record.report) {
            notes.push(StoredNote { noted_at: record.recorded_at, note });
        }
    }
    Ok((notes, chain))
}
