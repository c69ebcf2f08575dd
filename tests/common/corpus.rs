//! The corpus of real SyncML DM messages: where it lives, and what its `SOURCES.md` says
//! about each file.
#![allow(dead_code)]

use std::path::PathBuf;

/// The corpus of real SyncML DM messages: `$IOTADM_CORPUS`, or `../shared/corpus/real`
/// beside the project (whichever of the workspace's packages the test belongs to).
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("IOTADM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let package = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let beside = |up: &str| package.join(up).join("shared/corpus/real");
            let root = beside("..");
            if root.join("SOURCES.md").is_file() {
                root
            } else {
                beside("../..")
            }
        });
    assert!(
        dir.join("SOURCES.md").is_file(),
        "the real-message corpus is not at {} (set IOTADM_CORPUS)",
        dir.display()
    );
    dir
}

/// One corpus file as `SOURCES.md` describes it.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub name: String,
    pub bytes: Vec<u8>,
    /// `SOURCES.md` says the file is not well-formed (malformed, or a fragment).
    pub malformed: bool,
    /// libwbxml's own tools could process the file.
    pub libwbxml_pass: bool,
}

/// Every message file in the corpus, each checked against its row in `SOURCES.md`.
pub fn corpus() -> Vec<CorpusFile> {
    let dir = corpus_dir();
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("read SOURCES.md");
    let mut files = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("read corpus")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .filter(|n| n.ends_with(".xml") || n.ends_with(".wbxml"))
        .collect();
    names.sort();
    for name in names {
        let row = sources
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("{name} has no row in SOURCES.md"));
        let cells: Vec<&str> = row.split(" | ").collect();
        let message = cells.get(3).copied().unwrap_or_default();
        let check = cells.last().copied().unwrap_or_default();
        let malformed = message.contains("NOT well-formed") || message.contains("FRAGMENT");
        files.push(CorpusFile {
            bytes: std::fs::read(dir.join(&name)).expect("read corpus file"),
            malformed,
            libwbxml_pass: check.starts_with("PASS"),
            name,
        });
    }
    assert!(files.len() >= 60, "only {} corpus files found", files.len());
    files
}

/// The corpus file called `name`.
pub fn corpus_file(name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}
