//! Package 0 through the public API: the worked example, digest verification with nonce
//! resynchronisation, forged and truncated messages, and WAP Push unwrapping.
//!
//! Expected digests were computed independently with Python:
//! `md5(b64(md5(b"srv1:secret")) + b":" + nonce + b":" + b64(md5(trigger))).hexdigest()`.

use iotadm::limits::PACKAGE0_LEN;
use iotadm::notification::wsp::{
    AppId, MediaType, Param, ParamName, ParamValue, PushPdu, PushRepr, WspError, APP_SYNCML_DM,
    CT_SYNCML_DM_WBXML, CT_SYNCML_NOTIFICATION,
};
use iotadm::notification::{
    unwrap_push, DigestCheck, Initiator, Notification, NotificationError, NotificationRepr, UiMode,
};

const WORKED: NotificationRepr<'static> = NotificationRepr {
    version: 11,
    ui_mode: UiMode::Background,
    initiator: Initiator::Server,
    session_id: 0x1234,
    server_id: b"srv1",
    vendor_specific: b"",
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn emit(repr: &NotificationRepr<'_>, secret: &[u8], nonce: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    let n = repr.emit(secret, nonce, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

#[test]
fn worked_example_bytes_and_digest() {
    // Version 11, ui-mode 1, initiator 1, session 0x1234, server srv1, password secret,
    // nonce 00 00 00 00: digest a01843a6ca9240827b3ea4cb3c649651 (Python agrees).
    let msg = emit(&WORKED, b"secret", &[0, 0, 0, 0]);
    assert_eq!(
        &msg[16..],
        &hex("02d8000000123404")[..]
            .iter()
            .chain(b"srv1")
            .copied()
            .collect::<Vec<_>>()[..]
    );
    assert_eq!(&msg[..16], &hex("a01843a6ca9240827b3ea4cb3c649651")[..]);

    let n = Notification::parse(&msg).unwrap();
    assert_eq!(n.repr(), &WORKED);
    assert_eq!(n.session_id_hex().as_str(), "1234");
    assert_eq!(
        n.verify(b"secret", &[0, 0, 0, 0]),
        Ok(DigestCheck::Verified)
    );
    // With any other stored nonce the same message is a resynchronisation request.
    assert_eq!(n.verify(b"secret", b"stored"), Ok(DigestCheck::NonceResync));
    assert_eq!(
        n.verify(b"Secret", &[0, 0, 0, 0]),
        Err(NotificationError::DigestMismatch)
    );
}

#[test]
fn second_vector_with_vendor_part_and_stored_nonce() {
    let repr = NotificationRepr {
        version: 11,
        ui_mode: UiMode::UserInteraction,
        initiator: Initiator::Server,
        session_id: 0xFF,
        server_id: b"srv1",
        vendor_specific: &[1, 2],
    };
    let msg = emit(&repr, b"secret", b"N1");
    assert_eq!(&msg[16..24], &hex("02f800000000ff04")[..]);
    assert_eq!(&msg[..16], &hex("7d6b6953d7a61ba8385795f6cb39af8c")[..]);
    let n = Notification::parse(&msg).unwrap();
    assert_eq!(n.repr().vendor_specific, &[1, 2]);
    assert_eq!(n.session_id_hex().as_str(), "FF");
    assert_eq!(n.verify(b"secret", b"N1"), Ok(DigestCheck::Verified));
    assert_eq!(
        n.verify(b"secret", b"N2"),
        Err(NotificationError::DigestMismatch)
    );
}

#[test]
fn any_changed_bit_after_the_digest_is_detected() {
    let msg = emit(&WORKED, b"secret", b"nonce");
    for byte in 16..msg.len() {
        for bit in 0..8 {
            let mut forged = msg.clone();
            forged[byte] ^= 1 << bit;
            // Either the change makes the header invalid, or the digest no longer matches.
            if let Ok(n) = Notification::parse(&forged) {
                assert_eq!(
                    n.verify(b"secret", b"nonce"),
                    Err(NotificationError::DigestMismatch),
                    "byte {byte} bit {bit}"
                );
            }
        }
    }
    // A forged digest with a correct trigger.
    let mut forged = msg.clone();
    forged[0] ^= 0x80;
    let n = Notification::parse(&forged).unwrap();
    assert_eq!(
        n.verify(b"secret", b"nonce"),
        Err(NotificationError::DigestMismatch)
    );
}

#[test]
fn every_truncation_is_refused() {
    let repr = NotificationRepr {
        vendor_specific: b"",
        server_id: b"a-longer-server-id",
        ..WORKED
    };
    let msg = emit(&repr, b"pw", b"n");
    for len in 0..msg.len() {
        match Notification::parse(&msg[..len]) {
            Err(NotificationError::Truncated { needed }) => assert!(needed > len),
            other => panic!("length {len}: {other:?}"),
        }
    }
    assert!(Notification::parse(&msg).is_ok());
}

#[test]
fn oversized_message_is_refused_before_hashing() {
    let vendor = vec![0u8; PACKAGE0_LEN];
    let repr = NotificationRepr {
        vendor_specific: &vendor,
        ..WORKED
    };
    let mut buf = vec![0u8; 2 * PACKAGE0_LEN];
    assert_eq!(
        repr.emit(b"", b"", &mut buf),
        Err(NotificationError::FieldOutOfRange)
    );
    let mut msg = emit(&WORKED, b"secret", b"");
    msg.resize(PACKAGE0_LEN + 1, 0);
    assert_eq!(Notification::parse(&msg), Err(NotificationError::TooLong));
}

fn push(media: MediaType<'_>, app: Option<AppId<'_>>, body: &[u8]) -> Vec<u8> {
    let repr = PushRepr {
        transaction_id: 0x42,
        media,
        params: &[],
        application_id: app,
        body,
    };
    let mut buf = vec![0u8; 256 + body.len()];
    let n = repr.emit(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn push_with_binary_headers_unwraps() {
    let msg = emit(&WORKED, b"secret", &[0; 4]);
    // TID, Push, headers length 3, content type 0xC4 (0x44 | 0x80),
    // X-Wap-Application-Id (0xAF) = short integer 7 (0x87), then the body.
    let mut pdu = vec![0x42, 0x06, 0x03, 0xC4, 0xAF, 0x87];
    pdu.extend_from_slice(&msg);
    assert_eq!(
        push(
            MediaType::WellKnown(CT_SYNCML_NOTIFICATION),
            Some(AppId::Code(APP_SYNCML_DM)),
            &msg
        ),
        pdu
    );
    let n = Notification::from_push(&pdu).unwrap();
    assert_eq!(n.server_id(), b"srv1");
    assert_eq!(n.verify(b"secret", &[0; 4]), Ok(DigestCheck::Verified));
}

#[test]
fn push_variants() {
    let msg = emit(&WORKED, b"secret", &[0; 4]);
    // Text content type and URI application id, in any case.
    let pdu = push(
        MediaType::Text(b"Application/Vnd.SyncML.Notification"),
        Some(AppId::Uri(b"x-wap-application:syncml.dm")),
        &msg,
    );
    assert_eq!(unwrap_push(&pdu), Ok(&msg[..]));
    // No application id: the content type identifies the notification.
    let pdu = push(MediaType::WellKnown(CT_SYNCML_NOTIFICATION), None, &msg);
    assert_eq!(unwrap_push(&pdu), Ok(&msg[..]));
    // A DS notification (push.syncml, code 5) is not for the DM client.
    let pdu = push(
        MediaType::WellKnown(CT_SYNCML_NOTIFICATION),
        Some(AppId::Code(5)),
        &msg,
    );
    assert_eq!(unwrap_push(&pdu), Err(NotificationError::WrongApplication));
    // A DM message pushed as content is not a notification.
    let pdu = push(
        MediaType::WellKnown(CT_SYNCML_DM_WBXML),
        Some(AppId::Code(APP_SYNCML_DM)),
        &msg,
    );
    assert_eq!(
        unwrap_push(&pdu),
        Err(NotificationError::UnexpectedContentType)
    );
    // A content type with parameters still matches.
    let params = [Param {
        name: ParamName::Token(b"x-vendor"),
        value: ParamValue::Text(b"1"),
    }];
    let repr = PushRepr {
        transaction_id: 1,
        media: MediaType::WellKnown(CT_SYNCML_NOTIFICATION),
        params: &params,
        application_id: Some(AppId::Code(APP_SYNCML_DM)),
        body: &msg,
    };
    let mut buf = [0u8; 128];
    let n = repr.emit(&mut buf).unwrap();
    assert_eq!(unwrap_push(&buf[..n]), Ok(&msg[..]));
    // Not a Push PDU at all.
    let mut pdu = push(MediaType::WellKnown(CT_SYNCML_NOTIFICATION), None, &msg);
    pdu[1] = 0x04;
    assert_eq!(
        unwrap_push(&pdu),
        Err(NotificationError::Wsp(WspError::NotAPush(0x04)))
    );
}

#[test]
fn truncated_and_mutated_pushes_never_panic() {
    let msg = emit(&WORKED, b"secret", &[0; 4]);
    let params = [Param {
        name: ParamName::WellKnown(0x11),
        value: ParamValue::Integer(1),
    }];
    let repr = PushRepr {
        transaction_id: 7,
        media: MediaType::Text(b"application/vnd.syncml.notification"),
        params: &params,
        application_id: Some(AppId::Uri(b"x-wap-application:syncml.dm")),
        body: &msg,
    };
    let mut pdu = [0u8; 160];
    let n = repr.emit(&mut pdu).unwrap();
    let pdu = &pdu[..n];
    let headers_end = n - msg.len();
    for len in 0..headers_end {
        assert!(PushPdu::parse(&pdu[..len]).is_err(), "prefix {len}");
    }
    // Deterministic pseudo-random mutations: every outcome is a value, never a panic.
    let mut state = 0x2545_F491u32;
    for _ in 0..20_000 {
        let mut m = pdu.to_vec();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let at = (state as usize) % m.len();
            m[at] = (state >> 8) as u8;
        }
        if let Ok(body) = unwrap_push(&m) {
            if let Ok(n) = Notification::parse(body) {
                let _ = n.verify(b"secret", &[0; 4]);
            }
        }
        if let Ok(p) = PushPdu::parse(&m) {
            let _ = p.application_id();
            for param in p.content_type.params() {
                let _ = param;
            }
        }
    }
}
