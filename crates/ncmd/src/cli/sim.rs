//! `ncmd sim`: the simulated modem as a command (tests, the netifd harness, users who
//! want to try ncmd without a modem).
//!
//! Owns only the command line of the simulator; the simulator itself is `ncmd-sim`.

use std::path::PathBuf;

use ncmd_sim::{datalink::DataLinkOptions, FaultAt, SimOptions, Simulator};

#[derive(clap::Args, Clone)]
pub struct SimArgs {
    /// Personality: huawei, generic, quectel, quectel-eg060w, sierra, zte, marvell, mikrotik, sony, samsung, mtk1, spreadtrum, fibocom.
    #[arg(long, default_value = "huawei")]
    pub vendor: String,
    /// Replace replies with a real modem's transcript (`> CMD` / `< reply` blocks).
    #[arg(long)]
    pub overlay: Option<PathBuf>,
    /// Inject a fault, NAME or NAME@SECONDS (repeatable).
    #[arg(long = "fault")]
    pub faults: Vec<FaultAt>,
    /// Make PATH a symlink to the tty, kept pointing at it across resets.
    #[arg(long)]
    pub tty_link: Option<PathBuf>,
    /// Multiply every latency (0 = answer at once).
    #[arg(long, default_value_t = 1.0)]
    pub latency_scale: f64,
    /// The SIM's correct PIN.
    #[arg(long)]
    pub pin: Option<String>,
    /// Control socket for run-time faults and counters.
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Play the carrier side of the data link, with the modem's interface in this network namespace.
    #[arg(long)]
    pub netns: Option<String>,
    /// Name of the modem's interface in --netns.
    #[arg(long, default_value = "wwan0")]
    pub ifname: String,
    /// Run a DHCP server (dnsmasq) on the simulated link.
    #[arg(long)]
    pub dhcp: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl SimArgs {
    pub fn options(&self) -> SimOptions {
        SimOptions {
            vendor: self.vendor.clone(),
            overlay: self.overlay.clone(),
            faults: self.faults.clone(),
            latency_scale: self.latency_scale,
            tty_link: self.tty_link.clone(),
            pin: self.pin.clone(),
            control: self.control.clone(),
            datalink: self.netns.as_ref().map(|ns| DataLinkOptions { router_netns: ns.clone(), ifname: self.ifname.clone(), dhcp: self.dhcp }),
            seed: self.seed,
        }
    }
}

/// `ncmd sim`: the tty path on the first stdout line (or one JSON line with the data
/// link), then run until SIGTERM/Ctrl-C.
pub async fn run_sim(args: SimArgs) -> Result<(), crate::Error> {
    let sim = Simulator::start(args.options()).await?;
    match sim.datalink_info() {
        Some(dl) => println!(
            "{}",
            serde_json::json!({ "tty": sim.tty_path(), "netns": dl.netns, "interface": dl.ifname, "ipv4": dl.ipv4,
                "prefix_len": dl.prefix_len, "gateway": dl.gateway, "ping_target": dl.ping_target,
                "ipv6": dl.ipv6, "ipv6_prefix_len": dl.ipv6_prefix_len, "ipv6_gateway": dl.ipv6_gateway, "ping_target6": dl.ping_target6 })
        ),
        None => println!("{}", sim.tty_path().display()),
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    sim.run_until_shutdown().await;
    Ok(())
}
