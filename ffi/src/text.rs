//! Crossing the boundary with bytes and text: C strings and buffers in, NUL-terminated
//! copies of Rust text out. Every pointer the C side passes goes through here (or through a
//! `SAFETY` comment next to its use), so the checks on `NULL` and lengths live in one place.

use core::ffi::{c_char, CStr};

/// The UTF-8 string at `p`, or `None` for `NULL` or text that is not UTF-8.
///
/// # Safety
/// A non-null `p` points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn str_in<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller promises a NUL-terminated string valid for 'a.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// The `len` bytes at `p`; `NULL` is the empty slice when `len` is 0 and `None` otherwise.
///
/// # Safety
/// A non-null `p` points to `len` readable bytes that stay valid and unchanged for `'a`.
pub(crate) unsafe fn bytes_in<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if p.is_null() {
        return (len == 0).then_some(&[]);
    }
    if isize::try_from(len).is_err() {
        return None;
    }
    // SAFETY: the caller promises `len` readable bytes at `p`, valid for 'a.
    Some(unsafe { core::slice::from_raw_parts(p, len) })
}

/// The `len` writable bytes at `p`; `NULL` is the empty slice when `len` is 0.
///
/// # Safety
/// A non-null `p` points to `len` writable bytes that nothing else reads or writes for `'a`.
pub(crate) unsafe fn bytes_out<'a>(p: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if p.is_null() {
        return (len == 0).then_some(&mut []);
    }
    if isize::try_from(len).is_err() {
        return None;
    }
    // SAFETY: the caller promises `len` writable, unaliased bytes at `p`, valid for 'a.
    Some(unsafe { core::slice::from_raw_parts_mut(p, len) })
}

/// A NUL-terminated copy of Rust text for a C callback, in a buffer of `CAP` bytes. Text
/// longer than `CAP - 1` bytes is cut at a character boundary; an interior NUL ends the
/// string early as C reads it.
pub(crate) struct CText<const CAP: usize> {
    buf: [u8; CAP],
}

impl<const CAP: usize> CText<CAP> {
    /// A copy of `text`.
    pub(crate) fn new(text: &str) -> Self {
        let mut c = CText { buf: [0; CAP] };
        let mut cut = CAP.saturating_sub(1).min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if let (Some(dst), Some(src)) = (c.buf.get_mut(..cut), text.as_bytes().get(..cut)) {
            dst.copy_from_slice(src);
        }
        c
    }

    /// The string, for as long as the copy lives.
    pub(crate) fn as_ptr(&self) -> *const c_char {
        self.buf.as_ptr().cast()
    }
}

/// Copies `text` into `out` as a NUL-terminated string; `false` (and an empty string when
/// there is room for one) when it does not fit whole.
pub(crate) fn copy_cstr(text: &str, out: &mut [u8]) -> bool {
    let n = text.len();
    match out.get_mut(..=n) {
        Some(dst) => {
            let (body, nul) = dst.split_at_mut(n);
            body.copy_from_slice(text.as_bytes());
            nul.fill(0);
            true
        }
        None => {
            if let Some(first) = out.first_mut() {
                *first = 0;
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_text_is_cut_at_a_character_boundary_and_terminated() {
        let t = CText::<5>::new("aéé");
        // "aé" is 3 bytes; the next é would need 5, and the NUL one more.
        let s = unsafe { CStr::from_ptr(t.as_ptr()) };
        assert_eq!(s.to_str().unwrap(), "aé");
        let t = CText::<8>::new("abc");
        assert_eq!(unsafe { CStr::from_ptr(t.as_ptr()) }.to_bytes(), b"abc");
        let t = CText::<1>::new("abc");
        assert_eq!(unsafe { CStr::from_ptr(t.as_ptr()) }.to_bytes(), b"");
    }

    #[test]
    fn pointers_in_are_checked() {
        assert_eq!(unsafe { str_in(core::ptr::null()) }, None);
        assert_eq!(unsafe { str_in(c"dm".as_ptr()) }, Some("dm"));
        let bad = [0xFFu8, 0];
        assert_eq!(unsafe { str_in(bad.as_ptr().cast()) }, None);
        assert_eq!(unsafe { bytes_in(core::ptr::null(), 0) }, Some(&[][..]));
        assert_eq!(unsafe { bytes_in(core::ptr::null(), 3) }, None);
        assert!(unsafe { bytes_out(core::ptr::null_mut(), 1) }.is_none());
    }

    #[test]
    fn copies_out_fit_whole_or_not_at_all() {
        let mut out = [0xAAu8; 4];
        assert!(copy_cstr("abc", &mut out));
        assert_eq!(&out, b"abc\0");
        assert!(!copy_cstr("abcd", &mut out));
        assert_eq!(out[0], 0);
        assert!(!copy_cstr("", &mut []));
    }
}
