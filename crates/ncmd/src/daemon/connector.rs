//! Opens the real things for a session: waits for the control port to exist (hotplug
//! events, see `hotplug`), notices it vanish while the link is up, opens it
//! as an AT channel, finds the data interface through sysfs, and re-binds the USB device
//! as the last rung of recovery.
//!
//! Owns the link between a configured `device` path and the kernel objects behind it.
//! Must not know about session order or AT syntax.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ncmd_config::Spec;

use crate::session::datapath::{Apply, LinuxPath};
use crate::daemon::hotplug::DeviceWatch;
use crate::session::modem::AtModem;
use crate::session::{Code, Connector, Failure};

pub struct RealConnector {
    /// The spec of the current connection attempt...
    spec: Spec,
    /// ...taken from here at each attempt, so reloaded settings apply at the next one.
    shared: Arc<Mutex<Spec>>,
    sysfs_root: PathBuf,
    port: Arc<Mutex<Option<ncmd_at::AtChannel>>>,
    netifd: bool,
    dry_run: bool,
    /// Device events for the control port, opened on first use and kept (cancel-safe).
    watch: Option<DeviceWatch>,
    /// The shared AT port (`option share_port`): served over each channel opened here.
    share: Option<Arc<ncmd_at::share::SharedPort>>,
}

impl RealConnector {
    pub fn new(shared: Arc<Mutex<Spec>>, sysfs_root: PathBuf, port: Arc<Mutex<Option<ncmd_at::AtChannel>>>, netifd: bool, dry_run: bool) -> Self {
        let spec = shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
        RealConnector { spec, shared, sysfs_root, port, netifd, dry_run, watch: None, share: None }
    }

    /// Serves `share` over every channel this connector opens.
    pub fn with_share(mut self, share: Option<Arc<ncmd_at::share::SharedPort>>) -> Self {
        self.share = share;
        self
    }

    /// Picks up reloaded settings; a new device path needs a new watch.
    fn refresh_spec(&mut self) {
        let spec = self.shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if spec.device != self.spec.device {
            self.watch = None;
        }
        self.spec = spec;
    }

    fn watch(&mut self) -> &mut DeviceWatch {
        let device = &self.spec.device;
        self.watch.get_or_insert_with(|| DeviceWatch::new(device))
    }

    fn set_port(&self, chan: Option<ncmd_at::AtChannel>) {
        if let Some(share) = &self.share {
            share.attach(chan.clone());
        }
        *self.port.lock().unwrap_or_else(|e| e.into_inner()) = chan;
    }
}

impl Connector for RealConnector {
    type Modem = AtModem;
    type Path = LinuxPath;

    async fn wait_device(&mut self) {
        self.set_port(None);
        self.refresh_spec();
        if !self.spec.device.exists() {
            let (iface, device) = (self.spec.interface.clone(), self.spec.device.display().to_string());
            let watch = self.watch();
            let s = watch.sources();
            tracing::info!("{iface}: waiting for {device} to appear (kernel uevents: {}, inotify: {})", s.uevents, s.inotify);
            watch.wait_present().await;
        }
    }

    async fn device_gone(&mut self) {
        self.watch().wait_gone().await;
    }

    async fn open(&mut self) -> Result<AtModem, Failure> {
        let chan = ncmd_at::AtChannel::open(&self.spec.device)
            .await
            .map_err(|e| Failure::new(Code::NoDevice, format!("cannot open {}: {e}", self.spec.device.display())))?;
        self.set_port(Some(chan.clone()));
        Ok(AtModem::new(chan, self.spec.clone()))
    }

    async fn data_path(&mut self) -> Result<LinuxPath, Failure> {
        let ifname = match &self.spec.ifname {
            Some(i) => i.clone(),
            None => ncmd_usb::data_interface_for(&self.sysfs_root, &self.spec.device)
                .ok()
                .and_then(|p| p.netdev)
                .ok_or_else(|| {
                    Failure::new(
                        Code::NoIface,
                        format!(
                            "The interface could not be found: no network interface belongs to the USB device of {}; set option ifname, or run ncmd doctor",
                            self.spec.device.display()
                        ),
                    )
                })?,
        };
        let apply = if self.dry_run {
            Apply::DryRun
        } else if self.netifd { Apply::Netifd { interface: self.spec.interface.clone() } } else { Apply::Kernel };
        Ok(LinuxPath::new(ifname, self.spec.clone(), apply))
    }

    async fn usb_rebind(&mut self) -> Result<(), String> {
        let ports = ncmd_usb::data_interface_for(&self.sysfs_root, &self.spec.device).map_err(|e| e.to_string())?;
        let usb = ports.usb_path.ok_or("the control port is not a USB device")?;
        let drivers = self.sysfs_root.join("bus/usb/drivers/usb");
        std::fs::write(drivers.join("unbind"), &usb).map_err(|e| format!("unbind {usb}: {e}"))?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        std::fs::write(drivers.join("bind"), &usb).map_err(|e| format!("bind {usb}: {e}"))?;
        Ok(())
    }
}
