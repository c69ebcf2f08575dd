//! Any input to the WBXML decoder: a message or an error, never a panic, and a decoded
//! message can be read whole.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = iotadm::codec::parse_wbxml(data) {
        std::hint::black_box(iotadm_fuzz::walk(&msg));
    }
});
