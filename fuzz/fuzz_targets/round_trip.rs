//! Decode, encode, decode gives the same model, in both encodings; `encoded_len` is the
//! exact length `encode` writes; a too-small buffer reports the length it needed.
#![no_main]

use iotadm::codec::{self, EncodeError, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = codec::parse(data) else {
        return;
    };
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let len = match msg.encoded_len(encoding) {
            Ok(len) => len,
            // Binary data has no XML form; that is a clean refusal, not a bug.
            Err(EncodeError::Unrepresentable(_)) => continue,
            Err(e) => panic!("encoded_len: {e}"),
        };
        let mut buf = vec![0u8; len];
        let n = msg.encode(encoding, &mut buf).expect("encode into a buffer of encoded_len");
        assert_eq!(n, len);
        if len > 0 {
            let mut short = vec![0u8; len - 1];
            assert_eq!(
                msg.encode(encoding, &mut short),
                Err(EncodeError::BufferTooSmall { required: len })
            );
        }
        let again = codec::parse(&buf).unwrap_or_else(|e| panic!("re-decode {encoding:?}: {e}"));
        assert_eq!(again, msg, "model changed through {encoding:?}");
    }
});
