//! [`Builder`]: the DDF compiler as a build script runs it, reading documents from files
//! and directories and writing the generated schema only when it changed.

use std::borrow::ToOwned;
use std::fs;
use std::path::{Path, PathBuf};
use std::println;
use std::string::{String, ToString};
use std::vec::Vec;

use super::{standard_documents, Compiled, Compiler, DdfError, Generate};

/// Where the documents come from, in the order the caller named them.
#[derive(Debug, Clone)]
enum Input {
    Dir(PathBuf),
    File(PathBuf),
    Text(String, String),
}

/// Compiles DDF documents into a schema, for a build script:
///
/// ```no_run
/// // build.rs of a handset firmware with its own management objects in `ddf/`
/// use iotadm_ddf::compiler::Builder;
///
/// let out = std::path::Path::new(&std::env::var_os("OUT_DIR").unwrap()).join("schema.rs");
/// if let Err(message) = Builder::new().dir("ddf").descriptions(false).write(&out) {
///     eprintln!("error: {message}");
///     std::process::exit(1);
/// }
/// ```
///
/// and then, in the crate, `include!(concat!(env!("OUT_DIR"), "/schema.rs"));`.
///
/// The standard documents ([`standard_documents`]) come first, then the documents added,
/// in the order they were added; a directory gives its `*.xml` files sorted by name, so
/// the schema is the same on every machine. Relative paths are taken from the current
/// directory, which for a build script is its package's directory.
#[derive(Debug, Clone)]
pub struct Builder {
    standard: bool,
    inputs: Vec<Input>,
    descriptions: bool,
    generate: Generate,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the standard documents, keeping titles and descriptions, generating
    /// with [`Generate::default`].
    pub fn new() -> Builder {
        Builder {
            standard: true,
            inputs: Vec::new(),
            descriptions: true,
            generate: Generate::default(),
        }
    }

    /// Leaves the standard documents out.
    #[must_use]
    pub fn without_standard(mut self) -> Builder {
        self.standard = false;
        self
    }

    /// Adds every `*.xml` file in directory `path`, sorted by name.
    #[must_use]
    pub fn dir(mut self, path: impl Into<PathBuf>) -> Builder {
        self.inputs.push(Input::Dir(path.into()));
        self
    }

    /// Adds the document in file `path`.
    #[must_use]
    pub fn file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.inputs.push(Input::File(path.into()));
        self
    }

    /// Adds a document given as text; `name` is what error messages call it.
    #[must_use]
    pub fn document(mut self, name: impl Into<String>, text: impl Into<String>) -> Builder {
        self.inputs.push(Input::Text(name.into(), text.into()));
        self
    }

    /// Whether the schema keeps titles and descriptions (the default): leaving them out
    /// saves flash.
    #[must_use]
    pub fn descriptions(mut self, keep: bool) -> Builder {
        self.descriptions = keep;
        self
    }

    /// How [`write`](Self::write) generates the Rust source.
    #[must_use]
    pub fn generate(mut self, generate: Generate) -> Builder {
        self.generate = generate;
        self
    }

    /// Reads and compiles the documents. A file that cannot be read is reported as a
    /// [`DdfError`] naming it.
    pub fn build(&self) -> Result<Compiled, DdfError> {
        self.compile(&mut Vec::new())
    }

    /// Compiles the documents and writes the generated Rust source to `out`, unless `out`
    /// already holds exactly that text (so that Cargo does not rebuild what includes it).
    /// Prints `cargo:rerun-if-changed=` for every file and directory read.
    ///
    /// Fails with a one-line message naming the file and the node when a document is
    /// wrong, or the file when it cannot be read or written.
    pub fn write(&self, out: impl AsRef<Path>) -> Result<(), String> {
        let mut read = Vec::new();
        let compiled = self.compile(&mut read);
        for path in &read {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        let rust = compiled
            .map_err(|e| e.to_string())?
            .to_rust(&self.generate)?;
        write_if_changed(out.as_ref(), &rust)
    }

    /// [`build`](Self::build), noting in `read` every file and directory it reads.
    fn compile(&self, read: &mut Vec<PathBuf>) -> Result<Compiled, DdfError> {
        let mut compiler = Compiler::new();
        compiler.descriptions(self.descriptions);
        if self.standard {
            for (name, text) in standard_documents() {
                compiler.add_document(name, text)?;
            }
        }
        for input in &self.inputs {
            match input {
                Input::Text(name, text) => compiler.add_document(name, text)?,
                Input::File(path) => add_file(&mut compiler, path, read)?,
                Input::Dir(dir) => {
                    read.push(dir.clone());
                    for path in xml_files(dir)? {
                        add_file(&mut compiler, &path, read)?;
                    }
                }
            }
        }
        compiler.finish()
    }
}

fn io_error(path: &Path, error: &std::io::Error) -> DdfError {
    DdfError {
        file: path.display().to_string(),
        node: None,
        line: None,
        message: error.to_string(),
    }
}

fn add_file(compiler: &mut Compiler, path: &Path, read: &mut Vec<PathBuf>) -> Result<(), DdfError> {
    read.push(path.to_owned());
    let text = fs::read_to_string(path).map_err(|e| io_error(path, &e))?;
    compiler.add_document(&path.display().to_string(), &text)
}

/// The `*.xml` files of `dir`, sorted.
fn xml_files(dir: &Path) -> Result<Vec<PathBuf>, DdfError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, &e))? {
        let path = entry.map_err(|e| io_error(dir, &e))?.path();
        if path.extension().is_some_and(|ext| ext == "xml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn write_if_changed(out: &Path, text: &str) -> Result<(), String> {
    if fs::read(out).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    /// A directory of its own under the system's temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let path =
                std::env::temp_dir().join(format!("iotadm-ddf-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const VENDOR: &str = "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>Vendor</NodeName>\
        <DFProperties><AccessType><Get/></AccessType><DFFormat><node/></DFFormat>\
        <Scope><Permanent/></Scope><DFType><DDFName/></DFType></DFProperties>\
        </Node></MgmtTree>";

    fn leaf_under_vendor(name: &str) -> String {
        format!(
            "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>{name}</NodeName>\
             <Path>./Vendor</Path><DFProperties><AccessType><Get/></AccessType>\
             <DFFormat><int/></DFFormat><DFType><MIME>text/plain</MIME></DFType>\
             </DFProperties></Node></MgmtTree>"
        )
    }

    #[test]
    fn reads_directories_sorted_after_the_standard_documents() {
        let dir = TempDir::new("sorted");
        // b.xml attaches under a.xml's node; sorted order reads a.xml first either way.
        fs::write(dir.0.join("b.xml"), leaf_under_vendor("B")).unwrap();
        fs::write(dir.0.join("a.xml"), VENDOR).unwrap();
        fs::write(dir.0.join("notes.txt"), "not a DDF").unwrap();
        let mut read = Vec::new();
        let compiled = Builder::new().dir(&dir.0).compile(&mut read).unwrap();
        let files: Vec<&str> = compiled
            .documents()
            .iter()
            .map(|d| d.file.as_str())
            .collect();
        let a = dir.0.join("a.xml").display().to_string();
        let b = dir.0.join("b.xml").display().to_string();
        assert_eq!(
            files,
            [
                "ddf/CDMA.xml",
                "ddf/DMAcc.xml",
                "ddf/DevDetail.xml",
                "ddf/DevInfo.xml",
                "ddf/FUMO.xml",
                &a,
                &b,
            ]
        );
        assert_eq!(
            read,
            [dir.0.clone(), dir.0.join("a.xml"), dir.0.join("b.xml")]
        );
        assert!(compiled.find("./Vendor/B").is_some());

        let alone = Builder::new()
            .without_standard()
            .document("v.xml", VENDOR)
            .file(dir.0.join("b.xml"))
            .build()
            .unwrap();
        assert_eq!(alone.nodes().len(), 3);
        assert!(alone.find("./DevInfo").is_none());
    }

    #[test]
    fn reports_unreadable_files_by_name() {
        let missing = std::env::temp_dir().join("iotadm-ddf-no-such-dir");
        let err = Builder::new().dir(&missing).build().unwrap_err();
        assert_eq!(err.file, missing.display().to_string());
        assert!(err
            .to_string()
            .starts_with(&format!("{}: ", missing.display())));
        let err = Builder::new()
            .file(missing.join("x.xml"))
            .build()
            .unwrap_err();
        assert_eq!(err.file, missing.join("x.xml").display().to_string());
    }

    #[test]
    fn descriptions_can_be_left_out() {
        let with = Builder::new().build().unwrap();
        let without = Builder::new().descriptions(false).build().unwrap();
        assert!(with.descriptions() && !without.descriptions());
        assert_eq!(with.find("./DMAcc").unwrap().props.title, "DM accounts");
        assert!(without
            .nodes()
            .iter()
            .all(|n| n.props.title.is_empty() && n.props.description.is_empty()));
    }

    #[test]
    fn write_leaves_an_unchanged_file_alone() {
        let dir = TempDir::new("write");
        let out = dir.0.join("schema.rs");
        let builder = Builder::new().document("v.xml", VENDOR);
        builder.write(&out).unwrap();
        let first = fs::read_to_string(&out).unwrap();
        assert!(first.starts_with("// @generated"));
        assert!(first.contains("//   v.xml\n"));

        let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(&out)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        builder.write(&out).unwrap();
        assert_eq!(fs::metadata(&out).unwrap().modified().unwrap(), long_ago);

        // A change is written.
        builder
            .clone()
            .document("w.xml", leaf_under_vendor("C"))
            .write(&out)
            .unwrap();
        assert_ne!(fs::metadata(&out).unwrap().modified().unwrap(), long_ago);
        assert_ne!(fs::read_to_string(&out).unwrap(), first);
    }

    #[test]
    fn write_reports_the_reason_in_one_line() {
        let dir = TempDir::new("fail");
        let out = dir.0.join("schema.rs");
        let err = Builder::new()
            .document("bad.xml", VENDOR.replace("<node/>", "<string/>"))
            .write(&out)
            .unwrap_err();
        assert_eq!(
            err,
            "bad.xml: node ./Vendor: unknown DFFormat \"string\" (line 1)"
        );
        assert!(!out.exists());
        let generate = Generate {
            schema_name: "not a name".to_owned(),
            ..Generate::default()
        };
        let err = Builder::new().generate(generate).write(&out).unwrap_err();
        assert_eq!(err, "schema_name \"not a name\" is not a Rust identifier");
    }
}
