//! `iotadm tree` and `iotadm ddf check`, through the functions the tool's `main` calls. The
//! module is compiled into this test on its own, so it runs without the tool's argument
//! parsing or the `cli` feature.

#[path = "../src/bin/iotadm/tree.rs"]
mod tree;

use std::fs;
use std::path::PathBuf;

use iotadm::tree::schema::NODES;

const COMMANDS: [&str; 6] = ["Add", "Copy", "Delete", "Exec", "Get", "Replace"];
const FORMATS: [&str; 11] = [
    "b64", "bin", "bool", "chr", "int", "node", "null", "xml", "date", "time", "float",
];

fn printed_tree() -> String {
    let mut out = Vec::new();
    tree::print_tree(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn tree_prints_one_node_a_line() {
    let text = printed_tree();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), NODES.len());
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

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("iotadm-{}-{name}", std::process::id()));
        fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
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
    let file = TempFile::new("vendor.xml", VENDOR);
    assert_eq!(
        tree::ddf_check(&file.0),
        Ok(format!(
            "{}: OK: 3 nodes at ./DMAcc/<x>/Ext/Tag, ./DevInfo/Ext/Acme",
            file.0.display()
        ))
    );
}

#[test]
fn ddf_check_gives_the_one_line_reason() {
    let file = TempFile::new("bad.xml", &VENDOR.replace("<chr/>", "<string/>"));
    assert_eq!(
        tree::ddf_check(&file.0),
        Err(format!(
            "{}: node ./DevInfo/Ext/Acme/Color: unknown DFFormat \"string\" (line 16)",
            file.0.display()
        ))
    );

    let file = TempFile::new(
        "dup.xml",
        &VENDOR
            .replace("./DevInfo/Ext", "./DevInfo")
            .replace("<NodeName>Acme", "<NodeName>Man"),
    );
    assert_eq!(
        tree::ddf_check(&file.0),
        Err(format!(
            "{}: node ./DevInfo/Man: already described by the compiled-in tree (line 3)",
            file.0.display()
        ))
    );

    let missing = std::env::temp_dir().join("iotadm-no-such-file.xml");
    let err = tree::ddf_check(&missing).unwrap_err();
    assert!(
        err.starts_with(&format!("{}: ", missing.display())),
        "{err}"
    );
    assert!(!err.contains('\n'));
}
