//! Logging shim: the crate logs through these macros, which forward to `defmt` (feature
//! `defmt`) and to the `log` facade (feature `log`), and compile to nothing otherwise, so
//! the core carries no logging code or strings unless the firmware asks for them.
//!
//! A message is written once for both back ends, so it keeps to what both accept: `{}`
//! and `{:?}` placeholders, and arguments that are `Display`/`Debug` and `defmt::Format`
//! alike. With `log`, a record's target is the module that logged it (`iotadm::session`,
//! `iotadm::tree::runtime::lookup`, ...), so a host filters by layer.
// Layers use the levels they need; the rest stay unused.
#![allow(unused_macros)]

macro_rules! trace {
    ($s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        ::defmt::trace!($s $(, $x)*);
        #[cfg(feature = "log")]
        ::log::trace!($s $(, $x)*);
        // Without a logger the arguments are type-checked and count as used, but are
        // never evaluated: no call made only for a log line stays in the image.
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        if false {
            let _ = ($( & $x ),*);
        }
    }};
}

macro_rules! debug {
    ($s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        ::defmt::debug!($s $(, $x)*);
        #[cfg(feature = "log")]
        ::log::debug!($s $(, $x)*);
        // Without a logger the arguments are type-checked and count as used, but are
        // never evaluated: no call made only for a log line stays in the image.
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        if false {
            let _ = ($( & $x ),*);
        }
    }};
}

macro_rules! info {
    ($s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        ::defmt::info!($s $(, $x)*);
        #[cfg(feature = "log")]
        ::log::info!($s $(, $x)*);
        // Without a logger the arguments are type-checked and count as used, but are
        // never evaluated: no call made only for a log line stays in the image.
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        if false {
            let _ = ($( & $x ),*);
        }
    }};
}

macro_rules! warn {
    ($s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($s $(, $x)*);
        #[cfg(feature = "log")]
        ::log::warn!($s $(, $x)*);
        // Without a logger the arguments are type-checked and count as used, but are
        // never evaluated: no call made only for a log line stays in the image.
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        if false {
            let _ = ($( & $x ),*);
        }
    }};
}

macro_rules! error {
    ($s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        ::defmt::error!($s $(, $x)*);
        #[cfg(feature = "log")]
        ::log::error!($s $(, $x)*);
        // Without a logger the arguments are type-checked and count as used, but are
        // never evaluated: no call made only for a log line stays in the image.
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        if false {
            let _ = ($( & $x ),*);
        }
    }};
}
