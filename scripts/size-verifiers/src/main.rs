//! One signature verification on a Cortex-M4F, built once per candidate crate (a feature
//! each) and once with none: the difference in flash is what the crate costs. Every build
//! hashes with SHA-256 (sha2 0.11), as iotadm's core always does, so that share is not
//! counted against a verifier that reuses it. Run under QEMU it exits 0 when the good
//! signature verifies and a damaged one does not. With the `stack` feature it also prints
//! `stack <bytes>`: the peak stack of one verification (measuring code, not built into the
//! flash figures).
#![no_std]
#![no_main]

use core::hint::black_box;
#[cfg(feature = "stack")]
use core::sync::atomic::{compiler_fence, Ordering};

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
#[cfg(feature = "stack")]
use cortex_m_semihosting::hio;
use sha2::Digest;

mod vectors;

#[cfg(feature = "ed25519-compact")]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    let mut sig = vectors::ED25519_SIGNATURE;
    if corrupt {
        sig[0] ^= 1;
    }
    let Ok(key) = ed25519_compact::PublicKey::from_slice(&vectors::ED25519_PUBLIC) else {
        return false;
    };
    key.validate().is_ok()
        && ed25519_compact::Signature::from_slice(&sig)
            .is_ok_and(|s| key.verify(digest, &s).is_ok())
}

#[cfg(feature = "ed25519-dalek")]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    let mut sig = vectors::ED25519_SIGNATURE;
    if corrupt {
        sig[0] ^= 1;
    }
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&vectors::ED25519_PUBLIC) else {
        return false;
    };
    key.verify_strict(digest, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

#[cfg(feature = "ed25519-dalek-2")]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    let mut sig = vectors::ED25519_SIGNATURE;
    if corrupt {
        sig[0] ^= 1;
    }
    let Ok(key) = ed25519_dalek_2::VerifyingKey::from_bytes(&vectors::ED25519_PUBLIC) else {
        return false;
    };
    key.verify_strict(digest, &ed25519_dalek_2::Signature::from_bytes(&sig))
        .is_ok()
}

#[cfg(feature = "salty")]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    let mut sig = vectors::ED25519_SIGNATURE;
    if corrupt {
        sig[0] ^= 1;
    }
    let Ok(key) = salty::PublicKey::try_from(&vectors::ED25519_PUBLIC) else {
        return false;
    };
    key.verify(digest, &salty::Signature::from(&sig)).is_ok()
}

#[cfg(feature = "p256")]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let mut d = *digest;
    if corrupt {
        d[0] ^= 1;
    }
    let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(&vectors::P256_PUBLIC) else {
        return false;
    };
    #[cfg(not(feature = "raw"))]
    let sig = p256::ecdsa::Signature::from_der(&vectors::P256_SIGNATURE_DER);
    #[cfg(feature = "raw")]
    let sig = p256::ecdsa::Signature::from_slice(&vectors::P256_SIGNATURE_RAW);
    sig.is_ok_and(|s| key.verify_prehash(&d, &s).is_ok())
}

#[cfg(feature = "p256-0-13")]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    use p256_0_13::ecdsa::signature::hazmat::PrehashVerifier;
    let mut d = *digest;
    if corrupt {
        d[0] ^= 1;
    }
    let Ok(key) = p256_0_13::ecdsa::VerifyingKey::from_sec1_bytes(&vectors::P256_PUBLIC) else {
        return false;
    };
    #[cfg(not(feature = "raw"))]
    let sig = p256_0_13::ecdsa::Signature::from_der(&vectors::P256_SIGNATURE_DER);
    #[cfg(feature = "raw")]
    let sig = p256_0_13::ecdsa::Signature::from_slice(&vectors::P256_SIGNATURE_RAW);
    sig.is_ok_and(|s| key.verify_prehash(&d, &s).is_ok())
}

#[cfg(feature = "p256-cm4")]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    // The crate takes the key and signature as little-endian words; raw r||s only.
    fn words(be: &[u8]) -> [u32; 8] {
        let mut w = [0u32; 8];
        for (i, chunk) in be.rchunks(4).enumerate() {
            w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        w
    }
    let mut d = *digest;
    if corrupt {
        d[0] ^= 1;
    }
    let p = &vectors::P256_PUBLIC;
    let s = &vectors::P256_SIGNATURE_RAW;
    p256_cm4::verify(
        &words(&p[1..33]),
        &words(&p[33..65]),
        &d,
        &words(&s[..32]),
        &words(&s[32..]),
    )
}

#[cfg(not(any(
    feature = "ed25519-compact",
    feature = "ed25519-dalek",
    feature = "ed25519-dalek-2",
    feature = "salty",
    feature = "p256",
    feature = "p256-0-13",
    feature = "p256-cm4"
)))]
fn verify(digest: &[u8; 32], corrupt: bool) -> bool {
    digest[0] != 0 && !corrupt
}

/// What the stack is painted with before a verification.
#[cfg(feature = "stack")]
const PAINT: u32 = 0xAAAA_AAAA;

/// Calls `verify` once and returns its result and the bytes of stack the call used: from
/// this function's stack pointer, the top of the painted region, down to the lowest word
/// the call wrote. That is `verify`'s own frame (key and signature parsing included) and
/// everything it calls, not this function's frame or `main`'s. The free stack, down to the
/// bottom of the stack region, is painted before the call and scanned from the bottom after.
#[cfg(feature = "stack")]
#[inline(never)]
fn stack_of(verify: fn(&[u8; 32], bool) -> bool, corrupt: bool) -> (bool, usize) {
    extern "C" {
        /// The bottom of the stack region (cortex-m-rt's linker script: the end of RAM's
        /// statics).
        static _stack_end: u32;
    }
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    // Everything below the stack pointer is free (full descending stack), and painting
    // calls nothing, so the region is painted right up to it.
    let top = cortex_m::register::msp::read() as usize;
    let mut p = bottom;
    while p < top {
        // SAFETY: a word of the stack region below the stack pointer: unused.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    compiler_fence(Ordering::SeqCst);
    // Through a pointer the compiler cannot see: not inlined, its whole frame is below.
    let ok = black_box(verify)(black_box(&vectors::DIGEST), black_box(corrupt));
    compiler_fence(Ordering::SeqCst);
    let mut p = bottom;
    // SAFETY: as above; the words the call left are read, not written.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (black_box(ok), top - p)
}

/// Writes `stack <bytes>` to the host's standard output (without `core::fmt`).
#[cfg(feature = "stack")]
fn report(bytes: usize) {
    let mut digits = [0u8; 10];
    let mut n = bytes;
    let mut len = 0;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(b"stack ");
        let _ = out.write_all(&digits[digits.len() - len..]);
        let _ = out.write_all(b"\n");
    }
}

#[entry]
fn main() -> ! {
    let digest: [u8; 32] = sha2::Sha256::digest(black_box(vectors::DIGEST.as_slice())).into();
    black_box(digest);
    #[cfg(not(feature = "stack"))]
    let (good, bad) = (
        verify(black_box(&vectors::DIGEST), black_box(false)),
        verify(black_box(&vectors::DIGEST), black_box(true)),
    );
    #[cfg(feature = "stack")]
    let (good, bad) = {
        let (good, good_stack) = stack_of(verify, false);
        let (bad, bad_stack) = stack_of(verify, true);
        report(good_stack.max(bad_stack));
        (good, bad)
    };
    debug::exit(if good && !bad {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
