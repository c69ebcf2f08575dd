//! Tree exchange through the public API: `?list=Struct`-style walks, TNDS output checked
//! against the DDF-compiled table, TNDS input for bulk provisioning, and the DDF served
//! back, in chunks.

mod common;

use common::test_schema;
use iotadm::codec::{self, Command, Data};
use iotadm::codes::StatusCode;
use iotadm::flash::MemFlash;
use iotadm::schema::Format;
use iotadm::tree::{NoHandlers, Principal, Tree, TreeStorage, UriLimits};

/// Tree storage that lives as long as the test process.
fn storage<const N: usize, const A: usize, const R: usize>() -> &'static mut TreeStorage<N, A, R> {
    Box::leak(Box::new(TreeStorage::new()))
}

type Flash = MemFlash<Vec<u8>, 1024, 8>;
type DmTree = Tree<'static, Flash, NoHandlers>;

const DEVICE: Principal<'static> = Principal::Device;
const SRV1: Principal<'static> = Principal::Server("srv1");

fn tree() -> DmTree {
    let mut f = MemFlash::new(vec![0u8; 16 * 1024]);
    f.erase_all();
    Tree::mount(
        storage::<256, 16384, 512>(),
        test_schema(),
        f,
        NoHandlers,
        UriLimits::DEFAULT,
    )
    .unwrap()
}

/// A bootstrap message carrying an account as TNDS, the way a factory or smart card
/// delivers it.
const BOOTSTRAP: &str = r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>
<SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>MEID:A0000012345678</LocURI></Target>
<Source><LocURI>factory</LocURI></Source></SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item><Target><LocURI>./DMAcc</LocURI></Target>
<Meta><Format xmlns="syncml:metinf">xml</Format><Type xmlns="syncml:metinf">application/vnd.syncml.dmtnds+xml</Type></Meta>
<Data><MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
<Node><NodeName>op</NodeName><RTProperties><ACL>Add=srv1&amp;Delete=srv1&amp;Get=srv1&amp;Replace=srv1</ACL><Format><node/></Format></RTProperties>
 <Node><NodeName>AppID</NodeName><RTProperties><Format><chr/></Format></RTProperties><Value>w7</Value></Node>
 <Node><NodeName>ServerID</NodeName><Value>srv1</Value></Node>
 <Node><NodeName>Name</NodeName><RTProperties><Title>Display name</Title></RTProperties><Value>Operator &amp; Co</Value></Node>
 <Node><NodeName>AppAddr</NodeName>
  <Node><NodeName>1</NodeName><Node><NodeName>Addr</NodeName><Value>https://127.0.0.1:8443/dm</Value></Node>
   <Node><NodeName>AddrType</NodeName><Value>URI</Value></Node></Node></Node>
 <Node><NodeName>AppAuth</NodeName>
  <Node><NodeName>srv</NodeName><Node><NodeName>AAuthLevel</NodeName><Value>SRVCRED</Value></Node>
   <Node><NodeName>AAuthSecret</NodeName><Value>pa55</Value></Node></Node></Node>
</Node></MgmtTree></Data></Item></Add><Final/></SyncBody></SyncML>"#;

fn provision(t: &mut DmTree) {
    let msg = codec::parse(BOOTSTRAP.as_bytes()).unwrap();
    let Some(Command::Add(add)) = msg.body.commands.first() else {
        panic!()
    };
    let item = add.items.first().unwrap();
    let Some(Data::Xml(tnds)) = item.data else {
        panic!()
    };
    let n = t
        .add_tnds(
            DEVICE,
            "./DMAcc",
            tnds.events(),
            Some(1_750_000_000),
            &mut [0; 512],
        )
        .unwrap();
    assert_eq!(n, 12);
}

fn get(t: &mut DmTree, who: Principal<'_>, uri: &str) -> Result<String, StatusCode> {
    let mut buf = vec![0u8; 64 * 1024];
    let r = if uri.contains("?list=") {
        t.get_listing(who, uri, 0, &mut buf)?
    } else {
        t.get(who, uri, 0, &mut buf)?
    };
    assert_eq!(r.len, r.total);
    Ok(String::from_utf8(buf[..r.len].to_vec()).unwrap())
}

#[test]
fn tnds_input_provisions_an_account() {
    let mut t = tree();
    provision(&mut t);
    assert_eq!(get(&mut t, SRV1, "./DMAcc/op/ServerID").unwrap(), "srv1");
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/op/Name").unwrap(),
        "Operator & Co"
    );
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/op/Name?prop=Title").unwrap(),
        "Display name"
    );
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/op/AppAddr/1/Addr").unwrap(),
        "https://127.0.0.1:8443/dm"
    );
    assert_eq!(
        get(&mut t, DEVICE, "./DMAcc/op/AppAuth/srv/AAuthSecret").unwrap(),
        "pa55"
    );
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc/op?prop=ACL").unwrap(),
        "Add=srv1&Delete=srv1&Get=srv1&Replace=srv1"
    );
}

#[test]
fn tnds_input_is_all_or_nothing() {
    let mut t = tree();
    // The same account, with a bad value deep inside: nothing may be left behind.
    let bad = BOOTSTRAP.replace(
        "<Value>URI</Value>",
        "<Value>URI</Value></Node><Node><NodeName>Bogus</NodeName><Value>x</Value>",
    );
    let msg = codec::parse(bad.as_bytes()).unwrap();
    let Some(Command::Add(add)) = msg.body.commands.first() else {
        panic!()
    };
    let Some(Data::Xml(tnds)) = add.items.first().unwrap().data else {
        panic!()
    };
    assert_eq!(
        t.add_tnds(DEVICE, "./DMAcc", tnds.events(), None, &mut [0; 512]),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(get(&mut t, DEVICE, "./DMAcc").unwrap(), "");
    assert_eq!(t.entries_used(), 0);
}

#[test]
fn tnds_output_matches_the_ddf_and_respects_access() {
    let mut t = tree();
    provision(&mut t);
    let xml = get(&mut t, SRV1, "./DMAcc/op?list=TNDS").unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "MgmtTree");
    assert_eq!(root.tag_name().namespace(), Some("syncml:dmddf1.2"));
    let mut names = Vec::new();
    // Check each node against the table, walking the TNDS and the schema together.
    fn check(node: roxmltree::Node<'_, '_>, def: u16, uri: &str, names: &mut Vec<String>) {
        let child_text = |n: roxmltree::Node<'_, '_>, tag: &str| {
            n.children()
                .find(|c| c.has_tag_name(tag))
                .and_then(|c| c.text())
                .map(str::to_string)
        };
        let name = child_text(node, "NodeName").unwrap_or_default();
        let here = format!("{uri}/{name}");
        let table = test_schema().node(def).unwrap();
        let rt = node
            .children()
            .find(|c| c.has_tag_name("RTProperties"))
            .unwrap();
        let format = rt
            .children()
            .find(|c| c.has_tag_name("Format"))
            .and_then(|f| f.first_element_child())
            .map(|f| f.tag_name().name().to_string())
            .unwrap();
        assert_eq!(format, table.format().as_str(), "{here}");
        let ty = rt
            .children()
            .find(|c| c.has_tag_name("Type"))
            .and_then(|t| t.first_element_child());
        if !table.mime().is_empty() {
            assert_eq!(ty.and_then(|t| t.text()), Some(table.mime()), "{here}");
        }
        let has_value = node.children().any(|c| c.has_tag_name("Value"));
        assert!(!(has_value && table.format() == Format::Node), "{here}");
        names.push(here.clone());
        for child in node.children().filter(|c| c.has_tag_name("Node")) {
            let child_name = child_text(child, "NodeName").unwrap();
            let id = test_schema()
                .child(def, &child_name)
                .unwrap_or_else(|| panic!("{here}/{child_name} not in the DDF"));
            check(child, id, &here, names);
        }
    }
    let top = root.children().find(|c| c.has_tag_name("Node")).unwrap();
    assert_eq!(
        top.children()
            .find(|c| c.has_tag_name("Path"))
            .and_then(|p| p.text()),
        Some("./DMAcc")
    );
    let acc = test_schema().find("./DMAcc/<x>").unwrap();
    check(top, acc, "./DMAcc", &mut names);
    assert!(
        names.contains(&"./DMAcc/op/AppAddr/1/Addr".to_string()),
        "{names:?}"
    );
    // The secret is not readable by the server: it is not there at all.
    assert!(
        !names.iter().any(|n| n.ends_with("AAuthSecret")),
        "{names:?}"
    );
    assert!(xml.contains("<Value>Operator &amp; Co</Value>"), "{xml}");
    assert!(
        xml.contains("<ACL>Add=srv1&amp;Delete=srv1&amp;Get=srv1&amp;Replace=srv1</ACL>"),
        "{xml}"
    );
    // Only some properties, when asked.
    let slim = get(&mut t, SRV1, "./DMAcc/op?list=TNDS+Format").unwrap();
    assert!(!slim.contains("<Value>") && !slim.contains("<ACL>") && slim.contains("<Format>"));
    // The output is TNDS a device reads back: through the codec as embedded XML, into
    // a fresh tree, to the same document.
    let msg = BOOTSTRAP.replace(
        &BOOTSTRAP[BOOTSTRAP.find("<MgmtTree").unwrap()..BOOTSTRAP.find("</Data>").unwrap()],
        &get(&mut t, DEVICE, "./DMAcc/op?list=TNDS").unwrap(),
    );
    let parsed = codec::parse(msg.as_bytes()).unwrap();
    let Some(Command::Add(add)) = parsed.body.commands.first() else {
        panic!()
    };
    let Some(Data::Xml(tnds)) = add.items.first().unwrap().data else {
        panic!()
    };
    let mut copy = tree();
    copy.add_tnds(
        DEVICE,
        "./DMAcc",
        tnds.events(),
        Some(1_750_000_000),
        &mut [0; 512],
    )
    .unwrap();
    // Timestamps and version numbers record when and how often; the rest must agree.
    let strip = |s: String| {
        let mut out = s;
        for (open, close) in [("<TStamp>", "</TStamp>"), ("<VerNo>", "</VerNo>")] {
            while let Some(a) = out.find(open) {
                let b = a + out[a..].find(close).unwrap() + close.len();
                out.replace_range(a..b, "");
            }
        }
        out
    };
    assert_eq!(
        strip(get(&mut copy, DEVICE, "./DMAcc/op?list=TNDS").unwrap()),
        strip(get(&mut t, DEVICE, "./DMAcc/op?list=TNDS").unwrap())
    );
}

/// A node's title is its own when one was set, else its DDF's, also once the node has a
/// run-time entry (its value).
#[test]
fn the_ddf_title_shows_until_the_node_has_its_own() {
    let mut t = tree();
    t.add(DEVICE, "./Test/t", None, None, None).unwrap();
    t.add(DEVICE, "./Test/t/Chr", Some(b"x"), None, None)
        .unwrap();
    assert_eq!(
        get(&mut t, DEVICE, "./Test/t/Chr?prop=Title").unwrap(),
        "A text value"
    );
    t.replace(DEVICE, "./Test/t/Chr?prop=Title", b"Mine", None, None)
        .unwrap();
    assert_eq!(
        get(&mut t, DEVICE, "./Test/t/Chr?prop=Title").unwrap(),
        "Mine"
    );
}

/// A node's ACL in TNDS is its own when one was set, else its DDF's, also when the node
/// has a run-time entry for another reason (`./DMAcc` records the accounts added under it).
#[test]
fn tnds_gives_the_ddf_acl_of_a_node_without_its_own() {
    let mut t = tree();
    provision(&mut t);
    assert!(t.entries_used() > 0);
    let xml = get(&mut t, DEVICE, "./DMAcc?list=TNDS+ACL").unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let top = doc
        .root_element()
        .children()
        .find(|c| c.has_tag_name("Node"))
        .unwrap();
    let acl = top
        .children()
        .find(|c| c.has_tag_name("RTProperties"))
        .and_then(|rt| rt.children().find(|c| c.has_tag_name("ACL")))
        .and_then(|a| a.text());
    assert_eq!(acl, Some("Exec=*"), "{xml}");
}

#[test]
fn struct_walks_list_what_the_server_may_read() {
    let mut t = tree();
    provision(&mut t);
    let mut seen = Vec::new();
    let acc = t.find(&t.parse_uri("./DMAcc/op").unwrap()).unwrap();
    t.walk(SRV1, acc, false, |h, _| {
        let mut uri = String::new();
        t.write_uri(h, &mut uri).unwrap();
        seen.push(uri);
        true
    })
    .unwrap();
    assert_eq!(seen[0], "./DMAcc/op");
    for expected in [
        "./DMAcc/op/AppID",
        "./DMAcc/op/AppAddr/1/Addr",
        "./DMAcc/op/AppAuth/srv/AAuthLevel",
    ] {
        assert!(seen.iter().any(|s| s == expected), "{expected} in {seen:?}");
    }
    assert!(!seen.iter().any(|s| s.ends_with("AAuthSecret")));
    // Every URI listed resolves, and is unique.
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len());
}

#[test]
fn documents_go_out_in_chunks() {
    let mut t = tree();
    provision(&mut t);
    let whole = get(&mut t, DEVICE, ".?list=TNDS").unwrap();
    let mut joined = Vec::new();
    let mut chunk = [0u8; 97];
    loop {
        let r = t
            .get_listing(DEVICE, ".?list=TNDS", joined.len(), &mut chunk)
            .unwrap();
        assert_eq!(r.total, whole.len());
        joined.extend_from_slice(&chunk[..r.len]);
        if joined.len() == r.total {
            break;
        }
    }
    assert_eq!(String::from_utf8(joined).unwrap(), whole);
}

#[test]
fn the_ddf_is_served() {
    let mut t = tree();
    let ddf = get(&mut t, SRV1, "./DevInfo?list=DDF").unwrap();
    let doc = roxmltree::Document::parse(&ddf).unwrap();
    let names: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("NodeName"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        names,
        ["DevInfo", "DevId", "Man", "Mod", "DmV", "Lang", "Ext"]
    );
    assert!(ddf.contains("<DDFName>urn:oma:mo:oma-dm-devinfo:1.0</DDFName>"));
    // Reading the DDF of an object needs Get on it, like any read.
    assert_eq!(
        get(&mut t, SRV1, "./DMAcc?list=DDF"),
        Err(StatusCode::PermissionDenied)
    );
}

/// The item `tnds` as the data of an `Add` to `./` in a message of `encoding`, decoded back:
/// TNDS as a server sends it, embedded XML in XML and a nested document in WBXML.
fn through_message(tnds: &str, encoding: codec::Encoding) -> Vec<u8> {
    let xml = format!(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
         <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>dev</LocURI></Target>\
         <Source><LocURI>srv</LocURI></Source></SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item>\
         <Target><LocURI>.</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">xml</Format>\
         <Type xmlns=\"syncml:metinf\">application/vnd.syncml.dmtnds+xml</Type></Meta>\
         <Data>{tnds}</Data></Item></Add><Final/></SyncBody></SyncML>"
    );
    let msg = codec::parse(xml.as_bytes()).unwrap();
    let mut buf = vec![0u8; msg.encoded_len(encoding).unwrap()];
    let n = msg.encode(encoding, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Adds the TNDS carried by `message` (from [`through_message`]) as `who`.
fn add_tnds_from(t: &mut DmTree, who: Principal<'_>, message: &[u8]) -> Result<usize, StatusCode> {
    let msg = codec::parse(message).unwrap();
    let Some(Command::Add(add)) = msg.body.commands.first() else {
        panic!("no Add")
    };
    let Some(Data::Xml(tnds)) = add.items.first().unwrap().data else {
        panic!("no TNDS")
    };
    t.add_tnds(who, ".", tnds.events(), None, &mut [0; 512])
}

fn read_bytes(t: &mut DmTree, uri: &str) -> Result<Vec<u8>, StatusCode> {
    let mut buf = vec![0u8; 4096];
    let r = t.get(DEVICE, uri, 0, &mut buf)?;
    buf.truncate(r.len);
    Ok(buf)
}

/// TND §7.7.2: binary data is `bin` in the tree and travels in XML as Base64. A TNDS leaf
/// of a `bin` node is read as Base64 whether its Format says `b64` or `bin`, the tree keeps
/// the bytes (its Format property stays `bin`), and the tree's own TNDS writes them back as
/// Base64 with the Format `b64` and the decoded Size.
#[test]
fn binary_values_in_tnds_are_base64_on_the_wire_and_bytes_in_the_tree() {
    let nonce = [0u8, 1, 2, 0xFE, 0xFF];
    for (format, encoding) in [
        ("b64", codec::Encoding::Xml),
        ("bin", codec::Encoding::Xml),
        ("b64", codec::Encoding::Wbxml),
    ] {
        let tnds = format!(
            "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node><NodeName>acc</NodeName>\
             <Path>./DMAcc</Path><Node><NodeName>ServerID</NodeName><Value>srvB</Value></Node>\
             <Node><NodeName>AppAuth</NodeName><Node><NodeName>s</NodeName>\
             <Node><NodeName>AAuthLevel</NodeName><Value>SRVCRED</Value></Node>\
             <Node><NodeName>AAuthData</NodeName><RTProperties><Format><{format}/></Format>\
             </RTProperties><Value>AAEC/v8=</Value></Node></Node></Node></Node></MgmtTree>"
        );
        let mut t = tree();
        add_tnds_from(&mut t, DEVICE, &through_message(&tnds, encoding))
            .unwrap_or_else(|e| panic!("{format} in {encoding:?}: {e:?}"));
        let data = "./DMAcc/acc/AppAuth/s/AAuthData";
        assert_eq!(read_bytes(&mut t, data).unwrap(), nonce, "{format}");
        assert_eq!(
            read_bytes(&mut t, &format!("{data}?prop=Format")).unwrap(),
            b"bin"
        );
        assert_eq!(
            read_bytes(&mut t, &format!("{data}?prop=Size")).unwrap(),
            b"5"
        );
        let out = get(
            &mut t,
            DEVICE,
            &format!("{data}?list=TNDS+Format+Size+Value"),
        )
        .unwrap();
        assert!(
            out.contains(
                "<Format><b64/></Format><Size>5</Size></RTProperties><Value>AAEC/v8=</Value>"
            ),
            "{out}"
        );
    }
    // Not Base64: refused as a whole, nothing stored.
    let bad = "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node><NodeName>acc</NodeName>\
        <Path>./DMAcc</Path><Node><NodeName>AppAuth</NodeName><Node><NodeName>s</NodeName>\
        <Node><NodeName>AAuthData</NodeName><Value>not*base64</Value></Node></Node></Node></Node></MgmtTree>";
    let mut t = tree();
    assert_eq!(
        add_tnds_from(&mut t, DEVICE, &through_message(bad, codec::Encoding::Xml)),
        Err(StatusCode::BadRequest)
    );
    assert_eq!(read_bytes(&mut t, "./DMAcc/acc"), Err(StatusCode::NotFound));
}

/// A node's value is the one Get reads, whoever keeps it: the URI limits of DevDetail,
/// which the tree computes, are in TNDS as they are through Get.
#[test]
fn tnds_values_are_those_get_reads() {
    let mut t = tree();
    let out = get(&mut t, SRV1, "./DevDetail/URI?list=TNDS+Format+Value").unwrap();
    for (leaf, value) in [
        ("MaxDepth", "16"),
        ("MaxTotLen", "255"),
        ("MaxSegLen", "64"),
    ] {
        let uri = format!("./DevDetail/URI/{leaf}");
        assert_eq!(get(&mut t, SRV1, &uri).unwrap(), value);
        let node = format!(
            "<Node><NodeName>{leaf}</NodeName><RTProperties><Format><chr/></Format></RTProperties><Value>{value}</Value></Node>"
        );
        assert!(out.contains(&node), "{leaf} missing its value in {out}");
    }
}

/// A tiny deterministic generator (xorshift), so that every run checks the same cases.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, max: u64) -> Vec<u8> {
        (0..self.below(max + 1))
            .map(|_| self.next() as u8)
            .collect()
    }

    fn text(&mut self, max: u64) -> String {
        const PIECES: &[&str] = &[
            "a", "Z", "0", " ", "&", "<", ">", "\"", "'", "é", "€", "/", "%", "x y",
        ];
        let s: String = (0..self.below(max + 1))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect();
        s
    }
}

/// One value of the format of `leaf` (a leaf of `./Test/<x>`), as stored.
fn value_for(g: &mut Gen, leaf: &str) -> Vec<u8> {
    use base64::Engine as _;
    let text = match leaf {
        "Chr" | "Leaf" => g.text(12),
        "Int" => (g.next() as i32).to_string(),
        "Bool" => ["true", "false"][g.below(2) as usize].to_string(),
        "Bin" => return g.bytes(40),
        "B64" => base64::engine::general_purpose::STANDARD.encode(g.bytes(30)),
        "Float" => {
            ["1.5", "-2.25e3", "0", "INF", "-INF", "NaN", "3e-7"][g.below(7) as usize].to_string()
        }
        "Date" => format!(
            "20{:02}-{:02}-{:02}",
            g.below(100),
            1 + g.below(12),
            1 + g.below(28)
        ),
        "Time" => format!("{:02}:{:02}:{:02}Z", g.below(24), g.below(60), g.below(60)),
        "Null" => String::new(),
        other => panic!("{other}"),
    };
    text.into_bytes()
}

const TEST_LEAVES: &[&str] = &[
    "Chr", "Int", "Bool", "Bin", "B64", "Float", "Date", "Time", "Null",
];

/// A populated `./Test`: instances with a random subset of leaves of every format, the
/// interior `Sub` with its leaf, and ACLs on some nodes. Returns what was stored.
fn populate(t: &mut DmTree, g: &mut Gen) -> Vec<(String, Vec<u8>)> {
    let mut stored = Vec::new();
    for i in 0..1 + g.below(3) {
        let x = format!("./Test/i{i}");
        t.add(DEVICE, &x, None, Some(Format::Node), None).unwrap();
        for leaf in TEST_LEAVES {
            if g.below(4) == 0 {
                continue;
            }
            let uri = format!("{x}/{leaf}");
            let v = value_for(g, leaf);
            t.add(DEVICE, &uri, Some(&v), None, None)
                .unwrap_or_else(|e| panic!("{uri} = {v:?}: {e:?}"));
            stored.push((uri, v));
        }
        if g.below(2) == 0 {
            let uri = format!("{x}/Sub/Leaf");
            let v = value_for(g, "Leaf");
            t.add(DEVICE, &uri, Some(&v), None, None).unwrap();
            stored.push((uri, v));
        }
        if g.below(2) == 0 {
            let acl = [
                "Get=srv1",
                "Get=srv1+srv2&Replace=srv2",
                "Add=*&Get=*&Delete=srv9",
            ][g.below(3) as usize];
            t.replace(DEVICE, &format!("{x}?prop=ACL"), acl.as_bytes(), None, None)
                .unwrap();
        }
    }
    stored
}

/// A node as read back: URI, value, Format and ACL.
type Seen = (String, Vec<u8>, Vec<u8>, Vec<u8>);

/// Every node of a subtree as `(uri, value, Format, ACL)`, read as the device.
fn inventory(t: &mut DmTree, stored: &[(String, Vec<u8>)]) -> Vec<Seen> {
    let mut out = Vec::new();
    for (uri, _) in stored {
        out.push((
            uri.clone(),
            read_bytes(t, uri).unwrap_or_else(|e| panic!("{uri}: {e:?}")),
            read_bytes(t, &format!("{uri}?prop=Format")).unwrap(),
            read_bytes(t, &format!("{uri}?prop=ACL")).unwrap(),
        ));
        let parent = &uri[..uri.rfind('/').unwrap()];
        out.push((
            parent.to_string(),
            Vec::new(),
            read_bytes(t, &format!("{parent}?prop=Format")).unwrap(),
            read_bytes(t, &format!("{parent}?prop=ACL")).unwrap(),
        ));
    }
    out
}

/// TNDS export then import is the identity, for every format a node can have (chr, int,
/// bool, bin, b64, float, date, time, null, interior nodes), with ACLs: the subtree listed
/// with `?list=TNDS+ACL+Format+Value` and added into a fresh tree gives the same values,
/// formats and ACLs, and the same listing; the same when the document travels in WBXML.
#[test]
fn tnds_export_then_import_is_the_identity_for_every_format() {
    let mut cases = 0;
    for seed in 1..=60u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut original = tree();
        let stored = populate(&mut original, &mut g);
        for (uri, v) in &stored {
            assert_eq!(
                &read_bytes(&mut original, uri).unwrap(),
                v,
                "{uri} as stored"
            );
        }
        let listing = get(&mut original, DEVICE, "./Test?list=TNDS+ACL+Format+Value").unwrap();
        let expected = inventory(&mut original, &stored);
        for encoding in [codec::Encoding::Xml, codec::Encoding::Wbxml] {
            let mut copy = tree();
            add_tnds_from(&mut copy, DEVICE, &through_message(&listing, encoding))
                .unwrap_or_else(|e| panic!("seed {seed} {encoding:?}: {e:?}\n{listing}"));
            assert_eq!(
                inventory(&mut copy, &stored),
                expected,
                "seed {seed} {encoding:?}\n{listing}"
            );
            assert_eq!(
                get(&mut copy, DEVICE, "./Test?list=TNDS+ACL+Format+Value").unwrap(),
                listing,
                "seed {seed} {encoding:?}"
            );
            cases += 1;
        }
    }
    assert!(cases >= 120);
}
