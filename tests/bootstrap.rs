//! Bootstrap authentication through the public API.
//!
//! The document below is a 118-octet WBXML provisioning document, and C483EC25…5EC5 the
//! NETWPIN MAC a commercial push gateway (NowSMS) produced for it with IMSI
//! 123456789012345, as published on its support forum (2007). Python's `hmac` with
//! `hashlib.sha1`, keyed by the IMSI in semi-octets (`1932547698103254`), gives the same
//! value, which checks the key derivation against a deployed implementation. The other
//! MACs were computed with Python the same way, with the keys noted beside them.

use iotadm::bootstrap::{
    compute_mac, imsi_key, mac_hex, user_pin_mac_digits, verify, verify_push, BootstrapError,
    BootstrapKeys, BootstrapSecurity, SecMethod,
};
use iotadm::notification::wsp::{
    AppId, MediaType, Param, ParamName, ParamValue, PushRepr, APP_SYNCML_DM, CT_SYNCML_DM_WBXML,
    CT_SYNCML_DM_XML, PARAM_MAC, PARAM_SEC,
};

const DOC_HEX: &str = "030B6A0674657374310045C6560187070683000101C655018707068300018711060374657374315F4E415049440001871006AB0187080603746573743200018709068901871401C65A01870C069A01870D060367707273757365726E616D650001870E06036770727370617373776F72640001010101";

fn doc() -> Vec<u8> {
    (0..DOC_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&DOC_HEX[i..i + 2], 16).unwrap())
        .collect()
}

fn check(method: SecMethod, mac: &str, keys: &BootstrapKeys<'_>) {
    let doc = doc();
    assert_eq!(
        &mac_hex(&compute_mac(method, &doc, keys).unwrap()),
        mac.as_bytes(),
        "{method:?}"
    );
    let security = BootstrapSecurity {
        method,
        mac: Some(mac.as_bytes()),
    };
    assert_eq!(verify(&security, &doc, keys), Ok(()), "{method:?}");
    let lower = mac.to_ascii_lowercase();
    let security = BootstrapSecurity {
        method,
        mac: Some(lower.as_bytes()),
    };
    assert_eq!(
        verify(&security, &doc, keys),
        Ok(()),
        "{method:?} lowercase"
    );
    let mut altered = doc.clone();
    altered[40] ^= 0x01;
    assert_eq!(
        verify(&security, &altered, keys),
        Err(BootstrapError::MacMismatch),
        "{method:?} altered"
    );
}

#[test]
fn netwpin_matches_a_deployed_gateway() {
    let key = imsi_key(b"123456789012345").unwrap();
    assert_eq!(
        key.as_slice(),
        &[0x19, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54]
    );
    let keys = BootstrapKeys {
        network_secret: Some(&key),
        user_pin: None,
    };
    check(
        SecMethod::NetworkPin,
        "C483EC25F7E3E0CF100380DA5F6714CF204A5EC5",
        &keys,
    );
    // The same IMSI as plain text is a different key: the gateway's value does not verify.
    let text_keys = BootstrapKeys {
        network_secret: Some(b"123456789012345"),
        user_pin: None,
    };
    let security = BootstrapSecurity {
        method: SecMethod::NetworkPin,
        mac: Some(b"C483EC25F7E3E0CF100380DA5F6714CF204A5EC5"),
    };
    assert_eq!(
        verify(&security, &doc(), &text_keys),
        Err(BootstrapError::MacMismatch)
    );
}

#[test]
fn pin_methods() {
    let key = imsi_key(b"123456789012345").unwrap();
    let keys = BootstrapKeys {
        network_secret: Some(&key),
        user_pin: Some(b"1234"),
    };
    // Key "1234".
    check(
        SecMethod::UserPin,
        "47D644FE45B4E15A7A15ED13C0D5096E8E263D9C",
        &keys,
    );
    // Key IMSI semi-octets followed by "1234".
    check(
        SecMethod::UserNetworkPin,
        "295927563A4F8FF3753F8BF0EB1E763BEF785A9A",
        &keys,
    );
    // Key "1234:" followed by the IMSI semi-octets.
    check(
        SecMethod::UserPinNetworkId,
        "F430C7EE6946A21376BCCAEC356BA03F6E9267BF",
        &keys,
    );
}

#[test]
fn userpinmac() {
    let doc = doc();
    // HMAC-SHA1 keyed by "1234": the first four octets mod 10 are 1, 4, 8, 4.
    assert_eq!(
        user_pin_mac_digits(b"1234", &doc).unwrap().as_slice(),
        b"1484"
    );
    let security = BootstrapSecurity {
        method: SecMethod::UserPinMac,
        mac: None,
    };
    let with = |pin: &'static [u8]| {
        verify(
            &security,
            &doc,
            &BootstrapKeys {
                network_secret: None,
                user_pin: Some(pin),
            },
        )
    };
    assert_eq!(with(b"12341484"), Ok(()));
    assert_eq!(with(b"12341485"), Err(BootstrapError::MacMismatch));
    assert_eq!(with(b"12351484"), Err(BootstrapError::MacMismatch));
    assert_eq!(with(b"1234148"), Err(BootstrapError::InvalidUserPin));
    assert_eq!(with(b"1234148x"), Err(BootstrapError::InvalidUserPin));
    assert_eq!(with(b""), Err(BootstrapError::InvalidUserPin));
}

fn push(media: MediaType<'_>, params: &[Param<'_>], body: &[u8]) -> Vec<u8> {
    let repr = PushRepr {
        transaction_id: 3,
        media,
        params,
        application_id: Some(AppId::Code(APP_SYNCML_DM)),
        body,
    };
    let mut buf = vec![0u8; 128 + body.len()];
    let n = repr.emit(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn pushed_dm_bootstrap_end_to_end() {
    // A DM bootstrap is a WBXML DM message; its bytes do not matter to the MAC.
    let document: &[u8] = b"\x02\xa4\x01\x6a\x00\x6d\x6c\x71\x03\x31\x2e\x32\x00\x01\x01\x01";
    let esn = b"ESN:8F3A2C10";
    let keys = BootstrapKeys {
        network_secret: Some(esn),
        user_pin: None,
    };
    let mac = mac_hex(&compute_mac(SecMethod::NetworkPin, document, &keys).unwrap());
    let params = [
        Param {
            name: ParamName::WellKnown(PARAM_SEC),
            value: ParamValue::Integer(0),
        },
        Param {
            name: ParamName::WellKnown(PARAM_MAC),
            value: ParamValue::Text(&mac),
        },
    ];
    let pdu = push(MediaType::WellKnown(CT_SYNCML_DM_WBXML), &params, document);
    assert_eq!(verify_push(&pdu, &keys), Ok(document));

    // Tampering with the pushed document.
    let mut tampered = pdu.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert_eq!(
        verify_push(&tampered, &keys),
        Err(BootstrapError::MacMismatch)
    );

    // Another device (another ESN) refuses it.
    let other = BootstrapKeys {
        network_secret: Some(b"ESN:8F3A2C11"),
        user_pin: None,
    };
    assert_eq!(verify_push(&pdu, &other), Err(BootstrapError::MacMismatch));

    // No key material on the device.
    assert_eq!(
        verify_push(&pdu, &BootstrapKeys::default()),
        Err(BootstrapError::MissingNetworkSecret)
    );

    // Unauthenticated: no SEC parameter at all.
    let bare = push(MediaType::WellKnown(CT_SYNCML_DM_WBXML), &[], document);
    assert_eq!(
        verify_push(&bare, &keys),
        Err(BootstrapError::Unauthenticated)
    );

    // SEC without MAC.
    let sec_only = push(
        MediaType::WellKnown(CT_SYNCML_DM_WBXML),
        &params[..1],
        document,
    );
    assert_eq!(
        verify_push(&sec_only, &keys),
        Err(BootstrapError::MissingMac)
    );

    // XML cannot be used for a bootstrap.
    let xml = push(MediaType::WellKnown(CT_SYNCML_DM_XML), &params, document);
    assert_eq!(
        verify_push(&xml, &keys),
        Err(BootstrapError::UnsupportedContentType)
    );

    // Text forms of the content type and of SEC/MAC are read too.
    let text_params = [
        Param {
            name: ParamName::Token(b"SEC"),
            value: ParamValue::Text(b"NETWORKID"),
        },
        Param {
            name: ParamName::Token(b"MAC"),
            value: ParamValue::Text(&mac),
        },
    ];
    let text = push(
        MediaType::Text(b"application/vnd.syncml.dm+wbxml"),
        &text_params,
        document,
    );
    assert_eq!(verify_push(&text, &keys), Ok(document));

    // SEC twice is ambiguous.
    let twice = [params[0], params[0], params[1]];
    let pdu = push(MediaType::WellKnown(CT_SYNCML_DM_WBXML), &twice, document);
    assert_eq!(
        verify_push(&pdu, &keys),
        Err(BootstrapError::MalformedParameters)
    );

    // A MAC that is not text.
    let numeric_mac = [
        params[0],
        Param {
            name: ParamName::WellKnown(PARAM_MAC),
            value: ParamValue::Integer(5),
        },
    ];
    let pdu = push(
        MediaType::WellKnown(CT_SYNCML_DM_WBXML),
        &numeric_mac,
        document,
    );
    assert_eq!(verify_push(&pdu, &keys), Err(BootstrapError::MalformedMac));

    // An unknown SEC code.
    let unknown = [Param {
        name: ParamName::WellKnown(PARAM_SEC),
        value: ParamValue::Integer(9),
    }];
    let pdu = push(MediaType::WellKnown(CT_SYNCML_DM_WBXML), &unknown, document);
    assert_eq!(
        verify_push(&pdu, &keys),
        Err(BootstrapError::UnknownSecMethod)
    );
}

#[test]
fn textual_content_type_from_http() {
    let document = doc();
    let keys = BootstrapKeys {
        network_secret: None,
        user_pin: Some(b"1234"),
    };
    let value = b"application/vnd.syncml.dm+wbxml; SEC=USERPIN; MAC=47d644fe45b4e15a7a15ed13c0d5096e8e263d9c";
    let security = BootstrapSecurity::from_content_type_text(value).unwrap();
    assert_eq!(verify(&security, &document, &keys), Ok(()));
    let wrong_pin = BootstrapKeys {
        network_secret: None,
        user_pin: Some(b"1235"),
    };
    assert_eq!(
        verify(&security, &document, &wrong_pin),
        Err(BootstrapError::MacMismatch)
    );
    assert_eq!(
        verify(&security, &document, &BootstrapKeys::default()),
        Err(BootstrapError::MissingUserPin)
    );
}
