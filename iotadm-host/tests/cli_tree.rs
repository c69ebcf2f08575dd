//! `iotadm tree` (with and without vendor DDF documents given at run time) and
//! `iotadm ddf check`, run as a user runs them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use iotadm::schema::STANDARD;

const COMMANDS: [&str; 6] = ["Add", "Copy", "Delete", "Exec", "Get", "Replace"];
const FORMATS: [&str; 11] = [
    "b64", "bin", "bool", "chr", "int", "node", "null", "xml", "date", "time", "float",
];

/// Runs the tool; its standard output if it succeeded, else its one-line error.
fn iotadm(args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_iotadm"))
        .args(args)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        let err = String::from_utf8(out.stderr).unwrap();
        Err(err
            .trim_end()
            .strip_prefix("iotadm ")
            .and_then(|e| e.split_once(": "))
            .map_or(err.clone(), |(_, rest)| rest.to_owned()))
    }
}

fn printed_tree() -> String {
    iotadm(&["tree"]).unwrap()
}

fn ddf_check(path: &Path) -> Result<String, String> {
    iotadm(&["ddf", "check", path.to_str().unwrap()]).map(|out| out.trim_end().to_owned())
}

#[test]
fn tree_prints_one_node_a_line() {
    let text = printed_tree();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), STANDARD.len());
    assert!(text.ends_with('\n'));
    assert_eq!(lines[0], ". node Add,Get");
    for expected in [
        "./DMAcc node Get",
        "./DMAcc/<x> node Add,Delete,Get,Replace",
        "./DMAcc/<x>/AppID chr Add,Get,Replace",
        "./DMAcc/<x>/AppAddr/<x>/Port/<x>/PortNbr chr Add,Get,Replace",
        "./DMAcc/<x>/AppAuth/<x>/AAuthType chr Add,Get,Replace",
        "./DMAcc/<x>/AppAuth/<x>/AAuthSecret chr Add,Delete,Replace",
        "./DMAcc/<x>/AppAuth/<x>/AAuthData bin Add,Delete,Replace",
        "./DevDetail/URI/MaxDepth chr Get",
        "./DevDetail/LrgObj bool Get",
        "./DevInfo node Get",
        "./DevInfo/DevId chr Get",
        "./DevInfo/Ext node Get",
    ] {
        assert!(
            lines.contains(&expected),
            "missing line {expected:?} in\n{text}"
        );
    }
}

#[test]
fn tree_shows_the_cdma_object() {
    let text = printed_tree();
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        "./CDMA node Get",
        "./CDMA/NAM/<x> node Get",
        "./CDMA/NAM/<x>/IMSI_M/MCC chr Get,Replace",
        "./CDMA/NAM/<x>/MDN chr Get,Replace",
        "./CDMA/NAM/<x>/SID_NID/<x>/SID int Add,Get,Replace",
        "./CDMA/NAM/<x>/PRL bin Get,Replace",
        "./CDMA/NAM/<x>/EXT_PRL bin Get,Replace",
        "./CDMA/NAM/<x>/3GPD/MobileIP/MN_HA_SS bin Replace",
        "./CDMA/SPL/Unlock chr Exec",
        "./CDMA/SPL/SPC chr Replace",
        "./CDMA/SPASM/Validate chr Exec",
    ] {
        assert!(
            lines.contains(&expected),
            "missing line {expected:?} in\n{text}"
        );
    }
}

#[test]
fn tree_lines_follow_the_format() {
    let text = printed_tree();
    let mut previous = "";
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [uri, format, access] = fields[..] else {
            panic!("line {line:?} is not URI FORMAT ACCESS");
        };
        assert!(uri == "." || uri.starts_with("./"), "{line}");
        assert!(!uri.ends_with('/') && !uri.contains("//"), "{line}");
        assert!(FORMATS.contains(&format), "{line}");
        if access != "-" {
            // A comma-separated subset of the commands, in their fixed order.
            let mut last = None;
            for cmd in access.split(',') {
                let pos = COMMANDS.iter().position(|c| *c == cmd);
                assert!(pos.is_some() && pos > last, "{line}");
                last = pos;
            }
        }
        // Preorder: a node's parent URI is printed before it.
        if let Some((parent, _)) = uri.rsplit_once('/') {
            assert!(text.contains(&format!("{parent} node ")), "{line}");
        }
        assert_ne!(uri, previous);
        previous = uri;
    }
}

/// A directory of DDF documents in the temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str, files: &[(&str, &str)]) -> TempDir {
        let path = std::env::temp_dir().join(format!("iotadm-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        for (file, text) in files {
            fs::write(path.join(file), text).unwrap();
        }
        TempDir(path)
    }

    /// A directory holding the one document `file`, and that document's path.
    fn with(file: &str, text: &str) -> (TempDir, PathBuf) {
        let dir = TempDir::new(file, &[(file, text)]);
        let path = dir.0.join(file);
        (dir, path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const VENDOR: &str = r#"<MgmtTree>
  <VerDTD>1.2</VerDTD>
  <Node>
    <NodeName>Acme</NodeName>
    <Path>./DevInfo/Ext</Path>
    <DFProperties>
      <AccessType><Get/></AccessType>
      <DFFormat><node/></DFFormat>
      <Scope><Permanent/></Scope>
      <DFType><DDFName>com.acme/1.0/Info</DDFName></DFType>
    </DFProperties>
    <Node>
      <NodeName>Color</NodeName>
      <DFProperties>
        <AccessType><Get/><Replace/></AccessType>
        <DFFormat><chr/></DFFormat>
        <DFType><MIME>text/plain</MIME></DFType>
      </DFProperties>
    </Node>
  </Node>
  <Node>
    <NodeName>Tag</NodeName>
    <Path>./DMAcc/&lt;x&gt;/Ext</Path>
    <DFProperties>
      <AccessType><Get/></AccessType>
      <DFFormat><chr/></DFFormat>
      <DFType><MIME>text/plain</MIME></DFType>
    </DFProperties>
  </Node>
</MgmtTree>
"#;

#[test]
fn ddf_check_accepts_a_vendor_document() {
    let (_dir, file) = TempDir::with("vendor.xml", VENDOR);
    assert_eq!(
        ddf_check(&file),
        Ok(format!(
            "{}: OK: 3 nodes at ./DMAcc/<x>/Ext/Tag, ./DevInfo/Ext/Acme",
            file.display()
        ))
    );
}

#[test]
fn ddf_check_gives_the_one_line_reason() {
    let (_bad, file) = TempDir::with("bad.xml", &VENDOR.replace("<chr/>", "<string/>"));
    assert_eq!(
        ddf_check(&file),
        Err(format!(
            "{}: node ./DevInfo/Ext/Acme/Color: unknown DFFormat \"string\" (line 16)",
            file.display()
        ))
    );

    let (_dup, file) = TempDir::with(
        "dup.xml",
        &VENDOR
            .replace("./DevInfo/Ext", "./DevInfo")
            .replace("<NodeName>Acme", "<NodeName>Man"),
    );
    assert_eq!(
        ddf_check(&file),
        Err(format!(
            "{}: node ./DevInfo/Man: already described by ddf/DevInfo.xml:44 (line 3)",
            file.display()
        ))
    );

    let missing = std::env::temp_dir().join("iotadm-no-such-file.xml");
    let err = ddf_check(&missing).unwrap_err();
    assert!(
        err.starts_with(&format!("{}: ", missing.display())),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

/// A root-level dynamic leaf of the kind a server's conformance scripts add and delete.
const SCTS: &str = r#"<MgmtTree>
  <VerDTD>1.2</VerDTD>
  <Node>
    <NodeName>SCTSValue</NodeName>
    <Path>.</Path>
    <DFProperties>
      <AccessType><Add/><Delete/><Get/><Replace/></AccessType>
      <DFFormat><chr/></DFFormat>
      <Occurrence><ZeroOrOne/></Occurrence>
      <Scope><Dynamic/></Scope>
      <DFType><MIME>text/plain</MIME></DFType>
    </DFProperties>
  </Node>
</MgmtTree>
"#;

#[test]
fn tree_prints_the_vendor_objects_given_at_run_time() {
    let dir = TempDir::new("ddf-dir", &[("vendor.xml", VENDOR), ("scts.xml", SCTS)]);
    let text = iotadm(&["tree", "--ddf", dir.0.to_str().unwrap()]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The standard objects, and the vendor's on top.
    assert_eq!(lines.len(), STANDARD.len() + 4);
    for expected in [
        "./DevInfo/DevId chr Get",
        "./DevInfo/Ext/Acme node Get",
        "./DevInfo/Ext/Acme/Color chr Get,Replace",
        "./DMAcc/<x>/Ext/Tag chr Get",
        "./SCTSValue chr Add,Delete,Get,Replace",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{text}");
    }
    // A broken document is refused with the compiler's reason.
    let bad = TempDir::new(
        "ddf-bad",
        &[("bad.xml", &VENDOR.replace("<chr/>", "<string/>"))],
    );
    let err = iotadm(&["tree", "--ddf", bad.0.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("unknown DFFormat \"string\""), "{err}");
}
