//! Tree exchange through the public API: `?list=Struct`-style walks, TNDS output checked
//! against the DDF-compiled table, TNDS input for bulk provisioning, and the DDF served
//! back, in chunks.

use iotadm::codec::{self, Command, Data};
use iotadm::codes::StatusCode;
use iotadm::flash::MemFlash;
use iotadm::tree::schema::{self, Format};
use iotadm::tree::{NoHandlers, Principal, Tree, UriLimits};

type Flash = MemFlash<Vec<u8>, 1024, 8>;
type DmTree = Tree<Flash, NoHandlers, 256, 16384, 512>;

const DEVICE: Principal<'static> = Principal::Device;
const SRV1: Principal<'static> = Principal::Server("srv1");

fn tree() -> DmTree {
    let mut f = MemFlash::new(vec![0u8; 16 * 1024]);
    f.erase_all();
    Tree::mount(f, NoHandlers, UriLimits::DEFAULT).unwrap()
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
        .add_tnds(DEVICE, "./DMAcc", tnds.events(), Some(1_750_000_000))
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
        t.add_tnds(DEVICE, "./DMAcc", tnds.events(), None),
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
        let table = schema::node(def).unwrap();
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
            let id = schema::child(def, &child_name)
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
    let acc = schema::placeholder_child(schema::child(0, "DMAcc").unwrap()).unwrap();
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
    copy.add_tnds(DEVICE, "./DMAcc", tnds.events(), Some(1_750_000_000))
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
