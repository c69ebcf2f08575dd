//! Every real message in the corpus: well-formed ones decode and survive decode, encode,
//! decode unchanged in both encodings; malformed ones are refused with an error that names
//! the offending byte. The quirks the corpus documents each get a test of their own.

mod common;

use iotadm::codec::{self, Command, Data, DecodeErrorKind, Encoding, Limits};

fn round_trip(name: &str, msg: &codec::Message<'_>) {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let len = msg
            .encoded_len(encoding)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut buf = vec![0u8; len];
        let n = msg
            .encode(encoding, &mut buf)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            n, len,
            "{name}: encoded_len disagrees with encode ({encoding:?})"
        );
        let again =
            codec::parse(&buf).unwrap_or_else(|e| panic!("{name} re-decoded as {encoding:?}: {e}"));
        assert_eq!(&again, msg, "{name}: model changed through {encoding:?}");
        // Encoding what was decoded gives the same bytes again: the encoder is canonical.
        let mut buf2 = vec![0u8; len];
        let n2 = again.encode(encoding, &mut buf2).unwrap();
        assert_eq!(
            buf[..n],
            buf2[..n2],
            "{name}: second encoding differs ({encoding:?})"
        );
    }
}

#[test]
fn well_formed_messages_decode_and_round_trip_in_both_encodings() {
    let mut decoded = 0;
    for file in common::corpus().iter().filter(|f| !f.malformed) {
        let msg = codec::parse(&file.bytes).unwrap_or_else(|e| panic!("{}: {e}", file.name));
        assert!(!msg.body.commands.is_empty(), "{}: no commands", file.name);
        round_trip(&file.name, &msg);
        decoded += 1;
    }
    println!("corpus: {decoded} well-formed messages decoded and round-tripped");
    assert!(decoded >= 60);
}

#[test]
fn malformed_messages_are_refused_at_the_offending_byte() {
    let mut refused = 0;
    for file in common::corpus().iter().filter(|f| f.malformed) {
        let e = codec::parse(&file.bytes).expect_err(&file.name);
        // Each of these breaks XML at a quote character: typographic quotes from a PDF, or
        // an attribute whose quotes were themselves escaped.
        let at = file.bytes.get(e.offset()).copied();
        assert!(
            matches!(at, Some(0xE2) | Some(b'&')),
            "{}: error {e} points at {at:?}",
            file.name
        );
        assert!(
            matches!(e.kind(), DecodeErrorKind::Syntax(_)),
            "{}: {e}",
            file.name
        );
        refused += 1;
    }
    assert_eq!(refused, 5);
}

#[test]
fn unescaped_ampersands_are_read_leniently_and_refused_strictly() {
    let strict = Limits {
        lenient: false,
        ..Limits::DEFAULT
    };
    let mut lenient_files = 0;
    for file in common::corpus()
        .iter()
        .filter(|f| !f.malformed && !f.libwbxml_pass)
    {
        // libwbxml's parser refuses these; a handset reads them as the server meant.
        assert!(
            codec::parse_with(&file.bytes, &strict).is_err(),
            "{}",
            file.name
        );
        lenient_files += 1;
    }
    assert!(lenient_files >= 8);
    let bytes = common::corpus_file("aosp-omadm-dm12-testalerttextinput.xml");
    let msg = codec::parse(&bytes).unwrap();
    let Some(Command::Alert(alert)) = msg.body.commands.first() else {
        panic!("not an alert")
    };
    assert_eq!(alert.data.unwrap(), "1102");
    let options = alert
        .items
        .first()
        .unwrap()
        .data
        .unwrap()
        .content()
        .unwrap();
    assert_eq!(options, "MAXDT=20&DR=hello+andy!&MAXLEN=30&IT=I&ET=P");
}

#[test]
fn literal_public_id_without_its_nul_is_read() {
    let bytes = common::corpus_file("aosp-omadm-dm12-testadd.wbxml");
    let info = codec::wbxml_info(&bytes).unwrap();
    assert_eq!(info.public_id, 0);
    assert_eq!(
        info.literal_public_id,
        Some("-//SYNCML//DTD SyncML 1.1//EN")
    );
    assert_eq!(info.string_table_len, 29);
    let msg = codec::parse(&bytes).unwrap();
    assert_eq!(msg.header.ver_dtd, "1.2");
}

#[test]
fn string_table_references_resolve() {
    let bytes = common::corpus_file("aosp-omadm-dm11-testadd.wbxml");
    let msg = codec::parse(&bytes).unwrap();
    assert_eq!(msg.header.target.uri, "000000011234564");
    assert_eq!(msg.header.source.uri, "http://10.72.34.217:80/Manage");
}

#[test]
fn opaque_data_is_kept_byte_for_byte() {
    let bytes = common::corpus_file("aosp-omadm-dm11-testreplace.wbxml");
    let msg = codec::parse(&bytes).unwrap();
    let Some(Command::Replace(replace)) = msg.body.commands.iter().nth(1) else {
        panic!("second command is not a Replace")
    };
    let first = replace.items.first().unwrap();
    let Some(Data::Opaque(devid)) = first.data else {
        panic!("DevId is not opaque: {:?}", first.data)
    };
    let expected: &[u8] = b"\r\n     000000011234564\r\n    ";
    assert_eq!(devid.as_bytes(), Some(expected));
    // And it is the very bytes of the message: zero copy.
    let start = devid.as_bytes().unwrap().as_ptr() as usize - bytes.as_ptr() as usize;
    assert_eq!(&bytes[start..start + expected.len()], expected);
    assert_eq!(replace.items.len(), 9);
}

#[test]
fn metinf_without_its_namespace_and_hex_session_ids() {
    let bytes = common::corpus_file("capture-android-fumo-pkg1-alert1201-1226-cred-md5.xml");
    let msg = codec::parse(&bytes).unwrap();
    assert_eq!(msg.header.session_id, "2DF");
    let meta = msg.header.meta.unwrap();
    assert_eq!(meta.max_msg_size().unwrap().parse_u32(), Some(36864));
    assert_eq!(meta.max_obj_size().unwrap().parse_u32(), Some(1_048_576));
    assert_eq!(msg.header.target.name.unwrap(), "dongsheng_ds");
    let cred = msg.header.cred.unwrap();
    assert_eq!(cred.meta.unwrap().type_().unwrap(), "syncml:auth-md5");
    assert_eq!(cred.data, "4p4RdCYSC+f0Jb3U2gBpEQ==");
    let generic = msg.body.commands.iter().nth(1).unwrap();
    let Command::Alert(alert) = generic else {
        panic!()
    };
    assert_eq!(alert.data.unwrap(), "1226");
    let item = alert.items.first().unwrap();
    let meta = item.meta.unwrap();
    assert_eq!(
        meta.type_().unwrap(),
        "org.openmobilealliance.dm.firmwareupdate.userrequest"
    );
    assert_eq!(meta.mark().unwrap(), "informational");
    assert_eq!(item.source.unwrap().uri, "./ManagedObjects/FUMO");
}

#[test]
fn embedded_tnds_is_read_as_xml() {
    let bytes = common::corpus_file("libwbxml-ds12-with-tnds-ddf.xml");
    let msg = codec::parse(&bytes).unwrap();
    let Some(Command::Sync(sync)) = msg.body.commands.iter().nth(3) else {
        panic!("fourth command is not Sync")
    };
    assert_eq!(sync.commands.len(), 3);
    let Some(Command::Add(add)) = sync.commands.iter().nth(2) else {
        panic!()
    };
    let item = add.items.first().unwrap();
    assert_eq!(
        item.meta.unwrap().type_().unwrap(),
        "application/vnd.syncml.dmtnds+xml"
    );
    let Some(Data::Xml(tree)) = item.data else {
        panic!("not embedded XML")
    };
    let events: Vec<_> = tree.events().collect();
    assert_eq!(
        events.first(),
        Some(&codec::XmlEvent::Start {
            name: "MgmtTree",
            namespace: Some(codec::DDF_NAMESPACE)
        })
    );
    let values: Vec<String> = events
        .windows(2)
        .filter_map(|w| match (w[0], w[1]) {
            (codec::XmlEvent::Start { name: "Value", .. }, codec::XmlEvent::Text(t)) => {
                Some(t.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        ["mail.Operatorx.com", "UserName", "4571F7C34A9876B3"]
    );
}

#[test]
fn dm11_bootstrap_with_padded_uris_and_comments() {
    let bytes = common::corpus_file("libwbxml-syncml-012-dm11-bootstrap-add.xml");
    let msg = codec::parse(&bytes).unwrap();
    assert_eq!(msg.header.ver_dtd, "1.1");
    let Some(Command::Add(add)) = msg.body.commands.first() else {
        panic!()
    };
    for item in add.items {
        let uri = item.target.unwrap().uri;
        assert!(uri.as_str().unwrap().starts_with("./SyncML/"), "{uri:?}");
        assert!(!uri.as_str().unwrap().ends_with(char::is_whitespace));
    }
}

#[test]
fn status_without_cmdref_is_read() {
    let bytes = common::corpus_file("omaspec-dm12-s2.6.2.4-pkg4-server-replace-b64.xml");
    let msg = codec::parse(&bytes).unwrap();
    let Some(Command::Status(status)) = msg.body.commands.first() else {
        panic!()
    };
    assert!(status.cmd_ref.is_none());
    assert_eq!(status.cmd.unwrap(), "SyncHdr");
}
