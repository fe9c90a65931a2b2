//! Validation records: every `drift`, `coverage` and `routes test` run leaves a dated record beside
//! the state (`<state dir>/validations/`), the SOC 2 "periodic validation" evidence. Records are
//! hash-chained: each carries the SHA-256 of the record before it, and `HEAD` holds the newest
//! record's sequence and SHA-256, so an edited, removed or re-ordered record shows when the chain
//! is checked ([`check`], `watchkeep validations`).
//!
//! A record is never overwritten: it is written to a temporary file and hard-linked to its final
//! name (`<sequence>.json`, e.g. `000042.json`), which fails if another run took that sequence number
//! first; the writer then chains onto that record instead. The chain shows tampering by anyone
//! who does not rewrite every later record and `HEAD` as well; anchoring the newest SHA-256
//! elsewhere (the evidence bundle, a pull-request comment) closes that gap.
//!
//! Records written before the chain existed (`<time>-drift.json`, no `sequence`) are listed as
//! `legacy`; the first chained record carries the SHA-256 of the newest of them.

use std::path::{Path, PathBuf};

use crate::state::store::{Created, Folder, LocalStore};

use serde::{Deserialize, Serialize};

use super::report::{ChainReport, RecordSummary};
use super::{Error, Workspace};
use sha2::{Digest, Sha256};

/// Format version of a record (`watchkeep_validation_record`).
pub const RECORD_FORMAT: u32 = 1;

/// The file in the validations folder that names the newest record.
pub const HEAD_FILE: &str = "HEAD";

/// The validations folder of a state file: `validations/` beside it.
pub fn dir_of(state_path: &Path) -> PathBuf {
    state_path.with_file_name("validations")
}

/// The envelope every record is written in; `report` is the command's `--json` report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub watchkeep_validation_record: u32,
    pub sequence: u64,
    /// `drift`, `coverage`, `routes-test`.
    pub kind: String,
    /// RFC 3339, UTC, milliseconds.
    pub recorded_at: String,
    /// `pass` or `fail`: whether the run found nothing to act on.
    pub outcome: String,
    /// One line: what the run found.
    pub summary: String,
    /// SHA-256 (hex) of the previous record file's bytes; `null` for the first record.
    pub previous_sha256: Option<String>,
    pub report: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    sequence: u64,
    file: String,
    sha256: String,
}

/// Appends a record of one run to the folder `dir` on disk; returns its path.
pub fn append(
    dir: &Path,
    kind: &str,
    passed: bool,
    summary: &str,
    report: &impl Serialize,
) -> std::io::Result<PathBuf> {
    let store = LocalStore::new(dir);
    append_in(Folder { store: &store, dir: "" }, kind, passed, summary, report)
}

/// Appends a record of one run to `dir` in the state's store (see
/// [`crate::state::Backend::folder`]); returns where it is.
pub fn append_in(
    dir: Folder<'_>,
    kind: &str,
    passed: bool,
    summary: &str,
    report: &impl Serialize,
) -> std::io::Result<PathBuf> {
    let report = serde_json::to_value(report).map_err(std::io::Error::other)?;
    for _attempt in 0..100 {
        let files = scan(dir)?;
        let (sequence, previous) = match files.chained.last() {
            Some((seq, name)) => (seq + 1, Some(sha256_in(dir, name)?)),
            None => (1, files.legacy.last().map(|name| sha256_in(dir, name)).transpose()?),
        };
        let now = chrono::Utc::now();
        let record = Record {
            watchkeep_validation_record: RECORD_FORMAT,
            sequence,
            kind: kind.to_string(),
            recorded_at: now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            outcome: if passed { "pass" } else { "fail" }.to_string(),
            summary: summary.to_string(),
            previous_sha256: previous,
            report: report.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&record).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        // The name is the sequence alone, so that exactly one run can take each number.
        let name = format!("{sequence:06}.json");
        match dir.create_new(&name, &bytes)? {
            Created::Created { .. } => {
                write_head(
                    dir,
                    &Head { sequence, file: name.clone(), sha256: hex::encode(Sha256::digest(&bytes)) },
                )?;
                return Ok(dir.locate(&name));
            }
            // Another run took this sequence number: chain onto its record instead.
            Created::Exists => continue,
        }
    }
    Err(std::io::Error::other(format!(
        "could not append a validation record in {}: the sequence kept changing under us",
        dir.path().display()
    )))
}

/// Moves `HEAD` forward (never back: a slower concurrent writer must not hide a newer record).
fn write_head(dir: Folder<'_>, head: &Head) -> std::io::Result<()> {
    if let Some(bytes) = dir.read(HEAD_FILE)? {
        if let Ok(current) = serde_json::from_slice::<Head>(&bytes) {
            if current.sequence > head.sequence {
                return Ok(());
            }
        }
    }
    let mut text = serde_json::to_vec_pretty(head).map_err(std::io::Error::other)?;
    text.push(b'\n');
    dir.write(HEAD_FILE, &text)
}

/// The bytes of record `name`; a record that vanished is an error naming it.
fn read_in(dir: Folder<'_>, name: &str) -> std::io::Result<Vec<u8>> {
    dir.read(name)?.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} disappeared while being read", dir.locate(name).display()),
        )
    })
}

fn sha256_in(dir: Folder<'_>, name: &str) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(read_in(dir, name)?)))
}

#[cfg(test)]
fn sha256_of(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(path)?)))
}

struct Files {
    /// `(sequence, file name)`, by sequence.
    chained: Vec<(u64, String)>,
    /// Pre-chain records, by name (which is by time).
    legacy: Vec<String>,
}

fn scan(dir: Folder<'_>) -> std::io::Result<Files> {
    let mut chained = Vec::new();
    let mut legacy = Vec::new();
    for name in dir.list()? {
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let stem = &name[..name.len() - ".json".len()];
        match Some(stem).filter(|p| p.len() == 6).and_then(|p| p.parse::<u64>().ok()) {
            Some(seq) => chained.push((seq, name)),
            None => legacy.push(name),
        }
    }
    chained.sort();
    legacy.sort();
    Ok(Files { chained, legacy })
}

/// Reads every record of the folder `dir` on disk and checks the chain.
pub fn check(dir: &Path) -> std::io::Result<ChainReport> {
    let store = LocalStore::new(dir);
    let mut report = check_in(Folder { store: &store, dir: "" })?;
    report.dir = dir.display().to_string();
    Ok(report)
}

/// Reads every record of `dir` in the state's store and checks the chain.
pub fn check_in(dir: Folder<'_>) -> std::io::Result<ChainReport> {
    let files = scan(dir)?;
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let mut previous_sha: Option<String> = None;
    for name in &files.legacy {
        let bytes = read_in(dir, name)?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let kind = name.trim_end_matches(".json").rsplit('-').next().unwrap_or("").to_string();
        records.push(RecordSummary {
            sequence: None,
            file: name.clone(),
            kind,
            recorded_at: None,
            outcome: "unknown".into(),
            summary: "written before records were chained".into(),
            sha256: sha.clone(),
        });
        previous_sha = Some(sha);
    }
    let mut expected_seq = 1;
    for (seq, name) in &files.chained {
        let bytes = read_in(dir, name)?;
        let sha = hex::encode(Sha256::digest(&bytes));
        if *seq != expected_seq {
            if *seq > expected_seq {
                problems.push(format!(
                    "record{} {} missing before {name}: removed?",
                    if seq - expected_seq > 1 { "s" } else { "" },
                    if seq - expected_seq > 1 {
                        format!("{expected_seq:06}–{:06}", seq - 1)
                    } else {
                        format!("{expected_seq:06}")
                    }
                ));
            } else {
                problems.push(format!("{name}: sequence {seq} appears twice"));
            }
        }
        expected_seq = seq + 1;
        match serde_json::from_slice::<Record>(&bytes) {
            Ok(r) => {
                if r.sequence != *seq {
                    problems.push(format!(
                        "{name}: says sequence {}, its name says {seq}: edited or renamed",
                        r.sequence
                    ));
                }
                if r.previous_sha256 != previous_sha {
                    problems.push(format!(
                        "{name}: the previous record's SHA-256 does not match ({}): the record before it was edited or removed",
                        r.previous_sha256.as_deref().map(short).unwrap_or("none recorded")
                    ));
                }
                records.push(RecordSummary {
                    sequence: Some(*seq),
                    file: name.clone(),
                    kind: r.kind,
                    recorded_at: Some(r.recorded_at),
                    outcome: r.outcome,
                    summary: r.summary,
                    sha256: sha.clone(),
                });
            }
            Err(e) => {
                problems.push(format!("{name}: not a readable validation record ({e}): edited?"));
                records.push(RecordSummary {
                    sequence: Some(*seq),
                    file: name.clone(),
                    kind: String::new(),
                    recorded_at: None,
                    outcome: "unknown".into(),
                    summary: String::new(),
                    sha256: sha.clone(),
                });
            }
        }
        previous_sha = Some(sha);
    }
    match dir.read(HEAD_FILE) {
        Ok(Some(text)) => match serde_json::from_slice::<Head>(&text) {
            Ok(head) => match files.chained.iter().find(|(s, _)| *s == head.sequence) {
                None => problems.push(format!(
                    "HEAD names record {:06} ({}), which is missing: removed?",
                    head.sequence, head.file
                )),
                Some((_, name)) => {
                    let sha = records.iter().find(|r| &r.file == name).map(|r| r.sha256.clone());
                    if sha.as_deref() != Some(head.sha256.as_str()) {
                        problems.push(format!("{name}: its SHA-256 is not the one HEAD recorded: edited"));
                    }
                }
            },
            Err(e) => problems.push(format!("HEAD is not readable ({e}): edited?")),
        },
        Ok(None) => {
            if !files.chained.is_empty() {
                problems.push("HEAD is missing although chained records exist: removed?".into());
            }
        }
        Err(e) => return Err(e),
    }
    Ok(ChainReport {
        dir: dir.path().display().to_string(),
        records,
        chain_intact: problems.is_empty(),
        problems,
    })
}

/// `watchkeep validations`: the records of the workspace's state and whether their chain holds.
pub fn list(ws: &Workspace) -> Result<ChainReport, Error> {
    let backend = ws.backend_quiet();
    let key = backend.side_dir("validations");
    let dir = backend.folder(&key);
    check_in(dir).map_err(|e| {
        Error::msg(format!("cannot read the validation records in {}: {e}", dir.path().display()))
    })
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write_three(dir: &Path) -> Vec<PathBuf> {
        (0..3)
            .map(|i| {
                append(dir, "drift", i != 1, &format!("run {i}"), &serde_json::json!({ "n": i })).unwrap()
            })
            .collect()
    }

    #[test]
    fn records_chain_and_check() {
        let d = tempfile::tempdir().unwrap();
        let paths = write_three(d.path());
        let r = check(d.path()).unwrap();
        assert!(r.chain_intact, "{:?}", r.problems);
        assert_eq!(r.records.len(), 3);
        assert_eq!(r.records[1].outcome, "fail");
        let second: Record = serde_json::from_slice(&fs::read(&paths[1]).unwrap()).unwrap();
        assert_eq!(second.previous_sha256.unwrap(), sha256_of(&paths[0]).unwrap());
        assert_eq!(second.sequence, 2);
    }

    #[test]
    fn an_edited_middle_record_breaks_the_chain() {
        let d = tempfile::tempdir().unwrap();
        let paths = write_three(d.path());
        let text = fs::read_to_string(&paths[1]).unwrap().replace("\"fail\"", "\"pass\"");
        fs::write(&paths[1], text).unwrap();
        let r = check(d.path()).unwrap();
        assert!(!r.chain_intact);
        assert!(
            r.problems.iter().any(|p| p.contains(&*paths[2].file_name().unwrap().to_string_lossy())),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn an_edited_or_removed_newest_record_shows() {
        let d = tempfile::tempdir().unwrap();
        let paths = write_three(d.path());
        fs::write(&paths[2], fs::read_to_string(&paths[2]).unwrap().replace("run 2", "run 9")).unwrap();
        let r = check(d.path()).unwrap();
        assert!(r.problems.iter().any(|p| p.contains("HEAD recorded")), "{:?}", r.problems);
        fs::remove_file(&paths[2]).unwrap();
        let r = check(d.path()).unwrap();
        assert!(r.problems.iter().any(|p| p.contains("missing")), "{:?}", r.problems);
    }

    #[test]
    fn a_removed_middle_record_shows() {
        let d = tempfile::tempdir().unwrap();
        let paths = write_three(d.path());
        fs::remove_file(&paths[1]).unwrap();
        let r = check(d.path()).unwrap();
        assert!(!r.chain_intact);
        assert!(r.problems.iter().any(|p| p.contains("000002") && p.contains("removed")), "{:?}", r.problems);
    }

    #[test]
    fn legacy_records_lead_the_chain() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("20261101T000000000Z-drift.json"), "{}\n").unwrap();
        let p = append(d.path(), "coverage", true, "ok", &serde_json::json!({})).unwrap();
        let r: Record = serde_json::from_slice(&fs::read(p).unwrap()).unwrap();
        assert_eq!(r.previous_sha256.unwrap(), hex::encode(Sha256::digest(b"{}\n")));
        let c = check(d.path()).unwrap();
        assert!(c.chain_intact, "{:?}", c.problems);
        assert_eq!(c.records[0].sequence, None);
    }

    #[test]
    fn concurrent_appends_keep_one_chain() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    for j in 0..5 {
                        append(&dir, "drift", true, &format!("{i}/{j}"), &serde_json::json!({})).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let r = check(&dir).unwrap();
        assert_eq!(r.records.len(), 20);
        assert!(r.chain_intact, "{:?}", r.problems);
    }
}
