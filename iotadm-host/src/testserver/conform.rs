//! Every client message checked against the content models of the SyncML Representation
//! Protocol 1.2 DTD and the restrictions of OMA-TS-DM_RepPro 1.2 §4.1, on a document read
//! without the client's codec: XML by `roxmltree`, WBXML by the small reader here, with
//! token tables of its own (OMA-TS-DM_RepPro 1.2 §5, code pages 0 and 1). A client that
//! leaves out a required element, puts elements out of the DTD's order, or writes a tag
//! with the wrong token breaks a rule here even when its own decoder reads the message back.
//!
//! The models (DTD element order; `?` optional, `*` any number, `+` at least one):
//!
//! | element | children |
//! |---|---|
//! | SyncML | SyncHdr, SyncBody |
//! | SyncHdr | VerDTD, VerProto, SessionID, MsgID, Target, Source, RespURI?, NoResp?, Cred?, Meta? |
//! | SyncBody | (commands)+, Final? |
//! | Status | CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Cred?, Chal?, Data, Item* |
//! | Results | CmdID, MsgRef?, CmdRef, Meta?, TargetRef?, SourceRef?, Item+ |
//! | Alert | CmdID, NoResp?, Cred?, Data, Correlator?, Item* (DM: Data required) |
//! | Add, Replace, Copy | CmdID, NoResp?, Cred?, Meta?, Item+ |
//! | Delete | CmdID, NoResp?, Archive?, SftDel?, Cred?, Meta?, Item+ |
//! | Get | CmdID, NoResp?, Lang?, Cred?, Meta?, Item+ |
//! | Exec | CmdID, NoResp?, Cred?, Meta?, Correlator?, Item |
//! | Atomic, Sequence | CmdID, NoResp?, Meta?, (commands)+ |
//! | Item | Target?, Source?, SourceParent?, TargetParent?, Meta?, Data?, MoreData? |
//! | Target | LocURI, LocName?, Filter? |
//! | Source | LocURI, LocName? |
//! | Cred | Meta?, Data |
//! | Chal | Meta |
//!
//! DM RepPro adds: `Cred` only in `SyncHdr`, never in a command.

use std::string::{String, ToString};
use std::vec::Vec;

/// An element as an independent reader saw it: its local name, its text, its children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

/// Reads `body` (XML or WBXML, by its first byte) into elements.
pub(crate) fn read(body: &[u8]) -> Result<Element, String> {
    match body.first() {
        Some(b'<') | Some(b' ') | Some(b'\n') | Some(b'\r') | Some(b'\t') | Some(0xEF) => {
            read_xml(body)
        }
        Some(_) => Wbxml::new(body).document(),
        None => Err("empty message".into()),
    }
}

fn read_xml(body: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(body).map_err(|e| std::format!("XML not UTF-8: {e}"))?;
    let doc = roxmltree::Document::parse(text).map_err(|e| std::format!("XML: {e}"))?;
    fn convert(node: roxmltree::Node<'_, '_>) -> Element {
        let mut e = Element {
            name: node.tag_name().name().to_string(),
            ..Element::default()
        };
        for child in node.children() {
            if child.is_element() {
                e.children.push(convert(child));
            } else if child.is_text() {
                e.text.push_str(child.text().unwrap_or(""));
            }
        }
        e
    }
    Ok(convert(doc.root_element()))
}

/// SyncML tags, code page 0 (token 0x05 first).
const PAGE_SYNCML: &[&str] = &[
    "Add",
    "Alert",
    "Archive",
    "Atomic",
    "Chal",
    "Cmd",
    "CmdID",
    "CmdRef",
    "Copy",
    "Cred",
    "Data",
    "Delete",
    "Exec",
    "Final",
    "Get",
    "Item",
    "Lang",
    "LocName",
    "LocURI",
    "Map",
    "MapItem",
    "Meta",
    "MsgID",
    "MsgRef",
    "NoResp",
    "NoResults",
    "Put",
    "Replace",
    "RespURI",
    "Results",
    "Search",
    "Sequence",
    "SessionID",
    "SftDel",
    "Source",
    "SourceRef",
    "Status",
    "Sync",
    "SyncBody",
    "SyncHdr",
    "SyncML",
    "Target",
    "TargetRef",
    "",
    "VerDTD",
    "VerProto",
    "NumberOfChanges",
    "MoreData",
    "Field",
    "Filter",
    "Record",
    "FilterType",
    "SourceParent",
    "TargetParent",
    "Move",
    "Correlator",
];

/// MetInf tags, code page 1 (token 0x05 first).
const PAGE_METINF: &[&str] = &[
    "Anchor",
    "EMI",
    "Format",
    "FreeID",
    "FreeMem",
    "Last",
    "Mark",
    "MaxMsgSize",
    "Mem",
    "MetInf",
    "Next",
    "NextNonce",
    "SharedMem",
    "Size",
    "Type",
    "Version",
    "MaxObjSize",
    "FieldLevel",
];

/// A WBXML reader of its own: header, string table, tags on pages 0 and 1, inline and
/// table strings, opaque data (read as text), entities. No attributes: SyncML has none.
struct Wbxml<'a> {
    bytes: &'a [u8],
    pos: usize,
    page: u8,
    strings: &'a [u8],
}

impl<'a> Wbxml<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Wbxml {
            bytes,
            pos: 0,
            page: 0,
            strings: &[],
        }
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| "WBXML ends early".to_string())?;
        self.pos += 1;
        Ok(b)
    }

    fn mb_u32(&mut self) -> Result<usize, String> {
        let mut v = 0usize;
        for _ in 0..5 {
            let b = self.byte()?;
            v = (v << 7) | usize::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("WBXML mb_u_int32 too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| "WBXML length past the end".to_string())?;
        self.pos += n;
        Ok(s)
    }

    fn document(mut self) -> Result<Element, String> {
        let version = self.byte()?;
        if !(1..=3).contains(&version) {
            return Err(std::format!("WBXML version byte {version:#04x}"));
        }
        let public_id = self.mb_u32()?;
        if public_id == 0 {
            self.mb_u32()?;
        } else if public_id != 0x1201 && public_id != 0x0FD3 {
            return Err(std::format!(
                "WBXML public id {public_id:#x} is not SyncML 1.1/1.2"
            ));
        }
        let charset = self.mb_u32()?;
        if charset != 0x6A {
            return Err(std::format!(
                "WBXML charset {charset}, UTF-8 (106) expected"
            ));
        }
        let len = self.mb_u32()?;
        self.strings = self.take(len)?;
        let root = self
            .element()?
            .ok_or_else(|| "WBXML body has no root element".to_string())?;
        Ok(root)
    }

    fn tag_name(&self, token: u8) -> Result<String, String> {
        let table = match self.page {
            0 => PAGE_SYNCML,
            1 => PAGE_METINF,
            p => return Err(std::format!("WBXML code page {p} in a SyncML message")),
        };
        usize::from(token)
            .checked_sub(5)
            .and_then(|i| table.get(i))
            .filter(|n| !n.is_empty())
            .map(|n| n.to_string())
            .ok_or_else(|| std::format!("WBXML tag {token:#04x} on page {}", self.page))
    }

    /// The next element, or `None` at an END.
    fn element(&mut self) -> Result<Option<Element>, String> {
        loop {
            let b = self.byte()?;
            match b {
                0x00 => self.page = self.byte()?,
                0x01 => return Ok(None),
                tag => {
                    if tag & 0x80 != 0 || tag & 0x3F == 0x04 {
                        return Err(std::format!("WBXML token {tag:#04x} where a tag belongs"));
                    }
                    let mut e = Element {
                        name: self.tag_name(tag & 0x3F)?,
                        ..Element::default()
                    };
                    if tag & 0x40 != 0 {
                        self.content(&mut e)?;
                    }
                    return Ok(Some(e));
                }
            }
        }
    }

    fn content(&mut self, e: &mut Element) -> Result<(), String> {
        loop {
            let b = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| std::format!("WBXML ends inside <{}>", e.name))?;
            match b {
                0x01 => {
                    self.pos += 1;
                    return Ok(());
                }
                0x02 => {
                    self.pos += 1;
                    let c = u32::try_from(self.mb_u32()?).unwrap_or(0xFFFD);
                    e.text.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                }
                0x03 => {
                    self.pos += 1;
                    let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
                    let n = rest
                        .iter()
                        .position(|&c| c == 0)
                        .ok_or_else(|| "WBXML inline string without its NUL".to_string())?;
                    let s = self.take(n)?;
                    self.pos += 1;
                    e.text.push_str(&String::from_utf8_lossy(s));
                }
                0x83 => {
                    self.pos += 1;
                    let at = self.mb_u32()?;
                    let s = self
                        .strings
                        .get(at..)
                        .and_then(|s| s.split(|&c| c == 0).next())
                        .ok_or_else(|| "WBXML string table reference past the table".to_string())?;
                    e.text.push_str(&String::from_utf8_lossy(s));
                }
                0xC3 => {
                    self.pos += 1;
                    let n = self.mb_u32()?;
                    let s = self.take(n)?;
                    e.text.push_str(&String::from_utf8_lossy(s));
                }
                _ => {
                    if let Some(child) = self.element()? {
                        e.children.push(child);
                    } else {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// How often a child may occur.
#[derive(Clone, Copy)]
enum Occurs {
    One,
    Optional,
    Any,
    Some,
}

use Occurs::{Any, One, Optional, Some as OneOrMore};

/// Commands a SyncBody, Atomic or Sequence holds (SyncML 1.2).
const COMMANDS: &[&str] = &[
    "Alert", "Atomic", "Copy", "Exec", "Get", "Map", "Put", "Results", "Search", "Sequence",
    "Status", "Sync", "Add", "Move", "Replace", "Delete",
];

/// Elements whose content the models leave open: text, or (Data in XML) embedded markup.
const LEAVES: &[&str] = &[
    "VerDTD",
    "VerProto",
    "SessionID",
    "MsgID",
    "CmdID",
    "MsgRef",
    "CmdRef",
    "Cmd",
    "TargetRef",
    "SourceRef",
    "Data",
    "LocURI",
    "LocName",
    "RespURI",
    "Correlator",
    "Final",
    "NoResp",
    "MoreData",
    "Archive",
    "SftDel",
    "Lang",
    "Filter",
];

/// The model of `name` as a sequence of (allowed names, occurrence); `None` for an element
/// not checked here.
fn model(name: &str) -> Option<Vec<(&'static [&'static str], Occurs)>> {
    let m: Vec<(&'static [&'static str], Occurs)> = match name {
        "SyncML" => std::vec![(&["SyncHdr"], One), (&["SyncBody"], One)],
        "SyncHdr" => std::vec![
            (&["VerDTD"], One),
            (&["VerProto"], One),
            (&["SessionID"], One),
            (&["MsgID"], One),
            (&["Target"], One),
            (&["Source"], One),
            (&["RespURI"], Optional),
            (&["NoResp"], Optional),
            (&["Cred"], Optional),
            (&["Meta"], Optional),
        ],
        "SyncBody" => std::vec![(COMMANDS, OneOrMore), (&["Final"], Optional)],
        "Status" => std::vec![
            (&["CmdID"], One),
            (&["MsgRef"], One),
            (&["CmdRef"], One),
            (&["Cmd"], One),
            (&["TargetRef"], Any),
            (&["SourceRef"], Any),
            (&["Cred"], Optional),
            (&["Chal"], Optional),
            (&["Data"], One),
            (&["Item"], Any),
        ],
        "Results" => std::vec![
            (&["CmdID"], One),
            (&["MsgRef"], Optional),
            (&["CmdRef"], One),
            (&["Meta"], Optional),
            (&["TargetRef"], Optional),
            (&["SourceRef"], Optional),
            (&["Item"], OneOrMore),
        ],
        "Alert" => std::vec![
            (&["CmdID"], One),
            (&["NoResp"], Optional),
            (&["Cred"], Optional),
            (&["Data"], One),
            (&["Correlator"], Optional),
            (&["Item"], Any),
        ],
        "Add" | "Replace" | "Copy" | "Move" => std::vec![
            (&["CmdID"], One),
            (&["NoResp"], Optional),
            (&["Cred"], Optional),
            (&["Meta"], Optional),
            (&["Item"], OneOrMore),
        ],
        "Delete" => std::vec![
            (&["CmdID"], One),
            (&["NoResp"], Optional),
            (&["Archive"], Optional),
            (&["SftDel"], Optional),
            (&["Cred"], Optional),
            (&["Meta"], Optional),
            (&["Item"], OneOrMore),
        ],
        "Get" => std::vec![
            (&["CmdID"], One),
            (&["NoResp"], Optional),
            (&["Lang"], Optional),
            (&["Cred"], Optional),
            (&["Meta"], Optional),
            (&["Item"], OneOrMore),
        ],
        "Exec" => std::vec![
            (&["CmdID"], One),
            (&["NoResp"], Optional),
            (&["Cred"], Optional),
            (&["Meta"], Optional),
            (&["Correlator"], Optional),
            (&["Item"], One),
        ],
        "Atomic" | "Sequence" => std::vec![
            (&["CmdID"], One),
            (&["NoResp"], Optional),
            (&["Meta"], Optional),
            (COMMANDS, OneOrMore),
        ],
        "Item" => std::vec![
            (&["Target"], Optional),
            (&["Source"], Optional),
            (&["SourceParent"], Optional),
            (&["TargetParent"], Optional),
            (&["Meta"], Optional),
            (&["Data"], Optional),
            (&["MoreData"], Optional),
        ],
        "Target" => std::vec![
            (&["LocURI"], One),
            (&["LocName"], Optional),
            (&["Filter"], Optional)
        ],
        "Source" | "SourceParent" | "TargetParent" => {
            std::vec![(&["LocURI"], One), (&["LocName"], Optional)]
        }
        "Cred" => std::vec![(&["Meta"], Optional), (&["Data"], One)],
        "Chal" => std::vec![(&["Meta"], One)],
        _ => return None,
    };
    Some(m)
}

/// Checks `root` against the models; one line per breach, with the path to it.
pub(crate) fn check(root: &Element) -> Vec<String> {
    let mut out = Vec::new();
    if root.name != "SyncML" {
        out.push(std::format!(
            "root element <{}>, SyncML expected",
            root.name
        ));
        return out;
    }
    walk(root, "SyncML", false, &mut out);
    out
}

fn walk(e: &Element, path: &str, in_command: bool, out: &mut Vec<String>) {
    if e.name == "Meta" {
        for c in &e.children {
            if !PAGE_METINF.contains(&c.name.as_str()) {
                out.push(std::format!("{path}: <{}> is not a MetInf element", c.name));
            }
        }
        return;
    }
    if LEAVES.contains(&e.name.as_str()) {
        // Data may carry embedded markup (TNDS in XML); the rest are text or empty.
        if e.name != "Data" && !e.children.is_empty() {
            out.push(std::format!("{path}: <{}> holds elements", e.name));
        }
        return;
    }
    let Some(m) = model(&e.name) else {
        out.push(std::format!("{path}: unknown element <{}>", e.name));
        return;
    };
    let names: Vec<&str> = e.children.iter().map(|c| c.name.as_str()).collect();
    if let Err(why) = matches(&m, &names) {
        out.push(std::format!(
            "{path}: {why} (children: {})",
            names.join(", ")
        ));
    }
    let is_command = COMMANDS.contains(&e.name.as_str()) && e.name != "Status";
    for (i, c) in e.children.iter().enumerate() {
        if c.name == "Cred" && (in_command || is_command) {
            out.push(std::format!(
                "{path}: Cred inside a command (DM RepPro: only in SyncHdr)"
            ));
        }
        let child_path = std::format!("{path}/{}[{i}]", c.name);
        walk(c, &child_path, in_command || is_command, out);
    }
}

/// Whether `names` follow the sequence `model`; the first breach otherwise.
fn matches(model: &[(&[&str], Occurs)], names: &[&str]) -> Result<(), String> {
    let mut at = 0;
    for (allowed, occurs) in model {
        let mut n = 0;
        while names.get(at).is_some_and(|c| allowed.contains(c)) {
            n += 1;
            at += 1;
            if matches!(occurs, One | Optional) {
                break;
            }
        }
        if n == 0 && matches!(occurs, One | OneOrMore) {
            return Err(std::format!(
                "<{}> missing or out of order",
                allowed.join("|")
            ));
        }
    }
    match names.get(at) {
        None => Ok(()),
        Some(extra) => Err(std::format!("<{extra}> not allowed here or out of order")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_OK: &str = "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>\
        <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>2</MsgID>\
        <Target><LocURI>s</LocURI></Target><Source><LocURI>d</LocURI></Source></SyncHdr>\
        <SyncBody><Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef>\
        <Cmd>SyncHdr</Cmd><Data>200</Data></Status><Final/></SyncBody></SyncML>";

    #[test]
    fn a_conforming_message_passes() {
        let root = read(STATUS_OK.as_bytes()).unwrap();
        assert_eq!(check(&root), Vec::<String>::new());
    }

    #[test]
    fn missing_and_misplaced_elements_are_breaches() {
        let no_msgref = STATUS_OK.replace("<MsgRef>1</MsgRef>", "");
        let v = check(&read(no_msgref.as_bytes()).unwrap());
        assert!(v.iter().any(|l| l.contains("MsgRef")), "{v:?}");
        let swapped = STATUS_OK.replace(
            "<MsgRef>1</MsgRef><CmdRef>0</CmdRef>",
            "<CmdRef>0</CmdRef><MsgRef>1</MsgRef>",
        );
        assert!(!check(&read(swapped.as_bytes()).unwrap()).is_empty());
        let cred_in_cmd = STATUS_OK.replace(
            "<Final/>",
            "<Alert><CmdID>2</CmdID><Cred><Data>x</Data></Cred><Data>1201</Data></Alert><Final/>",
        );
        let v = check(&read(cred_in_cmd.as_bytes()).unwrap());
        assert!(v.iter().any(|l| l.contains("Cred inside")), "{v:?}");
    }

    #[test]
    fn wbxml_is_read_with_its_own_tables() {
        // omadm-facts §1.7: libwbxml's encoding of a package 1 skeleton.
        let hex = "02a4016a006d6c7103312e3200017203444d2f312e32000165033100015b033100016e57\
                   03687474703a2f2f646d2e6578616d706c652e636f6d2f000101675703494d45493a313233\
                   0001015a00014c03383139320001010100006b464b033100014f0331323031000101120101";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let root = read(&bytes).unwrap();
        assert_eq!(check(&root), Vec::<String>::new());
        let hdr = &root.children[0];
        assert_eq!(hdr.children[0].name, "VerDTD");
        assert_eq!(hdr.children[0].text, "1.2");
        assert_eq!(hdr.children[6].children[0].name, "MaxMsgSize");
    }
}
