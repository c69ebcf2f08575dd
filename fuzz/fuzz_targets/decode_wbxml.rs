//! Any input to the WBXML decoder: a message or an error, never a panic, and a decoded
//! message can be read whole. The raw token reader (`iotadm wbxml2xml --raw`) takes the
//! same input: tokens or an error that ends them, never a panic, and every token of a
//! message the decoder accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = iotadm::codec::parse_wbxml(data);
    if let Ok(msg) = &decoded {
        std::hint::black_box(iotadm_fuzz::walk(msg));
    }
    if let Ok(tokens) = iotadm::codec::raw_tokens(data) {
        let mut failed = None;
        for token in tokens {
            match token {
                Ok(t) => {
                    std::hint::black_box(t);
                }
                Err(e) => failed = Some(e),
            }
        }
        if let (Ok(_), Some(e)) = (&decoded, failed) {
            panic!("the decoder accepts what the raw reader refuses: {e:?}");
        }
    }
});
