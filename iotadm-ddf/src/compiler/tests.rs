//! Tests of reading, checking and placing DDF documents, and of the generated text as a
//! whole; the identifier rules are tested beside them in `emit.rs`.

use super::*;
use crate::types::{AccessSet, Format, Occurrence, Scope};

const DEVINFO: &str = include_str!("../../ddf/DevInfo.xml");
const DEVDETAIL: &str = include_str!("../../ddf/DevDetail.xml");
const DMACC: &str = include_str!("../../ddf/DMAcc.xml");

const LEAF: &str = "<AccessType><Get/></AccessType><DFFormat><chr/></DFFormat>\
                    <DFType><MIME>text/plain</MIME></DFType>";
const INTERIOR: &str = "<AccessType><Get/></AccessType><DFFormat><node/></DFFormat>\
                        <Scope><Permanent/></Scope><DFType><DDFName/></DFType>";
const PLACEHOLDER: &str = "<AccessType><Add/><Get/></AccessType><DFFormat><node/></DFFormat>\
                           <Occurrence><ZeroOrMore/></Occurrence><Scope><Dynamic/></Scope>\
                           <DFType><DDFName/></DFType>";

fn node(name: &str, props: &str, children: &str) -> String {
    format!(
        "<Node><NodeName>{name}</NodeName><DFProperties>{props}</DFProperties>{children}</Node>"
    )
}

fn doc(nodes: &str) -> String {
    format!("<MgmtTree><VerDTD>1.2</VerDTD>{nodes}</MgmtTree>")
}

fn compile_all(docs: &[(&str, &str)]) -> Result<Compiled, DdfError> {
    let sources: Vec<(String, String)> = docs
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    compile(&sources)
}

fn standard() -> Result<Compiled, DdfError> {
    compile_all(&[
        ("ddf/DMAcc.xml", DMACC),
        ("ddf/DevDetail.xml", DEVDETAIL),
        ("ddf/DevInfo.xml", DEVINFO),
    ])
}

/// The error for a one-document tree whose top-level node `A` holds `children`.
fn error_under_a(children: &str) -> String {
    let text = doc(&node("A", INTERIOR, children));
    compile_all(&[("t.xml", &text)]).unwrap_err().to_string()
}

fn error_for_leaf(props: &str) -> String {
    error_under_a(&node("L", props, ""))
}

/// The set of the commands named.
fn access(names: &[&str]) -> AccessSet {
    names
        .iter()
        .map(|n| AccessSet::from_command(n).unwrap())
        .fold(AccessSet::NONE, AccessSet::union)
}

fn at<'s>(schema: &'s Compiled, uri: &str) -> &'s CompiledNode {
    schema
        .nodes
        .iter()
        .find(|n| n.uri == uri)
        .unwrap_or_else(|| panic!("no node {uri}"))
}

#[test]
fn compiles_the_standard_objects() {
    let s = standard().unwrap();
    assert_eq!(s.nodes.len(), 45);
    assert_eq!(s.max_depth, 7);
    let files: Vec<&str> = s.documents.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(
        files,
        ["ddf/DMAcc.xml", "ddf/DevDetail.xml", "ddf/DevInfo.xml"]
    );
    for d in &s.documents {
        assert_eq!((d.ver_dtd.as_str(), d.man.as_str()), ("1.2", "iotadm"));
    }

    let root = &s.nodes[0];
    assert_eq!((root.name.as_str(), root.uri.as_str()), (".", "."));
    assert_eq!(root.props.acl.as_deref(), Some(ROOT_ACL));
    assert_eq!(root.props.access, access(&["Add", "Get"]));

    let dmacc = at(&s, "./DMAcc");
    assert_eq!(dmacc.props.scope, Scope::Permanent);
    assert_eq!(dmacc.props.acl.as_deref(), Some("Exec=*"));
    let account = at(&s, "./DMAcc/<x>");
    assert_eq!(account.props.mime, "urn:oma:mo:oma-dm-dmacc:1.0");
    assert_eq!(account.props.occurrence, Occurrence::OneOrMore);
    assert_eq!(account.props.acl, None);
    assert_eq!(
        at(&s, "./DevInfo").props.mime,
        "urn:oma:mo:oma-dm-devinfo:1.0"
    );
    assert_eq!(at(&s, "./DevInfo").props.acl.as_deref(), Some("Get=*"));
    assert_eq!(
        at(&s, "./DevDetail").props.mime,
        "urn:oma:mo:oma-dm-devdetail:1.0"
    );
    assert_eq!(at(&s, "./DevDetail/LrgObj").props.format, Format::Bool);

    let secret = at(&s, "./DMAcc/<x>/AppAuth/<x>/AAuthSecret");
    assert_eq!(secret.props.access, access(&["Add", "Delete", "Replace"]));
    let data = at(&s, "./DMAcc/<x>/AppAuth/<x>/AAuthData");
    assert_eq!(data.props.format, Format::Bin);
    assert!(!data.props.access.names().any(|c| c == "Get"));
    let port = at(&s, "./DMAcc/<x>/AppAddr/<x>/Port/<x>/PortNbr");
    assert_eq!(port.props.occurrence, Occurrence::One);
    assert_eq!(
        at(&s, "./DMAcc/<x>/AppAddr/<x>/AddrType")
            .props
            .default_value
            .as_deref(),
        Some("URI")
    );
    assert_eq!(
        at(&s, "./DMAcc/<x>/AppID").props.default_value.as_deref(),
        Some("w7")
    );
    for n in s.nodes.iter().filter(|n| n.name.is_empty()) {
        assert_eq!(n.props.scope, Scope::Dynamic, "{}", n.uri);
    }
    for n in s.nodes.iter().filter(|n| n.uri.starts_with("./DMAcc/")) {
        assert_eq!(n.props.scope, Scope::Dynamic, "{}", n.uri);
    }
    for n in s.nodes.iter().filter(|n| n.uri.starts_with("./Dev")) {
        assert_eq!(n.props.scope, Scope::Permanent, "{}", n.uri);
        assert_eq!(n.props.access, access(&["Get"]), "{}", n.uri);
    }
}

#[test]
fn valid_document_gives_the_expected_table() {
    let text = doc(&format!(
        "<Man>Acme</Man><Mod>X1</Mod>{}",
        node(
            "A",
            "<AccessType><Get/><Replace/></AccessType><Description>\n  Top\n  node  </Description>\
             <DFFormat><node/></DFFormat><Scope><Permanent/></Scope><DFTitle>The A</DFTitle>\
             <DFType><DDFName>com.acme/1.0/A</DDFName></DFType>",
            &format!(
                "{}{}",
                node(
                    "B",
                    "<AccessType><Get/></AccessType><DefaultValue>42</DefaultValue>\
                     <DFFormat><int/></DFFormat><Occurrence><ZeroOrOne/></Occurrence>\
                     <DFType><MIME>text/plain</MIME></DFType><CaseSense><CIS/></CaseSense>",
                    ""
                ),
                node(
                    "",
                    "<AccessType><Add/><Delete/><Get/></AccessType><DFFormat><node/></DFFormat>\
                     <Occurrence><ZeroOrN>5</ZeroOrN></Occurrence><Scope><Dynamic/></Scope>\
                     <DFType><DDFName/></DFType>",
                    &node("C", LEAF, "")
                )
            )
        )
    ));
    let s = compile_all(&[("t.xml", &text)]).unwrap();
    type Links<'a> = (
        &'a str,
        &'a str,
        Option<usize>,
        Option<usize>,
        Option<usize>,
        usize,
    );
    let summary: Vec<Links> = s
        .nodes
        .iter()
        .map(|n| {
            (
                n.name.as_str(),
                n.uri.as_str(),
                n.parent,
                n.first_child,
                n.next_sibling,
                n.subtree_end,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (".", ".", None, Some(1), None, 5),
            ("A", "./A", Some(0), Some(2), None, 5),
            ("B", "./A/B", Some(1), None, Some(3), 3),
            ("", "./A/<x>", Some(1), Some(4), None, 5),
            ("C", "./A/<x>/C", Some(3), None, None, 5),
        ]
    );
    let a = &s.nodes[1].props;
    assert_eq!(a.access, access(&["Get", "Replace"]));
    assert_eq!(a.description, "Top node");
    assert_eq!(a.title, "The A");
    assert_eq!(a.mime, "com.acme/1.0/A");
    assert_eq!(a.scope, Scope::Permanent);
    let b = &s.nodes[2].props;
    assert_eq!(
        (b.format, b.occurrence, b.scope, b.case_sensitive),
        (Format::Int, Occurrence::ZeroOrOne, Scope::Dynamic, false)
    );
    assert_eq!(b.default_value.as_deref(), Some("42"));
    assert_eq!(s.nodes[3].props.occurrence, Occurrence::ZeroOrN(5));
    // Defaults when DFProperties leaves them out: One, Dynamic, CS.
    let c = &s.nodes[4].props;
    assert_eq!(
        (c.occurrence, c.scope, c.case_sensitive),
        (Occurrence::One, Scope::Dynamic, true)
    );
    assert_eq!(
        s.nodes.iter().map(|n| n.document).collect::<Vec<_>>(),
        [None, Some(0), Some(0), Some(0), Some(0)]
    );
    assert_eq!(
        s.documents,
        [CompiledDocument {
            file: "t.xml".to_owned(),
            root: 1,
            man: "Acme".to_owned(),
            model: "X1".to_owned(),
            ver_dtd: "1.2".to_owned(),
        }]
    );

    let rust = s.to_rust(&Generate::default()).unwrap();
    assert!(rust.starts_with(
        "// @generated by iotadm-ddf from the DDF documents below; edit those, not this file.\n\
         //   t.xml\n\n"
    ));
    assert!(rust.contains(
        "pub static SCHEMA: ::iotadm::schema::Schema = ::iotadm::schema::Schema::from_parts(\n    \
         &SCHEMA_NODES,\n    &SCHEMA_NODE_STRINGS,\n    SCHEMA_STRINGS,\n    \
         ::iotadm::schema::StringOffsets::Narrow(&SCHEMA_STRING_OFFSETS),\n    \
         &SCHEMA_DOCUMENTS,\n    3,\n    true,\n);\n"
    ));
    // Names first, then each node's other strings, then the documents', each string once.
    assert!(rust.contains(
        "static SCHEMA_STRINGS: &str = concat!(\n    \".\", // 0\n    \"A\", // 1\n    \
         \"B\", // 2\n    \"\", // 3\n    \"C\", // 4\n    \"Add=*&Get=*\", // 5\n    \
         \"com.acme/1.0/A\", // 6\n    \"The A\", // 7\n    \"Top node\", // 8\n    \
         \"text/plain\", // 9\n    \"42\", // 10\n    \"Acme\", // 11\n    \"X1\", // 12\n    \
         \"1.2\", // 13\n);\n"
    ));
    assert!(rust.contains(
        "static SCHEMA_STRING_OFFSETS: [u16; 15] = [\n    \
         0, 1, 2, 3, 3, 4, 15, 29, 34, 42, 52, 54, 58, 60, 63,\n];\n"
    ));
    assert!(rust.contains("static SCHEMA_NODES: [::iotadm::schema::NodeDef; 5] = {\n"));
    let key = uri_key("./A/B");
    assert!(rust.contains(&format!(
        "        // 2: ./A/B\n        NodeDef::new(NodeSpec {{\n            name: 2,\n            \
         parent: 1,\n            first_child: NO_NODE,\n            subtree_end: 3,\n            \
         format: Format::Int,\n            access: AccessSet::GET,\n            \
         occurrence: Occurrence::ZeroOrOne,\n            scope: Scope::Dynamic,\n            \
         case_sensitive: false,\n            strings: 2,\n            document: 0,\n            \
         key: {:#06x}_{:04x},\n        }}),\n",
        key >> 16,
        key & 0xffff
    )));
    // Each distinct row of a node's other strings once, in the order nodes first use them.
    assert!(rust.contains("static SCHEMA_NODE_STRINGS: [::iotadm::schema::NodeStrings; 5] = {\n"));
    assert!(rust.contains(
        "        // 2\n        NodeStrings {\n            default_value: 10,\n            \
         mime: 9,\n            title: 3,\n            description: 3,\n            \
         acl: NO_STRING,\n        },\n"
    ));
    assert!(rust.contains("occurrence: Occurrence::ZeroOrN(5),\n"));
    assert!(rust.contains(
        "access: AccessSet::ADD\n                .union(AccessSet::DELETE)\n                \
         .union(AccessSet::GET),\n"
    ));
    assert!(rust.contains(
        "    // 0: t.xml\n    ::iotadm::schema::DocumentDef {\n        root: 1,\n        \
         man: 11,\n        model: 12,\n        ver_dtd: 13,\n    },\n"
    ));
    assert_eq!(
        rust,
        compile_all(&[("t.xml", &text)])
            .unwrap()
            .to_rust(&Generate::default())
            .unwrap()
    );

    // Without titles and descriptions, their strings are gone from the pool.
    let mut bare = s.clone();
    bare.drop_descriptions();
    assert!(bare.nodes.iter().all(|n| n.props.title.is_empty()));
    let rust = bare.to_rust(&Generate::default()).unwrap();
    assert!(rust.contains("    3,\n    false,\n);\n"));
    assert!(!rust.contains("The A") && !rust.contains("Top node"));
    assert!(rust.contains("static SCHEMA_STRING_OFFSETS: [u16; 13] = ["));
    assert_eq!(bare.nodes[1].props.mime, "com.acme/1.0/A");
}

#[test]
fn strings_are_emitted_as_valid_literals() {
    let text = doc(&node(
        "A",
        "<AccessType><Get/></AccessType><Description>say \"hi\" \\ ok</Description>\
         <DFFormat><node/></DFFormat><DFType><DDFName/></DFType>",
        "",
    ));
    let rust = compile_all(&[("t.xml", &text)])
        .unwrap()
        .to_rust(&Generate::default())
        .unwrap();
    assert!(rust.contains(r#"    "say \"hi\" \\ ok", // "#));
}

#[test]
fn pools_each_string_once() {
    // Two leaves share a MIME type, a default value and an ACL; one's default value is
    // another's name.
    let leaf = |name: &str, default: &str| {
        node(
            name,
            &LEAF.replace(
                "<DFFormat>",
                &format!("<DefaultValue>{default}</DefaultValue><DFFormat>"),
            ),
            "",
        )
        .replace(
            "</DFProperties>",
            "</DFProperties><RTProperties><ACL>Get=*</ACL></RTProperties>",
        )
    };
    let text = doc(&node(
        "A",
        INTERIOR,
        &format!("{}{}", leaf("L1", "L2"), leaf("L2", "L2")),
    ));
    let rust = compile_all(&[("t.xml", &text)])
        .unwrap()
        .to_rust(&Generate::default())
        .unwrap();
    for s in ["\"L2\"", "\"text/plain\"", "\"Get=*\""] {
        assert_eq!(rust.matches(&format!("    {s}, // ")).count(), 1, "{s}");
    }
    // ".", "A", "L1", "L2", "", "Add=*&Get=*", "text/plain", "Get=*", "1.2"
    assert!(rust.contains("static SCHEMA_STRING_OFFSETS: [u16; 10] = [\n"));
    // The two leaves share one row of strings.
    assert_eq!(rust.matches("default_value: 3,\n").count(), 1);
    assert_eq!(rust.matches("acl: 7,\n").count(), 1);
    assert_eq!(rust.matches("strings: 2,\n").count(), 2);
}

#[test]
fn sizes_string_offsets_to_the_pool() {
    let long = "d".repeat(40_000);
    let leaves = |first: &str, second: &str| {
        let with = |d: &str| {
            LEAF.replace(
                "<DFFormat>",
                &format!("<Description>{d}</Description><DFFormat>"),
            )
        };
        format!(
            "{}{}",
            node("L1", &with(first), ""),
            node("L2", &with(second), "")
        )
    };
    // 80,000 bytes of descriptions need 32-bit offsets...
    let text = doc(&node(
        "A",
        INTERIOR,
        &leaves(&long, &long.replace('d', "e")),
    ));
    let s = compile_all(&[("t.xml", &text)]).unwrap();
    assert!(s
        .to_rust(&Generate::default())
        .unwrap()
        .contains("static SCHEMA_STRING_OFFSETS: [u32; "));
    // ...unless they are left out, or are the same string.
    let mut bare = s.clone();
    bare.drop_descriptions();
    assert!(bare
        .to_rust(&Generate::default())
        .unwrap()
        .contains("static SCHEMA_STRING_OFFSETS: [u16; "));
    let text = doc(&node("A", INTERIOR, &leaves(&long, &long)));
    let s = compile_all(&[("t.xml", &text)]).unwrap();
    assert!(s
        .to_rust(&Generate::default())
        .unwrap()
        .contains("static SCHEMA_STRING_OFFSETS: [u16; "));
}

#[test]
fn limits_the_number_of_strings() {
    let leaves: String = (0..3).map(|i| node(&format!("L{i}"), LEAF, "")).collect();
    let text = doc(&node("A", INTERIOR, &leaves));
    let with_limit = |max_strings: usize, descriptions: bool, text: &str| {
        let mut c = Compiler::new();
        c.max_strings = max_strings;
        c.descriptions(descriptions);
        c.add_document("t.xml", text).unwrap();
        c.finish()
    };
    // ".", "A", "L0", "L1", "L2", "", "Add=*&Get=*", "text/plain", "1.2"
    assert!(with_limit(9, true, &text).is_ok());
    let err = with_limit(8, true, &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the schema holds 9 distinct strings, more than the 8 its string ids can number; \
         leave titles and descriptions out (Builder::descriptions(false))"
    );
    assert_eq!((err.file.as_str(), err.node.as_deref()), ("", None));
    // Leaving the descriptions out before the check keeps them out of the count.
    let described = text.replacen(
        "<DFFormat>",
        "<Description>Ten strings</Description><DFFormat>",
        1,
    );
    assert!(with_limit(9, true, &described).is_err());
    assert!(with_limit(9, false, &described).is_ok());
}

#[test]
fn paths_attach_across_documents_in_any_order() {
    // The vendor document comes first but attaches under nodes of the later ones,
    // one of them below a placeholder.
    let vendor = format!(
        "<MgmtTree><VerDTD>1.2</VerDTD>{}{}</MgmtTree>",
        node("Acme", INTERIOR, &node("Color", LEAF, "")).replacen(
            "<NodeName>Acme</NodeName>",
            "<NodeName>Acme</NodeName><Path>./DevInfo/Ext</Path>",
            1
        ),
        node("Flag", LEAF, "").replacen(
            "<NodeName>Flag</NodeName>",
            "<NodeName>Flag</NodeName><Path>DMAcc/&lt;x&gt;/Ext/</Path>",
            1
        ),
    );
    let s = compile_all(&[
        ("ddf/Acme.xml", &vendor),
        ("ddf/DMAcc.xml", DMACC),
        ("ddf/DevDetail.xml", DEVDETAIL),
        ("ddf/DevInfo.xml", DEVINFO),
    ])
    .unwrap();
    assert_eq!(s.nodes.len(), 48);
    assert_eq!(at(&s, "./DevInfo/Ext/Acme/Color").document, Some(0));
    assert_eq!(at(&s, "./DMAcc/<x>/Ext/Flag").document, Some(0));
    assert_eq!(at(&s, "./DevInfo/Ext").document, Some(3));
    // Preorder keeps each subtree contiguous even when it came from two documents.
    let ext = s
        .nodes
        .iter()
        .position(|n| n.uri == "./DevInfo/Ext")
        .unwrap();
    assert_eq!(s.nodes[ext].subtree_end, ext + 3);
    assert_eq!(s.documents[0].root, ext + 1);
}

#[test]
fn reports_file_node_and_line() {
    // Give AAuthType, and only it, a format DM does not have.
    let mut lines: Vec<String> = DMACC.lines().map(str::to_owned).collect();
    let name_line = lines
        .iter()
        .position(|l| l.contains("<NodeName>AAuthType</NodeName>"))
        .unwrap();
    let format_line = name_line
        + lines[name_line..]
            .iter()
            .position(|l| l.contains("<DFFormat><chr/></DFFormat>"))
            .unwrap();
    lines[format_line] = lines[format_line].replace("<chr/>", "<string/>");
    let broken = lines.join("\n");
    let err = compile_all(&[("ddf/DMAcc.xml", &broken)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "ddf/DMAcc.xml: node ./DMAcc/<x>/AppAuth/<x>/AAuthType: unknown DFFormat \
             \"string\" (line {})",
            format_line + 1
        )
    );
    assert_eq!(err.file, "ddf/DMAcc.xml");
    assert_eq!(
        err.node.as_deref(),
        Some("./DMAcc/<x>/AppAuth/<x>/AAuthType")
    );
    assert_eq!(err.line, u32::try_from(format_line + 1).ok());
}

#[test]
fn refuses_bad_formats() {
    assert_eq!(
        error_for_leaf("<AccessType/><DFType><MIME>text/plain</MIME></DFType>"),
        "t.xml: node ./A/L: missing <DFFormat> in <DFProperties> (line 1)"
    );
    assert_eq!(
        error_for_leaf("<AccessType/><DFFormat/><DFType><MIME>text/plain</MIME></DFType>"),
        "t.xml: node ./A/L: empty <DFFormat> (line 1)"
    );
    assert_eq!(
        error_for_leaf(
            "<AccessType/><DFFormat><chr/><int/></DFFormat><DFType><MIME>a/b</MIME></DFType>"
        ),
        "t.xml: node ./A/L: <DFFormat> holds more than one element (line 1)"
    );
    assert_eq!(
        error_for_leaf("<AccessType/><DFFormat><Chr/></DFFormat><DFType><MIME>a/b</MIME></DFType>"),
        "t.xml: node ./A/L: unknown DFFormat \"Chr\" (line 1)"
    );
}

#[test]
fn refuses_leaves_with_children_and_interior_nodes_with_values() {
    assert_eq!(
        error_under_a(&node("L", LEAF, &node("M", LEAF, ""))),
        "t.xml: node ./A/L: a leaf (DFFormat chr) cannot have child nodes (line 1)"
    );
    assert_eq!(
        error_under_a(&node(
            "I",
            &INTERIOR.replace("<DFFormat>", "<DefaultValue>x</DefaultValue><DFFormat>"),
            ""
        )),
        "t.xml: node ./A/I: an interior node cannot have a <DefaultValue> (line 1)"
    );
    assert_eq!(
        error_under_a(&node("I", INTERIOR, "").replace("</Node>", "<Value>x</Value></Node>")),
        "t.xml: node ./A/I: an interior node cannot have a <Value> (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace(
            "<DFFormat>",
            "<DefaultValue>a</DefaultValue><DefaultValue>b</DefaultValue><DFFormat>"
        )),
        "t.xml: node ./A/L: more than one <DefaultValue> (line 1)"
    );
    assert_eq!(
        error_under_a(
            &node(
                "L",
                &LEAF.replace("<DFFormat>", "<DefaultValue>a</DefaultValue><DFFormat>"),
                ""
            )
            .replace("</Node>", "<Value>b</Value></Node>")
        ),
        "t.xml: node ./A/L: <Value> \"b\" disagrees with <DefaultValue> \"a\" (line 1)"
    );
}

#[test]
fn refuses_bad_names() {
    assert_eq!(
        error_under_a(&node("a/b", LEAF, "")),
        "t.xml: node ./A/a/b: NodeName \"a/b\" contains '/', which cannot appear in a URI \
         segment (line 1)"
    );
    assert_eq!(
        error_under_a(&node("a?b", LEAF, "")),
        "t.xml: node ./A/a?b: NodeName \"a?b\" contains '?', which cannot appear in a URI \
         segment (line 1)"
    );
    assert_eq!(
        error_under_a(&node("..", LEAF, "")),
        "t.xml: node ./A/..: \"..\" cannot be a node name (line 1)"
    );
    assert_eq!(
        error_under_a(&node("*", PLACEHOLDER, "")),
        "t.xml: node ./A/*: NodeName \"*\" is not a placeholder: leave <NodeName/> empty for \
         a node named at run time (line 1)"
    );
    assert_eq!(
        error_under_a(&node("&lt;x&gt;", PLACEHOLDER, "")),
        "t.xml: node ./A/<x>: NodeName \"<x>\" is not a placeholder: leave <NodeName/> empty \
         for a node named at run time (line 1)"
    );
    assert_eq!(
        error_under_a("<Node><DFProperties/></Node>"),
        "t.xml: node ./A: a child <Node> has no <NodeName> (line 1)"
    );
    // Whitespace around a name is layout, not part of it; an all-blank name is empty.
    let text = doc(&node(
        "A",
        INTERIOR,
        &node("\n   ", PLACEHOLDER, &node(" B ", LEAF, "")),
    ));
    let s = compile_all(&[("t.xml", &text)]).unwrap();
    assert_eq!(s.nodes[3].uri, "./A/<x>/B");
}

#[test]
fn refuses_duplicate_siblings_and_second_placeholders() {
    let text = format!(
        "<MgmtTree><VerDTD>1.2</VerDTD>\n{}\n</MgmtTree>",
        node(
            "A",
            INTERIOR,
            &format!("\n{}\n{}", node("B", LEAF, ""), node("B", LEAF, ""))
        )
    );
    assert_eq!(
        compile_all(&[("t.xml", &text)]).unwrap_err().to_string(),
        "t.xml: node ./A/B: duplicate sibling name \"B\" (the first is at line 3) (line 4)"
    );
    assert_eq!(
        error_under_a(&format!(
            "{}{}",
            node("", PLACEHOLDER, ""),
            node("", PLACEHOLDER, "")
        )),
        "t.xml: node ./A/<x>: a second unnamed placeholder under ./A (a parent has at most \
         one; the first is at line 1) (line 1)"
    );
    // Names differing only in case clash when either side matches case-insensitively.
    let cis = LEAF.replace("</DFType>", "</DFType><CaseSense><CIS/></CaseSense>");
    assert_eq!(
        error_under_a(&format!(
            "{}{}",
            node("Name", LEAF, ""),
            node("NAME", &cis, "")
        )),
        "t.xml: node ./A/NAME: duplicate sibling name \"Name\" (the first is at line 1) \
         (line 1)"
    );
    let text = doc(&node(
        "A",
        INTERIOR,
        &format!("{}{}", node("Name", LEAF, ""), node("NAME", LEAF, "")),
    ));
    assert!(compile_all(&[("t.xml", &text)]).is_ok());
}

#[test]
fn refuses_bad_occurrences() {
    let occ = |o: &str| {
        LEAF.replace(
            "</DFFormat>",
            &format!("</DFFormat><Occurrence>{o}</Occurrence>"),
        )
    };
    assert_eq!(
        error_for_leaf(&occ("<Many/>")),
        "t.xml: node ./A/L: unknown Occurrence \"Many\" (line 1)"
    );
    assert_eq!(
        error_for_leaf(&occ("")),
        "t.xml: node ./A/L: empty <Occurrence> (line 1)"
    );
    assert_eq!(
        error_under_a(&node(
            "",
            &PLACEHOLDER.replace("<ZeroOrMore/>", "<ZeroOrN/>"),
            ""
        )),
        "t.xml: node ./A/<x>: Occurrence ZeroOrN needs a count from 1 to 65535, not \"\" \
         (line 1)"
    );
    assert_eq!(
        error_under_a(&node(
            "",
            &PLACEHOLDER.replace("<ZeroOrMore/>", "<OneOrN>0</OneOrN>"),
            ""
        )),
        "t.xml: node ./A/<x>: Occurrence OneOrN needs a count from 1 to 65535, not \"0\" \
         (line 1)"
    );
    assert_eq!(
        error_under_a(&node(
            "",
            &PLACEHOLDER.replace("<ZeroOrMore/>", "<OneOrN>70000</OneOrN>"),
            ""
        )),
        "t.xml: node ./A/<x>: Occurrence OneOrN needs a count from 1 to 65535, not \"70000\" \
         (line 1)"
    );
    assert_eq!(
        error_for_leaf(&occ("<One>2</One>")),
        "t.xml: node ./A/L: Occurrence One takes no count (line 1)"
    );
    assert_eq!(
        error_for_leaf(&occ("<OneOrMore/>")),
        "t.xml: node ./A/L: Occurrence OneOrMore needs an unnamed placeholder: a named node \
         exists at most once (line 1)"
    );
    assert_eq!(
        error_for_leaf(&occ("<ZeroOrN>3</ZeroOrN>")),
        "t.xml: node ./A/L: Occurrence ZeroOrN needs an unnamed placeholder: a named node \
         exists at most once (line 1)"
    );
    assert_eq!(
        error_for_leaf(&occ("<One/><ZeroOrOne/>")),
        "t.xml: node ./A/L: <Occurrence> holds more than one element (line 1)"
    );
}

#[test]
fn placeholders_must_be_dynamic() {
    assert_eq!(
        error_under_a(&node(
            "",
            &PLACEHOLDER.replace("<Dynamic/>", "<Permanent/>"),
            ""
        )),
        "t.xml: node ./A/<x>: an unnamed placeholder must have Scope Dynamic, not Permanent \
         (line 1)"
    );
    // Scope defaults to Dynamic, so a placeholder may leave it out.
    let text = doc(&node(
        "A",
        INTERIOR,
        &node(
            "",
            &PLACEHOLDER.replace("<Scope><Dynamic/></Scope>", ""),
            "",
        ),
    ));
    assert!(compile_all(&[("t.xml", &text)]).is_ok());
    assert_eq!(
        error_for_leaf(&LEAF.replace("<DFType>", "<Scope><Always/></Scope><DFType>")),
        "t.xml: node ./A/L: unknown Scope \"Always\" (line 1)"
    );
}

#[test]
fn refuses_bad_access_types() {
    assert_eq!(
        error_for_leaf(&LEAF.replace("<Get/>", "<Get/><Read/>")),
        "t.xml: node ./A/L: unknown AccessType element <Read> (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace("<Get/>", "<Get/><Get/>")),
        "t.xml: node ./A/L: AccessType lists Get twice (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace("<Get/>", "Get")),
        "t.xml: node ./A/L: unexpected text \"Get\" in <AccessType> (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace("<AccessType><Get/></AccessType>", "")),
        "t.xml: node ./A/L: missing <AccessType> in <DFProperties> (line 1)"
    );
    // An empty AccessType is allowed: no command may target the node.
    let text = doc(&node(
        "A",
        INTERIOR,
        &node("L", &LEAF.replace("<Get/>", ""), ""),
    ));
    let s = compile_all(&[("t.xml", &text)]).unwrap();
    assert_eq!(s.nodes[2].props.access, AccessSet::NONE);
    assert!(s
        .to_rust(&Generate::default())
        .unwrap()
        .contains("access: AccessSet::NONE,"));
}

#[test]
fn refuses_trees_too_deep_and_names_too_long() {
    // MAX_DEPTH nested nodes are fine, one more is not.
    let chain = |n: usize| {
        (0..n).rev().fold(String::new(), |inner, i| {
            node(&format!("N{i}"), INTERIOR, &inner)
        })
    };
    assert!(compile_all(&[("t.xml", &doc(&chain(MAX_DEPTH)))]).is_ok());
    let err = compile_all(&[("t.xml", &doc(&chain(MAX_DEPTH + 1)))]).unwrap_err();
    assert!(err
        .node
        .as_deref()
        .unwrap()
        .ends_with(&format!("/N{MAX_DEPTH}")));
    assert_eq!(
        err.message,
        format!(
            "the node is {} segments deep (at most {MAX_DEPTH})",
            MAX_DEPTH + 1
        )
    );
    // A Path counts towards the depth too.
    let deep = chain(MAX_DEPTH).replacen(
        "<NodeName>N0</NodeName>",
        "<NodeName>N0</NodeName><Path>./DevInfo</Path>",
        1,
    );
    let err = compile_all(&[("a.xml", DEVINFO), ("t.xml", &doc(&deep))]).unwrap_err();
    assert_eq!(err.file, "t.xml");
    assert!(err
        .message
        .starts_with(&format!("the node is {} segments deep", MAX_DEPTH + 1)));

    let long = "n".repeat(MAX_SEGMENT_LEN);
    assert!(compile_all(&[("t.xml", &doc(&node("A", INTERIOR, &node(&long, LEAF, ""))))]).is_ok());
    let longer = "n".repeat(MAX_SEGMENT_LEN + 1);
    assert_eq!(
        error_under_a(&node(&longer, LEAF, "")),
        format!(
            "t.xml: node ./A/{longer}: the name is {} bytes long (at most {MAX_SEGMENT_LEN}) \
             (line 1)",
            MAX_SEGMENT_LEN + 1
        )
    );
}

#[test]
fn refuses_two_documents_describing_one_node() {
    let again = doc(&node("Man", LEAF, "").replacen(
        "<NodeName>Man</NodeName>",
        "<NodeName>Man</NodeName><Path>./DevInfo</Path>",
        1,
    ));
    let line = DEVINFO
        .lines()
        .position(|l| l.contains("<NodeName>Man</NodeName>"))
        .unwrap();
    // The <Node> element starts one line above its NodeName.
    assert_eq!(
        compile_all(&[("ddf/DevInfo.xml", DEVINFO), ("vendor.xml", &again)])
            .unwrap_err()
            .to_string(),
        format!(
            "vendor.xml: node ./DevInfo/Man: already described by ddf/DevInfo.xml:{line} (line 1)"
        )
    );
    assert_eq!(
        compile_all(&[("a.xml", DEVINFO), ("b.xml", DEVINFO)])
            .unwrap_err()
            .to_string(),
        "b.xml: node ./DevInfo: already described by a.xml:13 (line 13)"
    );
}

#[test]
fn refuses_paths_to_nothing() {
    let under = |path: &str| {
        doc(&node("X", LEAF, "").replacen(
            "<NodeName>X</NodeName>",
            &format!("<NodeName>X</NodeName><Path>{path}</Path>"),
            1,
        ))
    };
    assert_eq!(
        compile_all(&[("a.xml", DEVINFO), ("t.xml", &under("./Vendor/MSFT/"))])
            .unwrap_err()
            .to_string(),
        "t.xml: node ./Vendor/MSFT/X: Path ./Vendor/MSFT: no DDF describes ./Vendor (line 1)"
    );
    assert_eq!(
        compile_all(&[("a.xml", DEVINFO), ("t.xml", &under("./DevInfo/&lt;x&gt;"))])
            .unwrap_err()
            .to_string(),
        "t.xml: node ./DevInfo/<x>/X: Path ./DevInfo/<x>: no DDF describes ./DevInfo/<x> \
         (line 1)"
    );
    assert_eq!(
        compile_all(&[("a.xml", DEVINFO), ("t.xml", &under("./DevInfo/DevId"))])
            .unwrap_err()
            .to_string(),
        "t.xml: node ./DevInfo/DevId/X: Path ./DevInfo/DevId names a leaf (line 1)"
    );
    assert_eq!(
        compile_all(&[("t.xml", &under("./A//B"))])
            .unwrap_err()
            .to_string(),
        "t.xml: bad Path: \"./A//B\" has an empty segment (line 1)"
    );
    assert_eq!(
        compile_all(&[("t.xml", &under("./A/../B"))])
            .unwrap_err()
            .to_string(),
        "t.xml: bad Path: \"./A/../B\": \"..\" cannot be a node name (line 1)"
    );
    assert_eq!(
        error_under_a(&node("B", LEAF, "").replacen(
            "<NodeName>B</NodeName>",
            "<NodeName>B</NodeName><Path>./A</Path>",
            1
        )),
        "t.xml: node ./A/B: <Path> is only allowed on top-level nodes (line 1)"
    );
}

#[test]
fn refuses_bad_acls() {
    let with_acl = |acl: &str| {
        error_under_a(&node("L", LEAF, "").replacen(
            "<DFProperties>",
            &format!("<RTProperties><ACL>{acl}</ACL></RTProperties><DFProperties>"),
            1,
        ))
    };
    assert_eq!(
        with_acl("Get=*+srv1"),
        "t.xml: node ./A/L: bad ACL: Get mixes * with server identifiers (line 1)"
    );
    assert_eq!(
        with_acl("Copy=*"),
        "t.xml: node ./A/L: bad ACL: unknown command \"Copy\" (expected one of Add, Delete, \
         Exec, Get, Replace) (line 1)"
    );
    assert_eq!(
        with_acl("Get"),
        "t.xml: node ./A/L: bad ACL: entry \"Get\" has no '=' (line 1)"
    );
    assert_eq!(
        with_acl("Get=a b"),
        "t.xml: node ./A/L: bad ACL: server identifier \"a b\" contains ' ' (line 1)"
    );
    assert_eq!(
        with_acl("Get=srv1&amp;Get=srv2"),
        "t.xml: node ./A/L: bad ACL: Get appears twice (line 1)"
    );
    assert_eq!(
        with_acl("Get=srv1+"),
        "t.xml: node ./A/L: bad ACL: Get has an empty server identifier (line 1)"
    );
    let text = doc(&node("A", INTERIOR, "").replacen(
        "<DFProperties>",
        "<RTProperties><ACL>Add=srv1&amp;Replace=srv1+srv2&amp;Get=*</ACL></RTProperties>\
         <DFProperties>",
        1,
    ));
    let s = compile_all(&[("t.xml", &text)]).unwrap();
    assert_eq!(
        s.nodes[1].props.acl.as_deref(),
        Some("Add=srv1&Replace=srv1+srv2&Get=*")
    );
    // An empty ACL means "inherit".
    let text = doc(&node("A", INTERIOR, "").replacen(
        "<DFProperties>",
        "<RTProperties><ACL/></RTProperties><DFProperties>",
        1,
    ));
    assert_eq!(
        compile_all(&[("t.xml", &text)]).unwrap().nodes[1].props.acl,
        None
    );
}

#[test]
fn checks_runtime_properties_against_the_description() {
    let rt = |inner: &str| {
        error_under_a(&node("L", LEAF, "").replacen(
            "<DFProperties>",
            &format!("<RTProperties>{inner}</RTProperties><DFProperties>"),
            1,
        ))
    };
    assert_eq!(
        rt("<Format><int/></Format>"),
        "t.xml: node ./A/L: RTProperties Format int disagrees with DFFormat chr (line 1)"
    );
    assert_eq!(
        rt("<Name>M</Name>"),
        "t.xml: node ./A/L: RTProperties Name \"M\" disagrees with NodeName (line 1)"
    );
    assert_eq!(
        rt("<Type><MIME>text/xml</MIME></Type>"),
        "t.xml: node ./A/L: RTProperties Type \"text/xml\" disagrees with DFType \
         \"text/plain\" (line 1)"
    );
    assert_eq!(
        rt("<Title>Hello</Title>"),
        "t.xml: node ./A/L: a default Title is not supported: the device maintains it \
         (leave <Title/> empty) (line 1)"
    );
    assert_eq!(
        rt("<ACL>Get=*</ACL><ACL>Get=*</ACL>"),
        "t.xml: node ./A/L: more than one <ACL> (line 1)"
    );
    assert_eq!(
        rt("<Owner/>"),
        "t.xml: node ./A/L: unknown element <Owner> in <RTProperties> (line 1)"
    );
    let text = doc(&node("A", INTERIOR, "").replacen(
        "<DFProperties>",
        "<RTProperties><Size/></RTProperties><DFProperties>",
        1,
    ));
    assert_eq!(
        compile_all(&[("t.xml", &text)]).unwrap_err().to_string(),
        "t.xml: node ./A: an interior node has no Size property (line 1)"
    );
    // Declaring support, with values that agree, is fine.
    let text = doc(&node(
        "A",
        INTERIOR,
        &node("L", LEAF, "").replacen(
            "<DFProperties>",
            "<RTProperties><ACL>Get=*</ACL><Format><chr/></Format><Name>L</Name><Size/><Title/>\
         <TStamp/><Type><MIME>text/plain</MIME></Type><VerNo/></RTProperties><DFProperties>",
            1,
        ),
    ));
    assert_eq!(
        compile_all(&[("t.xml", &text)]).unwrap().nodes[2]
            .props
            .acl
            .as_deref(),
        Some("Get=*")
    );
}

#[test]
fn checks_types_and_default_values() {
    assert_eq!(
        error_for_leaf(&LEAF.replace("<MIME>text/plain</MIME>", "<MIME/>")),
        "t.xml: node ./A/L: a leaf needs a MIME type in <DFType>, e.g. <MIME>text/plain</MIME> \
         (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace("text/plain", "plain")),
        "t.xml: node ./A/L: \"plain\" is not a MIME type (type/subtype) (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace("<MIME>text/plain</MIME>", "<DDFName/>")),
        "t.xml: node ./A/L: a leaf is typed by <MIME> in <DFType>, not <DDFName> (line 1)"
    );
    assert_eq!(
        error_under_a(&node(
            "I",
            &INTERIOR.replace("<DDFName/>", "<MIME>a/b</MIME>"),
            ""
        )),
        "t.xml: node ./A/I: an interior node is typed by <DDFName> in <DFType>, not <MIME> \
         (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace("<DFType><MIME>text/plain</MIME></DFType>", "")),
        "t.xml: node ./A/L: missing <DFType> in <DFProperties> (line 1)"
    );
    let with_default = |format: &str, value: &str| {
        error_for_leaf(&LEAF.replace("<chr/>", format).replace(
            "<DFFormat>",
            &format!("<DefaultValue>{value}</DefaultValue><DFFormat>"),
        ))
    };
    assert_eq!(
        with_default("<bool/>", "yes"),
        "t.xml: node ./A/L: default value \"yes\" is not a valid bool value (line 1)"
    );
    assert_eq!(
        with_default("<int/>", "1.5"),
        "t.xml: node ./A/L: default value \"1.5\" is not a valid int value (line 1)"
    );
    assert_eq!(
        with_default("<int/>", "2147483648"),
        "t.xml: node ./A/L: default value \"2147483648\" is not a valid int value (line 1)"
    );
    assert_eq!(
        with_default("<float/>", "inf"),
        "t.xml: node ./A/L: default value \"inf\" is not a valid float value (line 1)"
    );
    assert_eq!(
        with_default("<b64/>", "abc"),
        "t.xml: node ./A/L: default value \"abc\" is not a valid b64 value (line 1)"
    );
    assert_eq!(
        with_default("<null/>", "x"),
        "t.xml: node ./A/L: default value \"x\" is not a valid null value (line 1)"
    );
    for (format, value) in [
        ("<bool/>", "false"),
        ("<int/>", "-7"),
        ("<float/>", "1.5e3"),
        ("<b64/>", "aGk="),
        ("<chr/>", ""),
    ] {
        let text = doc(&node(
            "A",
            INTERIOR,
            &node(
                "L",
                &LEAF.replace("<chr/>", format).replace(
                    "<DFFormat>",
                    &format!("<DefaultValue>{value}</DefaultValue><DFFormat>"),
                ),
                "",
            ),
        ));
        let s = compile_all(&[("t.xml", &text)]).unwrap();
        assert_eq!(s.nodes[2].props.default_value.as_deref(), Some(value));
    }
}

#[test]
fn refuses_bad_documents() {
    let one = |text: &str| compile_all(&[("t.xml", text)]).unwrap_err().to_string();
    assert!(one("<MgmtTree><VerDTD>1.2</VerDTD>").starts_with("t.xml: not well-formed XML: "));
    assert_eq!(
        one("<SyncML/>"),
        "t.xml: the root element is <SyncML>, expected <MgmtTree> (line 1)"
    );
    assert_eq!(
        one(&doc(&node("A", INTERIOR, "")).replace("<VerDTD>1.2</VerDTD>", "")),
        "t.xml: missing <VerDTD> (line 1)"
    );
    assert_eq!(
        one(&doc(&node("A", INTERIOR, "")).replace("1.2", "1.1")),
        "t.xml: unsupported VerDTD \"1.1\" (expected 1.2) (line 1)"
    );
    assert_eq!(one(&doc("")), "t.xml: no <Node> in <MgmtTree> (line 1)");
    assert_eq!(
        one(&doc("<Vendor/>")),
        "t.xml: unknown element <Vendor> in <MgmtTree> (line 1)"
    );
    assert_eq!(
        error_for_leaf(&LEAF.replace("<DFFormat>", "<Ocurrence><One/></Ocurrence><DFFormat>")),
        "t.xml: node ./A/L: unknown element <Ocurrence> in <DFProperties> (line 1)"
    );
    assert_eq!(
        error_under_a(&node("L", LEAF, "").replace("</Node>", "<Child/></Node>")),
        "t.xml: node ./A/L: unknown element <Child> in <Node> (line 1)"
    );
    assert_eq!(
        error_under_a(
            &node("L", LEAF, "").replace("</DFProperties>", "</DFProperties><DFProperties/>")
        ),
        "t.xml: node ./A/L: more than one <DFProperties> (line 1)"
    );
    assert_eq!(
        error_under_a(&node("L", LEAF, "").replace("<NodeName>", "stray<NodeName>")),
        "t.xml: node ./A/L: unexpected text \"stray\" in <Node> (line 1)"
    );
    assert_eq!(
        error_under_a(&node("L", LEAF, "").replace("<DFProperties>", "<DFProperties>stray")),
        "t.xml: node ./A/L: unexpected text \"stray\" in <DFProperties> (line 1)"
    );
}

#[test]
fn reads_real_world_layout() {
    // A DOCTYPE, comments, the DDF namespace and another vendor's extension elements.
    let text = "<?xml version=\"1.0\"?>\n\
        <!DOCTYPE MgmtTree PUBLIC \"-//OMA//DTD-DM-DDF 1.2//EN\" \"DM_DDF-V1_2.dtd\" \
        [<?oma-dm-ddf-ver supported-versions=\"1.2\"?>]>\n\
        <MgmtTree xmlns=\"syncml:dmddf1.2\" xmlns:V=\"urn:example:vendor\">\n\
          <!-- a comment -->\n  <VerDTD>1.2</VerDTD>\n\
          <Node><NodeName>A</NodeName><DFProperties><AccessType><Get/></AccessType>\
          <DFFormat><node/></DFFormat><DFType><DDFName/></DFType><V:Hint>x</V:Hint>\
          </DFProperties><V:Extra/></Node>\n\
        </MgmtTree>\n";
    let s = compile_all(&[("t.xml", text)]).unwrap();
    assert_eq!(s.nodes[1].uri, "./A");
    assert_eq!(s.nodes[1].props.title, "");
}

#[test]
fn limits_the_table_size() {
    let leaves: String = (0..4).map(|i| node(&format!("L{i}"), LEAF, "")).collect();
    let text = doc(&node("A", INTERIOR, &leaves));
    let mut c = Compiler::new();
    c.max_nodes = 6;
    c.add_document("t.xml", &text).unwrap();
    assert_eq!(c.finish().unwrap().nodes.len(), 6);
    let mut c = Compiler::new();
    c.max_nodes = 5;
    c.add_document("t.xml", &text).unwrap();
    assert_eq!(
        c.finish().unwrap_err().to_string(),
        "t.xml: node ./A/L3: too many nodes (at most 5 with the root) (line 1)"
    );

    let mut c = Compiler::new();
    for i in 0..MAX_DOCUMENTS {
        c.add_document(
            &format!("{i}.xml"),
            &doc(&node(&format!("N{i}"), INTERIOR, "")),
        )
        .unwrap();
    }
    assert_eq!(
        c.add_document("last.xml", &doc(&node("Z", INTERIOR, "")))
            .unwrap_err()
            .to_string(),
        format!("last.xml: too many DDF documents (at most {MAX_DOCUMENTS})")
    );
    assert_eq!(c.finish().unwrap().documents.len(), MAX_DOCUMENTS);
}

#[test]
fn checks_a_vendor_document_against_the_standard_ones() {
    let at_path = |path: &str, name: &str| {
        doc(&node(name, LEAF, "").replacen(
            &format!("<NodeName>{name}</NodeName>"),
            &format!("<NodeName>{name}</NodeName><Path>{path}</Path>"),
            1,
        ))
    };
    let with_standard = |vendor: &str| {
        let mut sources: Vec<(&str, &str)> = standard_documents().to_vec();
        sources.push(("v.xml", vendor));
        compile(&sources)
    };
    let s = with_standard(&at_path("./DevInfo/Ext", "Color")).unwrap();
    let vendor = s.documents.len() - 1;
    assert_eq!(at(&s, "./DevInfo/Ext/Color").document, Some(vendor));
    assert_eq!(s.document_nodes(vendor).count(), 1);
    assert_eq!(
        s.document_tops(vendor)
            .map(|n| n.uri.as_str())
            .collect::<Vec<_>>(),
        ["./DevInfo/Ext/Color"]
    );
    assert_eq!(
        s.document_tops(0)
            .map(|n| n.uri.as_str())
            .collect::<Vec<_>>(),
        ["./CDMA"]
    );

    let err = with_standard(&at_path("./DevInfo", "Man")).unwrap_err();
    let line = DEVINFO
        .lines()
        .position(|l| l.contains("<NodeName>Man</NodeName>"))
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!("v.xml: node ./DevInfo/Man: already described by ddf/DevInfo.xml:{line} (line 1)")
    );
    assert_eq!(
        with_standard(&at_path("./DevInfo/Man", "X"))
            .unwrap_err()
            .to_string(),
        "v.xml: node ./DevInfo/Man/X: Path ./DevInfo/Man names a leaf (line 1)"
    );
    assert_eq!(
        with_standard(&at_path("./devinfo/Ext", "Color"))
            .unwrap_err()
            .message,
        "Path ./devinfo/Ext: no DDF describes ./devinfo"
    );
}

#[test]
fn a_path_may_spell_a_cis_node_in_another_case() {
    let cis = INTERIOR.replace("</DFType>", "</DFType><CaseSense><CIS/></CaseSense>");
    let base = doc(&node("Box", &cis, &node("Lid", INTERIOR, "")));
    let under = |path: &str| {
        doc(&node("Hinge", LEAF, "").replacen(
            "<NodeName>Hinge</NodeName>",
            &format!("<NodeName>Hinge</NodeName><Path>{path}</Path>"),
            1,
        ))
    };
    let s = compile_all(&[("v.xml", &under("./BOX/Lid")), ("b.xml", &base)]).unwrap();
    assert_eq!(at(&s, "./Box/Lid/Hinge").document, Some(0));
    // Lid is case-sensitive.
    assert_eq!(
        compile_all(&[("v.xml", &under("./BOX/LID")), ("b.xml", &base)])
            .unwrap_err()
            .message,
        "Path ./BOX/LID: no DDF describes ./BOX/LID"
    );
}

#[test]
fn keys_hash_the_uri_and_must_be_unique() {
    let s = standard().unwrap();
    for n in &s.nodes {
        let bare = n.uri.strip_prefix("./").unwrap_or("");
        assert_eq!(n.key, uri_key(&n.uri), "{}", n.uri);
        assert_eq!(n.key, crate::fnv1a(crate::FNV_OFFSET, bare.as_bytes()));
    }
    assert_eq!(
        at(&s, "./DMAcc/<x>/AppAuth/<x>/AAuthType").key,
        uri_key("DMAcc/<x>/AppAuth/<x>/AAuthType")
    );
    // Two names whose FNV-1a hashes are equal, as top-level nodes, where the key hashes
    // nothing but the name.
    assert_eq!(uri_key("./costarring"), uri_key("./liquid"));
    let text = format!(
        "<MgmtTree><VerDTD>1.2</VerDTD>\n{}\n{}\n</MgmtTree>",
        node("costarring", INTERIOR, ""),
        node("liquid", INTERIOR, "")
    );
    let err = compile_all(&[("t.xml", &text)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "t.xml: node ./liquid: the node's key {:#010x} (the FNV-1a hash of its URI) is also \
             the key of ./costarring; rename one of them (line 3)",
            uri_key("liquid")
        )
    );
    // Nested under one parent, the same names hash differently.
    let text = doc(&node(
        "A",
        INTERIOR,
        &format!(
            "{}{}",
            node("costarring", LEAF, ""),
            node("liquid", LEAF, "")
        ),
    ));
    assert!(compile_all(&[("t.xml", &text)]).is_ok());
}

#[test]
fn the_standard_documents_compile_and_leak_consistently() {
    let compiled = compile(standard_documents()).unwrap();
    let schema = compiled.clone().leak();
    assert_eq!(schema.len(), compiled.nodes.len());
    assert_eq!(schema.max_depth(), compiled.max_depth);
    assert!(schema.descriptions());
    for (id, n) in schema.ids().zip(&compiled.nodes) {
        let node = schema.node(id).unwrap();
        let mut uri = String::new();
        schema.write_uri(id, &mut uri).unwrap();
        assert_eq!(uri, n.uri);
        assert_eq!(schema.find(&uri), Some(id), "{uri}");
        assert_eq!(schema.by_key(n.key), Some(id), "{uri}");
        assert_eq!(node.key(), n.key);
        assert_eq!(node.name(), n.name);
        assert_eq!(node.format(), n.props.format);
        assert_eq!(node.access(), n.props.access);
        assert_eq!(node.occurrence(), n.props.occurrence);
        assert_eq!(node.scope(), n.props.scope);
        assert_eq!(node.case_sensitive(), n.props.case_sensitive);
        assert_eq!(node.default_value(), n.props.default_value.as_deref());
        assert_eq!(node.mime(), n.props.mime);
        assert_eq!(node.title(), n.props.title);
        assert_eq!(node.description(), n.props.description);
        assert_eq!(node.acl(), n.props.acl.as_deref());
        let as_id = |i: Option<usize>| i.map_or(crate::NO_NODE, |i| u16::try_from(i).unwrap());
        assert_eq!(node.parent(), as_id(n.parent));
        assert_eq!(node.first_child(), as_id(n.first_child));
        assert_eq!(node.next_sibling(), as_id(n.next_sibling));
        assert_eq!(usize::from(node.subtree_end()), n.subtree_end);
        assert_eq!(
            node.document(),
            n.document
                .map_or(crate::NO_DOCUMENT, |d| u8::try_from(d).unwrap())
        );
        let kids: Vec<u16> = schema.children(id).collect();
        let expected: Vec<u16> = compiled
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.parent == Some(usize::from(id)))
            .map(|(i, _)| u16::try_from(i).unwrap())
            .collect();
        assert_eq!(kids, expected, "{uri}");
    }
    let docs: Vec<_> = schema.documents().collect();
    assert_eq!(docs.len(), compiled.documents.len());
    for (d, c) in docs.iter().zip(&compiled.documents) {
        assert_eq!(usize::from(d.root()), c.root);
        assert_eq!(
            (d.man(), d.model(), d.ver_dtd()),
            (&*c.man, &*c.model, &*c.ver_dtd)
        );
    }

    let auth_type = schema.find("./DMAcc/<x>/AppAuth/<x>/AAuthType").unwrap();
    assert_eq!(schema.node(auth_type).unwrap().format(), Format::Chr);
    assert_eq!(
        schema.find("DMAcc/srv/AppAuth/cred/AAuthType"),
        Some(auth_type)
    );
    let state = schema.find("./FUMO/fw/State").unwrap();
    assert_eq!(schema.find("./FUMO/<x>/State"), Some(state));
    assert_eq!(schema.node(state).unwrap().format(), Format::Int);
}

#[test]
fn generated_text_for_the_standard_documents() {
    let compiled = compile(standard_documents()).unwrap();
    let rust = compiled.to_rust(&Generate::default()).unwrap();
    let again = compile(standard_documents()).unwrap();
    assert_eq!(rust, again.to_rust(&Generate::default()).unwrap());
    assert!(rust.contains("\npub mod nodes {\n    /// `.` (node): the root\n"));
    assert!(rust.contains("    pub const ROOT: ::iotadm::schema::NodeId = 0;\n"));
    let devinfo = compiled
        .nodes
        .iter()
        .position(|n| n.uri == "./DevInfo")
        .unwrap();
    let devid = compiled
        .nodes
        .iter()
        .position(|n| n.uri == "./DevInfo/DevId")
        .unwrap();
    assert!(rust.contains(&format!(
        "    /// `./DevInfo` (node): Device information\n    pub mod dev_info {{\n        \
         /// `./DevInfo` (node): Device information\n        \
         pub const NODE: ::iotadm::schema::NodeId = {devinfo};\n        \
         /// `./DevInfo/DevId` (chr): Device identifier\n        \
         pub const DEV_ID: ::iotadm::schema::NodeId = {devid};\n"
    )));
    for item in [
        "pub mod dm_acc {",
        "pub mod x {",
        "pub const A_AUTH_PREF: ",
        "pub mod n_3gpd {",
        "pub mod simple_ip {",
        "pub const IMSI_11_12: ",
        "pub const PKG_URL: ",
        "pub mod download_and_update {",
    ] {
        assert!(rust.contains(item), "{item}");
    }

    // Other names, and no node module.
    let other = Generate {
        runtime_path: "crate::ddf".to_owned(),
        schema_name: "VENDOR".to_owned(),
        nodes_module: None,
    };
    let rust = compiled.to_rust(&other).unwrap();
    assert!(
        rust.contains("pub static VENDOR: crate::ddf::Schema = crate::ddf::Schema::from_parts(\n")
    );
    assert!(rust.contains("static VENDOR_NODES: [crate::ddf::NodeDef; "));
    assert!(!rust.contains("::iotadm") && !rust.contains("pub mod"));

    let typed = Generate {
        nodes_module: Some("ids".to_owned()),
        ..Generate::default()
    };
    assert!(compiled
        .to_rust(&typed)
        .unwrap()
        .contains("\npub mod ids {\n"));
}

#[test]
fn identifier_collisions_are_refused() {
    let text = doc(&node(
        "A",
        INTERIOR,
        &format!("{}{}", node("DevId", LEAF, ""), node("Dev_Id", LEAF, "")),
    ));
    let compiled = compile_all(&[("t.xml", &text)]).unwrap();
    assert_eq!(
        compiled.to_rust(&Generate::default()).unwrap_err(),
        "the nodes ./A/DevId and ./A/Dev_Id both become `DEV_ID` in the generated `nodes` \
         module; rename one of them, or generate without node constants"
    );
    let without = Generate {
        nodes_module: None,
        ..Generate::default()
    };
    assert!(compiled.to_rust(&without).is_ok());

    // A placeholder and a node named X only clash when both are modules.
    let text = doc(&node(
        "A",
        INTERIOR,
        &format!("{}{}", node("", PLACEHOLDER, ""), node("x", LEAF, "")),
    ));
    let rust = compile_all(&[("t.xml", &text)])
        .unwrap()
        .to_rust(&Generate::default())
        .unwrap();
    assert!(rust.contains("pub mod x {") && rust.contains("pub const X: "));
    let text = doc(&node(
        "A",
        INTERIOR,
        &format!("{}{}", node("", PLACEHOLDER, ""), node("X", INTERIOR, "")),
    ));
    assert!(compile_all(&[("t.xml", &text)])
        .unwrap()
        .to_rust(&Generate::default())
        .unwrap_err()
        .starts_with("the nodes ./A/<x> and ./A/X both become `x` "));

    // A leaf named like the module's own constant steps aside; keywords become raw.
    let text = doc(&node(
        "A",
        INTERIOR,
        &format!("{}{}", node("Node", LEAF, ""), node("type", INTERIOR, "")),
    ));
    let rust = compile_all(&[("t.xml", &text)])
        .unwrap()
        .to_rust(&Generate::default())
        .unwrap();
    assert!(rust.contains("pub const NODE: ") && rust.contains("pub const NODE_: "));
    assert!(rust.contains("pub mod r#type {"));
}
