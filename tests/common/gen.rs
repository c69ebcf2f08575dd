//! A seeded generator of varied SyncML DM messages, written as XML text the way a server
//! or client would: every command, nested Atomic and Sequence, Meta, Cred and Chal,
//! MoreData, non-ASCII text and the XML special characters in data, and large data.
//! The same seed always gives the same message.
#![allow(dead_code)]

use std::fmt::Write;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Builds one message per seed.
pub struct Generator {
    rng: StdRng,
    out: String,
    cmd_id: u32,
    indent: bool,
    /// `Correlator` exists from SyncML 1.2 on.
    v12: bool,
    /// Largest data value, in characters.
    pub max_large: usize,
}

const WORDS: &[&str] = &[
    "DevInfo",
    "Mod",
    "hello",
    "caf\u{e9}",
    "\u{4e2d}\u{6587}",
    "\u{1f600}",
    "a&b",
    "<tag>",
    "x>y",
    "\"quoted\"",
    "it's",
    "50%",
    "tab\u{e9}",
    "MAXDT=15",
    "DR=1",
    "./FUMO/x",
    "na\u{ef}ve",
    "\u{3b1}\u{3b2}\u{3b3}",
    "&amp;",
    "]]>",
];

const URIS: &[&str] = &[
    "./DevInfo/DevId",
    "./DevInfo/Man",
    "./DevDetail/SwV",
    "./DMAcc/srv1/AppAddr/1/Addr",
    "./FUMO/fw1/Update/PkgData",
    "./CDMA/NAM/1/IMSI_M",
    "./Vendor/caf\u{e9}/n\u{e6}me",
    "./a b/c",
];

const FORMATS: &[&str] = &[
    "chr", "int", "bool", "b64", "bin", "node", "xml", "date", "time", "float", "null",
];
const TYPES: &[&str] = &[
    "text/plain",
    "text/x-vcard",
    "org.openmobilealliance.dm.firmwareupdate.download",
    "application/octet-stream",
];

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            out: String::new(),
            cmd_id: 0,
            indent: seed.is_multiple_of(3),
            v12: true,
            max_large: 64 * 1024,
        }
    }

    /// One message as XML.
    pub fn message(mut self) -> String {
        let version = if self.rng.random_bool(0.85) {
            "1.2"
        } else {
            "1.1"
        };
        self.v12 = version == "1.2";
        if self.rng.random_bool(0.5) {
            self.out
                .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        }
        let _ = write!(self.out, "<SyncML xmlns=\"SYNCML:SYNCML{version}\">");
        self.open("SyncHdr");
        self.leaf("VerDTD", version);
        self.leaf("VerProto", &format!("DM/{version}"));
        let session = format!("{:X}", self.rng.random_range(1..0xFFFFu32));
        self.leaf("SessionID", &session);
        let msg_id = self.rng.random_range(1..40u32).to_string();
        self.leaf("MsgID", &msg_id);
        self.location("Target");
        self.location("Source");
        if self.rng.random_bool(0.2) {
            self.leaf("RespURI", "http://127.0.0.1:8080/dm?s=1&amp;t=2");
        }
        if self.rng.random_bool(0.1) {
            self.empty("NoResp");
        }
        if self.rng.random_bool(0.4) {
            self.cred();
        }
        if self.rng.random_bool(0.6) {
            self.open("Meta");
            let max_msg = self.rng.random_range(512..65536u32).to_string();
            self.metinf("MaxMsgSize", &max_msg);
            if self.rng.random_bool(0.5) {
                let max_obj = self.rng.random_range(1024..1 << 24u32).to_string();
                self.metinf("MaxObjSize", &max_obj);
            }
            self.close("Meta");
        }
        self.close("SyncHdr");
        self.open("SyncBody");
        let n = self.rng.random_range(1..8);
        for _ in 0..n {
            self.command(0);
        }
        if self.rng.random_bool(0.7) {
            self.empty("Final");
        }
        self.close("SyncBody");
        self.out.push_str("</SyncML>");
        self.out
    }

    fn newline(&mut self) {
        if self.indent {
            self.out.push('\n');
        }
    }

    fn open(&mut self, name: &str) {
        self.newline();
        let _ = write!(self.out, "<{name}>");
    }

    fn close(&mut self, name: &str) {
        self.newline();
        let _ = write!(self.out, "</{name}>");
    }

    fn empty(&mut self, name: &str) {
        self.newline();
        let _ = write!(self.out, "<{name}/>");
    }

    /// A leaf whose content is already escaped.
    fn leaf(&mut self, name: &str, escaped: &str) {
        self.newline();
        let _ = write!(self.out, "<{name}>{escaped}</{name}>");
    }

    fn metinf(&mut self, name: &str, value: &str) {
        self.newline();
        if self.rng.random_bool(0.8) {
            let _ = write!(self.out, "<{name} xmlns=\"syncml:metinf\">{value}</{name}>");
        } else {
            let _ = write!(self.out, "<{name}>{value}</{name}>");
        }
    }

    fn next_cmd_id(&mut self) -> String {
        self.cmd_id += 1;
        self.cmd_id.to_string()
    }

    fn location(&mut self, name: &str) {
        self.open(name);
        let uri = escape(URIS[self.rng.random_range(0..URIS.len())]);
        self.leaf("LocURI", &uri);
        if self.rng.random_bool(0.3) {
            let text = self.text(12);
            self.leaf("LocName", &text);
        }
        self.close(name);
    }

    fn cred(&mut self) {
        self.open("Cred");
        self.open("Meta");
        self.metinf("Format", "b64");
        let scheme = if self.rng.random_bool(0.5) {
            "syncml:auth-md5"
        } else {
            "syncml:auth-basic"
        };
        self.metinf("Type", scheme);
        self.close("Meta");
        self.leaf("Data", "dXNlcjpwYXNz");
        self.close("Cred");
    }

    fn meta(&mut self) {
        self.open("Meta");
        if self.rng.random_bool(0.7) {
            let f = FORMATS[self.rng.random_range(0..FORMATS.len())];
            self.metinf("Format", f);
        }
        if self.rng.random_bool(0.6) {
            let t = TYPES[self.rng.random_range(0..TYPES.len())];
            self.metinf("Type", t);
        }
        if self.rng.random_bool(0.2) {
            self.metinf("Mark", "critical");
        }
        if self.rng.random_bool(0.2) {
            let size = self.rng.random_range(0..100000u32).to_string();
            self.metinf("Size", &size);
        }
        self.close("Meta");
    }

    /// Random escaped text: words with XML specials, non-ASCII, references and CDATA.
    /// It never starts or ends with white space, which peers may trim.
    fn text(&mut self, max_words: usize) -> String {
        let words = self.rng.random_range(1..=max_words);
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            let w = WORDS[self.rng.random_range(0..WORDS.len())];
            if self.rng.random_bool(0.1) {
                for c in w.chars() {
                    let _ = write!(s, "&#{};", c as u32);
                }
            } else {
                s.push_str(&escape(w));
            }
        }
        // Sometimes the whole content as one CDATA section. (Peers read a CDATA section
        // and the text around it as separate pieces and may trim each, so CDATA next to
        // white space would test the peer, not iotadm.)
        if words == 1 && self.rng.random_bool(0.3) {
            let w = WORDS[self.rng.random_range(0..WORDS.len())];
            if !w.contains("]]>") {
                return format!("<![CDATA[{w}]]>");
            }
        }
        s
    }

    /// Text for `Data`. libwbxml's `wbxml2xml` writes the data of items with a content type
    /// as a CDATA section without splitting a `]]>` inside it, which makes its output
    /// malformed; so data holds every special character but that sequence.
    fn data_text(&mut self, max_words: usize) -> String {
        loop {
            let t = self.text(max_words);
            if !t.contains("]]") && !t.contains("&#93;&#93;") {
                return t;
            }
        }
    }

    fn large(&mut self) -> String {
        let len = self.rng.random_range(1024..=self.max_large);
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            let c = (b'A' + self.rng.random_range(0..26)) as char;
            s.push(c);
            if self.rng.random_bool(0.01) {
                s.push_str("&amp;&lt;\u{e9}");
            }
        }
        s
    }

    fn item(&mut self, with_data: bool) {
        self.open("Item");
        if self.rng.random_bool(0.8) {
            self.location("Target");
        }
        if self.rng.random_bool(0.3) {
            self.location("Source");
        }
        if self.rng.random_bool(0.5) {
            self.meta();
        }
        if with_data && self.rng.random_bool(0.85) {
            let data = if self.rng.random_bool(0.05) {
                self.large()
            } else {
                self.data_text(6)
            };
            if self.rng.random_bool(0.05) {
                self.empty("Data");
            } else {
                self.leaf("Data", &data);
            }
        }
        if self.rng.random_bool(0.1) {
            self.empty("MoreData");
        }
        self.close("Item");
    }

    fn items(&mut self, min: usize, max: usize, with_data: bool) {
        let n = self.rng.random_range(min..=max);
        for _ in 0..n {
            self.item(with_data);
        }
    }

    fn command(&mut self, depth: u32) {
        let pick = self.rng.random_range(0..if depth < 2 { 11 } else { 9 });
        let id = self.next_cmd_id();
        match pick {
            0..=4 => {
                let name = ["Add", "Copy", "Delete", "Get", "Replace"][pick];
                self.open(name);
                self.leaf("CmdID", &id);
                if self.rng.random_bool(0.1) {
                    self.empty("NoResp");
                }
                if self.rng.random_bool(0.3) {
                    self.meta();
                }
                self.items(1, 4, name != "Get" && name != "Delete");
                self.close(name);
            }
            5 => {
                self.open("Exec");
                self.leaf("CmdID", &id);
                if self.v12 && self.rng.random_bool(0.5) {
                    let corr = format!("corr-{}", self.rng.random_range(0..1000u32));
                    self.leaf("Correlator", &corr);
                }
                self.items(1, 1, true);
                self.close("Exec");
            }
            6 => {
                self.open("Alert");
                self.leaf("CmdID", &id);
                let code = [1100, 1101, 1102, 1103, 1104, 1200, 1201, 1222, 1223, 1226]
                    [self.rng.random_range(0..10)];
                self.leaf("Data", &code.to_string());
                if self.v12 && code == 1226 && self.rng.random_bool(0.5) {
                    self.leaf("Correlator", "abc&amp;123");
                }
                self.items(0, 3, true);
                self.close("Alert");
            }
            7 => {
                self.open("Status");
                self.leaf("CmdID", &id);
                let msg_ref = self.rng.random_range(1..9u32).to_string();
                self.leaf("MsgRef", &msg_ref);
                let cmd_ref = self.rng.random_range(0..30u32).to_string();
                self.leaf("CmdRef", &cmd_ref);
                let cmd =
                    ["SyncHdr", "Add", "Replace", "Alert", "Exec"][self.rng.random_range(0..5)];
                self.leaf("Cmd", cmd);
                for _ in 0..self.rng.random_range(0..3) {
                    let uri = escape(URIS[self.rng.random_range(0..URIS.len())]);
                    self.leaf("TargetRef", &uri);
                }
                for _ in 0..self.rng.random_range(0..2) {
                    let uri = escape(URIS[self.rng.random_range(0..URIS.len())]);
                    self.leaf("SourceRef", &uri);
                }
                if self.rng.random_bool(0.2) {
                    self.open("Chal");
                    self.open("Meta");
                    self.metinf("Type", "syncml:auth-md5");
                    self.metinf("Format", "b64");
                    self.metinf("NextNonce", "LG3iZQhhdmKNHg==");
                    self.close("Meta");
                    self.close("Chal");
                }
                let code = [200, 212, 213, 401, 404, 407, 425, 500][self.rng.random_range(0..8)];
                self.leaf("Data", &code.to_string());
                self.items(0, 1, true);
                self.close("Status");
            }
            8 => {
                self.open("Results");
                self.leaf("CmdID", &id);
                self.leaf("MsgRef", "1");
                let cmd_ref = self.rng.random_range(1..30u32).to_string();
                self.leaf("CmdRef", &cmd_ref);
                if self.rng.random_bool(0.3) {
                    self.meta();
                }
                self.items(1, 4, true);
                self.close("Results");
            }
            _ => {
                let name = if pick == 9 { "Atomic" } else { "Sequence" };
                self.open(name);
                self.leaf("CmdID", &id);
                for _ in 0..self.rng.random_range(1..4) {
                    self.command(depth + 1);
                }
                self.close(name);
            }
        }
    }
}

/// Escapes text for XML element content.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A message of about `target` bytes of XML: a Replace of many items, as a device sends
/// a large part of its tree.
pub fn large_message(target: usize) -> String {
    let mut s = String::from(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
         <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>http://127.0.0.1/dm</LocURI></Target>\
         <Source><LocURI>IMEI:123456789012345</LocURI></Source></SyncHdr><SyncBody><Replace><CmdID>1</CmdID>",
    );
    let mut i = 0u32;
    while s.len() < target {
        let _ = write!(
            s,
            "<Item><Source><LocURI>./Vendor/Node{i}/Value</LocURI></Source><Meta><Format xmlns=\"syncml:metinf\">chr</Format>\
             <Type xmlns=\"syncml:metinf\">text/plain</Type></Meta><Data>value {i} of the node &amp; its neighbours</Data></Item>"
        );
        i += 1;
    }
    s.push_str("</Replace><Final/></SyncBody></SyncML>");
    s
}

/// A message of about `target` bytes of XML made of the commands of many generated
/// messages (seeds 0, 1, 2, ...) under one header: every command kind, nested containers,
/// references, CDATA, non-ASCII text and the occasional large value, in the proportions the
/// generator gives them. Unlike [`large_message`], no element has thousands of children.
pub fn mixed_message(target: usize) -> String {
    let mut s = String::from(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
         <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:123456789012345</LocURI></Target>\
         <Source><LocURI>http://127.0.0.1/dm</LocURI></Source></SyncHdr><SyncBody>",
    );
    let mut seed = 0;
    while s.len() < target {
        let msg = Generator::new(seed).message();
        seed += 1;
        let start = msg.find("<SyncBody>").map_or(0, |i| i + "<SyncBody>".len());
        let end = msg.rfind("</SyncBody>").unwrap_or(msg.len());
        s.push_str(msg[start..end].trim_end().trim_end_matches("<Final/>"));
    }
    s.push_str("<Final/></SyncBody></SyncML>");
    s
}
