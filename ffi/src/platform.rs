//! The platform services and the user interface, supplied by C: `iotadm_platform`
//! (randomness and time) and `iotadm_ui` (the handset's screen for alerts 1100-1104,
//! package 0 consent and FUMO questions), adapted to the core's `Rng`, `Clock` and
//! `UserInteraction` traits.

use core::ffi::{c_char, c_int, c_void};

use iotadm::platform::{Clock, Rng};
use iotadm::session::{self as dm, Choices, UiKind};
use iotadm::ui::{EchoType, InputType};

use crate::session::MAX_ID_Z;
use crate::status::IOTADM_ERR_INVALID_ARGUMENT;
use crate::text::CText;

/// Randomness and time.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Platform {
    /// Handed back to every callback.
    pub user: *mut c_void,
    /// Required. Fills the `len` bytes at `buf` with unpredictable bytes (the hardware
    /// random number generator): they become nonces and session ids.
    pub random: Option<unsafe extern "C" fn(user: *mut c_void, buf: *mut u8, len: usize)>,
    /// Optional. Seconds since 1970-01-01T00:00:00Z, or a negative number while the time
    /// is not known. `NULL`: the device has no clock (nodes get no timestamps).
    pub unix_time: Option<unsafe extern "C" fn(user: *mut c_void) -> i64>,
}

/// The randomness of a checked `iotadm_platform`.
#[derive(Debug)]
pub(crate) struct CRng {
    user: *mut c_void,
    random: unsafe extern "C" fn(*mut c_void, *mut u8, usize),
}

/// The clock of an `iotadm_platform`.
#[derive(Debug)]
pub(crate) struct CClock {
    user: *mut c_void,
    unix_time: Option<unsafe extern "C" fn(*mut c_void) -> i64>,
}

impl Platform {
    /// Its randomness (which must be there) and its clock, apart, since a session takes
    /// the one mutably and the other shared.
    pub(crate) fn split(&self) -> Result<(CRng, CClock), c_int> {
        let rng = CRng {
            user: self.user,
            random: self.random.ok_or(IOTADM_ERR_INVALID_ARGUMENT)?,
        };
        let clock = CClock {
            user: self.user,
            unix_time: self.unix_time,
        };
        Ok((rng, clock))
    }
}

impl Rng for CRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // SAFETY: `dest` is valid for writes of its length during the call.
        unsafe { (self.random)(self.user, dest.as_mut_ptr(), dest.len()) }
    }
}

impl Clock for CClock {
    fn unix_time(&self) -> Option<u64> {
        let f = self.unix_time?;
        // SAFETY: no pointers cross besides the caller's own `user`.
        u64::try_from(unsafe { f(self.user) }).ok()
    }
}

/// `iotadm_ui_request.kind`: show a message (alert 1100); answer `IOTADM_UI_OK`.
pub const IOTADM_UI_DISPLAY: u16 = 1100;
/// `iotadm_ui_request.kind`: yes or no (1101); answer `IOTADM_UI_OK` or `IOTADM_UI_NO`.
/// FUMO asks before a download and before an update with this kind.
pub const IOTADM_UI_CONFIRM: u16 = 1101;
/// `iotadm_ui_request.kind`: type some text (1102); answer `IOTADM_UI_TEXT`.
pub const IOTADM_UI_TEXT_INPUT: u16 = 1102;
/// `iotadm_ui_request.kind`: pick one choice (1103); answer `IOTADM_UI_CHOICES`.
pub const IOTADM_UI_SINGLE_CHOICE: u16 = 1103;
/// `iotadm_ui_request.kind`: pick any number of choices (1104); answer `IOTADM_UI_CHOICES`.
pub const IOTADM_UI_MULTIPLE_CHOICE: u16 = 1104;

/// The user's answer: shown (1100), or yes (1101).
pub const IOTADM_UI_OK: c_int = 0;
/// The user's answer: no (1101); the server gets status 304.
pub const IOTADM_UI_NO: c_int = 1;
/// The user's answer: the text written into `iotadm_ui_answer.text` (1102).
pub const IOTADM_UI_TEXT: c_int = 2;
/// The user's answer: the choices set in `iotadm_ui_answer.choices` (1103, 1104).
pub const IOTADM_UI_CHOICES: c_int = 3;
/// The user cancelled: status 214, and the rest of the server's package is not executed.
/// For a FUMO question, the operation is rejected.
pub const IOTADM_UI_CANCELLED: c_int = 4;
/// No answer in time: status 408. For a FUMO question, the question is put off.
pub const IOTADM_UI_TIMEOUT: c_int = 5;
/// This handset cannot ask: status 406. Also what any other return value means.
pub const IOTADM_UI_NOT_SUPPORTED: c_int = 6;

/// Most choices shown for one alert (`IOTADM_UI_MAX_CHOICES` in the header, the
/// library's limit); later ones are left out.
const IOTADM_UI_MAX_CHOICES: usize = iotadm::limits::UI_MAX_CHOICES;

/// What the user is asked. Every string is NUL-terminated and valid only during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct UiRequest {
    /// `IOTADM_UI_DISPLAY` ... `IOTADM_UI_MULTIPLE_CHOICE`: the alert code.
    pub kind: u16,
    /// The text to show (cut to fit a buffer of `IOTADM_UI_TEXT_SPACE` bytes shared with
    /// the choices).
    pub text: *const c_char,
    /// The server's default response (`DR`), its URL encoding decoded: text, or choice
    /// numbers separated by `-`; `NULL` when none was given.
    pub default_response: *const c_char,
    /// Seconds the message stays at least (`MINDT`); 0 when not given.
    pub min_display_secs: u32,
    /// Seconds to wait for the user at most (`MAXDT`); 0 when not given.
    pub max_display_secs: u32,
    /// Longest input (`MAXLEN`); 0 when not given.
    pub max_len: u32,
    /// The input type (`IT`): `'A'` alphanumeric, `'N'` numeric, `'D'` date, `'T'` time,
    /// `'P'` phone number, `'I'` IP address.
    pub input_type: c_char,
    /// Typed text is a password to mask (`ET=P`).
    pub echo_password: bool,
    /// The choices (1103, 1104), numbered from 1 in this order.
    pub choices: *const *const c_char,
    /// How many there are (at most `IOTADM_UI_MAX_CHOICES`).
    pub choice_count: usize,
}

/// Where the user's answer goes.
#[repr(C)]
#[derive(Debug)]
pub struct UiAnswer {
    /// For `IOTADM_UI_TEXT`: write the text here (UTF-8, no NUL needed).
    pub text: *mut c_char,
    /// Bytes `text` can take.
    pub text_capacity: usize,
    /// For `IOTADM_UI_TEXT`: bytes written to `text`.
    pub text_len: usize,
    /// For `IOTADM_UI_CHOICES`: bit `n - 1` set picks choice `n`.
    pub choices: u64,
}

/// Bytes of text (and choices, and the default response) one question shows, NULs
/// included.
pub const IOTADM_UI_TEXT_SPACE: usize = 1024;

/// The handset's user interface. Every callback is optional.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Handed back to every callback.
    pub user: *mut c_void,
    /// Shows `request` and returns the answer, `IOTADM_UI_OK` ... `IOTADM_UI_NOT_SUPPORTED`,
    /// filling `answer` for text and choices. May block until the user answers. `NULL`:
    /// every alert is answered "not supported" (406) and FUMO goes ahead unasked.
    pub ask: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            request: *const UiRequest,
            answer: *mut UiAnswer,
        ) -> c_int,
    >,
    /// Tells the user that `server_id` starts a management session (package 0 UI mode
    /// "informative").
    pub inform_session: Option<unsafe extern "C" fn(user: *mut c_void, server_id: *const c_char)>,
    /// Asks the user whether `server_id` may start a session (package 0 UI mode "user
    /// interaction"); `false` declines. `NULL`: allowed.
    pub allow_session:
        Option<unsafe extern "C" fn(user: *mut c_void, server_id: *const c_char) -> bool>,
}

/// The C user interface behind `UserInteraction`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CUi(pub(crate) Ui);

/// A NUL-terminated string per piece of a question, packed into one buffer.
struct Packer<'b> {
    buf: &'b mut [u8; IOTADM_UI_TEXT_SPACE],
    used: usize,
}

impl Packer<'_> {
    /// Appends `bytes` (cut at a character boundary to fit) and a NUL; returns its offset.
    /// Once the buffer is full, pieces are empty strings.
    fn push(&mut self, bytes: impl Iterator<Item = u8>) -> usize {
        let start = self.used;
        let room = self.buf.get_mut(start..).unwrap_or(&mut []);
        let Some(last) = room.len().checked_sub(1) else {
            // Full: the last byte is a NUL, an empty string.
            return start.saturating_sub(1);
        };
        let mut bytes = bytes.peekable();
        let mut n = 0;
        for slot in room.iter_mut().take(last) {
            let Some(b) = bytes.next() else { break };
            *slot = b;
            n += 1;
        }
        if bytes.peek().is_some_and(|b| b & 0xC0 == 0x80) {
            // Cut inside a character: drop the part of it that was copied.
            while n > 0 && room.get(n - 1).is_some_and(|b| b & 0xC0 == 0x80) {
                n -= 1;
            }
            n = n.saturating_sub(1);
        }
        if let Some(nul) = room.get_mut(n) {
            *nul = 0;
        }
        self.used = start + n + 1;
        start
    }
}

impl dm::UserInteraction for CUi {
    fn ask<'s>(&mut self, request: &dm::UiRequest<'_>, scratch: &'s mut [u8]) -> dm::UiAnswer<'s> {
        let Some(ask) = self.0.ask else {
            return dm::UiAnswer::NotSupported;
        };
        let mut space = [0u8; IOTADM_UI_TEXT_SPACE];
        let mut packer = Packer {
            buf: &mut space,
            used: 0,
        };
        let text = packer.push(request.text.bytes());
        let default = request
            .options
            .default_response
            .map(|d| packer.push(d.bytes()));
        let mut offsets = [0usize; IOTADM_UI_MAX_CHOICES];
        let mut count = 0;
        for (slot, choice) in offsets.iter_mut().zip(request.choices) {
            *slot = packer.push(choice.bytes());
            count += 1;
        }
        let base = space.as_ptr();
        let at = |offset: usize| base.wrapping_add(offset).cast::<c_char>();
        let mut choices = [core::ptr::null::<c_char>(); IOTADM_UI_MAX_CHOICES];
        for (p, &o) in choices.iter_mut().zip(&offsets).take(count) {
            *p = at(o);
        }
        let o = &request.options;
        let c_request = UiRequest {
            kind: match request.kind {
                UiKind::Display => IOTADM_UI_DISPLAY,
                UiKind::Confirm => IOTADM_UI_CONFIRM,
                UiKind::TextInput => IOTADM_UI_TEXT_INPUT,
                UiKind::SingleChoice => IOTADM_UI_SINGLE_CHOICE,
                UiKind::MultipleChoice => IOTADM_UI_MULTIPLE_CHOICE,
            },
            text: at(text),
            default_response: default.map_or(core::ptr::null(), at),
            min_display_secs: o.min_display_secs.unwrap_or(0),
            max_display_secs: o.max_display_secs.unwrap_or(0),
            max_len: o.max_len.unwrap_or(0),
            input_type: match o.input_type {
                InputType::Numeric => b'N',
                InputType::Date => b'D',
                InputType::Time => b'T',
                InputType::Phone => b'P',
                InputType::Ip => b'I',
                _ => b'A',
            } as c_char,
            echo_password: o.echo_type == EchoType::Password,
            choices: choices.as_ptr(),
            choice_count: count,
        };
        let mut answer = UiAnswer {
            text: scratch.as_mut_ptr().cast(),
            text_capacity: scratch.len(),
            text_len: 0,
            choices: 0,
        };
        // SAFETY: the request's strings live in `space` and `choices`, and the answer's
        // text buffer is `scratch`; all outlive the call.
        let code = unsafe { ask(self.0.user, &c_request, &mut answer) };
        match code {
            IOTADM_UI_OK => dm::UiAnswer::Ok,
            IOTADM_UI_NO => dm::UiAnswer::No,
            IOTADM_UI_TEXT => {
                let typed = scratch.get(..answer.text_len).unwrap_or(&[]);
                let text = match core::str::from_utf8(typed) {
                    Ok(t) => t,
                    // Keep what is text; a cut character at the end is dropped.
                    Err(e) => core::str::from_utf8(typed.get(..e.valid_up_to()).unwrap_or(&[]))
                        .unwrap_or(""),
                };
                dm::UiAnswer::Text(text)
            }
            IOTADM_UI_CHOICES => dm::UiAnswer::Choices(
                (1..=64u8)
                    .filter(|n| answer.choices & (1u64 << (n - 1)) != 0)
                    .fold(Choices::NONE, Choices::with),
            ),
            IOTADM_UI_CANCELLED => dm::UiAnswer::Cancelled,
            IOTADM_UI_TIMEOUT => dm::UiAnswer::Timeout,
            _ => dm::UiAnswer::NotSupported,
        }
    }

    fn inform_session(&mut self, server: &str) {
        if let Some(inform) = self.0.inform_session {
            let id = CText::<MAX_ID_Z>::new(server);
            // SAFETY: `id` is a NUL-terminated string that outlives the call.
            unsafe { inform(self.0.user, id.as_ptr()) }
        }
    }

    fn allow_session(&mut self, server: &str) -> bool {
        match self.0.allow_session {
            Some(allow) => {
                let id = CText::<MAX_ID_Z>::new(server);
                // SAFETY: as above.
                unsafe { allow(self.0.user, id.as_ptr()) }
            }
            None => true,
        }
    }
}
