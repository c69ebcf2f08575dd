//! The codec through its public API: building and encoding messages, sizes, limits, and
//! the encoding rules that keep every model the same through both encodings.

use iotadm::codec::{
    self, Command, Data, DecodeErrorKind, EncodeError, EncodeOptions, Encoding, Item, ItemCommand,
    Limits, List, Location, Message, MetInf, Meta, SyncBody, SyncHdr, Text, XmlEvent,
    DDF_NAMESPACE,
};

fn header() -> SyncHdr<'static> {
    SyncHdr {
        ver_dtd: Text::new("1.2"),
        ver_proto: Text::new("DM/1.2"),
        session_id: Text::new("1A2B"),
        msg_id: Text::new("1"),
        target: Location::new("http://127.0.0.1:8080/dm"),
        source: Location::new("IMEI:490154203237518"),
        resp_uri: None,
        no_resp: false,
        cred: None,
        meta: None,
    }
}

fn message<'a>(commands: &'a [Command<'a>]) -> Message<'a> {
    Message {
        header: header(),
        body: SyncBody {
            commands: List::new(commands),
            is_final: true,
        },
    }
}

fn encode(msg: &Message<'_>, encoding: Encoding) -> Vec<u8> {
    let mut buf = vec![0; msg.encoded_len(encoding).unwrap()];
    let n = msg.encode(encoding, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// An item for `./DevInfo/DmV` whose data is the text `data`.
fn dmv(data: &str) -> Item<'_> {
    Item {
        source: Some(Location::new("./DevInfo/DmV")),
        data: Some(Data::Text(Text::new(data))),
        ..Item::default()
    }
}

fn replace<'a>(items: &'a [Item<'a>]) -> [Command<'a>; 1] {
    [Command::Replace(ItemCommand {
        cmd_id: Text::new("2"),
        no_resp: false,
        cred: None,
        meta: None,
        items: List::new(items),
    })]
}

#[test]
fn built_messages_encode_to_the_peer_reference_bytes() {
    // The client package 1 of omadm-facts §1.7, which libwbxml 0.11.8 encodes to these bytes.
    let meta = MetInf {
        max_msg_size: Some(Text::new("8192")),
        ..MetInf::default()
    };
    let alert = [Command::Alert(codec::Alert {
        cmd_id: Text::new("1"),
        no_resp: false,
        cred: None,
        data: Some(Text::new("1201")),
        correlator: None,
        items: List::empty(),
    })];
    let msg = Message {
        header: SyncHdr {
            session_id: Text::new("1"),
            target: Location::new("http://dm.example.com/"),
            source: Location::new("IMEI:123"),
            meta: Some(Meta::new(&meta)),
            ..header()
        },
        body: SyncBody {
            commands: List::new(&alert),
            is_final: true,
        },
    };
    let expected = "02a4016a006d6c7103312e3200017203444d2f312e32000165033100015b033100016e5703687474703a2f2f646d2e6578616d706c652e636f6d2f000101675703494d45493a3132330001015a00014c03383139320001010100006b464b033100014f0331323031000101120101";
    let bytes = encode(&msg, Encoding::Wbxml);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, expected);
}

#[test]
fn a_short_buffer_reports_the_size_it_needs() {
    let items = [Item {
        target: Some(Location::new("./DevInfo/Mod")),
        data: Some(Data::Text(Text::new("X1 & <co>"))),
        ..Item::default()
    }];
    let cmds = replace(&items);
    let msg = message(&cmds);
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let len = msg.encoded_len(encoding).unwrap();
        for short in [0, 1, len / 2, len - 1] {
            let mut buf = vec![0; short];
            assert_eq!(
                msg.encode(encoding, &mut buf),
                Err(EncodeError::BufferTooSmall { required: len })
            );
        }
        let mut buf = vec![0; len + 10];
        assert_eq!(msg.encode(encoding, &mut buf), Ok(len));
    }
}

#[test]
fn special_characters_round_trip_in_both_encodings() {
    let text = "a & b < c > d \" e ' f \u{e9}\u{4e2d}\u{1f600} \r\n tail\tend";
    let items = [Item {
        target: Some(Location::new("./Vendor/caf\u{e9}&co")),
        data: Some(Data::Text(Text::new(text))),
        ..Item::default()
    }];
    let cmds = replace(&items);
    let msg = message(&cmds);
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let bytes = encode(&msg, encoding);
        let back = codec::parse(&bytes).unwrap();
        assert_eq!(back, msg, "{encoding:?}");
        let Some(Command::Replace(r)) = back.body.commands.first() else {
            panic!()
        };
        let data = r.items.first().unwrap().data.unwrap().content().unwrap();
        assert_eq!(data, text);
    }
    // XML keeps the carriage return through the line-end normalisation of XML readers.
    let xml = encode(&msg, Encoding::Xml);
    assert!(String::from_utf8(xml).unwrap().contains("&#13;"));
}

#[test]
fn binary_data_is_opaque_in_wbxml_and_refused_in_xml() {
    let bin = [0u8, 0xff, 0x10, 0x80, b'a'];
    let items = [Item {
        target: Some(Location::new("./x")),
        data: Some(Data::Opaque(Text::from_bytes(&bin))),
        ..Item::default()
    }];
    let cmds = replace(&items);
    let msg = message(&cmds);
    assert!(matches!(
        msg.encoded_len(Encoding::Xml),
        Err(EncodeError::Unrepresentable(_))
    ));
    let wbxml = encode(&msg, Encoding::Wbxml);
    let back = codec::parse(&wbxml).unwrap();
    let Some(Command::Replace(r)) = back.body.commands.first() else {
        panic!()
    };
    let Some(Data::Opaque(t)) = r.items.first().unwrap().data else {
        panic!("not opaque")
    };
    assert_eq!(t.as_bytes(), Some(&bin[..]));
}

#[test]
fn opaque_data_that_looks_like_a_document_reads_back_as_opaque() {
    // A WBXML DDF document, but sent as opaque bytes: it must not turn into embedded XML.
    let mut doc = vec![0x02, 0x00, 0x00, 0x6A, 27];
    doc.extend_from_slice(b"-//OMA//DTD-DM-DDF 1.2//EN\0");
    doc.extend_from_slice(&[0x00, 0x02, 0x20]); // SWITCH_PAGE 2, <MgmtTree/>
    let items = [Item {
        target: Some(Location::new("./x")),
        data: Some(Data::Opaque(Text::from_bytes(&doc))),
        ..Item::default()
    }];
    let cmds = replace(&items);
    let msg = message(&cmds);
    let wbxml = encode(&msg, Encoding::Wbxml);
    let back = codec::parse(&wbxml).unwrap();
    let Some(Command::Replace(r)) = back.body.commands.first() else {
        panic!()
    };
    assert!(matches!(
        r.items.first().unwrap().data,
        Some(Data::Opaque(_))
    ));
    assert_eq!(back, msg);
}

#[test]
fn text_that_is_not_utf8_is_written_as_opaque() {
    let items = [Item {
        target: Some(Location::new("./x")),
        data: Some(Data::Text(Text::from_bytes(b"\xff\xfe"))),
        ..Item::default()
    }];
    let cmds = replace(&items);
    let msg = message(&cmds);
    let wbxml = encode(&msg, Encoding::Wbxml);
    let back = codec::parse(&wbxml).unwrap();
    assert_eq!(back, msg);
}

const TNDS: &str = r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>
<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>srv</LocURI></Source>
</SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item><Target><LocURI>./DMAcc</LocURI></Target><Meta>
<Format xmlns="syncml:metinf">xml</Format><Type xmlns="syncml:metinf">application/vnd.syncml.dmtnds+xml</Type></Meta>
<Data><MgmtTree xmlns="SYNCML:DMDDF1.2"><VerDTD>1.2</VerDTD><Node xmlns="syncml:dmddf1.2"><NodeName>srv1</NodeName>
<RTProperties><Format><node/></Format></RTProperties></Node></MgmtTree></Data></Item></Add><Final/></SyncBody></SyncML>"#;

#[test]
fn tnds_travels_in_wbxml_as_a_nested_document_typed_as_such() {
    let msg = codec::parse(TNDS.as_bytes()).unwrap();
    let wbxml = encode(&msg, Encoding::Wbxml);
    // On the wire: the type names the WBXML form and the data is a DDF document in OPAQUE.
    let find = |needle: &[u8]| wbxml.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"application/vnd.syncml.dmtnds+wbxml"));
    assert!(find(b"-//OMA//DTD-DM-DDF 1.2//EN"));
    // In the model: XML typed as XML, whichever encoding it came in.
    let back = codec::parse(&wbxml).unwrap();
    assert_eq!(back, msg);
    let Some(Command::Add(add)) = back.body.commands.first() else {
        panic!()
    };
    let item = add.items.first().unwrap();
    assert_eq!(
        item.meta.unwrap().type_().unwrap(),
        "application/vnd.syncml.dmtnds+xml"
    );
    let Some(Data::Xml(tree)) = item.data else {
        panic!()
    };
    let events: Vec<XmlEvent<'_>> = tree.events().collect();
    // The namespace is reported where it changes, in its canonical spelling; the redundant
    // declaration on Node is not a change.
    assert_eq!(
        events[0],
        XmlEvent::Start {
            name: "MgmtTree",
            namespace: Some(DDF_NAMESPACE)
        }
    );
    assert!(events.contains(&XmlEvent::Start {
        name: "Node",
        namespace: None
    }));
    assert_eq!(events.iter().filter(|e| **e == XmlEvent::End).count(), 7);
}

/// Media types are case-insensitive: a TNDS item typed in another case is TNDS, reads in
/// the canonical spelling, and reads the same through both encodings.
#[test]
fn a_tnds_type_in_another_case_is_tnds_in_both_encodings() {
    let xml = TNDS.replace(
        "application/vnd.syncml.dmtnds+xml",
        "application/VND.SyncML.dmtnds+XML",
    );
    assert_ne!(xml, TNDS);
    let msg = codec::parse(xml.as_bytes()).unwrap();
    let type_of = |m: &codec::Message<'_>| {
        let Some(Command::Add(add)) = m.body.commands.first() else {
            panic!()
        };
        add.items
            .first()
            .unwrap()
            .meta
            .unwrap()
            .type_()
            .unwrap()
            .to_string()
    };
    assert_eq!(type_of(&msg), "application/vnd.syncml.dmtnds+xml");
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let bytes = encode(&msg, encoding);
        let back = codec::parse(&bytes).unwrap();
        assert_eq!(back, msg, "{encoding:?}");
    }
}

#[test]
fn embedded_xml_without_a_namespace_stays_in_syncml() {
    // MgmtTree without xmlns inherits the SyncML namespace of Data, where it has no token.
    let xml = TNDS
        .replace(r#" xmlns="SYNCML:DMDDF1.2""#, "")
        .replace(r#" xmlns="syncml:dmddf1.2""#, "");
    let msg = codec::parse(xml.as_bytes()).unwrap();
    assert!(matches!(
        msg.encoded_len(Encoding::Wbxml),
        Err(EncodeError::Unrepresentable(_))
    ));
    assert_eq!(codec::parse(&encode(&msg, Encoding::Xml)).unwrap(), msg);
}

#[test]
fn inline_ddf_code_page_is_read_too() {
    // Some encoders put TNDS inline, switching to code page 2 inside Data.
    let mut doc = vec![0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6C];
    for (tag, text) in [(0x71, "1.2"), (0x72, "DM/1.2"), (0x65, "1"), (0x5B, "1")] {
        doc.push(tag);
        doc.push(0x03);
        doc.extend_from_slice(text.as_bytes());
        doc.extend_from_slice(&[0x00, 0x01]);
    }
    doc.extend_from_slice(&[
        0x6E, 0x57, 0x03, b't', 0x00, 0x01, 0x01, 0x67, 0x57, 0x03, b's', 0x00, 0x01, 0x01, 0x01,
    ]);
    // <SyncBody><Replace><CmdID>1</CmdID><Item><Data> SWITCH 2 <MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>
    doc.extend_from_slice(&[
        0x6B, 0x60, 0x4B, 0x03, b'1', 0x00, 0x01, 0x54, 0x4F, 0x00, 0x02, 0x60, 0x77, 0x03,
    ]);
    doc.extend_from_slice(b"1.2\0");
    // </VerDTD></MgmtTree></Data></Item></Replace> SWITCH 0 <Final/></SyncBody></SyncML>
    doc.extend_from_slice(&[0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x12, 0x01, 0x01]);
    let msg = codec::parse(&doc).unwrap();
    assert!(msg.body.is_final);
    let Some(Command::Replace(r)) = msg.body.commands.first() else {
        panic!()
    };
    let Some(Data::Xml(tree)) = r.items.first().unwrap().data else {
        panic!()
    };
    let events: Vec<_> = tree.events().collect();
    assert_eq!(
        events,
        [
            XmlEvent::Start {
                name: "MgmtTree",
                namespace: Some(DDF_NAMESPACE)
            },
            XmlEvent::Start {
                name: "VerDTD",
                namespace: None
            },
            XmlEvent::Text(Text::new("1.2")),
            XmlEvent::End,
            XmlEvent::End,
        ]
    );
    let xml = encode(&msg, Encoding::Xml);
    assert_eq!(codec::parse(&xml).unwrap(), msg);
}

#[test]
fn limits_are_errors_not_crashes() {
    // 200 nested Atomics: refused by depth, in both encodings, without recursing.
    let mut xml = String::from(
        r#"<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source></SyncHdr><SyncBody>"#,
    );
    for i in 0..200 {
        xml.push_str(&format!("<Atomic><CmdID>{i}</CmdID>"));
    }
    for _ in 0..200 {
        xml.push_str("</Atomic>");
    }
    xml.push_str("</SyncBody></SyncML>");
    let e = codec::parse(xml.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::DepthLimit);
    // Within the element depth limit but past the command nesting bound: still an error.
    let nine = xml.replace("<Atomic><CmdID>", "<Sequence><CmdID>");
    let mut shallow = String::new();
    let open = nine.find("<Sequence>").unwrap();
    shallow.push_str(&nine[..open]);
    for i in 0..9 {
        shallow.push_str(&format!("<Atomic><CmdID>{i}</CmdID>"));
    }
    for _ in 0..9 {
        shallow.push_str("</Atomic>");
    }
    shallow.push_str("</SyncBody></SyncML>");
    assert_eq!(
        codec::parse(shallow.as_bytes()).unwrap_err().kind(),
        DecodeErrorKind::DepthLimit
    );
    // Element count and string length.
    let few = Limits {
        max_elements: 10,
        ..Limits::DEFAULT
    };
    assert_eq!(
        codec::parse_with(TNDS.as_bytes(), &few).unwrap_err().kind(),
        DecodeErrorKind::ElementLimit
    );
    let short = Limits {
        max_string_len: 8,
        ..Limits::DEFAULT
    };
    assert_eq!(
        codec::parse_with(TNDS.as_bytes(), &short)
            .unwrap_err()
            .kind(),
        DecodeErrorKind::StringLimit
    );
    let wbxml = encode(&codec::parse(TNDS.as_bytes()).unwrap(), Encoding::Wbxml);
    assert_eq!(
        codec::parse_with(&wbxml, &few).unwrap_err().kind(),
        DecodeErrorKind::ElementLimit
    );
    assert_eq!(
        codec::parse_with(&wbxml, &short).unwrap_err().kind(),
        DecodeErrorKind::StringLimit
    );
}

#[test]
fn every_truncation_of_a_message_is_an_error() {
    let msg = codec::parse(TNDS.as_bytes()).unwrap();
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let bytes = encode(&msg, encoding);
        for cut in 0..bytes.len() {
            assert!(
                codec::parse(&bytes[..cut]).is_err(),
                "{encoding:?} cut at {cut}"
            );
        }
    }
}

#[test]
fn missing_required_elements_are_named() {
    let xml = TNDS.replace("<MsgID>1</MsgID>", "");
    let e = codec::parse(xml.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::MissingElement("MsgID"));
    let xml = TNDS.replace("<CmdID>1</CmdID>", "");
    assert_eq!(
        codec::parse(xml.as_bytes()).unwrap_err().kind(),
        DecodeErrorKind::MissingElement("CmdID")
    );
    let xml = TNDS.replace(
        "<VerDTD>1.2</VerDTD><VerProto>",
        "<VerDTD>1.2</VerDTD><VerDTD>1.2</VerDTD><VerProto>",
    );
    assert_eq!(
        codec::parse(xml.as_bytes()).unwrap_err().kind(),
        DecodeErrorKind::DuplicateElement
    );
    let xml = TNDS.replace("<Final/>", "<Bogus/>");
    assert_eq!(
        codec::parse(xml.as_bytes()).unwrap_err().kind(),
        DecodeErrorKind::UnexpectedElement
    );
}

#[test]
fn pretty_xml_reads_back_the_same() {
    let msg = codec::parse(TNDS.as_bytes()).unwrap();
    let options = EncodeOptions {
        indent: true,
        xml_declaration: false,
        ..EncodeOptions::new(Encoding::Xml)
    };
    let mut buf = vec![0; msg.encoded_len_with(&options).unwrap()];
    let n = msg.encode_with(&options, &mut buf).unwrap();
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(text.starts_with("<SyncML xmlns=\"SYNCML:SYNCML1.2\">\n  <SyncHdr>"));
    assert_eq!(codec::parse(&buf[..n]).unwrap(), msg);
}

#[test]
fn wbxml_versions_and_public_ids_follow_the_header() {
    let msg = codec::parse(TNDS.as_bytes()).unwrap();
    for version in [0x01u8, 0x02, 0x03] {
        let options = EncodeOptions {
            wbxml_version: version,
            ..EncodeOptions::new(Encoding::Wbxml)
        };
        let mut buf = vec![0; msg.encoded_len_with(&options).unwrap()];
        msg.encode_with(&options, &mut buf).unwrap();
        assert_eq!(buf[0], version);
        assert_eq!(codec::wbxml_info(&buf).unwrap().public_id, 0x1201);
        assert_eq!(codec::parse(&buf).unwrap(), msg);
    }
    let dm11 = TNDS.replace(
        "<VerDTD>1.2</VerDTD><VerProto>",
        "<VerDTD>1.1</VerDTD><VerProto>",
    );
    let msg = codec::parse(dm11.as_bytes()).unwrap();
    let wbxml = encode(&msg, Encoding::Wbxml);
    assert_eq!(codec::wbxml_info(&wbxml).unwrap().public_id, 0x0FD3);
    let xml = String::from_utf8(encode(&msg, Encoding::Xml)).unwrap();
    assert!(xml.contains("SYNCML:SYNCML1.1"));
}

#[test]
fn a_message_writer_keeps_each_message_within_its_limit() {
    // Forty Replace commands of 64-byte values, split over messages of at most 600 bytes:
    // each message must stay within the limit, decode on its own, and together they must
    // carry every command exactly once, in order.
    let values: Vec<String> = (0..40)
        .map(|i| format!("{i:02}{}", "v".repeat(62)))
        .collect();
    let items: Vec<[Item<'_>; 1]> = values
        .iter()
        .map(|v| {
            [Item {
                target: Some(Location::new("./Vendor/Value")),
                data: Some(Data::Text(Text::new(v))),
                ..Item::default()
            }]
        })
        .collect();
    let commands: Vec<Command<'_>> = items
        .iter()
        .map(|items| {
            Command::Replace(ItemCommand {
                cmd_id: Text::new("7"),
                no_resp: false,
                cred: None,
                meta: None,
                items: List::new(items),
            })
        })
        .collect();
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let limit = 600;
        let mut seen = Vec::new();
        let mut next = 0;
        let mut messages = 0;
        while next < commands.len() {
            let mut buf = vec![0u8; 4096];
            let mut w = codec::MessageWriter::new(
                &EncodeOptions::new(encoding),
                &header(),
                &mut buf,
                limit,
            )
            .unwrap();
            let before = next;
            while next < commands.len() && w.push(&commands[next]).unwrap() {
                assert!(w.written() <= limit);
                next += 1;
            }
            assert!(next > before, "a message must take at least one command");
            let is_final = next == commands.len();
            let n = w.finish(is_final);
            assert!(
                n <= limit,
                "{encoding:?}: message of {n} bytes over {limit}"
            );
            let msg = codec::parse(&buf[..n]).unwrap();
            assert_eq!(msg.body.is_final, is_final);
            for cmd in msg.body.commands {
                let Command::Replace(r) = cmd else {
                    panic!("not a Replace")
                };
                let item = r.items.first().unwrap();
                let data = item.data.unwrap().content().unwrap();
                let mut tmp = [0u8; 128];
                seen.push(data.to_str(&mut tmp).unwrap().to_owned());
            }
            messages += 1;
        }
        assert_eq!(seen, values, "{encoding:?}");
        assert!(messages > 1, "{encoding:?}: the limit must force a split");
    }
}

#[test]
fn a_message_writer_refuses_a_limit_below_its_header() {
    let mut buf = [0u8; 4096];
    let err =
        codec::MessageWriter::new(&EncodeOptions::new(Encoding::Xml), &header(), &mut buf, 64)
            .err()
            .unwrap();
    assert!(matches!(err, EncodeError::BufferTooSmall { required } if required > 64));
}

/// A WBXML message whose Replace carries, as its data, one empty element named by a
/// literal: the string table `table`, index 0.
fn with_literal_element(table: &[u8]) -> Vec<u8> {
    let items = [dmv("x")];
    let commands = replace(&items);
    let wbxml = encode(&message(&commands), Encoding::Wbxml);
    // The encoder writes no string table; the literal goes in place of the inline "x".
    let (head, body) = wbxml.split_at(4);
    assert_eq!(body[0], 0, "no string table");
    let body = &body[1..];
    let at = body
        .windows(3)
        .position(|w| w == [0x03, b'x', 0x00])
        .expect("the data's inline string");
    let mut doc = head.to_vec();
    doc.push(table.len() as u8);
    doc.extend_from_slice(table);
    doc.extend_from_slice(&body[..at]);
    doc.extend_from_slice(&[0x04, 0x00]);
    doc.extend_from_slice(&body[at + 3..]);
    doc
}

/// A WBXML literal element name with a prefix (`syncml:metinf`) reads as its local name, as
/// the same element does in XML, so the model is the same through both encodings.
#[test]
fn a_literal_element_name_reads_as_its_local_name_in_both_encodings() {
    let doc = with_literal_element(b"syncml:metinf\0");
    let msg = codec::parse(&doc).unwrap();
    let Command::Replace(r) = msg.body.commands.iter().next().unwrap() else {
        panic!("a Replace");
    };
    let Some(Data::Xml(x)) = r.items.iter().next().unwrap().data else {
        panic!("embedded XML");
    };
    let names: Vec<_> = x
        .events()
        .filter_map(|e| match e {
            XmlEvent::Start { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["metinf"]);
    assert_eq!(codec::parse(&encode(&msg, Encoding::Xml)).unwrap(), msg);
}

/// A literal element name that is not an XML name (here a number from the string table)
/// is refused when read, rather than becoming an element no XML encoder can write.
#[test]
fn a_literal_element_name_that_is_not_an_xml_name_is_refused() {
    for (table, ok) in [
        (&b"0000098788096\0"[..], false),
        (b"a:1\0", false),
        (b"-a\0", false),
        (b"a:b\0", true),
        (b"_x\0", true),
    ] {
        let doc = with_literal_element(table);
        let parsed = codec::parse(&doc);
        assert_eq!(parsed.is_ok(), ok, "{:?}", String::from_utf8_lossy(table));
        if let Ok(msg) = parsed {
            assert_eq!(codec::parse(&encode(&msg, Encoding::Xml)).unwrap(), msg);
        }
    }
    // The same rule in XML: a prefixed name whose local part is not a name.
    let items = [dmv("x")];
    let commands = replace(&items);
    let xml = String::from_utf8(encode(&message(&commands), Encoding::Xml)).unwrap();
    let bad = xml.replace("<Data>x</Data>", "<Data><a:1/></Data>");
    assert_ne!(bad, xml);
    assert!(matches!(
        codec::parse(bad.as_bytes()).unwrap_err().kind(),
        DecodeErrorKind::Syntax(_)
    ));
}

/// A leaf value is trimmed of white space at the ends of its decoded content, wherever that
/// white space comes from: a CDATA section, a character reference, or the far side of a
/// comment. Trimming only the raw span left such a value with white space the encoder
/// writes out and the next read trims, so the model changed through either encoding.
#[test]
fn leaf_values_are_trimmed_after_decoding() {
    let xml = String::from_utf8(encode(&message(&[]), Encoding::Xml)).unwrap();
    for session in [
        "<![CDATA[ 1A2B ]]>",
        "&#32;1A2B&#x9;",
        "\n 1A2B   <!-- comment --> ",
        " <!-- comment -->  1A2B",
        "<?pi?> 1A2B <![CDATA[\n]]>",
        "1A<!-- inner white space stays -->2B",
    ] {
        let doc = xml.replace(
            "<SessionID>1A2B</SessionID>",
            &format!("<SessionID>{session}</SessionID>"),
        );
        assert_ne!(doc, xml);
        let msg = codec::parse(doc.as_bytes()).unwrap();
        assert_eq!(msg.header.session_id, "1A2B", "{session:?}");
        for encoding in [Encoding::Xml, Encoding::Wbxml] {
            assert_eq!(
                codec::parse(&encode(&msg, encoding)).unwrap(),
                msg,
                "{session:?}"
            );
        }
    }
    // Inside, white space is content, from wherever it comes.
    let doc = xml.replace(
        "<SessionID>1A2B</SessionID>",
        "<SessionID> 1A<![CDATA[ ]]>2B </SessionID>",
    );
    let msg = codec::parse(doc.as_bytes()).unwrap();
    assert_eq!(msg.header.session_id, "1A 2B");
    // A value of only white space, however written, is empty.
    let doc = xml.replace(
        "<SessionID>1A2B</SessionID>",
        "<SessionID>&#32;<![CDATA[ ]]></SessionID>",
    );
    assert!(codec::parse(doc.as_bytes())
        .unwrap()
        .header
        .session_id
        .is_empty());
}

/// A processing instruction inside character data is part of the text around it, in WBXML
/// as in XML: `a<?pi?>b` reads as `ab` from both. Before, the WBXML reader ended the text
/// at the instruction and read what followed as a second text.
#[test]
fn a_processing_instruction_inside_text_does_not_split_it() {
    let items = [dmv("ab")];
    let commands = replace(&items);
    let plain = message(&commands);
    let data_of = |msg: &Message<'_>| {
        let Command::Replace(r) = msg.body.commands.iter().next().unwrap() else {
            panic!("a Replace");
        };
        let Some(Data::Text(t)) = r.items.iter().next().unwrap().data else {
            panic!("text data");
        };
        t.to_string()
    };

    let xml = String::from_utf8(encode(&plain, Encoding::Xml)).unwrap();
    let xml = xml.replace("<Data>ab</Data>", "<Data>a<?pi x?>b</Data>");
    assert_eq!(data_of(&codec::parse(xml.as_bytes()).unwrap()), "ab");

    let wbxml = encode(&plain, Encoding::Wbxml);
    let at = wbxml
        .windows(4)
        .position(|w| w == [0x03, b'a', b'b', 0x00])
        .expect("the data's inline string");
    // STR_I "a", PI (an attribute start token, END), STR_I "b".
    let mut doc = wbxml[..at].to_vec();
    doc.extend_from_slice(&[0x03, b'a', 0x00, 0x43, 0x05, 0x01, 0x03, b'b', 0x00]);
    doc.extend_from_slice(&wbxml[at + 4..]);
    let msg = codec::parse(&doc).unwrap();
    assert_eq!(data_of(&msg), "ab");
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        assert_eq!(codec::parse(&encode(&msg, encoding)).unwrap(), msg);
    }
}
