//! DM authentication through the public API: known-answer vectors, the Cred/Chal flows a
//! session runs, and the x-syncml-hmac header.
//!
//! Every expected value below was computed independently of this crate with Python's
//! `hashlib.md5` and `base64.b64encode`, e.g.
//! `b64(md5(b64(md5(b"user:pass").digest()) + b":" + nonce).digest())`.

use iotadm::auth::{
    basic_credential, basic_credential_string, build_cred, mac_b64, md5_digest, md5_digest_b64,
    verify_cred, AAuthType, AuthError, AuthScheme, Challenge, Cred, Credentials, HmacHeader,
    MacHasher, Nonce, HMAC_HEADER_NAME,
};
use iotadm::platform::Rng;
use iotadm::StatusCode;

const USER: Credentials<'static> = Credentials::new(b"user", b"pass");
const BRUCE: Credentials<'static> = Credentials::new(b"Bruce2", b"OhBehave");

/// A deterministic RNG for nonce generation.
struct Lcg(u32);

impl Rng for Lcg {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (self.0 >> 24) as u8;
        }
    }
}

#[test]
fn facts_sheet_vectors() {
    // User `user`, password `pass`, nonce bytes `0123456789abcdef`.
    let mut buf = [0u8; 16];
    assert_eq!(basic_credential(&USER, &mut buf), Ok("dXNlcjpwYXNz"));
    assert_eq!(
        md5_digest_b64(&USER, b"0123456789abcdef").as_str(),
        "C8oBTAdiVef8Qq8UaFTbhQ=="
    );
    // The raw digest is the decoded form of the same value.
    assert_eq!(
        md5_digest(&USER, b"0123456789abcdef"),
        [
            0x0b, 0xca, 0x01, 0x4c, 0x07, 0x62, 0x55, 0xe7, 0xfc, 0x42, 0xaf, 0x14, 0x68, 0x54,
            0xdb, 0x85
        ]
    );
}

#[test]
fn oma_protocol_example_md5_with_literal_nonce() {
    // OMA-TS-DM_Protocol 1.2.1 §2.4.4.2: user Bruce2, password OhBehave, nonce "Nonce" gives
    // Zz6EivR3yeaaENcRN6lpAQ==. "Nonce" is not valid Base64 (five characters), so the
    // b64-or-raw rule keeps the literal text, and the digest over those five bytes matches
    // the example (also checked with Python: it does).
    let nonce = Nonce::from_b64_or_raw(b"Nonce").unwrap();
    assert_eq!(nonce.as_bytes(), b"Nonce");
    assert_eq!(
        md5_digest_b64(&BRUCE, nonce.as_bytes()).as_str(),
        "Zz6EivR3yeaaENcRN6lpAQ=="
    );
    let cred = Cred {
        meta_type: Some("syncml:auth-md5"),
        format: Some("b64"),
        data: b"Zz6EivR3yeaaENcRN6lpAQ==",
    };
    assert_eq!(
        verify_cred(AuthScheme::Md5Digest, &BRUCE, b"Nonce", Some(&cred)),
        Ok(())
    );
}

#[test]
fn oma_protocol_example_basic() {
    // OMA-TS-DM_Protocol 1.2.1 §2.4.4.1: QnJ1Y2UyOk9oQmVoYXZl is Bruce2:OhBehave.
    let s = basic_credential_string::<32>(&BRUCE).unwrap();
    assert_eq!(s.as_str(), "QnJ1Y2UyOk9oQmVoYXZl");
    let cred = Cred {
        meta_type: Some("syncml:auth-basic"),
        format: Some("b64"),
        data: b"QnJ1Y2UyOk9oQmVoYXZl",
    };
    assert_eq!(
        verify_cred(AuthScheme::Basic, &BRUCE, b"", Some(&cred)),
        Ok(())
    );
    let impostor = Credentials::new(b"Bruce2", b"OhBehavf");
    assert_eq!(
        verify_cred(AuthScheme::Basic, &impostor, b"", Some(&cred)),
        Err(AuthError::BadCredentials)
    );
}

#[test]
fn auth_mac_vector() {
    // Python: b64(md5(b64(md5(b"srv:secret")) + b":nonce-1:" + b64(md5(body)))).
    let creds = Credentials::new(b"srv", b"secret");
    let body: &[u8] = b"<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody><Final/></SyncBody></SyncML>";
    assert_eq!(
        mac_b64(&creds, b"nonce-1", body).as_str(),
        "Po1jcnw6yOIg/+MGUi+4qg=="
    );
}

#[test]
fn scheme_names_convert_both_ways() {
    assert_eq!(
        AuthScheme::from_meta_type(b"syncml:auth-MAC"),
        Ok(AuthScheme::Hmac)
    );
    assert_eq!(
        AuthScheme::from_meta_type(b"syncml:auth-mac"),
        Ok(AuthScheme::Hmac)
    );
    assert_eq!(
        AuthScheme::from_aauth_type(b"DIGEST"),
        Ok(AuthScheme::Md5Digest)
    );
    assert_eq!(
        AuthScheme::from_aauth_type(b"HTTP-DIGEST"),
        Ok(AuthScheme::None)
    );
    assert_eq!(AuthScheme::Hmac.aauth_type(), Some(AAuthType::Hmac));
    assert_eq!(AuthScheme::Md5Digest.meta_type(), Some("syncml:auth-md5"));
    assert_eq!(AAuthType::parse(b"http-basic"), Some(AAuthType::HttpBasic));
}

/// Client side of a pkg 1 / pkg 2 exchange: the server challenges with md5 and a fresh
/// nonce, the client rebuilds its Cred, the old Cred (a replay) no longer verifies.
#[test]
fn challenge_then_retry_and_replay_refused() {
    let client = Credentials::new(b"IMEI:493005100592800", b"client-secret");
    // The server side: a nonce it issued earlier, and a fresh one for the challenge.
    let mut rng = Lcg(42);
    let old = Nonce::generate(&mut rng);
    let fresh = Nonce::generate(&mut rng);
    assert_ne!(old, fresh);

    let mut buf = [0u8; 64];
    let first = build_cred(AuthScheme::Md5Digest, &client, old.as_bytes(), &mut buf)
        .unwrap()
        .unwrap();
    let first_data: std::vec::Vec<u8> = first.data.to_vec();

    // The server has moved to `fresh`: the old Cred fails and maps to 401 + Chal.
    let replay = Cred {
        meta_type: Some("syncml:auth-md5"),
        format: Some("b64"),
        data: &first_data,
    };
    let err = verify_cred(
        AuthScheme::Md5Digest,
        &client,
        fresh.as_bytes(),
        Some(&replay),
    )
    .unwrap_err();
    assert_eq!(err, AuthError::BadCredentials);
    assert_eq!(err.status(), StatusCode::InvalidCredentials);

    // The Chal travels as text and is read back by the client.
    let chal_out = Challenge::new(AuthScheme::Md5Digest, Some(fresh.clone()));
    let next_nonce = chal_out.next_nonce_b64().unwrap();
    let chal_in = Challenge::parse(
        chal_out.meta_type().map(str::as_bytes),
        Some(chal_out.format().as_bytes()),
        Some(next_nonce.as_bytes()),
    )
    .unwrap();
    assert_eq!(chal_in, chal_out);

    let mut buf = [0u8; 64];
    let retry = build_cred(
        chal_in.scheme,
        &client,
        chal_in.nonce.as_ref().unwrap().as_bytes(),
        &mut buf,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        verify_cred(
            AuthScheme::Md5Digest,
            &client,
            fresh.as_bytes(),
            Some(&retry)
        ),
        Ok(())
    );
}

#[test]
fn wrong_credentials_for_every_cred_scheme() {
    let good = Credentials::new(b"srv", b"right");
    let bad = Credentials::new(b"srv", b"wrong");
    let other_user = Credentials::new(b"srx", b"right");
    for scheme in [AuthScheme::Basic, AuthScheme::Md5Digest] {
        let mut buf = [0u8; 64];
        let cred = build_cred(scheme, &bad, b"n", &mut buf).unwrap().unwrap();
        assert_eq!(
            verify_cred(scheme, &good, b"n", Some(&cred)),
            Err(AuthError::BadCredentials),
            "{scheme}"
        );
        let mut buf = [0u8; 64];
        let cred = build_cred(scheme, &other_user, b"n", &mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(
            verify_cred(scheme, &good, b"n", Some(&cred)),
            Err(AuthError::BadCredentials),
            "{scheme}"
        );
        assert_eq!(
            verify_cred(scheme, &good, b"n", None).map_err(|e| e.status()),
            Err(StatusCode::MissingCredentials)
        );
    }
}

#[test]
fn hmac_header_flow_with_streamed_body() {
    let server = Credentials::new(b"srv", b"server-secret");
    let body = b"<SyncML>...a message sent in several TCP reads...</SyncML>";

    // Sender: MAC over the whole body, header value into a buffer.
    let mac = mac_b64(&server, b"nonce-7", body);
    let mut value = [0u8; 96];
    let n = HmacHeader::emit(server.name, &mac, &mut value).unwrap();
    let value = &value[..n];
    assert!(value.starts_with(b"algorithm=MD5, username=\"srv\", mac="));
    assert_eq!(HMAC_HEADER_NAME, "x-syncml-hmac");

    // Receiver: feed the body as it arrives, then verify against the header.
    let header = HmacHeader::parse(value).unwrap();
    let mut h = MacHasher::new();
    for chunk in body.chunks(7) {
        h.update(chunk);
    }
    assert_eq!(header.verify_hashed(&server, b"nonce-7", h.clone()), Ok(()));
    // A stale nonce, a tampered body, a different password: all refused.
    assert_eq!(
        header.verify_hashed(&server, b"nonce-6", h.clone()),
        Err(AuthError::BadCredentials)
    );
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert_eq!(
        header.verify(&server, b"nonce-7", &tampered),
        Err(AuthError::BadCredentials)
    );
    let wrong = Credentials::new(b"srv", b"guess");
    assert_eq!(
        header.verify_hashed(&wrong, b"nonce-7", h),
        Err(AuthError::BadCredentials)
    );
}

#[test]
fn hmac_header_as_real_servers_write_it() {
    let server = Credentials::new(b"srv", b"pw");
    let body = b"body";
    let mac = mac_b64(&server, b"n", body);
    // No algorithm, unquoted user name, parameters reordered, odd spacing.
    let mut value = std::vec::Vec::new();
    value.extend_from_slice(b"mac = ");
    value.extend_from_slice(mac.as_bytes());
    value.extend_from_slice(b" ,username=srv");
    let header = HmacHeader::parse(&value).unwrap();
    assert_eq!(header.verify(&server, b"n", body), Ok(()));
    // A bad MAC: right length, wrong bytes.
    let forged = b"algorithm=MD5, username=\"srv\", mac=AAAAAAAAAAAAAAAAAAAAAA==";
    assert_eq!(
        HmacHeader::parse(forged)
            .unwrap()
            .verify(&server, b"n", body),
        Err(AuthError::BadCredentials)
    );
    // A header missing the MAC counts as missing credentials (407).
    let err = HmacHeader::parse(b"username=\"srv\"").unwrap_err();
    assert_eq!(err.status(), StatusCode::MissingCredentials);
}

#[test]
fn nonces_from_the_wire() {
    // The DM protocol example NextNonce.
    let n = Nonce::from_b64_or_raw(b"LG3iZQhhdmKNHg==").unwrap();
    assert_eq!(
        n.as_bytes(),
        &[0x2c, 0x6d, 0xe2, 0x65, 0x08, 0x61, 0x76, 0x62, 0x8d, 0x1e]
    );
    assert_eq!(
        Nonce::from_b64_or_raw(&[b'x'; 65]),
        Err(AuthError::NonceTooLong)
    );
    let mut rng = Lcg(1);
    let generated = Nonce::generate(&mut rng);
    assert_eq!(generated.len(), 16);
    // What is sent is what is read back.
    let text = generated.to_b64();
    assert_eq!(Nonce::from_b64_or_raw(text.as_bytes()).unwrap(), generated);
}

#[test]
fn debug_output_never_shows_secrets() {
    let creds = Credentials::new(b"srv", b"TopSecret!");
    assert!(!format!("{creds:?}").contains("TopSecret"));
    assert!(!format!("{:?}", creds.secret).contains("TopSecret"));
}
