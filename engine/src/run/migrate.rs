//! `watchkeep state migrate --from <PATH | s3://bucket/key>`: copies a state, its history (chain
//! intact, byte for byte), its validation records and its resolution notes from another backend
//! into the one the configuration names, as Terraform's "change the backend block, then migrate".
//!
//! Both locks are held while copying. The destination must hold no state, or the very same one
//! (same lineage and serial: nothing to do); a different lineage is refused naming both, and so is
//! the same lineage at another serial. Side files are copied first with create-if-absent (a file
//! already there must be byte-identical), the state object last, so an interrupted migration leaves
//! no state at the destination and can simply be run again. The source is left in place.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use super::workspace::lock;
use super::{Error, Workspace};
use crate::state::s3::S3Settings;
use crate::state::store::{join, Created};
use crate::state::Backend;

/// Where to migrate from.
#[derive(Debug, Clone, Default)]
pub struct MigrateInput {
    /// A local state file path (relative to the configuration directory) or `s3://bucket/key`.
    pub from: String,
    /// The source bucket's region (s3 only); default from the AWS chain.
    pub from_region: Option<String>,
    /// An S3-compatible endpoint for the source (s3 only); path-style addressing is then used.
    pub from_endpoint_url: Option<String>,
}

/// `state migrate --json` output (schema: schema/state-migrate.schema.json).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct MigrateOutput {
    pub format_version: u32,
    /// The source: a file path or `s3://bucket/key`.
    pub from: String,
    /// The destination the configuration names.
    pub to: String,
    pub lineage: String,
    pub serial: u64,
    pub resources: usize,
    /// False when the destination already held this very state (same lineage and serial).
    pub copied: bool,
    /// Files copied beside the state, by folder.
    pub history_files: usize,
    pub validation_files: usize,
    pub note_files: usize,
    /// Always true: the source is never changed or removed.
    pub source_left_in_place: bool,
}

/// The folders copied beside the state, in this order.
const FOLDERS: &[&str] = &["history", "validations", "notes"];

pub fn migrate(ws: &Workspace, input: &MigrateInput) -> Result<MigrateOutput, Error> {
    let dest = ws.backend_quiet();
    let src = source(ws, input)?;
    if src.state_path() == dest.state_path() {
        return Err(Error::msg(format!(
            "the source {} is the state the configuration already names\nhint: change `watchkeep {{ state … }}` to the new backend first, then run `watchkeep state migrate --from <the old one>`",
            src.state_path().display()
        )));
    }
    let (from, to) = (src.state_path().display().to_string(), dest.state_path().display().to_string());
    let src_lock = lock(&src, "state migrate")?;
    let dest_lock = lock(&dest, "state migrate")?;

    let raw = match src.store().read(&src.layout().state) {
        Ok(Some(obj)) => obj.bytes,
        Ok(None) => {
            return Err(Error::msg(format!(
                "there is no state at {from}: nothing to migrate\nhint: check the path or s3://bucket/key given to --from"
            )))
        }
        Err(e) => return Err(Error::msg(format!("cannot read {from}: {e}"))),
    };
    let state =
        src.load()?.ok_or_else(|| Error::msg(format!("the state at {from} disappeared while migrating")))?;
    let mut out = MigrateOutput {
        format_version: 1,
        from: from.clone(),
        to: to.clone(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        resources: state.resources.len(),
        copied: false,
        history_files: 0,
        validation_files: 0,
        note_files: 0,
        source_left_in_place: true,
    };
    if let Some(existing) = dest.load()? {
        if existing.lineage != state.lineage {
            return Err(Error::msg(format!(
                "{to} already holds a different state (lineage {}, serial {}) than {from} (lineage {}, serial {}); nothing was copied\nhint: these are two different states; point the configuration at an empty location, or remove the one at {to} if it is not needed",
                existing.lineage, existing.serial, state.lineage, state.serial
            )));
        }
        if existing.serial != state.serial {
            return Err(Error::msg(format!(
                "{to} holds the same state (lineage {}) at serial {}, but {from} is at serial {}; nothing was copied\nhint: the two copies have diverged; keep the newer one and remove the other before migrating",
                state.lineage, existing.serial, state.serial
            )));
        }
        release(src_lock, dest_lock)?;
        return Ok(out);
    }

    for folder in FOLDERS {
        let n = copy_folder(&src, &dest, folder)?;
        match *folder {
            "history" => out.history_files = n,
            "validations" => out.validation_files = n,
            _ => out.note_files = n,
        }
    }
    if let Ok(Some(backup)) = src.store().read(&src.layout().backup()) {
        write(&dest, &dest.layout().backup(), &backup.bytes)?;
    }
    // Last: the state object itself, byte for byte (serial and lineage unchanged).
    write(&dest, &dest.layout().state, &raw)?;
    out.copied = true;
    release(src_lock, dest_lock)?;
    Ok(out)
}

fn release(a: crate::state::StateLock, b: crate::state::StateLock) -> Result<(), Error> {
    b.release()?;
    a.release()?;
    Ok(())
}

fn source(ws: &Workspace, input: &MigrateInput) -> Result<Backend, Error> {
    if input.from.starts_with("s3://") {
        let mut s = S3Settings::parse_url(&input.from).ok_or_else(|| {
            Error::msg(format!(
                "--from {}: expected s3://bucket/key (a key naming the state object)",
                input.from
            ))
        })?;
        s.region = input.from_region.clone();
        s.endpoint_url = input.from_endpoint_url.clone();
        // A custom endpoint (MinIO, moto, LocalStack) is addressed path-style; AWS S3 is not.
        s.force_path_style = s.endpoint_url.is_some();
        return Ok(Backend::s3(s));
    }
    if input.from_region.is_some() || input.from_endpoint_url.is_some() {
        return Err(Error::msg(
            "--from-region and --from-endpoint-url apply to an s3://bucket/key source only",
        ));
    }
    let p = PathBuf::from(&input.from);
    Ok(Backend::new(if p.is_absolute() { p } else { ws.dir.join(p) }))
}

/// Copies every file of `folder` (history entries and `HEAD`, records, notes) byte for byte.
fn copy_folder(src: &Backend, dest: &Backend, folder: &str) -> Result<usize, Error> {
    let (from_dir, to_dir) = (src.side_dir(folder), dest.side_dir(folder));
    let names = src
        .store()
        .list(&from_dir)
        .map_err(|e| Error::msg(format!("cannot list {}: {e}", src.side_path(folder).display())))?;
    let mut n = 0;
    for name in names.iter().filter(|n| !n.starts_with('.')) {
        let from_key = join(&from_dir, name);
        let Some(obj) = src.store().read(&from_key).map_err(|e| {
            Error::msg(format!("cannot read {}: {e}", src.store().locate(&from_key).display()))
        })?
        else {
            continue;
        };
        let to_key = join(&to_dir, name);
        let located = dest.store().locate(&to_key);
        match dest.store().create_new(&to_key, &obj.bytes) {
            Ok(Created::Created { .. }) => {}
            Ok(Created::Exists) => {
                let there = dest.store().read(&to_key).ok().flatten().map(|o| o.bytes);
                if there.as_deref() != Some(obj.bytes.as_slice()) {
                    // HEAD is rewritten on every append: an older copy from an interrupted run is replaced.
                    if name == crate::state::history::HEAD_FILE {
                        write(dest, &to_key, &obj.bytes)?;
                    } else {
                        return Err(Error::msg(format!(
                            "{} already exists with other content than {}; nothing more was copied\nhint: the destination holds files of another state; use an empty location",
                            located.display(),
                            src.store().locate(&from_key).display()
                        )));
                    }
                }
            }
            Err(e) => return Err(Error::msg(format!("cannot write {}: {e}", located.display()))),
        }
        n += 1;
    }
    Ok(n)
}

fn write(dest: &Backend, key: &str, bytes: &[u8]) -> Result<(), Error> {
    dest.store()
        .write(key, bytes)
        .map_err(|e| Error::msg(format!("cannot write {}: {e}", dest.store().locate(key).display())))
}

/// The human summary.
pub fn human(out: &MigrateOutput) -> String {
    if !out.copied {
        return format!(
            "{} already holds this state (lineage {}, serial {}): nothing to migrate.\nThe source {} was left in place.\n",
            out.to, out.lineage, out.serial, out.from
        );
    }
    format!(
        "Migrated the state (lineage {}, serial {}, {} resources) from {} to {}:\n  {} history files, {} validation record files, {} note files copied.\nThe source {} was left in place; remove it when you no longer need it.\n",
        out.lineage,
        out.serial,
        out.resources,
        out.from,
        out.to,
        out.history_files,
        out.validation_files,
        out.note_files,
        out.from
    )
}
