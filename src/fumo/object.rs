//! [`Fumo`]: one `./FUMO/<x>` node, its state machine, the work it leaves to the device, its
//! reports, and its node handler.

use core::mem::MaybeUninit;

use embedded_storage::nor_flash::NorFlash;
use heapless::String;

#[cfg(feature = "fumo-url")]
use super::download::{DownloadError, Downloader, Progress};
use super::store::{Record, RecordLog};
use super::{Config, Error, FirmwareGate, FirmwareInstaller, Op, ResultCode, State, Work};
use crate::alert::GenericAlert;
use crate::codec::Text;
use crate::codes::StatusCode;
use crate::firmware::{self, Outcome, Phase};
#[cfg(feature = "mcuboot")]
use crate::limits::FUMO_PKG_VERSION_LEN;
#[cfg(feature = "fumo-url")]
use crate::limits::FUMO_URL_LEN;
use crate::limits::{FUMO_CORRELATOR_LEN, FUMO_NAME_LEN, FUMO_PKG_NAME_LEN};
use crate::schema::{NodeId, Schema, ROOT};
use crate::tree::{ExecOutcome, Handlers, NodeHandler, NodeRef};
use crate::ui::{UiAnswer, UiKind, UiOptions, UiRequest, UserInteraction};

/// `./FUMO/` and the instance name.
const MAX_NODE_URI: usize = 7 + FUMO_NAME_LEN;

/// What [`Fumo::poll`] needs from the device.
pub struct Io<'a> {
    /// Fetches packages from `PkgURL`.
    #[cfg(feature = "fumo-url")]
    pub downloader: &'a mut dyn Downloader,
    /// Asks the user before a download and before an update.
    pub ui: &'a mut dyn UserInteraction,
    /// Told how far a download is after each piece written to flash.
    #[cfg(feature = "fumo-url")]
    pub progress: &'a mut dyn FnMut(Progress),
    /// Receives the download, a piece at a time: its size is the size of each read.
    #[cfg(feature = "fumo-url")]
    pub buf: &'a mut [u8],
}

/// What the device should do after [`Fumo::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
#[must_use = "the device has to act on what the FUMO object asks"]
pub enum Poll {
    /// Nothing to do.
    Idle,
    /// The user put the question off: poll again later.
    Deferred,
    /// The download was interrupted by the network: poll again later; it resumes.
    Retry,
    /// The new image is armed: reboot into it.
    Reboot,
    /// The new image runs on trial: [`Fumo::confirm_update`] once it works.
    AwaitingConfirm,
    /// A result waits to be reported: start a session with [`Fumo::pending_report`].
    Report,
}

/// A result to report to the server, as a Generic Alert (1226). Owned, so it can be
/// handed to a session while the FUMO object sits in the tree as its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a report is sent in a session"]
pub struct Report {
    id: u32,
    result: ResultCode,
    operation: Op,
    alert_type: &'static str,
    data: String<5>,
    source: String<MAX_NODE_URI>,
    correlator: Option<String<FUMO_CORRELATOR_LEN>>,
}

impl Report {
    /// The FUMO result code.
    pub fn result(&self) -> ResultCode {
        self.result
    }

    /// The operation it reports on.
    pub fn operation(&self) -> Op {
        self.operation
    }

    /// The Generic Alert: the operation's alert type, the result code as `int` data, the
    /// FUMO node as its source, the `Exec`'s correlator, and `critical` for a failure.
    pub fn alert(&self) -> GenericAlert<'_> {
        GenericAlert {
            correlator: self.correlator.as_deref(),
            source: Some(&self.source),
            target: None,
            alert_type: self.alert_type,
            format: "int",
            mark: (!self.result.is_success()).then_some("critical"),
            data: &self.data,
        }
    }
}

/// The answer to a confirmation question.
enum Decision {
    Go,
    Defer,
    Reject,
}

/// The static-table ids of the nodes the handler serves.
#[derive(Debug, Clone, Copy)]
struct Ids {
    instance: NodeId,
    pkg_name: NodeId,
    pkg_version: NodeId,
    download: NodeId,
    download_url: NodeId,
    update: NodeId,
    update_data: NodeId,
    dau: NodeId,
    dau_url: NodeId,
    dau_data: NodeId,
    state: NodeId,
}

impl Ids {
    fn lookup(schema: &Schema) -> Option<Self> {
        let instance = schema.placeholder_child(schema.child(ROOT, "FUMO")?)?;
        let download = schema.child(instance, "Download")?;
        let update = schema.child(instance, "Update")?;
        let dau = schema.child(instance, "DownloadAndUpdate")?;
        Some(Self {
            instance,
            pkg_name: schema.child(instance, "PkgName")?,
            pkg_version: schema.child(instance, "PkgVersion")?,
            download,
            download_url: schema.child(download, "PkgURL")?,
            update,
            update_data: schema.child(update, "PkgData")?,
            dau,
            dau_url: schema.child(dau, "PkgURL")?,
            dau_data: schema.child(dau, "PkgData")?,
            state: schema.child(instance, "State")?,
        })
    }

    /// Whether the handler keeps this node's value.
    fn is_leaf(&self, def: NodeId) -> bool {
        [
            self.pkg_name,
            self.pkg_version,
            self.download_url,
            self.update_data,
            self.dau_url,
            self.dau_data,
            self.state,
        ]
        .contains(&def)
    }
}

/// One FUMO node, `./FUMO/<x>`, with its installer. See the [module docs](super).
///
/// Methods: getters; [`poll`](Self::poll), the device's step;
/// [`confirm_update`](Self::confirm_update) and [`reject_update`](Self::reject_update) on
/// the new image; [`pending_report`](Self::pending_report) and
/// [`report_delivered`](Self::report_delivered) around the reporting session. The server's
/// commands arrive through the [`NodeHandler`] implementation.
pub struct Fumo<I, S, G = super::Ungated> {
    installer: I,
    log: RecordLog<S>,
    gate: G,
    config: Config,
    rec: Record,
    name: String<FUMO_NAME_LEN>,
    uri: String<MAX_NODE_URI>,
    ids: Ids,
    /// A large object is streaming into a `PkgData`.
    streaming: bool,
}

impl<I, S, G> core::fmt::Debug for Fumo<I, S, G> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fumo")
            .field("uri", &self.uri)
            .field("state", &self.rec.state)
            .field("op", &self.rec.op)
            .field("work", &self.rec.work)
            .field("report", &self.rec.report)
            .finish_non_exhaustive()
    }
}

impl<I, S, G> Fumo<I, S, G>
where
    I: FirmwareInstaller,
    S: NorFlash,
    G: FirmwareGate,
{
    /// Opens the FUMO node `./FUMO/<name>` (the device adds that node to the tree once):
    /// reads its record from `store` (at least two sectors, each holding one record of
    /// up to 647 bytes) and settles it with what the installer says happened meanwhile,
    /// e.g. an update confirmed or rolled back across the reboot. `schema` is the one the
    /// tree is mounted with: the object serves its FUMO nodes.
    pub fn open(
        schema: &Schema,
        name: &str,
        installer: I,
        store: S,
        gate: G,
        config: Config,
    ) -> Result<Self, Error> {
        let mut fumo = Self::unopened(schema, name, installer, store, gate, config)?;
        fumo.settle()?;
        Ok(fumo)
    }

    /// [`Fumo::open`] into `slot`: the object is set up where it stays (a device short of
    /// stack keeps it in a `static`) instead of being returned by value and moved. On
    /// error `slot` holds an object that must not be used.
    pub fn open_in<'s>(
        slot: &'s mut MaybeUninit<Self>,
        schema: &Schema,
        name: &str,
        installer: I,
        store: S,
        gate: G,
        config: Config,
    ) -> Result<&'s mut Self, Error> {
        let fumo = slot.write(Self::unopened(
            schema, name, installer, store, gate, config,
        )?);
        fumo.settle()?;
        Ok(fumo)
    }

    /// The object before its record is read. Always inlined, so that [`Fumo::open_in`]
    /// writes it straight into its slot.
    #[inline(always)]
    fn unopened(
        schema: &Schema,
        name: &str,
        installer: I,
        store: S,
        gate: G,
        config: Config,
    ) -> Result<Self, Error> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::Layout);
        }
        let mut uri = String::new();
        uri.push_str("./FUMO/")
            .and_then(|()| uri.push_str(name))
            .map_err(|_| Error::Layout)?;
        Ok(Self {
            installer,
            log: RecordLog::unscanned(store)?,
            gate,
            config,
            rec: Record::default(),
            name: String::try_from(name).map_err(|_| Error::Layout)?,
            uri,
            ids: Ids::lookup(schema).ok_or(Error::Schema)?,
            streaming: false,
        })
    }

    /// Reads the record and settles it with the installer.
    fn settle(&mut self) -> Result<(), Error> {
        self.log.scan(&mut self.rec)?;
        self.reconcile()?;
        debug!("fumo: open, state {}", u8::from(self.rec.state));
        Ok(())
    }

    // ---- getters ----

    /// The `State` node's value.
    pub fn state(&self) -> State {
        self.rec.state
    }

    /// The operation under way or being reported.
    pub fn operation(&self) -> Op {
        self.rec.op
    }

    /// What the device still has to do for it.
    pub fn work(&self) -> Work {
        self.rec.work
    }

    /// The node's URI, `./FUMO/<x>`: the source of its reports.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The `PkgVersion` value: the version of the package on the device.
    pub fn pkg_version(&self) -> &str {
        &self.rec.pkg_version
    }

    /// The installer.
    pub fn installer(&self) -> &I {
        &self.installer
    }

    /// The installer, e.g. for the bootloader's decision or a restore after a rollback.
    pub fn installer_mut(&mut self) -> &mut I {
        &mut self.installer
    }

    /// The gate.
    pub fn gate_mut(&mut self) -> &mut G {
        &mut self.gate
    }

    /// Gives the installer, the FUMO region and the gate back.
    pub fn into_parts(self) -> (I, S, G) {
        (self.installer, self.log.into_inner(), self.gate)
    }

    // ---- the device's step ----

    /// Does the work the last `Exec` left: asks the user, downloads, verifies, arms the
    /// trial boot. Returns what the device should do next. Blocks in the downloader and
    /// the UI only. An [`Error`] is a local fault (flash); the operation goes on from
    /// where it stopped on the next call or after a restart.
    pub fn poll(&mut self, io: &mut Io<'_>) -> Result<Poll, Error> {
        // Each pass either returns or moves the work forward, so a few suffice.
        for _ in 0..8 {
            match self.rec.work {
                Work::None => {
                    return Ok(if self.rec.report.is_some() {
                        Poll::Report
                    } else {
                        Poll::Idle
                    })
                }
                // Left by a build with downloads (the record outlives a firmware update):
                // this one cannot do it, and says so in the report.
                #[cfg(not(feature = "fumo-url"))]
                Work::ConfirmDownload | Work::Download => {
                    return self.fail_download(ResultCode::NotImplemented)
                }
                #[cfg(feature = "fumo-url")]
                Work::ConfirmDownload => match self.ask(io, false) {
                    Decision::Go => {
                        self.rec.state = State::DownloadProgressing;
                        self.rec.work = Work::Download;
                        self.rec.deferrals = 0;
                        self.commit()?;
                    }
                    Decision::Defer => return self.defer(),
                    Decision::Reject => return self.fail_download(ResultCode::UserCancelled),
                },
                #[cfg(feature = "fumo-url")]
                Work::Download => {
                    let p = self.download(io)?;
                    if self.rec.work != Work::ConfirmUpdate {
                        return Ok(p);
                    }
                }
                Work::ConfirmUpdate => match self.ask(io, true) {
                    Decision::Go => {
                        self.rec.state = State::UpdateProgressing;
                        self.rec.work = Work::Install;
                        self.rec.deferrals = 0;
                        self.commit()?;
                    }
                    Decision::Defer => return self.defer(),
                    Decision::Reject => return self.update_failed(ResultCode::UserCancelled),
                },
                Work::Install => return self.install(),
                Work::Trial => {
                    return Ok(if self.installer.trial_boots() == 0 {
                        Poll::Reboot
                    } else {
                        Poll::AwaitingConfirm
                    })
                }
            }
        }
        Ok(Poll::Idle)
    }

    /// Called by the new image once it works: keeps it, and the update is reported as
    /// successful.
    pub fn confirm_update(&mut self) -> Result<(), Error> {
        if self.rec.work != Work::Trial || self.installer.phase() != Phase::Trial {
            return Err(Error::BadState);
        }
        self.installer.confirm()?;
        info!("fumo: update confirmed");
        self.reconcile()
    }

    /// Called by the new image when it cannot work: gives it up (the old image boots
    /// next), and the update is reported as failed.
    pub fn reject_update(&mut self) -> Result<(), Error> {
        if self.rec.work != Work::Trial || self.installer.phase() != Phase::Trial {
            return Err(Error::BadState);
        }
        self.installer.rollback()?;
        warn!("fumo: update given up");
        self.reconcile()
    }

    // ---- reports ----

    /// The result waiting to be reported, if any. Send [`Report::alert`] in a
    /// client-initiated session, then call [`report_delivered`](Self::report_delivered).
    pub fn pending_report(&self) -> Option<Report> {
        let result = self.rec.report?;
        let alert_type = match self.rec.op {
            Op::Download => self.config.alert_types.download,
            Op::Update => self.config.alert_types.update,
            Op::DownloadAndUpdate => self.config.alert_types.download_and_update,
            Op::None => return None,
        };
        Some(Report {
            id: self.rec.report_id,
            result,
            operation: self.rec.op,
            alert_type,
            data: decimal(u16::from(result)),
            source: self.uri.clone(),
            correlator: self.rec.correlator.clone(),
        })
    }

    /// The server's status for `report` (`None`: none came). 200 or 202 acknowledges it:
    /// the report is dropped and a final state returns to Idle (a package still on the
    /// device leaves it Ready to Update). Any other status keeps the report for a later
    /// session. Returns whether the report was acknowledged.
    pub fn report_delivered(
        &mut self,
        report: &Report,
        status: Option<StatusCode>,
    ) -> Result<bool, Error> {
        if self.rec.report.is_none() || self.rec.report_id != report.id {
            return Ok(false);
        }
        if !matches!(status, Some(StatusCode::Ok | StatusCode::Accepted)) {
            return Ok(false);
        }
        // The installer first: a cut between the two only sends the report again.
        self.installer.acknowledge_outcome()?;
        let have_data = self.installer.phase() == Phase::Ready;
        let rec = &mut self.rec;
        rec.report = None;
        rec.correlator = None;
        rec.state = match rec.state {
            State::DownloadComplete | State::UpdateFailedHaveData | State::ReadyToUpdate
                if have_data =>
            {
                State::ReadyToUpdate
            }
            State::DownloadProgressing | State::UpdateProgressing => rec.state,
            _ => State::Idle,
        };
        if rec.work == Work::None {
            rec.op = Op::None;
        }
        self.commit()?;
        info!("fumo: report {} acknowledged", u16::from(report.result));
        Ok(true)
    }

    // ---- the state machine ----

    /// Appends the record, changed where it is kept (a copy would put some 640 bytes on
    /// the stack of every step). Should the append fail, the record is read back from the
    /// log: the object then holds what a restart would find, the last record written.
    fn commit(&mut self) -> Result<(), Error> {
        match self.log.append(&self.rec) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = self.log.scan(&mut self.rec);
                Err(e)
            }
        }
    }

    /// Sets `code` as the result to report for the operation; no work is left.
    fn set_report(rec: &mut Record, code: ResultCode) {
        rec.report = Some(code);
        rec.report_id = rec.report_id.wrapping_add(1);
        rec.work = Work::None;
    }

    /// Settles the record with the installer's facts: an update confirmed, rolled back or
    /// failed across a reboot, a step a power cut interrupted.
    fn reconcile(&mut self) -> Result<(), Error> {
        let phase = self.installer.phase();
        // What changes: a state, a work item, a result to report. Worked out first, so
        // that the record changes only when it is committed.
        let (mut state, mut work, mut report) = (None, None, None);
        match (self.rec.work, self.rec.state) {
            (Work::Install | Work::Trial, _) => match phase {
                Phase::Trial => work = Some(Work::Trial),
                // Armed? Not yet: arm (again).
                Phase::Ready => work = Some(Work::Install),
                _ => {
                    let code = match self.installer.last_outcome() {
                        Some(o) => ResultCode::from(o),
                        None => ResultCode::UpdateFailed,
                    };
                    state = Some(if code.is_success() {
                        State::UpdateSuccessfulNoData
                    } else {
                        State::UpdateFailedNoData
                    });
                    report = Some(code);
                }
            },
            (Work::Download, _) => {
                if let (Phase::Idle, Some(Outcome::Failed { reason })) =
                    (phase, self.installer.last_outcome())
                {
                    state = Some(State::DownloadFailed);
                    report = Some(ResultCode::from(reason));
                }
            }
            (Work::ConfirmUpdate, _) if phase != Phase::Ready => {
                state = Some(State::UpdateFailedNoData);
                report = Some(ResultCode::UpdateFailed);
            }
            (Work::None, State::DownloadProgressing) if !self.streaming => {
                // A package pushed into PkgData, cut off by a reboot: the server has to
                // send it again.
                state = Some(match phase {
                    Phase::Ready => State::ReadyToUpdate,
                    Phase::Downloading => {
                        self.installer.abort(ResultCode::UndefinedError)?;
                        State::Idle
                    }
                    _ => State::Idle,
                });
            }
            (
                Work::None,
                State::DownloadComplete | State::ReadyToUpdate | State::UpdateFailedHaveData,
            ) if phase != Phase::Ready && self.rec.report.is_none() => {
                state = Some(State::Idle);
            }
            _ => {}
        }
        let changes = state.is_some_and(|s| s != self.rec.state)
            || work.is_some_and(|w| w != self.rec.work)
            || report.is_some();
        if !changes {
            return Ok(());
        }
        let rec = &mut self.rec;
        if let Some(s) = state {
            rec.state = s;
        }
        if let Some(w) = work {
            rec.work = w;
        }
        if let Some(code) = report {
            Self::set_report(rec, code);
        }
        self.commit()
    }

    fn ask(&mut self, io: &mut Io<'_>, update: bool) -> Decision {
        let wanted = if update {
            self.config.confirm_update
        } else {
            self.config.confirm_download
        };
        if !wanted {
            return Decision::Go;
        }
        let mut text: String<96> = String::new();
        let parts: &[&str] = if update {
            &[
                "Install firmware ",
                &self.rec.pkg_version,
                "? The device will restart.",
            ]
        } else {
            &["Download a firmware update?"]
        };
        // As much as fits, in whole parts.
        for part in parts {
            if text.push_str(part).is_err() {
                break;
            }
        }
        let request = UiRequest {
            kind: UiKind::Confirm,
            options: UiOptions::default(),
            text: Text::from(text.as_str()),
            choices: &[],
        };
        match io.ui.ask(&request, &mut []) {
            UiAnswer::Ok | UiAnswer::NotSupported => Decision::Go,
            UiAnswer::Cancelled => Decision::Reject,
            _ => Decision::Defer,
        }
    }

    fn defer(&mut self) -> Result<Poll, Error> {
        let deferrals = self.rec.deferrals.saturating_add(1);
        if self.config.max_deferrals.is_some_and(|max| deferrals > max) {
            return if self.rec.work == Work::ConfirmUpdate {
                self.update_failed(ResultCode::UserCancelled)
            } else {
                self.fail_download(ResultCode::UserCancelled)
            };
        }
        self.rec.deferrals = deferrals;
        self.commit()?;
        Ok(Poll::Deferred)
    }

    /// The download failed with `code`: 20, reported.
    fn fail_download(&mut self, code: ResultCode) -> Result<Poll, Error> {
        warn!("fumo: download failed, {}", u16::from(code));
        if matches!(self.installer.phase(), Phase::Downloading | Phase::Ready) {
            self.installer.abort(code)?;
        }
        self.rec.state = State::DownloadFailed;
        self.rec.retries = 0;
        Self::set_report(&mut self.rec, code);
        self.commit()?;
        Ok(Poll::Report)
    }

    /// The update did not happen and the package is still there: 70, reported.
    fn update_failed(&mut self, code: ResultCode) -> Result<Poll, Error> {
        warn!("fumo: update not done, {}", u16::from(code));
        self.rec.state = if self.installer.phase() == Phase::Ready {
            State::UpdateFailedHaveData
        } else {
            State::UpdateFailedNoData
        };
        Self::set_report(&mut self.rec, code);
        self.commit()?;
        Ok(Poll::Report)
    }

    /// An installer error during a download: a refusal is the operation's result, a
    /// flash fault is the caller's to retry.
    #[cfg(feature = "fumo-url")]
    fn download_refused(&mut self, e: firmware::Error) -> Result<Poll, Error> {
        match e {
            firmware::Error::Flash(_) => Err(Error::Installer(e)),
            e => self.fail_download(ResultCode::from(e)),
        }
    }

    #[cfg(feature = "fumo-url")]
    fn download_error(&mut self, e: DownloadError) -> Result<Poll, Error> {
        if e.is_transient() && self.rec.retries < self.config.download_retries {
            debug!("fumo: download interrupted, will resume");
            self.rec.retries += 1;
            self.commit()?;
            return Ok(Poll::Retry);
        }
        self.fail_download(e.result_code())
    }

    #[cfg(feature = "fumo-url")]
    fn download(&mut self, io: &mut Io<'_>) -> Result<Poll, Error> {
        let which = usize::from(self.rec.op == Op::DownloadAndUpdate);
        let url: String<FUMO_URL_LEN> = self.rec.urls.get(which).cloned().unwrap_or_default();
        if url.is_empty() {
            return self.fail_download(ResultCode::BadUrl);
        }
        if io.buf.is_empty() {
            return Err(Error::Layout);
        }
        let started = match self.installer.phase() {
            // Verified before a reboot that came before this record was written.
            Phase::Ready => return self.downloaded(),
            Phase::Downloading => self.installer.resume(),
            _ => self.installer.begin().map(|()| 0),
        };
        let offset = match started {
            Ok(o) => o,
            Err(e) => return self.download_refused(e),
        };
        if offset > 0 && self.installer.package_len() == Some(offset) {
            // All of it is in flash (a delta patch cut while being applied): nothing to fetch.
            return self.finish_download();
        }
        let opened = match io.downloader.open(&url, offset) {
            Ok(o) => o,
            Err(e) => {
                io.downloader.close();
                return self.download_error(e);
            }
        };
        // A server that ignores the range sends the package from its start.
        let mut skip = match opened.offset {
            o if o == offset => 0,
            0 => offset as usize,
            _ => {
                io.downloader.close();
                return self.download_error(DownloadError::Protocol);
            }
        };
        loop {
            let n = match io.downloader.read(io.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    io.downloader.close();
                    return self.download_error(e);
                }
            };
            let got = io.buf.get(..n).unwrap_or_default();
            let k = skip.min(got.len());
            skip -= k;
            let data = got.get(k..).unwrap_or_default();
            if data.is_empty() {
                continue;
            }
            if let Err(e) = self.installer.write_chunk(data) {
                io.downloader.close();
                return self.download_refused(e);
            }
            let received = self.installer.received();
            let total = self.installer.package_len();
            (io.progress)(Progress { received, total });
            if total == Some(received) {
                break;
            }
        }
        io.downloader.close();
        let received = self.installer.received();
        let whole_file = opened.total == Some(received);
        if self.installer.package_len() != Some(received) && !whole_file {
            // The body ended before the package did; a file that ends there too is a
            // truncated package, which `finish` refuses.
            return self.download_error(DownloadError::Network);
        }
        self.finish_download()
    }

    /// Verifies the downloaded package (applying it, if it is a patch) and reports.
    #[cfg(feature = "fumo-url")]
    fn finish_download(&mut self) -> Result<Poll, Error> {
        match self.installer.finish() {
            Ok(_) => self.downloaded(),
            Err(e) => self.download_refused(e),
        }
    }

    /// Notes the verified package's name and version: a package's to-version name and
    /// `<model> <version>`; for an MCUboot image (feature `mcuboot`), which names no model,
    /// its version as `ImageVersion::text` writes it and `MCUboot <version>`, the build
    /// number left out when the version would not fit `PkgVersion`.
    fn note_package(installer: &I, next: &mut Record) {
        let Some(h) = installer.package_header() else {
            #[cfg(feature = "mcuboot")]
            if let Some(h) = installer.image_header() {
                let version = h.version();
                let mut text = version.text();
                if text.len() > FUMO_PKG_VERSION_LEN {
                    text = firmware::mcuboot::ImageVersion {
                        build: 0,
                        ..version
                    }
                    .text();
                }
                Self::note_name(next, "MCUboot", &text);
            }
            return;
        };
        Self::note_name(next, trimmed(h.model()), trimmed(h.to_name()));
    }

    fn note_name(next: &mut Record, model: &str, version: &str) {
        next.pkg_version.clear();
        let _ = next.pkg_version.push_str(version);
        let mut name: String<FUMO_PKG_NAME_LEN> = String::new();
        let fits = name
            .push_str(model)
            .and_then(|()| name.push(' '))
            .and_then(|()| name.push_str(version));
        if fits.is_ok() {
            next.pkg_name = name;
        }
    }

    /// Records the end of a package pushed into `PkgData`: `ReadyToUpdate` with the
    /// package's name and version once the installer has verified it, or back to `Idle`
    /// when it was abandoned (`None`). Out of line: its copy of the record is on the stack
    /// only here, not under the installer's check of the package.
    #[inline(never)]
    fn pushed(&mut self, verified: Option<State>) -> Result<(), StatusCode> {
        match verified {
            Some(state) => {
                Self::note_package(&self.installer, &mut self.rec);
                self.rec.state = state;
            }
            None => self.rec.state = State::Idle,
        }
        self.commit().map_err(|_| StatusCode::DataStoreFailure)
    }

    /// The package is in flash and verified: 40.
    #[cfg(feature = "fumo-url")]
    fn downloaded(&mut self) -> Result<Poll, Error> {
        info!("fumo: download complete");
        Self::note_package(&self.installer, &mut self.rec);
        self.rec.state = State::DownloadComplete;
        self.rec.retries = 0;
        self.rec.deferrals = 0;
        if self.rec.op == Op::DownloadAndUpdate {
            self.rec.work = Work::ConfirmUpdate;
            self.commit()?;
            return Ok(Poll::Idle);
        }
        Self::set_report(&mut self.rec, ResultCode::Successful);
        self.commit()?;
        Ok(Poll::Report)
    }

    fn install(&mut self) -> Result<Poll, Error> {
        match self.installer.phase() {
            Phase::Trial => {}
            Phase::Ready => {
                let armed = self
                    .installer
                    .prepare_update()
                    .and_then(|()| self.installer.arm_trial());
                match armed {
                    Ok(()) => {}
                    Err(e @ firmware::Error::Flash(_)) => return Err(Error::Installer(e)),
                    Err(e) => return self.update_failed(ResultCode::from(e)),
                }
            }
            _ => return self.update_failed(ResultCode::UpdateFailed),
        }
        self.rec.work = Work::Trial;
        self.commit()?;
        info!("fumo: trial armed, reboot");
        Ok(Poll::Reboot)
    }

    // ---- the server's commands ----

    fn busy(&self) -> bool {
        self.streaming
            || matches!(self.rec.work, Work::Download | Work::Install | Work::Trial)
            || matches!(
                self.rec.state,
                State::DownloadProgressing | State::UpdateProgressing
            )
    }

    fn exec_op(
        &mut self,
        op: Op,
        server: Option<&str>,
        correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        // Without downloads, only a package already pushed into DownloadAndUpdate/PkgData
        // can be acted on; anything else asks for what this build does not have.
        #[cfg(not(feature = "fumo-url"))]
        if op == Op::Download
            || (op == Op::DownloadAndUpdate && self.installer.phase() != Phase::Ready)
        {
            return Err(StatusCode::OptionalFeatureNotSupported);
        }
        self.gate.allow_update(server)?;
        if self.busy() {
            return Err(StatusCode::CommandFailed);
        }
        let correlator = match correlator {
            Some(c) => Some(String::try_from(c).map_err(|_| StatusCode::RequestEntityTooLarge)?),
            None => None,
        };
        // A stale outcome must not be taken for this operation's after a restart.
        self.installer
            .acknowledge_outcome()
            .map_err(|_| StatusCode::DataStoreFailure)?;
        let ready = self.installer.phase() == Phase::Ready;
        // A build without downloads keeps no URL (the record reads over stored ones).
        let has_url = |i: usize| self.rec.urls.get(i).is_some_and(|u| !u.is_empty());
        // Where the operation goes, worked out from the record as it is.
        let (state, work, report) = match op {
            Op::Download | Op::DownloadAndUpdate => {
                let i = usize::from(op == Op::DownloadAndUpdate);
                if has_url(i) {
                    (State::Idle, Work::ConfirmDownload, None)
                } else if op == Op::DownloadAndUpdate && ready {
                    // The package was replaced into PkgData: straight to the update.
                    (State::DownloadComplete, Work::ConfirmUpdate, None)
                } else {
                    (State::DownloadFailed, Work::None, Some(ResultCode::BadUrl))
                }
            }
            _ => {
                let has_data = matches!(
                    self.rec.state,
                    State::DownloadComplete | State::ReadyToUpdate | State::UpdateFailedHaveData
                );
                if ready && has_data {
                    (State::ReadyToUpdate, Work::ConfirmUpdate, None)
                } else {
                    let code = self.rec.failure.unwrap_or(ResultCode::ClientError);
                    (State::UpdateFailedNoData, Work::None, Some(code))
                }
            }
        };
        let rec = &mut self.rec;
        rec.op = op;
        rec.correlator = correlator;
        rec.report = None;
        rec.deferrals = 0;
        rec.retries = 0;
        rec.state = state;
        rec.work = work;
        if let Some(code) = report {
            Self::set_report(rec, code);
        }
        self.commit().map_err(|_| StatusCode::DataStoreFailure)?;
        info!("fumo: exec accepted");
        Ok(ExecOutcome::Accepted)
    }

    #[cfg(feature = "fumo-url")]
    fn set_url(&mut self, which: usize, value: &[u8]) -> Result<(), StatusCode> {
        let text = core::str::from_utf8(value).map_err(|_| StatusCode::BadRequest)?;
        let slot = self.rec.urls.get_mut(which).ok_or(StatusCode::NotFound)?;
        // Checked before the record changes: a URL too long changes nothing.
        if text.len() > slot.capacity() {
            return Err(StatusCode::RequestEntityTooLarge);
        }
        slot.clear();
        let _ = slot.push_str(text);
        self.commit().map_err(|_| StatusCode::DataStoreFailure)
    }

    /// A pushed package was refused (or the flash failed under it): 20, and the reason
    /// kept for the next `Exec`.
    fn push_failed(&mut self, e: firmware::Error) -> StatusCode {
        self.streaming = false;
        if matches!(self.installer.phase(), Phase::Downloading) {
            let _ = self.installer.abort(ResultCode::from(e));
        }
        self.rec.state = State::DownloadFailed;
        self.rec.failure = Some(ResultCode::from(e));
        if self.commit().is_err() {
            return StatusCode::DataStoreFailure;
        }
        match e {
            firmware::Error::Flash(_) => StatusCode::DataStoreFailure,
            _ => StatusCode::CommandFailed,
        }
    }

    /// Whether `node` is in this instance (`FUMO/<name>/...`).
    fn mine(&self, node: &NodeRef<'_>) -> bool {
        node.path.split('/').nth(1) == Some(self.name.as_str())
    }
}

/// A NUL-padded header field as text (empty when it is not UTF-8).
fn trimmed(field: &[u8]) -> &str {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    core::str::from_utf8(field.get(..end).unwrap_or_default()).unwrap_or("")
}

impl<I, S, G> NodeHandler for Fumo<I, S, G>
where
    I: FirmwareInstaller,
    S: NorFlash,
    G: FirmwareGate,
{
    fn stores_values(&self, node: &NodeRef<'_>) -> bool {
        self.ids.is_leaf(node.def)
    }

    fn read(
        &mut self,
        node: &NodeRef<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), StatusCode> {
        if !self.mine(node) {
            return Err(StatusCode::NotFound);
        }
        let num;
        let value: &str = match node.def {
            d if d == self.ids.state => {
                num = decimal(u16::from(u8::from(self.rec.state)));
                &num
            }
            d if d == self.ids.pkg_name => &self.rec.pkg_name,
            d if d == self.ids.pkg_version => &self.rec.pkg_version,
            d if d == self.ids.download_url => self.rec.urls.first().map_or("", |u| u.as_str()),
            d if d == self.ids.dau_url => self.rec.urls.get(1).map_or("", |u| u.as_str()),
            // The package is not read back through the tree.
            _ => "",
        };
        let from = value.as_bytes().get(offset..).unwrap_or_default();
        let n = from.len().min(out.len());
        out.get_mut(..n)
            .ok_or(StatusCode::CommandFailed)?
            .copy_from_slice(from.get(..n).unwrap_or_default());
        Ok((n, value.len()))
    }

    fn write(&mut self, node: &NodeRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        if !self.mine(node) {
            return Err(StatusCode::NotFound);
        }
        match node.def {
            #[cfg(feature = "fumo-url")]
            d if d == self.ids.download_url => self.set_url(0, value),
            #[cfg(feature = "fumo-url")]
            d if d == self.ids.dau_url => self.set_url(1, value),
            #[cfg(not(feature = "fumo-url"))]
            d if d == self.ids.download_url || d == self.ids.dau_url => {
                Err(StatusCode::OptionalFeatureNotSupported)
            }
            d if d == self.ids.update_data || d == self.ids.dau_data => {
                self.begin_write(node, Some(value.len() as u64))?;
                let written = self.write_chunk(node, 0, value);
                self.end_write(node, written.is_ok())?;
                written
            }
            _ => Err(StatusCode::CommandNotAllowed),
        }
    }

    fn begin_write(&mut self, node: &NodeRef<'_>, _total: Option<u64>) -> Result<(), StatusCode> {
        if !self.mine(node) {
            return Err(StatusCode::NotFound);
        }
        if node.def != self.ids.update_data && node.def != self.ids.dau_data {
            return Err(StatusCode::CommandNotAllowed);
        }
        if self.busy() {
            return Err(StatusCode::CommandFailed);
        }
        self.installer
            .acknowledge_outcome()
            .and_then(|()| self.installer.begin())
            .map_err(|_| StatusCode::DataStoreFailure)?;
        self.rec.state = State::DownloadProgressing;
        self.rec.failure = None;
        self.rec.pkg_name.clear();
        self.rec.pkg_version.clear();
        self.commit().map_err(|_| StatusCode::DataStoreFailure)?;
        self.streaming = true;
        info!("fumo: package streaming into PkgData");
        Ok(())
    }

    fn write_chunk(
        &mut self,
        node: &NodeRef<'_>,
        offset: u64,
        chunk: &[u8],
    ) -> Result<(), StatusCode> {
        if !self.streaming || !self.mine(node) {
            return Err(StatusCode::CommandFailed);
        }
        if offset != u64::from(self.installer.received()) {
            return Err(self.push_failed(firmware::Error::BadState));
        }
        self.installer
            .write_chunk(chunk)
            .map_err(|e| self.push_failed(e))
    }

    fn end_write(&mut self, node: &NodeRef<'_>, commit: bool) -> Result<(), StatusCode> {
        if !self.streaming || !self.mine(node) {
            return Ok(());
        }
        self.streaming = false;
        if !commit {
            if self.installer.phase() == Phase::Downloading {
                let _ = self.installer.abort(ResultCode::UndefinedError);
            }
            return self.pushed(None);
        }
        match self.installer.finish() {
            Ok(_) => {
                self.pushed(Some(State::ReadyToUpdate))?;
                info!("fumo: pushed package verified");
                Ok(())
            }
            Err(e) => Err(self.push_failed(e)),
        }
    }

    fn exec(
        &mut self,
        node: &NodeRef<'_>,
        _data: &[u8],
        correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        if !self.mine(node) {
            return Err(StatusCode::NotFound);
        }
        let op = match node.def {
            d if d == self.ids.download => Op::Download,
            d if d == self.ids.update => Op::Update,
            d if d == self.ids.dau => Op::DownloadAndUpdate,
            _ => return Err(StatusCode::CommandNotAllowed),
        };
        self.exec_op(op, node.server, correlator)
    }

    fn session_ended(&mut self) {
        if self.streaming {
            // The large object never ended: nothing of it is kept.
            let path = self.uri.clone();
            let node = NodeRef {
                def: self.ids.update_data,
                path: path.trim_start_matches("./"),
                server: None,
            };
            let _ = self.end_write(&node, false);
        }
    }
}

impl<I, S, G> Handlers for Fumo<I, S, G>
where
    I: FirmwareInstaller,
    S: NorFlash,
    G: FirmwareGate,
{
    fn handler(&mut self, def: NodeId) -> Option<&mut dyn NodeHandler> {
        if def == self.ids.instance {
            Some(self)
        } else {
            None
        }
    }

    fn is_bound(&self, def: NodeId) -> bool {
        def == self.ids.instance
    }

    fn session_ended(&mut self) {
        NodeHandler::session_ended(self);
    }
}

/// `n` in decimal: a state as the tree reads it, a result code as the alert carries it.
fn decimal(n: u16) -> String<5> {
    // Five digits hold any u16: the conversion cannot fail.
    String::try_from(crate::decimal::Decimal::new(u64::from(n)).as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::{Outcome, PackageHeader};
    use crate::flash::MemFlash;
    use crate::schema::STANDARD;
    use crate::ui::NoUi;
    use std::vec;
    use std::vec::Vec as StdVec;

    /// An installer that holds only its phase: enough for what the object decides.
    struct Phased(Phase);

    impl FirmwareInstaller for Phased {
        fn phase(&self) -> Phase {
            self.0
        }
        fn last_outcome(&self) -> Option<Outcome> {
            None
        }
        fn begin(&mut self) -> Result<(), firmware::Error> {
            self.0 = Phase::Downloading;
            Ok(())
        }
        fn resume(&mut self) -> Result<u32, firmware::Error> {
            Ok(0)
        }
        fn write_chunk(&mut self, _chunk: &[u8]) -> Result<(), firmware::Error> {
            Ok(())
        }
        fn received(&self) -> u32 {
            0
        }
        fn package_len(&self) -> Option<u32> {
            None
        }
        fn package_header(&self) -> Option<PackageHeader<'_>> {
            None
        }
        fn finish(&mut self) -> Result<u32, firmware::Error> {
            self.0 = Phase::Ready;
            Ok(1)
        }
        fn abort(&mut self, _code: ResultCode) -> Result<(), firmware::Error> {
            self.0 = Phase::Idle;
            Ok(())
        }
        fn arm_trial(&mut self) -> Result<(), firmware::Error> {
            self.0 = Phase::Trial;
            Ok(())
        }
        fn trial_boots(&self) -> u8 {
            0
        }
        fn confirm(&mut self) -> Result<(), firmware::Error> {
            Ok(())
        }
        fn rollback(&mut self) -> Result<(), firmware::Error> {
            Ok(())
        }
        fn acknowledge_outcome(&mut self) -> Result<(), firmware::Error> {
            Ok(())
        }
    }

    type TestFumo = Fumo<Phased, MemFlash<StdVec<u8>, 4096, 8>>;

    fn fumo(phase: Phase) -> TestFumo {
        let mut store = MemFlash::new(vec![0u8; 4 * 4096]);
        store.erase_all();
        let config = Config {
            confirm_download: false,
            confirm_update: false,
            ..Config::default()
        };
        Fumo::open(
            &STANDARD,
            "fw",
            Phased(phase),
            store,
            super::super::Ungated,
            config,
        )
        .unwrap()
    }

    fn node(def: NodeId, path: &str) -> NodeRef<'_> {
        NodeRef {
            def,
            path,
            server: Some("srv1"),
        }
    }

    fn exec(f: &mut TestFumo, def: NodeId, path: &str) -> Result<ExecOutcome, StatusCode> {
        f.exec(&node(def, path), b"", None)
    }

    #[test]
    fn numbers_are_written_without_leading_zeros() {
        for n in [0, 7, 10, 100, 410, 9_999, 10_000, u16::MAX] {
            assert_eq!(decimal(n).as_str(), std::format!("{n}"));
        }
    }

    /// The alternate download is optional in FUMO 1.0 (`Download` and
    /// `DownloadAndUpdate` are zero-or-one nodes). Without it, an `Exec` that needs it, and
    /// a `PkgURL` to fetch from, get 406 (optional feature not supported, DM RepPro 1.2),
    /// and the object does not move.
    #[test]
    #[cfg(not(feature = "fumo-url"))]
    fn without_downloads_download_execs_and_urls_get_406() {
        let mut f = fumo(Phase::Idle);
        let ids = f.ids;
        for (def, path) in [
            (ids.download, "FUMO/fw/Download"),
            (ids.dau, "FUMO/fw/DownloadAndUpdate"),
        ] {
            assert_eq!(
                exec(&mut f, def, path),
                Err(StatusCode::OptionalFeatureNotSupported)
            );
        }
        for (def, path) in [
            (ids.download_url, "FUMO/fw/Download/PkgURL"),
            (ids.dau_url, "FUMO/fw/DownloadAndUpdate/PkgURL"),
        ] {
            assert_eq!(
                f.write(&node(def, path), b"http://example.com/fw.bin"),
                Err(StatusCode::OptionalFeatureNotSupported)
            );
        }
        assert_eq!((f.state(), f.work()), (State::Idle, Work::None));
        assert!(f.pending_report().is_none());
    }

    /// A package delivered through the session needs no download: `Update`, and
    /// `DownloadAndUpdate` with its `PkgData` pushed, go on to the update in every build.
    #[test]
    fn a_pushed_package_updates_with_or_without_downloads() {
        let mut f = fumo(Phase::Ready);
        f.rec.state = State::ReadyToUpdate;
        let ids = f.ids;
        assert_eq!(
            exec(&mut f, ids.dau, "FUMO/fw/DownloadAndUpdate"),
            Ok(ExecOutcome::Accepted)
        );
        assert_eq!(f.work(), Work::ConfirmUpdate);
        let mut f = fumo(Phase::Ready);
        f.rec.state = State::ReadyToUpdate;
        assert_eq!(
            exec(&mut f, ids.update, "FUMO/fw/Update"),
            Ok(ExecOutcome::Accepted)
        );
        let mut io = Io {
            #[cfg(feature = "fumo-url")]
            downloader: &mut NoDownloads,
            ui: &mut NoUi,
            #[cfg(feature = "fumo-url")]
            progress: &mut |_| {},
            #[cfg(feature = "fumo-url")]
            buf: &mut [0; 16],
        };
        assert_eq!(f.poll(&mut io), Ok(Poll::Reboot));
    }

    /// A download a build with `fumo-url` accepted, pending when the firmware was replaced
    /// by one without: reported as not implemented (FUMO result 408), not left hanging.
    #[test]
    #[cfg(not(feature = "fumo-url"))]
    fn a_download_left_by_another_build_is_reported_not_implemented() {
        let mut f = fumo(Phase::Idle);
        f.rec.op = Op::Download;
        f.rec.work = Work::Download;
        f.rec.state = State::DownloadProgressing;
        assert_eq!(f.poll(&mut Io { ui: &mut NoUi }), Ok(Poll::Report));
        assert_eq!(f.state(), State::DownloadFailed);
        let report = f.pending_report().unwrap();
        assert_eq!(report.result(), ResultCode::NotImplemented);
        assert_eq!(report.alert().data, "408");
    }

    /// With downloads, a URL set by the server is what the `Exec` fetches: accepted (202),
    /// the download left to [`Fumo::poll`].
    #[test]
    #[cfg(feature = "fumo-url")]
    fn with_downloads_a_url_exec_is_accepted() {
        let mut f = fumo(Phase::Idle);
        let ids = f.ids;
        f.write(
            &node(ids.download_url, "FUMO/fw/Download/PkgURL"),
            b"http://example.com/fw.bin",
        )
        .unwrap();
        assert_eq!(
            exec(&mut f, ids.download, "FUMO/fw/Download"),
            Ok(ExecOutcome::Accepted)
        );
        assert_eq!(f.work(), Work::ConfirmDownload);
        let mut io = Io {
            downloader: &mut NoDownloads,
            ui: &mut NoUi,
            progress: &mut |_| {},
            buf: &mut [0; 16],
        };
        // The server cannot be reached: retried, then reported (412).
        while f.poll(&mut io) == Ok(Poll::Retry) {}
        assert_eq!(
            f.pending_report().map(|r| r.result()),
            Some(ResultCode::DownloadServerUnavailable)
        );
    }

    #[cfg(feature = "fumo-url")]
    struct NoDownloads;

    #[cfg(feature = "fumo-url")]
    impl Downloader for NoDownloads {
        fn open(
            &mut self,
            _url: &str,
            _offset: u32,
        ) -> Result<super::super::Opened, DownloadError> {
            Err(DownloadError::Unreachable)
        }
        fn read(&mut self, _buf: &mut [u8]) -> Result<usize, DownloadError> {
            Err(DownloadError::Unreachable)
        }
    }
}
