//! Interoperability with libwbxml, the reference WBXML codec (Debian `libwbxml2-utils`).
//!
//! For the real corpus and for 1,000 generated messages:
//! (a) libwbxml's `xml2wbxml -v 1.2` output decodes with iotadm to the model of the source
//!     XML, and
//! (b) iotadm's WBXML decodes with libwbxml's `wbxml2xml` to XML equal to the source as a
//!     tree (element names, text, child order as the DTD gives it).
//! And (c): libwbxml's XML rendering of each real WBXML message decodes with iotadm to the
//! same model as the WBXML itself.
//!
//! Without the tools these tests fail, unless `IOTADM_ALLOW_MISSING_PEERS` is set, in
//! which case they print why and pass.

mod common;

use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::atomic::{AtomicUsize, Ordering};

use iotadm::codec::{self, Command, Data, Encoding, Item, List, Message};

fn peers_available() -> bool {
    let found = ["xml2wbxml", "wbxml2xml"].iter().all(|tool| {
        Process::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !found {
        if std::env::var_os("IOTADM_ALLOW_MISSING_PEERS").is_none() {
            panic!(
                "libwbxml's xml2wbxml/wbxml2xml are not installed (apt-get install \
                 libwbxml2-utils, or ./scripts/test.sh; IOTADM_ALLOW_MISSING_PEERS=1 skips)"
            );
        }
        eprintln!("skipped (IOTADM_ALLOW_MISSING_PEERS is set): libwbxml is not installed");
    }
    found
}

fn scratch(ext: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("iotadm-interop-{}-{n}.{ext}", std::process::id()))
}

/// Runs a libwbxml tool on `input`, returning its output file's bytes.
fn peer(
    tool: &str,
    args: &[&str],
    input: &[u8],
    in_ext: &str,
    out_ext: &str,
) -> Result<Vec<u8>, String> {
    let src = scratch(in_ext);
    let dst = scratch(out_ext);
    std::fs::write(&src, input).unwrap();
    let output = Process::new(tool)
        .args(args)
        .arg("-o")
        .arg(&dst)
        .arg(&src)
        .output()
        .expect("run libwbxml tool");
    let result = std::fs::read(&dst);
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&dst);
    if !output.status.success() {
        return Err(format!(
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    result.map_err(|e| format!("{tool} wrote nothing: {e}"))
}

/// An element tree for comparison: local name, trimmed text, element children.
#[derive(Debug, PartialEq)]
struct Tree {
    name: String,
    text: String,
    children: Vec<Tree>,
}

/// Where the SyncML DTD puts each child inside its parent; children are compared in this
/// order (a stable sort keeps repeated elements, such as Items, in their own order).
fn rank(parent: &str, child: &str) -> usize {
    let order: &[&str] = match parent {
        "SyncML" => &["SyncHdr", "SyncBody"],
        "SyncHdr" => &[
            "VerDTD",
            "VerProto",
            "SessionID",
            "MsgID",
            "Target",
            "Source",
            "RespURI",
            "NoResp",
            "Cred",
            "Meta",
        ],
        "Target" | "Source" => &["LocURI", "LocName"],
        "Cred" => &["Meta", "Data"],
        "Meta" => &[
            "Format",
            "Type",
            "Mark",
            "Size",
            "Version",
            "NextNonce",
            "MaxMsgSize",
            "MaxObjSize",
            "EMI",
        ],
        "Item" => &["Target", "Source", "Meta", "Data", "MoreData"],
        "Status" => &[
            "CmdID",
            "MsgRef",
            "CmdRef",
            "Cmd",
            "TargetRef",
            "SourceRef",
            "Cred",
            "Chal",
            "Data",
            "Item",
        ],
        "Results" => &[
            "CmdID",
            "MsgRef",
            "CmdRef",
            "Cmd",
            "Meta",
            "TargetRef",
            "SourceRef",
            "Item",
        ],
        "Alert" => &["CmdID", "NoResp", "Cred", "Data", "Correlator", "Item"],
        "Exec" => &["CmdID", "NoResp", "Cred", "Meta", "Correlator", "Item"],
        "Add" | "Copy" | "Delete" | "Get" | "Replace" => {
            &["CmdID", "NoResp", "Cred", "Meta", "Item"]
        }
        "Atomic" | "Sequence" => &["CmdID", "NoResp", "Meta"],
        "Sync" => &["CmdID", "NoResp", "Cred", "Target", "Source", "Meta"],
        "SyncBody" => &[],
        _ => return 0,
    };
    order
        .iter()
        .position(|c| *c == child)
        .unwrap_or(if child == "Final" { 1000 } else { order.len() })
}

fn tree(node: roxmltree::Node<'_, '_>, in_data: bool) -> Tree {
    let name = node.tag_name().name().to_string();
    let mut children: Vec<Tree> = node
        .children()
        .filter(|c| c.is_element())
        .map(|c| tree(c, in_data || name == "Data"))
        .collect();
    if !in_data && name != "Data" {
        children.sort_by_key(|c| rank(&name, &c.name));
    }
    let text: String = if children.is_empty() {
        node.children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .collect()
    } else {
        String::new()
    };
    Tree {
        name,
        text: text.trim().to_string(),
        children,
    }
}

/// The first place two trees differ, as a path.
fn tree_diff(a: &Tree, b: &Tree, path: &str) -> Option<String> {
    let here = format!("{path}/{}", a.name);
    if a.name != b.name {
        return Some(format!("{here}: element {} against {}", a.name, b.name));
    }
    if a.text != b.text {
        return Some(format!("{here}: text {:?} against {:?}", a.text, b.text));
    }
    for (i, (x, y)) in a.children.iter().zip(&b.children).enumerate() {
        if let Some(d) = tree_diff(x, y, &format!("{here}[{i}]")) {
            return Some(d);
        }
    }
    (a.children.len() != b.children.len()).then(|| {
        let names = |t: &Tree| {
            t.children
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        format!("{here}: children {:?} against {:?}", names(a), names(b))
    })
}

fn xml_tree(name: &str, xml: &[u8]) -> Tree {
    let text = std::str::from_utf8(xml).expect("utf-8 XML");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options)
        .unwrap_or_else(|e| panic!("{name}: not well-formed XML: {e}\n{text}"));
    tree(doc.root_element(), false)
}

/// How far two decodings of the same message may differ in `Data`.
#[derive(Clone, Copy, PartialEq)]
enum DataMatch {
    /// Byte for byte.
    Exact,
    /// Equal up to what libwbxml rewrites on purpose: it trims the character data it
    /// writes as STR_I (unless run with `-k`), writes line ends in the character data it
    /// writes as OPAQUE as CR LF, writes a CR in XML as a raw CR (which every XML reader
    /// turns into LF), and when it encodes embedded TNDS as WBXML it renames the item's
    /// type from `application/vnd.syncml.dmtnds+xml` to `...+wbxml`. Only applied to the
    /// real messages, whose `Data` holds such white space and TNDS.
    PeerRewrites,
}

fn normalise(t: codec::Text<'_>) -> String {
    let s: Vec<u8> = t.bytes().collect();
    String::from_utf8_lossy(&s)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

fn data_equiv(a: Option<Data<'_>>, b: Option<Data<'_>>, m: DataMatch) -> bool {
    if a == b {
        return true;
    }
    match (a.and_then(|d| d.content()), b.and_then(|d| d.content())) {
        (Some(x), Some(y)) => m == DataMatch::PeerRewrites && normalise(x) == normalise(y),
        (Some(x), None) | (None, Some(x)) => {
            m == DataMatch::PeerRewrites && normalise(x).is_empty()
        }
        (None, None) => false,
    }
}

fn items_equiv(
    path: &str,
    a: List<'_, Item<'_>>,
    b: List<'_, Item<'_>>,
    m: DataMatch,
) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{path}: {} items against {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let (mut xs, mut ys) = (x, y);
        xs.data = None;
        ys.data = None;
        let tnds = matches!(x.data, Some(Data::Xml(_)));
        if m == DataMatch::PeerRewrites && tnds {
            let type_of = |i: &Item<'_>| {
                i.meta
                    .and_then(|m| m.type_())
                    .map(|t| t.to_string().replace("dmtnds+wbxml", "dmtnds+xml"))
            };
            if type_of(&x) != type_of(&y) {
                return Err(format!(
                    "{path}/Item[{i}]/Meta/Type: {:?} against {:?}",
                    type_of(&x),
                    type_of(&y)
                ));
            }
            let (mx, my) = (x.meta.map(|m| m.to_metinf()), y.meta.map(|m| m.to_metinf()));
            if mx.map(|m| codec::MetInf { type_: None, ..m })
                != my.map(|m| codec::MetInf { type_: None, ..m })
            {
                return Err(format!(
                    "{path}/Item[{i}]/Meta: {:?} against {:?}",
                    x.meta, y.meta
                ));
            }
            xs.meta = None;
            ys.meta = None;
        }
        if xs != ys {
            return Err(format!("{path}/Item[{i}]: {xs:?} against {ys:?}"));
        }
        if !data_equiv(x.data, y.data, m) {
            return Err(format!(
                "{path}/Item[{i}]/Data: {:?} against {:?}",
                x.data, y.data
            ));
        }
    }
    Ok(())
}

fn commands_equiv(
    path: &str,
    a: List<'_, Command<'_>>,
    b: List<'_, Command<'_>>,
    m: DataMatch,
) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{path}: {} commands against {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let here = format!("{path}/{}[{i}]", x.name());
        let (ix, iy, cx, cy) = match (x, y) {
            (Command::Add(p), Command::Add(q))
            | (Command::Copy(p), Command::Copy(q))
            | (Command::Delete(p), Command::Delete(q))
            | (Command::Get(p), Command::Get(q))
            | (Command::Replace(p), Command::Replace(q)) => {
                let (mut p2, mut q2) = (p, q);
                p2.items = List::empty();
                q2.items = List::empty();
                (p2 == q2).then_some((p.items, q.items, List::empty(), List::empty()))
            }
            (Command::Alert(p), Command::Alert(q)) => {
                let (mut p2, mut q2) = (p, q);
                p2.items = List::empty();
                q2.items = List::empty();
                (p2 == q2).then_some((p.items, q.items, List::empty(), List::empty()))
            }
            (Command::Exec(p), Command::Exec(q)) => {
                let (mut p2, mut q2) = (p, q);
                p2.items = List::empty();
                q2.items = List::empty();
                (p2 == q2).then_some((p.items, q.items, List::empty(), List::empty()))
            }
            (Command::Status(p), Command::Status(q)) => {
                let (mut p2, mut q2) = (p, q);
                p2.items = List::empty();
                q2.items = List::empty();
                (p2 == q2).then_some((p.items, q.items, List::empty(), List::empty()))
            }
            (Command::Results(p), Command::Results(q)) => {
                let (mut p2, mut q2) = (p, q);
                p2.items = List::empty();
                q2.items = List::empty();
                (p2 == q2).then_some((p.items, q.items, List::empty(), List::empty()))
            }
            (Command::Atomic(p), Command::Atomic(q))
            | (Command::Sequence(p), Command::Sequence(q)) => {
                let (mut p2, mut q2) = (p, q);
                p2.commands = List::empty();
                q2.commands = List::empty();
                (p2 == q2).then_some((List::empty(), List::empty(), p.commands, q.commands))
            }
            (Command::Sync(p), Command::Sync(q)) => {
                let (mut p2, mut q2) = (p, q);
                p2.commands = List::empty();
                q2.commands = List::empty();
                (p2 == q2).then_some((List::empty(), List::empty(), p.commands, q.commands))
            }
            _ => None,
        }
        .ok_or_else(|| format!("{here}: {x:?} against {y:?}"))?;
        items_equiv(&here, ix, iy, m)?;
        commands_equiv(&here, cx, cy, m)?;
    }
    Ok(())
}

/// Compares two decodings of one message, naming the first place they differ.
fn assert_same(name: &str, ours: &Message<'_>, peer: &Message<'_>, m: DataMatch) {
    assert_eq!(ours.header, peer.header, "{name}: SyncHdr");
    assert_eq!(ours.body.is_final, peer.body.is_final, "{name}: Final");
    if let Err(diff) = commands_equiv("SyncBody", ours.body.commands, peer.body.commands, m) {
        panic!("{name}: {diff}");
    }
    if m == DataMatch::Exact {
        assert_eq!(ours, peer, "{name}");
    }
}

fn to_wbxml(msg: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0; msg.encoded_len(Encoding::Wbxml).unwrap()];
    let n = msg.encode(Encoding::Wbxml, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Checks (a) and (b) for one XML source.
fn check_xml_source(name: &str, xml: &[u8], m: DataMatch) {
    let model = codec::parse(xml).unwrap_or_else(|e| panic!("{name}: {e}"));
    // (a) libwbxml encodes, iotadm decodes.
    let peer_wbxml = peer("xml2wbxml", &["-v", "1.2"], xml, "xml", "wbxml")
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(peer_wbxml.first(), Some(&0x02), "{name}: not WBXML 1.2");
    let from_peer = codec::parse(&peer_wbxml)
        .unwrap_or_else(|e| panic!("{name}: iotadm cannot read libwbxml's WBXML: {e}"));
    assert_same(name, &model, &from_peer, m);
    // (b) iotadm encodes, libwbxml decodes.
    let ours = to_wbxml(&model);
    let peer_xml =
        peer("wbxml2xml", &[], &ours, "wbxml", "xml").unwrap_or_else(|e| panic!("{name}: {e}"));
    let theirs = xml_tree(&format!("{name} through libwbxml"), &peer_xml);
    if let Some(diff) = tree_diff(&theirs, &xml_tree(name, xml), "") {
        panic!("{name}: libwbxml reads iotadm's WBXML differently at {diff}");
    }
}

#[test]
fn corpus_xml_through_libwbxml_both_ways() {
    if !peers_available() {
        return;
    }
    let mut n = 0;
    for file in common::corpus()
        .iter()
        .filter(|f| f.libwbxml_pass && f.name.ends_with(".xml"))
    {
        check_xml_source(&file.name, &file.bytes, DataMatch::PeerRewrites);
        n += 1;
    }
    println!("libwbxml interop: {n} corpus XML messages, both directions");
    assert!(n >= 30);
}

#[test]
fn corpus_wbxml_read_alike_by_both_codecs() {
    if !peers_available() {
        return;
    }
    let mut n = 0;
    for file in common::corpus()
        .iter()
        .filter(|f| f.name.ends_with(".wbxml"))
    {
        let ours = codec::parse(&file.bytes).unwrap_or_else(|e| panic!("{}: {e}", file.name));
        let peer_xml = peer("wbxml2xml", &[], &file.bytes, "wbxml", "xml")
            .unwrap_or_else(|e| panic!("{}: {e}", file.name));
        let theirs = codec::parse(&peer_xml)
            .unwrap_or_else(|e| panic!("{}: libwbxml's XML: {e}", file.name));
        assert_same(&file.name, &ours, &theirs, DataMatch::PeerRewrites);
        n += 1;
    }
    println!("libwbxml interop: {n} corpus WBXML messages read alike");
    assert!(n >= 16);
}

#[test]
fn generated_messages_through_libwbxml_both_ways() {
    if !peers_available() {
        return;
    }
    let count: u64 = std::env::var("IOTADM_INTEROP_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // A smaller run is for a quick look, never none at all.
    assert!(
        count >= 100,
        "IOTADM_INTEROP_MESSAGES={count}: at least 100 messages are checked"
    );
    // Two workers: the time goes into starting the peer's processes.
    std::thread::scope(|s| {
        for worker in 0..2 {
            s.spawn(move || {
                for seed in (worker..count).step_by(2) {
                    let xml = common::gen::Generator::new(seed).message();
                    let name = format!("generated message {seed}");
                    check_xml_source(&name, xml.as_bytes(), DataMatch::Exact);
                }
            });
        }
    });
    println!("libwbxml interop: {count} generated messages, both directions");
}

#[test]
fn adjacent_string_tokens_from_libwbxml_concatenate() {
    if !peers_available() {
        return;
    }
    // libwbxml writes a CDATA section followed by text as two tokens (OPAQUE then STR_I)
    // inside one Data element.
    let xml = b"<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
        <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source>\
        </SyncHdr><SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>./x</LocURI></Target>\
        <Data><![CDATA[<x>&]]>y</Data></Item></Replace></SyncBody></SyncML>";
    let wbxml = peer("xml2wbxml", &["-v", "1.2", "-n"], xml, "xml", "wbxml").unwrap();
    let opaque_then_string = wbxml.windows(2).any(|w| w == [0x4F, 0xC3]);
    assert!(
        opaque_then_string,
        "libwbxml no longer splits the data: {wbxml:02x?}"
    );
    let msg = codec::parse(&wbxml).unwrap();
    assert_eq!(msg, codec::parse(xml).unwrap());
    let Some(codec::Command::Replace(r)) = msg.body.commands.first() else {
        panic!()
    };
    let data = r.items.first().unwrap().data.unwrap().content().unwrap();
    assert_eq!(data, "<x>&y");
    assert!(
        data.as_bytes().is_none(),
        "two tokens cannot be one borrowed slice"
    );
}

/// (d) Every message of a WBXML session, both ways, reads alike with libwbxml and with
/// iotadm: the session's own encoder and decoder share their token tables, so a wrong token
/// would pass every session test; libwbxml's tables are the independent reading.
#[test]
fn session_transcripts_read_alike_by_libwbxml() {
    use common::device::{cred, device, run};
    use iotadm::auth::AuthScheme;
    use iotadm::session::{Config, Initiation};
    use iotadm_host::testserver::{Account, Cmd, Script, TestServer};

    if !peers_available() {
        return;
    }
    let tnds = "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node>\
        <NodeName>Name</NodeName><RTProperties><Format><chr/></Format></RTProperties>\
        <Value>From TNDS</Value></Node></MgmtTree>";
    let script = Script::new()
        .package([
            Cmd::get("./DevInfo/Mod"),
            Cmd::get("./DevInfo?list=Struct"),
            Cmd::get("./DevDetail?list=TNDS+Format+Value"),
            Cmd::replace("./DMAcc/srv1/AppID", "w7"),
            Cmd::add("./DMAcc/srv1/PrefConRef", "ref"),
            Cmd::add_tnds("./DMAcc/srv1", tnds).unwrap(),
            Cmd::confirm("DR=1", "Go on?"),
        ])
        .package([
            Cmd::atomic([
                Cmd::replace("./DMAcc/srv1/PrefConRef", "other"),
                Cmd::delete("./DMAcc/srv1/Name"),
            ]),
            Cmd::sequence([Cmd::get("./DMAcc/srv1/PrefConRef"), Cmd::get("./Nothing")]),
        ]);
    let server = TestServer::start(
        vec![Account::new("srv1").client_md5("dev", "devpw", b"nonce-1")],
        script,
    )
    .unwrap();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Md5Digest, "dev", "devpw", b"nonce-1"),
        None,
    );
    let cfg = Config {
        encoding: Encoding::Wbxml,
        ..Config::default()
    };
    run(&mut tree, cfg, Initiation::Client).expect("session");
    let t = server.finish();
    let mut n = 0;
    for (i, record) in t.records().iter().enumerate() {
        assert_eq!(record.encoding, Encoding::Wbxml, "message {i}");
        let name = format!("session message {i} ({:?})", record.direction);
        let ours = codec::parse(&record.body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let peer_xml = peer("wbxml2xml", &[], &record.body, "wbxml", "xml")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs =
            codec::parse(&peer_xml).unwrap_or_else(|e| panic!("{name}: libwbxml's XML: {e}"));
        assert_same(&name, &ours, &theirs, DataMatch::PeerRewrites);
        n += 1;
    }
    println!("libwbxml interop: {n} messages of a WBXML session read alike");
    assert!(n >= 6, "only {n} messages");
}
