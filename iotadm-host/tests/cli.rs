//! The `iotadm` host tool, run as a user would: conversions both ways through files and
//! standard streams (a raw one against libwbxml's), the summary, and a one-line reason with
//! a failing exit on bad input.

#[path = "../../tests/common/corpus.rs"]
mod corpus;
#[path = "../../tests/common/peers.rs"]
mod peers;

use std::io::Write;
use std::process::{Command, Stdio};

fn iotadm(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotadm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run iotadm");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn wbxml_to_xml_gives_xml_a_standard_parser_reads() {
    let path = corpus::corpus_dir().join("aosp-omadm-dm12-testreplace.wbxml");
    let out = iotadm(&["wbxml2xml", path.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    assert_eq!(doc.root_element().tag_name().name(), "SyncML");
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("SYNCML:SYNCML1.2")
    );
    let uris: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name(("SYNCML:SYNCML1.2", "LocURI")))
        .filter_map(|n| n.text())
        .collect();
    assert!(uris.contains(&"./DevInfo/DevId"));
}

#[test]
fn xml_to_wbxml_through_standard_streams_writes_wbxml_1_2() {
    let xml = corpus::corpus_file("omaspec-dm12-s2.6.2.2-pkg2-server-alert1100-get.xml");
    let out = iotadm(&["xml2wbxml", "-o", "-", "-"], Some(&xml));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        &out.stdout[..4],
        &[0x02, 0xA4, 0x01, 0x6A],
        "WBXML 1.2, SyncML 1.2, UTF-8"
    );
    let back = iotadm::codec::parse(&out.stdout).unwrap();
    assert_eq!(back, iotadm::codec::parse(&xml).unwrap());
    let v13 = iotadm(&["xml2wbxml", "-v", "1.3", "-"], Some(&xml));
    assert_eq!(v13.stdout[0], 0x03);
}

#[test]
fn files_in_and_out() {
    let dir = std::env::temp_dir().join(format!("iotadm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wbxml = dir.join("m.wbxml");
    let xml = dir.join("m.xml");
    let src = corpus::corpus_dir().join("msmdm-s4-pkg3-client-status-results.xml");
    assert!(iotadm(
        &[
            "xml2wbxml",
            "-o",
            wbxml.to_str().unwrap(),
            src.to_str().unwrap()
        ],
        None
    )
    .status
    .success());
    assert!(iotadm(
        &[
            "wbxml2xml",
            "-o",
            xml.to_str().unwrap(),
            wbxml.to_str().unwrap()
        ],
        None
    )
    .status
    .success());
    let original = std::fs::read(&src).unwrap();
    let again = std::fs::read(&xml).unwrap();
    assert_eq!(
        iotadm::codec::parse(&again).unwrap(),
        iotadm::codec::parse(&original).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inspect_lists_the_header_and_every_command() {
    let path = corpus::corpus_dir().join("capture-android-fumo-pkg1-alert1201-1226-cred-md5.xml");
    let out = iotadm(&["inspect", path.to_str().unwrap()], None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("SessionID 2DF"), "{text}");
    assert!(text.contains("cred: syncml:auth-md5"), "{text}");
    assert!(text.contains("1 Alert 1201"), "{text}");
    assert!(text.contains("2 Alert 1226"), "{text}");
    assert!(text.contains("./DevInfo/Man data 8 bytes"), "{text}");
    assert!(text.contains("body: 3 command(s), final"), "{text}");
}

#[test]
fn bad_input_fails_with_one_line_naming_the_offset() {
    let path = corpus::corpus_dir().join("msdocs-unenroll-pkg1-generic-alert-1226-MALFORMED.xml");
    let out = iotadm(&["xml2wbxml", path.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("at byte 14"), "{err}");
    let out = iotadm(&["wbxml2xml", "-"], Some(b"\x02\xa4\x01\x6a\x00\x6d"));
    assert!(!out.status.success());
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
    let out = iotadm(&["wbxml2xml", "/nonexistent/file"], None);
    assert!(!out.status.success());
}

/// Element names and texts in document order, namespaces included: what two conversions of
/// one message must agree on.
fn outline(xml: &str) -> Vec<String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).expect("well-formed XML");
    doc.descendants()
        .filter_map(|n| {
            if n.is_element() {
                let ns = n.tag_name().namespace().unwrap_or("");
                Some(format!("<{ns}:{}>", n.tag_name().name()))
            } else {
                n.text()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
            }
        })
        .collect()
}

/// A message without the SyncBody its DTD requires (what a broken server might send):
/// the decoding conversion refuses it, the raw one writes what libwbxml's wbxml2xml writes.
#[test]
fn raw_wbxml_to_xml_converts_what_the_dtd_refuses_as_libwbxml_does() {
    let (Some(xml2wbxml), Some(wbxml2xml)) = (
        peers::system_peer("xml2wbxml"),
        peers::system_peer("wbxml2xml"),
    ) else {
        return;
    };
    let dir = peers::peer_scratch("libwbxml");
    let (xml_in, wbxml, peer_xml) = (
        dir.join("in.xml"),
        dir.join("msg.wbxml"),
        dir.join("out.xml"),
    );
    std::fs::write(
        &xml_in,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" \
         \"http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd\">\n\
         <SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD>\
         <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
         <Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>srv</LocURI></Source>\
         <Meta><MaxMsgSize xmlns=\"syncml:metinf\">4000</MaxMsgSize></Meta>\
         </SyncHdr></SyncML>",
    )
    .unwrap();
    let os = |p: &std::path::Path| p.as_os_str().to_owned();
    let arg = |s: &str| std::ffi::OsString::from(s);
    peers::run_peer(
        &xml2wbxml,
        &[
            &arg("-v"),
            &arg("1.2"),
            &arg("-o"),
            &os(&wbxml),
            &os(&xml_in),
        ],
    );
    peers::run_peer(&wbxml2xml, &[&arg("-o"), &os(&peer_xml), &os(&wbxml)]);

    let path = wbxml.to_str().unwrap();
    let strict = iotadm(&["wbxml2xml", path], None);
    assert!(!strict.status.success(), "the DTD requires a SyncBody");
    let raw = iotadm(&["wbxml2xml", "--raw", path], None);
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let ours = outline(&String::from_utf8(raw.stdout).unwrap());
    let theirs = outline(&std::fs::read_to_string(&peer_xml).unwrap());
    assert_eq!(ours, theirs);
    assert!(
        ours.contains(&"<syncml:metinf:MaxMsgSize>".to_owned()),
        "{ours:?}"
    );
    assert!(!ours.iter().any(|e| e.contains("SyncBody")), "{ours:?}");

    // A document cut short is refused with the offset where it ends.
    let bytes = std::fs::read(&wbxml).unwrap();
    let cut = iotadm(
        &["wbxml2xml", "--raw", "-"],
        Some(&bytes[..bytes.len() - 3]),
    );
    assert!(!cut.status.success());
    let err = String::from_utf8_lossy(&cut.stderr);
    assert!(err.contains(&(bytes.len() - 3).to_string()), "{err}");
}
