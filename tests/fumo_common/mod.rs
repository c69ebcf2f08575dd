//! Shared set-up for the FUMO tests: the installer's simulated NOR part (from
//! `firmware_common`) grown by a FUMO region and a tree store, an in-memory downloader
//! that speaks ranges and can drop the connection, and a scripted user.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use embedded_storage::nor_flash::NorFlash;
use iotadm::firmware::{self, Outcome, PackageHeader, Phase, Slot};
use iotadm::flash::{FaultPlan, FaultyFlash, MemFlash};
use iotadm::fumo::{
    self, DownloadError, Downloader, FirmwareInstaller, Fumo, Opened, ResultCode, Ungated,
};
use iotadm::schema::{NodeId, STANDARD};
use iotadm::session::{UiAnswer, UiRequest, UserInteraction};
use iotadm::tree::{Principal, Tree, TreeStorage, UriLimits};

use crate::firmware_common::*;

/// Tree storage that lives as long as the test process.
pub fn storage<const N: usize, const A: usize, const R: usize>() -> &'static mut TreeStorage<N, A, R>
{
    Box::leak(Box::new(TreeStorage::new()))
}

pub const FUMO: (u32, u32) = (27 * 1024, 2 * 1024);
pub const TREE: (u32, u32) = (29 * 1024, 16 * 1024);
pub const BIG_FLASH: usize = 45 * 1024;

/// The installer with the device's backup of user data before an update.
pub struct Device<'a> {
    pub inst: Inst<'a>,
    pub flash: &'a RefCell<Dev>,
}

impl FirmwareInstaller for Device<'_> {
    fn phase(&self) -> Phase {
        self.inst.phase()
    }
    fn last_outcome(&self) -> Option<Outcome> {
        self.inst.last_outcome()
    }
    fn begin(&mut self) -> Result<(), firmware::Error> {
        self.inst.begin()
    }
    fn resume(&mut self) -> Result<u32, firmware::Error> {
        self.inst.resume()
    }
    fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), firmware::Error> {
        self.inst.write_chunk(chunk)
    }
    fn received(&self) -> u32 {
        self.inst.received()
    }
    fn package_len(&self) -> Option<u32> {
        self.inst.package_len()
    }
    fn package_header(&self) -> Option<PackageHeader<'_>> {
        self.inst.staged_header()
    }
    fn finish(&mut self) -> Result<u32, firmware::Error> {
        self.inst.finish()
    }
    fn abort(&mut self, code: ResultCode) -> Result<(), firmware::Error> {
        self.inst.abort(code.into())
    }
    fn prepare_update(&mut self) -> Result<(), firmware::Error> {
        if self.inst.state().backup_valid() {
            return Ok(());
        }
        self.inst
            .backup(&mut part(self.flash, BACKUP), &mut [part(self.flash, USER)])
    }
    fn arm_trial(&mut self) -> Result<(), firmware::Error> {
        self.inst.arm_trial()
    }
    fn trial_boots(&self) -> u8 {
        self.inst.state().trials()
    }
    fn confirm(&mut self) -> Result<(), firmware::Error> {
        self.inst.confirm()
    }
    fn rollback(&mut self) -> Result<(), firmware::Error> {
        self.inst.rollback().map(|_| ())
    }
    fn acknowledge_outcome(&mut self) -> Result<(), firmware::Error> {
        self.inst.acknowledge_outcome()
    }
}

pub type DevFumo<'a> = Fumo<Device<'a>, Part<'a>, Ungated>;
pub type DmTree<'a> = Tree<'a, Part<'a>, DevFumo<'a>>;

/// A factory-fresh part with room for the FUMO region and the tree: version 1 in slot A.
pub fn big_factory(v1_len: usize) -> Mem {
    let small = factory(v1_len);
    let mut bytes = vec![0xFF; BIG_FLASH];
    bytes[..FLASH_LEN].copy_from_slice(small.as_bytes());
    MemFlash::with_erase_counters(bytes, vec![0; BIG_FLASH / SECTOR])
}

pub fn big_copy(mem: &Mem) -> Mem {
    MemFlash::with_erase_counters(mem.as_bytes().to_vec(), vec![0; BIG_FLASH / SECTOR])
}

pub fn big_wrap(mem: Mem) -> RefCell<Dev> {
    RefCell::new(FaultyFlash::new(mem, FaultPlan::none()))
}

pub fn fumo_device<'a>(
    flash: &'a RefCell<Dev>,
    version: u32,
) -> Result<Device<'a>, firmware::Error> {
    Ok(Device {
        inst: installer(flash, version)?,
        flash,
    })
}

pub fn open_fumo<'a>(
    flash: &'a RefCell<Dev>,
    version: u32,
    config: fumo::Config,
) -> Result<DevFumo<'a>, fumo::Error> {
    let dev = fumo_device(flash, version)?;
    Fumo::open(&STANDARD, "fw", dev, part(flash, FUMO), Ungated, config)
}

/// Boots the part: the bootloader's decision, then the FUMO object of the image it picked.
pub fn reboot(flash: &RefCell<Dev>) -> (Slot, DevFumo<'_>) {
    let slot = installer(flash, 0).unwrap().boot_decision().unwrap().slot;
    let version = valid_image(flash.borrow().inner(), slot).expect("a valid image boots");
    (
        slot,
        open_fumo(flash, version, fumo::Config::default()).unwrap(),
    )
}

/// Mounts the tree with the FUMO object as its handler; adds `./FUMO/fw` the first time.
pub fn mount<'a>(flash: &'a RefCell<Dev>, fumo: DevFumo<'a>) -> DmTree<'a> {
    let mut tree: DmTree<'a> = Tree::mount(
        storage::<128, 8192, 512>(),
        &STANDARD,
        part(flash, TREE),
        fumo,
        UriLimits::DEFAULT,
    )
    .expect("mount");
    let mut buf = [0u8; 8];
    if tree
        .get(Principal::Device, "./FUMO/fw", 0, &mut buf)
        .is_err()
    {
        tree.add(Principal::Device, "./FUMO/fw", None, None, None)
            .expect("add ./FUMO/fw");
        iotadm_host::sim::device_info("IMEI:1")
            .store(&mut tree)
            .expect("device information");
    }
    tree
}

pub fn node_id(uri: &str) -> NodeId {
    STANDARD
        .find(uri)
        .unwrap_or_else(|| panic!("no node {uri}"))
}

/// Packages served from memory, with ranges; can drop a connection after some bytes, ignore
/// ranges, or fail.
#[derive(Default)]
pub struct MemDownloader {
    pub files: HashMap<String, Vec<u8>>,
    /// Each connection ends (as a network failure) after this many body bytes.
    pub drop_after: Option<usize>,
    pub ignore_range: bool,
    /// The next `open` fails with this.
    pub fail: Option<DownloadError>,
    /// Every `open`: the URL and the offset asked for.
    pub opens: Vec<(String, u32)>,
    body: Vec<u8>,
    at: usize,
    sent: usize,
}

impl MemDownloader {
    pub fn serving(url: &str, package: &[u8]) -> Self {
        let mut d = Self::default();
        d.files.insert(url.to_string(), package.to_vec());
        d
    }
}

impl Downloader for MemDownloader {
    fn open(&mut self, url: &str, offset: u32) -> Result<Opened, DownloadError> {
        self.opens.push((url.to_string(), offset));
        if let Some(e) = self.fail {
            return Err(e);
        }
        let file = self.files.get(url).ok_or(DownloadError::Server(404))?;
        let start = if self.ignore_range {
            0
        } else {
            offset as usize
        };
        self.body = file.clone();
        self.at = start.min(file.len());
        self.sent = 0;
        Ok(Opened {
            offset: start as u32,
            total: Some(file.len() as u32),
        })
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DownloadError> {
        if self.drop_after.is_some_and(|d| self.sent >= d) {
            return Err(DownloadError::Network);
        }
        let mut n = buf.len().min(self.body.len() - self.at);
        if let Some(d) = self.drop_after {
            n = n.min(d - self.sent);
        }
        buf[..n].copy_from_slice(&self.body[self.at..self.at + n]);
        self.at += n;
        self.sent += n;
        Ok(n)
    }
}

/// A user who answers from a script (then accepts), and remembers the questions.
#[derive(Default)]
pub struct ScriptedUser {
    pub answers: VecDeque<UiAnswer<'static>>,
    pub asked: Vec<String>,
}

impl ScriptedUser {
    pub fn answering(answers: &[UiAnswer<'static>]) -> Self {
        Self {
            answers: answers.iter().copied().collect(),
            asked: Vec::new(),
        }
    }
}

impl UserInteraction for ScriptedUser {
    fn ask<'s>(&mut self, request: &UiRequest<'_>, _scratch: &'s mut [u8]) -> UiAnswer<'s> {
        self.asked
            .push(request.text.as_str().unwrap_or_default().to_string());
        self.answers.pop_front().unwrap_or(UiAnswer::Ok)
    }
}

/// Writes `data` into flash region `region` (erase, then write), like a device's store.
pub fn fill<F: NorFlash>(f: &mut F, data: &[u8]) {
    f.erase(0, f.capacity() as u32).unwrap();
    f.write(0, data).unwrap();
}
