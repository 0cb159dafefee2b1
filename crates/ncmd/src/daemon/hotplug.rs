//! Hotplug: noticing the modem's control port appear and vanish, from events rather
//! than by polling.
//!
//! Sources, all feeding one "something changed: look again" signal:
//! - the kernel's device events (a `NETLINK_KOBJECT_UEVENT` socket; the same events
//!   OpenWrt's procd turns into hotplug.d calls, so the daemon needs nothing from those);
//! - inotify on the directory holding the configured path (devtmpfs nodes, udev's
//!   `/dev/serial/by-id` links, any symlink such as the simulator's);
//! - a half-second poll, only when neither source can be opened.
//!
//! Owns the uevent wire format (a pure parser, also fed from a hotplug.d environment)
//! and the waiting. Must not know about sessions, AT or which modem is behind the path.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};
use tokio::io::unix::AsyncFd;

/// What happened to a device (the kernel's `ACTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
    Bind,
    Unbind,
    Change,
    Move,
    Other,
}

impl Action {
    fn parse(s: &str) -> Action {
        match s {
            "add" => Action::Add,
            "remove" => Action::Remove,
            "bind" => Action::Bind,
            "unbind" => Action::Unbind,
            "change" => Action::Change,
            "move" => Action::Move,
            _ => Action::Other,
        }
    }
}

/// One device event, from the kernel's netlink message or a hotplug.d environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    pub action: Action,
    /// Under /sys, e.g. `/devices/pci0000:00/.../ttyUSB2/tty/ttyUSB2`.
    pub devpath: String,
    pub subsystem: Option<String>,
    /// Node name under /dev (`DEVNAME`, OpenWrt's `DEVICENAME`), e.g. `ttyUSB2`, `cdc-wdm0`.
    pub devname: Option<String>,
}

impl Uevent {
    /// Parses a kernel uevent datagram: `ACTION@DEVPATH\0KEY=VALUE\0...`. Messages of
    /// udev's own broadcast (`libudev\0` header, binary) and anything malformed give None.
    pub fn parse(msg: &[u8]) -> Option<Uevent> {
        let mut fields = msg.split(|&b| b == 0).filter(|f| !f.is_empty());
        let header = std::str::from_utf8(fields.next()?).ok()?;
        let (action, devpath) = header.split_once('@')?;
        Self::from_pairs(
            [("ACTION".to_string(), action.to_string()), ("DEVPATH".to_string(), devpath.to_string())]
                .into_iter()
                .chain(fields.filter_map(|f| {
                    let (k, v) = std::str::from_utf8(f).ok()?.split_once('=')?;
                    Some((k.to_string(), v.to_string()))
                })),
        )
    }

    /// From KEY=VALUE pairs: a kernel message's body, or the environment OpenWrt's
    /// hotplug.d scripts run with (ACTION, DEVPATH, SUBSYSTEM, DEVICENAME or DEVNAME;
    /// PRODUCT and INTERFACE are not needed to tell whether a path changed).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Option<Uevent> {
        let (mut action, mut devpath, mut subsystem, mut devname) = (None, None, None, None);
        for (k, v) in pairs {
            match k.as_str() {
                "ACTION" => action = Some(Action::parse(&v)),
                "DEVPATH" => devpath = Some(v),
                "SUBSYSTEM" => subsystem = Some(v),
                "DEVNAME" | "DEVICENAME" => devname = Some(v.trim_start_matches("/dev/").to_string()),
                _ => {}
            }
        }
        Some(Uevent { action: action?, devpath: devpath?, subsystem, devname })
    }

    /// Whether the event may change whether `device` exists: a port or USB device
    /// added or removed. Symlinks hide the node's name, so any tty, cdc-wdm or USB
    /// event counts; `device` is then looked at again, which costs one stat.
    pub fn may_concern(&self, device: &Path) -> bool {
        if !matches!(self.action, Action::Add | Action::Remove | Action::Bind | Action::Unbind | Action::Move) {
            return false;
        }
        let named = self.devname.as_deref().is_some_and(|n| device.file_name().is_some_and(|f| f == n));
        named || matches!(self.subsystem.as_deref(), Some("tty" | "usbmisc" | "usb" | "wwan"))
    }
}

/// How long to keep looking after a relevant uevent: udev makes its symlinks after the
/// kernel's event.
const AFTER_EVENT: Duration = Duration::from_secs(2);
const AFTER_EVENT_STEP: Duration = Duration::from_millis(100);
/// The poll used only when neither uevents nor inotify are available.
const FALLBACK_POLL: Duration = Duration::from_millis(500);

/// Which event sources a [`DeviceWatch`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    pub uevents: bool,
    pub inotify: bool,
}

/// Watches one configured device path.
pub struct DeviceWatch {
    path: PathBuf,
    uevents: Option<AsyncFd<OwnedFd>>,
    inotify: Option<AsyncFd<InotifyFd>>,
}

impl DeviceWatch {
    /// Opens the event sources it can (none of them needs more than the daemon has).
    pub fn new(path: &Path) -> DeviceWatch {
        let uevents = open_uevents().map_err(|e| tracing::debug!("kernel uevents unavailable: {e}")).ok();
        let inotify = open_inotify(path).map_err(|e| tracing::debug!("inotify on {} unavailable: {e}", path.display())).ok();
        if uevents.is_none() && inotify.is_none() {
            tracing::info!("no device events for {}: checking it every {} ms", path.display(), FALLBACK_POLL.as_millis());
        }
        DeviceWatch { path: path.to_path_buf(), uevents, inotify }
    }

    pub fn sources(&self) -> Sources {
        Sources { uevents: self.uevents.is_some(), inotify: self.inotify.is_some() }
    }

    /// Returns once the path exists (at once when it does). Cancel-safe.
    pub async fn wait_present(&mut self) {
        while !self.path.exists() {
            self.changed().await;
        }
    }

    /// Returns once the path is gone (at once when it is). Cancel-safe.
    pub async fn wait_gone(&mut self) {
        while self.path.exists() {
            self.changed().await;
        }
    }

    /// The next sign that the path may have changed.
    async fn changed(&mut self) {
        if self.uevents.is_none() && self.inotify.is_none() {
            return tokio::time::sleep(FALLBACK_POLL).await;
        }
        let path = self.path.clone();
        let DeviceWatch { uevents, inotify, .. } = self;
        tokio::select! {
            relevant = next_uevent(uevents.as_ref(), &path) => if relevant {
                // udev's links follow the kernel's event: look again for a short while.
                let was = path.exists();
                let until = tokio::time::Instant::now() + AFTER_EVENT;
                while path.exists() == was && tokio::time::Instant::now() < until {
                    tokio::time::sleep(AFTER_EVENT_STEP).await;
                }
            },
            _ = next_inotify(inotify.as_ref()) => {}
        }
    }
}

fn open_uevents() -> Result<AsyncFd<OwnedFd>, String> {
    let fd = socket::socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkKObjectUEvent,
    )
    .map_err(|e| e.to_string())?;
    // Group 1: the kernel's own events (udev re-broadcasts on group 2).
    socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 1)).map_err(|e| e.to_string())?;
    // SAFETY: the OwnedFd is moved into the AsyncFd and stays open as long as it does.
    unsafe { AsyncFd::register(fd) }.map_err(|e| e.to_string())
}

fn open_inotify(path: &Path) -> Result<AsyncFd<InotifyFd>, String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("/"));
    let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).map_err(|e| e.to_string())?;
    ino.add_watch(
        dir,
        AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_MOVED_FROM | AddWatchFlags::IN_ATTRIB,
    )
    .map_err(|e| format!("{}: {e}", dir.display()))?;
    // SAFETY: the Inotify (owning its fd) is moved into the AsyncFd and lives as long.
    unsafe { AsyncFd::register(InotifyFd(ino)) }.map_err(|e| e.to_string())
}

/// Reads uevents until one may concern `path`; returns true then. Pending forever
/// without a socket; false when the socket fails (the caller looks again).
async fn next_uevent(fd: Option<&AsyncFd<OwnedFd>>, path: &Path) -> bool {
    let Some(fd) = fd else { return std::future::pending().await };
    let mut buf = vec![0u8; 8192];
    loop {
        let Ok(mut ready) = fd.readable().await else { return false };
        match socket::recv(fd.get_ref().as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => {
                if Uevent::parse(&buf[..n]).is_some_and(|e| e.may_concern(path)) {
                    return true;
                }
            }
            Err(nix::errno::Errno::EAGAIN) => ready.clear_ready(),
            // ENOBUFS: events were lost; anything may have changed.
            Err(_) => return true,
        }
    }
}

/// Any inotify event on the watched directory.
async fn next_inotify(fd: Option<&AsyncFd<InotifyFd>>) {
    let Some(fd) = fd else { return std::future::pending().await };
    loop {
        let Ok(mut ready) = fd.readable().await else { return std::future::pending().await };
        match fd.get_ref().0.read_events() {
            Ok(events) if !events.is_empty() => return,
            Ok(_) | Err(nix::errno::Errno::EAGAIN) => ready.clear_ready(),
            Err(_) => return,
        }
    }
}

/// `Inotify` for `AsyncFd`, which wants `AsRawFd`.
struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel uevent as `udevadm monitor --kernel --property` shows it for a Huawei
    /// E3372's AT port; the datagram is these lines joined with NULs.
    const TTY_ADD: &[u8] = b"add@/devices/platform/soc/1e1c0000.xhci/usb1/1-1/1-1:1.2/ttyUSB2/tty/ttyUSB2\0ACTION=add\0DEVPATH=/devices/platform/soc/1e1c0000.xhci/usb1/1-1/1-1:1.2/ttyUSB2/tty/ttyUSB2\0SUBSYSTEM=tty\0MAJOR=188\0MINOR=2\0DEVNAME=ttyUSB2\0SEQNUM=2411\0";

    #[test]
    fn kernel_message_parses() {
        let e = Uevent::parse(TTY_ADD).expect("parses");
        assert_eq!(e.action, Action::Add);
        assert_eq!(e.subsystem.as_deref(), Some("tty"));
        assert_eq!(e.devname.as_deref(), Some("ttyUSB2"));
        assert!(e.devpath.ends_with("/tty/ttyUSB2"));
        assert!(e.may_concern(Path::new("/dev/ttyUSB2")));
        assert!(e.may_concern(Path::new("/dev/serial/by-id/usb-HUAWEI-if02")), "links hide the name: any tty counts");
    }

    #[test]
    fn udev_broadcasts_and_garbage_are_ignored() {
        assert_eq!(Uevent::parse(b"libudev\0\xfe\xed\xca\xfe\0\0"), None);
        assert_eq!(Uevent::parse(b""), None);
        assert_eq!(Uevent::parse(b"\xff\xfe@x\0"), None);
        let change = Uevent::parse(b"change@/devices/virtual/net/lo\0ACTION=change\0SUBSYSTEM=net\0").expect("parses");
        assert!(!change.may_concern(Path::new("/dev/ttyUSB2")));
    }

    #[test]
    fn hotplug_d_environment() {
        // OpenWrt's procd runs /etc/hotplug.d/tty/* with these variables.
        let env = [("ACTION", "remove"), ("DEVPATH", "/devices/.../ttyUSB0/tty/ttyUSB0"), ("SUBSYSTEM", "tty"), ("DEVICENAME", "ttyUSB0"), ("SEQNUM", "77")];
        let e = Uevent::from_pairs(env.iter().map(|(k, v)| (k.to_string(), v.to_string()))).expect("parses");
        assert_eq!((e.action, e.devname.as_deref()), (Action::Remove, Some("ttyUSB0")));
        assert!(e.may_concern(Path::new("/dev/ttyUSB0")));
        assert_eq!(Uevent::from_pairs([("ACTION".to_string(), "add".to_string())]), None, "DEVPATH is required");
    }

    #[tokio::test]
    async fn a_link_appearing_and_vanishing_is_seen_without_polling() {
        let dir = std::env::temp_dir().join(format!("ncmd-devwatch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = dir.join("ttyUSB9");
        let mut watch = DeviceWatch::new(&port);
        assert_eq!(watch.sources(), Sources { uevents: true, inotify: true }, "Linux offers both kernel uevents and inotify");
        let p = port.clone();
        let maker = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            std::os::unix::fs::symlink("/dev/null", &p).expect("symlink");
        });
        tokio::time::timeout(Duration::from_secs(5), watch.wait_present()).await.expect("the link's creation is seen");
        maker.await.expect("maker");
        let p = port.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            std::fs::remove_file(&p).expect("remove");
        });
        tokio::time::timeout(Duration::from_secs(5), watch.wait_gone()).await.expect("the removal is seen");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
