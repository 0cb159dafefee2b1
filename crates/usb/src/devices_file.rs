//! Parser for the `/sys/kernel/debug/usb/devices` text format (and the near-identical
//! output of the `usb-devices` script), as users paste it into forum posts and issues.
//!
//! Owns: reading T/B/D/P/S/C/A/I/E records into [`UsbDevice`]s, choosing the active
//! configuration (`C:*`) and alternate settings (`I:*`), tolerating the debris of pasted
//! text (comment lines, `[...]`, shell prompts, `>` quote marks) and truncation.
//! Must not know about: drivers' meaning, modems, sysfs. Pure: text in, model out.

use crate::error::UsbError;
use crate::model::{UsbConfiguration, UsbDevice, UsbInterface};
use std::collections::HashMap;

/// The devices found in a dump, plus what could not be read (truncation, odd lines).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DevicesFile {
    pub devices: Vec<UsbDevice>,
    pub notes: Vec<String>,
}

/// At most this many "line ignored" notes; the rest are counted.
const MAX_IGNORED_NOTES: usize = 5;

/// Parse a whole dump. Truncated text gives the devices read so far plus notes; text
/// that is not this format at all is an error naming the first offending line.
/// Callers holding raw bytes should use `String::from_utf8_lossy` first.
pub fn parse_devices_file(text: &str) -> Result<DevicesFile, UsbError> {
    let mut parser = Parser::default();
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.len();
    for (idx, raw) in lines.iter().enumerate() {
        let line_no = idx + 1;
        let line = normalise(raw);
        if is_debris(line) {
            continue;
        }
        let unterminated = line_no == last && !ends_with_newline;
        match record_tag(line) {
            // A last line without its newline was cut mid-record: its values may be cut
            // too (`ProdID=15`), so it is not trusted.
            Some(_) if unterminated => parser.cut_at(line_no, line),
            Some((tag, marked, rest)) => parser.record(line_no, tag, marked, rest),
            None if unterminated && (parser.records > 0 || is_cut_start(line)) => {
                parser.cut_at(line_no, line)
            }
            None if parser.records == 0 => {
                return Err(UsbError::NotDevicesFile {
                    line: line_no,
                    reason: format!(
                        "starts with {}, expected a record such as \"T:  Bus=01 Lev=01 ...\"",
                        excerpt(line)
                    ),
                });
            }
            None => parser.ignored(line_no, line),
        }
    }
    Ok(parser.finish())
}

/// Strip leading blanks and markdown quote marks.
fn normalise(raw: &str) -> &str {
    raw.trim_start()
        .trim_start_matches('>')
        .trim_start()
        .trim_end()
}

/// Lines users paste around a dump: blank, `# comments`, `[...]`, shell prompts.
fn is_debris(line: &str) -> bool {
    line.is_empty()
        || line.starts_with('#')
        || line.chars().all(|c| matches!(c, '[' | ']' | '.' | '…'))
        || line.starts_with("root@")
        || line.starts_with("$ ")
}

/// The start of a record tag or of a shell prompt, cut short: `T`, `roo`.
fn is_cut_start(line: &str) -> bool {
    (line.len() == 1 && "TBDPSCAIE".contains(line))
        || "root@".starts_with(line)
        || "$ ".starts_with(line)
}

/// `("I", true, "If#= 0 ...")` for `I:* If#= 0 ...`.
fn record_tag(line: &str) -> Option<(char, bool, &str)> {
    let mut chars = line.chars();
    let tag = chars.next()?;
    if !"TBDPSCAIE".contains(tag) || chars.next()? != ':' {
        return None;
    }
    let rest = &line[2..];
    match rest.strip_prefix('*') {
        Some(after) => Some((tag, true, after.trim())),
        None => Some((tag, false, rest.trim())),
    }
}

fn excerpt(line: &str) -> String {
    let cut: String = line.chars().take(24).collect();
    let cut: String = cut
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("{cut:?}")
}

/// Split `Bus=01 Lev=01 Dev#=  3 Cls=00(>ifc )` into key/value pairs. A token `Key=...`
/// (key made of letters and `#`) starts a field; other tokens continue the previous value.
fn fields(rest: &str) -> HashMap<&str, String> {
    let mut out: HashMap<&str, String> = HashMap::new();
    let mut current: Option<&str> = None;
    for token in rest.split_whitespace() {
        let key_end = token.find('=');
        let starts_field = key_end.is_some_and(|end| {
            end > 0
                && token[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || c == '#')
        });
        match (starts_field, key_end) {
            (true, Some(end)) => {
                let key = &token[..end];
                out.insert(key, token[end + 1..].to_string());
                current = Some(key);
            }
            _ => {
                if let Some(value) = current.and_then(|k| out.get_mut(k)) {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(token);
                }
            }
        }
    }
    out
}

fn dec<T: std::str::FromStr>(map: &HashMap<&str, String>, key: &str) -> Option<T> {
    map.get(key)?.trim().parse().ok()
}

/// Hex number possibly followed by a class name: `ff(vend.)`, `0a(data )`, `12d1`.
fn hex_u8(map: &HashMap<&str, String>, key: &str) -> Option<u8> {
    let v = map.get(key)?;
    let head = v.split('(').next()?.trim();
    u8::from_str_radix(head, 16).ok()
}

fn hex_u16(map: &HashMap<&str, String>, key: &str) -> Option<u16> {
    u16::from_str_radix(map.get(key)?.trim(), 16).ok()
}

#[derive(Debug, Default)]
struct RawInterface {
    marked: bool,
    line: usize,
    iface: Option<UsbInterface>,
    endpoints_seen: usize,
}

#[derive(Debug, Default)]
struct RawConfig {
    marked: bool,
    value: Option<u8>,
    announced_interfaces: Option<u8>,
    interfaces: Vec<RawInterface>,
}

#[derive(Debug, Default)]
struct RawDevice {
    line: usize,
    bus: Option<u8>,
    level: Option<u8>,
    parent: Option<u16>,
    port: Option<u16>,
    dev_num: Option<u16>,
    speed: Option<String>,
    device_class: Option<u8>,
    num_configurations: Option<u8>,
    vid: Option<u16>,
    pid: Option<u16>,
    revision: Option<String>,
    manufacturer: Option<String>,
    product: Option<String>,
    serial: Option<String>,
    configs: Vec<RawConfig>,
}

#[derive(Debug, Default)]
struct Parser {
    devices: Vec<RawDevice>,
    notes: Vec<String>,
    records: usize,
    ignored_lines: usize,
    /// Whether the dump marks active configurations/alt settings with `*` (debugfs does,
    /// `usb-devices` does not).
    marks_active: bool,
}

impl Parser {
    fn cut_at(&mut self, line_no: usize, line: &str) {
        self.notes.push(format!(
            "line {line_no}: the text ends inside a record ({}); dump cut here",
            excerpt(line)
        ));
    }

    fn ignored(&mut self, line_no: usize, line: &str) {
        self.ignored_lines += 1;
        if self.ignored_lines <= MAX_IGNORED_NOTES {
            self.notes.push(format!(
                "line {line_no} ignored: {} is not a usb/devices record",
                excerpt(line)
            ));
        }
    }

    fn device(&mut self, line_no: usize) -> &mut RawDevice {
        if self.devices.is_empty() {
            self.notes.push(format!(
                "line {line_no}: records before the first T: line; the dump starts mid-device"
            ));
            self.devices.push(RawDevice {
                line: line_no,
                ..RawDevice::default()
            });
        }
        let last = self.devices.len() - 1;
        &mut self.devices[last]
    }

    fn record(&mut self, line_no: usize, tag: char, marked: bool, rest: &str) {
        self.records += 1;
        if marked {
            self.marks_active = true;
        }
        let map = fields(rest);
        match tag {
            'T' => self.devices.push(RawDevice {
                line: line_no,
                bus: dec(&map, "Bus"),
                level: dec(&map, "Lev"),
                parent: dec(&map, "Prnt"),
                port: dec(&map, "Port"),
                dev_num: dec(&map, "Dev#"),
                speed: map
                    .get("Spd")
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
                ..RawDevice::default()
            }),
            'D' => {
                let dev = self.device(line_no);
                dev.device_class = hex_u8(&map, "Cls");
                dev.num_configurations = dec(&map, "#Cfgs");
            }
            'P' => {
                let dev = self.device(line_no);
                dev.vid = hex_u16(&map, "Vendor");
                dev.pid = hex_u16(&map, "ProdID");
                dev.revision = map.get("Rev").map(|s| s.trim().to_string());
            }
            'S' => {
                let dev = self.device(line_no);
                if let Some((key, value)) = rest.split_once('=') {
                    let value = Some(value.trim().to_string());
                    match key.trim() {
                        "Manufacturer" => dev.manufacturer = value,
                        "Product" => dev.product = value,
                        "SerialNumber" => dev.serial = value,
                        _ => {}
                    }
                }
            }
            'C' => {
                let dev = self.device(line_no);
                dev.configs.push(RawConfig {
                    marked,
                    value: dec(&map, "Cfg#"),
                    announced_interfaces: dec(&map, "#Ifs"),
                    interfaces: Vec::new(),
                });
            }
            'I' => {
                let iface = interface(&map);
                if iface.is_none() {
                    self.notes.push(format!(
                        "line {line_no}: incomplete I: record (If#, Alt, Cls, Sub or Prot missing); dump cut?"
                    ));
                }
                let dev = self.device(line_no);
                if dev.configs.is_empty() {
                    dev.configs.push(RawConfig::default());
                }
                let last = dev.configs.len() - 1;
                dev.configs[last].interfaces.push(RawInterface {
                    marked,
                    line: line_no,
                    iface,
                    endpoints_seen: 0,
                });
            }
            'E' => {
                let dev = self.device(line_no);
                if let Some(raw) = dev.configs.last_mut().and_then(|c| c.interfaces.last_mut()) {
                    raw.endpoints_seen += 1;
                }
            }
            // B: bandwidth and A: interface association carry nothing the model needs.
            _ => {}
        }
    }

    fn finish(mut self) -> DevicesFile {
        if self.ignored_lines > MAX_IGNORED_NOTES {
            self.notes.push(format!(
                "{} more non-record lines ignored",
                self.ignored_lines - MAX_IGNORED_NOTES
            ));
        }
        let mut devices = Vec::new();
        let mut paths: HashMap<(u8, u16), String> = HashMap::new();
        let raws = std::mem::take(&mut self.devices);
        for raw in raws {
            let path = usb_path(&raw, &paths);
            if let (Some(bus), Some(dev_num), Some(p)) = (raw.bus, raw.dev_num, &path) {
                paths.insert((bus, dev_num), p.clone());
            }
            if let Some(device) = self.finish_device(raw, path) {
                devices.push(device);
            }
        }
        if self.records == 0 {
            self.notes.push("no usb/devices records found".to_string());
        }
        DevicesFile {
            devices,
            notes: self.notes,
        }
    }

    fn finish_device(&mut self, raw: RawDevice, usb_path: Option<String>) -> Option<UsbDevice> {
        let (Some(vid), Some(pid)) = (raw.vid, raw.pid) else {
            self.notes.push(format!(
                "device starting at line {}: the dump ends before its P: (vendor/product) line; skipped",
                raw.line
            ));
            return None;
        };
        let id = format!("{vid:04x}:{pid:04x}");
        self.endpoint_notes(&id, &raw.configs);
        let active_idx = if self.marks_active {
            raw.configs.iter().position(|c| c.marked)
        } else {
            if raw.configs.len() > 1 {
                self.notes.push(format!(
                    "device {id}: several configurations and none marked active; taking the first"
                ));
            }
            (!raw.configs.is_empty()).then_some(0)
        };
        if active_idx.is_none() {
            self.notes.push(format!(
                "device {id}: no active configuration in the dump (unconfigured, or the dump is cut)"
            ));
        }
        let mut interfaces = Vec::new();
        let mut inactive_configurations = Vec::new();
        let mut active_configuration = None;
        for (idx, config) in raw.configs.into_iter().enumerate() {
            let is_active = Some(idx) == active_idx;
            if is_active {
                if let (Some(announced), listed) = (
                    config.announced_interfaces,
                    distinct_numbers(&config.interfaces),
                ) {
                    if usize::from(announced) > listed {
                        self.notes.push(format!(
                            "device {id}: configuration announces {announced} interfaces, {listed} listed (dump cut?)"
                        ));
                    }
                }
                active_configuration = config.value;
                interfaces = pick_alternates(config.interfaces, self.marks_active);
            } else if let Some(value) = config.value {
                inactive_configurations.push(UsbConfiguration {
                    value,
                    interfaces: pick_alternates(config.interfaces, false),
                });
            }
        }
        Some(UsbDevice {
            usb_path,
            bus: raw.bus,
            dev_num: raw.dev_num,
            speed: raw.speed,
            vid,
            pid,
            revision: raw.revision,
            manufacturer: raw.manufacturer,
            product: raw.product,
            serial: raw.serial,
            device_class: raw.device_class,
            num_configurations: raw.num_configurations,
            active_configuration,
            interfaces,
            inactive_configurations,
        })
    }

    fn endpoint_notes(&mut self, id: &str, configs: &[RawConfig]) {
        let all: Vec<&RawInterface> = configs.iter().flat_map(|c| &c.interfaces).collect();
        if all.iter().all(|r| r.endpoints_seen == 0) {
            return; // `usb-devices -v`-less output: no E: lines at all
        }
        for raw in all {
            let Some(iface) = &raw.iface else { continue };
            if let Some(expected) = iface.num_endpoints {
                if raw.endpoints_seen < usize::from(expected) {
                    self.notes.push(format!(
                        "device {id} interface {} (line {}): {} of {expected} endpoint lines present (dump cut?)",
                        iface.number, raw.line, raw.endpoints_seen
                    ));
                }
            }
        }
    }
}

fn interface(map: &HashMap<&str, String>) -> Option<UsbInterface> {
    let driver = map
        .get("Driver")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty() && *d != "(none)")
        .map(str::to_string);
    Some(UsbInterface {
        number: dec(map, "If#")?,
        alt: dec(map, "Alt")?,
        class: hex_u8(map, "Cls")?,
        subclass: hex_u8(map, "Sub")?,
        protocol: hex_u8(map, "Prot")?,
        num_endpoints: dec(map, "#EPs"),
        driver,
        ttys: Vec::new(),
        netdevs: Vec::new(),
        cdc_wdm: Vec::new(),
    })
}

fn distinct_numbers(raws: &[RawInterface]) -> usize {
    let mut numbers: Vec<u8> = raws
        .iter()
        .filter_map(|r| r.iface.as_ref().map(|i| i.number))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers.len()
}

/// One interface per number: the alt setting marked `*` when the dump marks them,
/// otherwise the last one listed (`usb-devices` lists only the current one).
fn pick_alternates(raws: Vec<RawInterface>, marks_active: bool) -> Vec<UsbInterface> {
    let mut out: Vec<(bool, UsbInterface)> = Vec::new();
    for raw in raws {
        let Some(iface) = raw.iface else { continue };
        let marked = marks_active && raw.marked;
        match out.iter_mut().find(|(_, i)| i.number == iface.number) {
            Some(slot) if marked || !slot.0 => *slot = (marked, iface),
            Some(_) => {}
            None => out.push((marked, iface)),
        }
    }
    out.into_iter().map(|(_, i)| i).collect()
}

/// Kernel device name from the dump's topology: level 1 → `<bus>-<port+1>`, deeper →
/// `<parent>.<port+1>`; root hubs → `usb<bus>`.
fn usb_path(raw: &RawDevice, known: &HashMap<(u8, u16), String>) -> Option<String> {
    let bus = raw.bus?;
    match raw.level? {
        0 => Some(format!("usb{bus}")),
        1 => Some(format!("{bus}-{}", raw.port? + 1)),
        _ => {
            let parent = known.get(&(bus, raw.parent?))?;
            Some(format!("{parent}.{}", raw.port? + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_values_with_spaces() {
        let map = fields("Ver= 2.10 Cls=00(>ifc ) Sub=00 Prot=00 MxPS=64 #Cfgs=  1");
        assert_eq!(map.get("Cls").map(String::as_str), Some("00(>ifc )"));
        assert_eq!(dec::<u8>(&map, "#Cfgs"), Some(1));
        assert_eq!(hex_u8(&map, "Cls"), Some(0));
    }

    #[test]
    fn record_tags_and_marks() {
        assert_eq!(record_tag("I:* If#= 0"), Some(('I', true, "If#= 0")));
        assert_eq!(record_tag("C:  #Ifs= 4"), Some(('C', false, "#Ifs= 4")));
        assert_eq!(record_tag("X: foo"), None);
        assert_eq!(record_tag("T"), None);
    }

    #[test]
    fn topology_gives_kernel_names() {
        let text = "\
T:  Bus=01 Lev=00 Prnt=00 Port=00 Cnt=00 Dev#=  1 Spd=480  MxCh= 1
P:  Vendor=1d6b ProdID=0002 Rev= 5.15
T:  Bus=01 Lev=01 Prnt=01 Port=00 Cnt=01 Dev#=  2 Spd=480  MxCh= 4
P:  Vendor=1a40 ProdID=0101 Rev= 1.11
T:  Bus=01 Lev=02 Prnt=02 Port=01 Cnt=01 Dev#=  3 Spd=480  MxCh= 0
P:  Vendor=12d1 ProdID=1573 Rev= 0.00
";
        let parsed = parse_devices_file(text).map_err(|e| e.to_string());
        let paths: Vec<Option<String>> = parsed
            .map(|p| p.devices.into_iter().map(|d| d.usb_path).collect())
            .unwrap_or_default();
        assert_eq!(
            paths,
            vec![
                Some("usb1".into()),
                Some("1-1".into()),
                Some("1-1.2".into())
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_line() {
        let err = parse_devices_file("\n# c\nhello world\nT: Bus=01\n")
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(
            msg.starts_with("not a /sys/kernel/debug/usb/devices dump: line 3"),
            "{msg}"
        );
    }
}
