//! Parsers and classifiers: any text → a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncmd_at::parse;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r: &str = &text;
    let _ = parse::info_value(r, "+CGMI");
    let _ = parse::iccid(r);
    let _ = parse::cpin(r);
    let _ = parse::huawei_cpin(r);
    let _ = parse::cpinr(r);
    let _ = parse::qpinc(r);
    let _ = parse::csq(r);
    let _ = parse::hcsq(r);
    let _ = parse::creg(r);
    let _ = parse::cops(r);
    let _ = parse::cgdcont(r);
    let _ = parse::cgdcont_test(r);
    let _ = parse::cgpaddr(r);
    let _ = parse::cgcontrdp(r);
    let _ = parse::cgact(r);
    let _ = parse::cgatt(r);
    let _ = parse::syscfgex(r);
    let _ = parse::syscfgex_test(r);
    let _ = parse::ndisstat(r);
    let _ = parse::dhcp(r);
    let _ = parse::dhcpv6(r);
    let _ = ncmd_at::classify_final(r);
    let _ = ncmd_at::is_unsolicited(r);
    let _ = ncmd_at::reply_prefix(r);
});
