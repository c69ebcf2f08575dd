//! The ready schema of the standard objects against the DDF documents it was compiled
//! from, read here independently of the compiler: every node a DDF describes is in
//! `schema::STANDARD` with the same name, format, access types, occurrence, scope, case
//! sense, MIME type or MO identifier, default value, title, description, default ACL and
//! document, and the schema holds nothing else. So the schema cannot drift from its
//! source.

use std::fs;
use std::path::{Path, PathBuf};

use iotadm::schema::{AccessSet, Format, NodeId, Occurrence, Scope, NO_NODE, ROOT, STANDARD};
use roxmltree::Node;

/// The standard documents, in the order the build compiles them.
fn ddf_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("iotadm-ddf/ddf");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

fn ddf_elements<'a, 'i>(el: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    el.children().filter(|c| {
        c.is_element()
            && c.tag_name()
                .namespace()
                .is_none_or(|ns| ns.starts_with("syncml:dmddf"))
    })
}

fn element<'a, 'i>(el: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    ddf_elements(el).find(|c| c.tag_name().name() == name)
}

fn text(el: Node<'_, '_>) -> String {
    el.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}

/// The name of the element inside `<DFFormat><chr/></DFFormat>` and the like.
fn choice<'a, 'i>(el: Node<'a, 'i>) -> Node<'a, 'i> {
    ddf_elements(el).next().unwrap()
}

fn collapsed(el: Option<Node<'_, '_>>) -> String {
    el.map(|e| text(e).split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The child of `parent` with exactly this name, or its placeholder for an empty name.
fn described_child(parent: NodeId, name: &str) -> Option<NodeId> {
    if name.is_empty() {
        return STANDARD.placeholder_child(parent);
    }
    STANDARD
        .children(parent)
        .find(|&id| STANDARD.node(id).unwrap().name() == name)
}

fn uri(id: NodeId) -> String {
    let mut s = String::new();
    STANDARD.write_uri(id, &mut s).unwrap();
    s
}

/// Checks the node `el` describes, under `parent`, and its subtree; returns how many nodes
/// the subtree holds.
fn check_node(el: Node<'_, '_>, parent: NodeId, document: usize) -> usize {
    let name = text(element(el, "NodeName").unwrap()).trim().to_owned();
    let id = described_child(parent, &name)
        .unwrap_or_else(|| panic!("{}/{name} is missing from the schema", uri(parent)));
    let def = STANDARD.node(id).unwrap();
    let at = uri(id);
    let df = element(el, "DFProperties").unwrap();

    assert_eq!(def.name(), name, "{at}");
    assert_eq!(def.parent(), parent, "{at}");
    let format = choice(element(df, "DFFormat").unwrap()).tag_name().name();
    assert_eq!(Some(def.format()), Format::parse(format), "{at}");

    let access = ddf_elements(element(df, "AccessType").unwrap())
        .fold(AccessSet::NONE, |set, c| {
            set.union(AccessSet::from_command(c.tag_name().name()).unwrap())
        });
    assert_eq!(def.access(), access, "{at}");

    let occurrence = element(df, "Occurrence").map_or(Occurrence::One, |o| {
        let c = choice(o);
        let n = || text(c).trim().parse::<u16>().unwrap();
        match c.tag_name().name() {
            "One" => Occurrence::One,
            "ZeroOrOne" => Occurrence::ZeroOrOne,
            "ZeroOrMore" => Occurrence::ZeroOrMore,
            "OneOrMore" => Occurrence::OneOrMore,
            "ZeroOrN" => Occurrence::ZeroOrN(n()),
            "OneOrN" => Occurrence::OneOrN(n()),
            other => panic!("{at}: occurrence {other}"),
        }
    });
    assert_eq!(def.occurrence(), occurrence, "{at}");

    let scope =
        element(df, "Scope").map_or(Scope::Dynamic, |s| match choice(s).tag_name().name() {
            "Permanent" => Scope::Permanent,
            _ => Scope::Dynamic,
        });
    assert_eq!(def.scope(), scope, "{at}");

    let case_sensitive =
        element(df, "CaseSense").is_none_or(|c| choice(c).tag_name().name() == "CS");
    assert_eq!(def.case_sensitive(), case_sensitive, "{at}");

    let df_type = choice(element(df, "DFType").unwrap());
    assert_eq!(def.mime(), text(df_type).trim(), "{at}");
    let expected_type = if def.format() == Format::Node {
        "DDFName"
    } else {
        "MIME"
    };
    assert_eq!(df_type.tag_name().name(), expected_type, "{at}");

    let default = element(df, "DefaultValue")
        .or_else(|| element(el, "Value"))
        .map(text);
    assert_eq!(def.default_value().map(str::to_owned), default, "{at}");

    // A schema built without descriptions keeps neither.
    let kept = |text: String| {
        if STANDARD.descriptions() {
            text
        } else {
            String::new()
        }
    };
    assert_eq!(def.title(), kept(collapsed(element(df, "DFTitle"))), "{at}");
    assert_eq!(
        def.description(),
        kept(collapsed(element(df, "Description"))),
        "{at}"
    );

    let acl = element(el, "RTProperties")
        .and_then(|rt| element(rt, "ACL"))
        .map(|a| text(a).trim().to_owned())
        .filter(|a| !a.is_empty());
    assert_eq!(def.acl().map(str::to_owned), acl, "{at}");
    assert_eq!(usize::from(def.document()), document, "{at}");

    // The children this document describes come in its order, with the first one first.
    let kids: Vec<Node> = ddf_elements(el)
        .filter(|c| c.tag_name().name() == "Node")
        .collect();
    let names: Vec<String> = kids
        .iter()
        .map(|k| text(element(*k, "NodeName").unwrap()).trim().to_owned())
        .collect();
    let table: Vec<&str> = STANDARD
        .children(id)
        .map(|k| STANDARD.node(k).unwrap().name())
        .filter(|n| names.iter().any(|m| m == n))
        .collect();
    assert_eq!(table, names, "children of {at}");
    if let Some(first) = names.first() {
        assert_eq!(
            STANDARD.node(def.first_child()).unwrap().name(),
            first,
            "{at}"
        );
    }

    1 + kids
        .into_iter()
        .map(|c| check_node(c, id, document))
        .sum::<usize>()
}

/// The node a top-level `<Path>` names; `<x>` segments name placeholders.
fn path_node(path: Option<Node<'_, '_>>) -> NodeId {
    let text = path.map(text).unwrap_or_default();
    let text = text.trim().trim_end_matches('/');
    let text = text.strip_prefix('.').unwrap_or(text);
    text.split('/')
        .filter(|s| !s.is_empty())
        .fold(ROOT, |id, seg| {
            let name = if seg.starts_with('<') { "" } else { seg };
            described_child(id, name).unwrap_or_else(|| panic!("Path segment {seg} not found"))
        })
}

#[test]
fn table_matches_every_ddf_document() {
    let files = ddf_files();
    assert!(files.len() >= 3, "{files:?}");
    assert_eq!(STANDARD.documents().count(), files.len());
    let mut described = 0;
    for (document, file) in files.iter().enumerate() {
        let source = fs::read_to_string(file).unwrap();
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let xml = roxmltree::Document::parse_with_options(&source, options).unwrap();
        let tree = xml.root_element();
        let doc = STANDARD.document(u8::try_from(document).unwrap()).unwrap();
        assert_eq!(doc.ver_dtd(), text(element(tree, "VerDTD").unwrap()).trim());
        assert_eq!(doc.man(), collapsed(element(tree, "Man")), "{file:?}");
        assert_eq!(doc.model(), collapsed(element(tree, "Mod")), "{file:?}");

        let tops: Vec<Node> = ddf_elements(tree)
            .filter(|c| c.tag_name().name() == "Node")
            .collect();
        for (i, top) in tops.iter().enumerate() {
            let parent = path_node(element(*top, "Path"));
            if i == 0 {
                let name = text(element(*top, "NodeName").unwrap());
                assert_eq!(Some(doc.root()), described_child(parent, name.trim()));
            }
            described += check_node(*top, parent, document);
        }
    }
    // Nothing in the table that no document describes, apart from the root.
    assert_eq!(STANDARD.len(), described + 1);
    assert_eq!(STANDARD.node(ROOT).unwrap().parent(), NO_NODE);
}

#[test]
fn standard_objects_have_their_mo_identifiers() {
    let find = |path: &[&str]| {
        path.iter()
            .try_fold(ROOT, |id, seg| STANDARD.child(id, seg))
    };
    let mime = |path: &[&str]| STANDARD.node(find(path).unwrap()).unwrap().mime();
    assert_eq!(mime(&["DevInfo"]), "urn:oma:mo:oma-dm-devinfo:1.0");
    assert_eq!(mime(&["DevDetail"]), "urn:oma:mo:oma-dm-devdetail:1.0");
    assert_eq!(mime(&["DMAcc", "srv"]), "urn:oma:mo:oma-dm-dmacc:1.0");
    // Secrets are never readable, and no server may read DMAcc by default.
    for leaf in ["AAuthSecret", "AAuthData"] {
        let id = find(&["DMAcc", "srv", "AppAuth", "a", leaf]).unwrap();
        assert!(!STANDARD.node(id).unwrap().access().contains(AccessSet::GET));
    }
    let dmacc = STANDARD.node(find(&["DMAcc"]).unwrap()).unwrap();
    let acl = dmacc.acl().unwrap();
    assert!(!acl.split('&').any(|e| e.starts_with("Get=")
        || e.starts_with("Add=")
        || e.starts_with("Replace=")
        || e.starts_with("Delete=")));
}
