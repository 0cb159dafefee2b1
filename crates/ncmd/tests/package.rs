//! The OpenWrt packages `scripts/package` writes: archive layout, control fields, file
//! modes and owners, conffiles, and that they say what `openwrt/ncmd/Makefile` says.
//! The packaging is the same for every architecture, so these tests pack the binary
//! cargo built for them (`--binary`, arch `x86_64`) instead of cross-building.
//!
//! The expectations below are written out by hand, not derived from the Makefile by the
//! script's own reader, so a wrong reader cannot agree with itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const ARCH: &str = "x86_64";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// `PKG_VERSION-rPKG_RELEASE`, read from the Makefile (the one source of the version).
fn version() -> String {
    let mk = std::fs::read_to_string(repo().join("openwrt/ncmd/Makefile")).expect("openwrt/ncmd/Makefile");
    let var = |name: &str| {
        mk.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(":="))).map(str::trim).map(String::from)
    };
    format!("{}-r{}", var("PKG_VERSION").expect("PKG_VERSION"), var("PKG_RELEASE").expect("PKG_RELEASE"))
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn pack(out: &Path, extra_env: &[(&str, &str)], extra_args: &[&str]) {
    let mut cmd = Command::new(repo().join("scripts/package"));
    cmd.args(["--binary", env!("CARGO_BIN_EXE_ncmd"), "--pkgarch", ARCH, "--out"]).arg(out).args(extra_args);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    run(&mut cmd);
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ncmd-package-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `tar -tv` of a gzip'd tar: path -> (mode string, owner/group).
fn tar_listing(archive: &[u8]) -> Vec<(String, String, String)> {
    let dir = temp("listing");
    let file = dir.join("a.tar.gz");
    std::fs::write(&file, archive).unwrap();
    let out = run(Command::new("tar").args(["--numeric-owner", "-tvzf"]).arg(&file));
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[5].trim_start_matches("./").to_string(), f[0].to_string(), f[1].to_string())
        })
        .collect()
}

fn member(archive: &Path, name: &str) -> Vec<u8> {
    run(Command::new("tar").args(["-xzOf"]).arg(archive).arg(name))
}

fn member_of(outer: &[u8], name: &str) -> Vec<u8> {
    let dir = temp("member");
    let file = dir.join("a.tar.gz");
    std::fs::write(&file, outer).unwrap();
    let data = member(&file, name);
    let _ = std::fs::remove_dir_all(&dir);
    data
}

/// What the package installs, with modes: the Makefile's install section by hand.
fn expected_files() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("usr/sbin/ncmd", "-rwxr-xr-x"),
        ("lib/netifd/proto/ncm.sh", "-rwxr-xr-x"),
        ("etc/init.d/ncmd", "-rwxr-xr-x"),
        // procd's hotplug-call sources these; they need not be executable.
        ("etc/hotplug.d/tty/30-ncmd", "-rw-r--r--"),
        ("etc/hotplug.d/usbmisc/30-ncmd", "-rw-r--r--"),
        // rpcd's ACL for the ubus object (LuCI and scripts may read it).
        ("usr/share/rpcd/acl.d/ncmd.json", "-rw-r--r--"),
        // The conffiles the package does not ship: kept across sysupgrade.
        ("lib/upgrade/keep.d/ncmd", "-rw-r--r--"),
    ])
}

const KEEP: &str = "/etc/ncmd/profiles.json\n/etc/ncmd/state/\n";

#[test]
fn ipk_is_a_gzipped_tar_of_debian_binary_data_and_control_as_opkg_reads_it() {
    let out = temp("ipk");
    pack(&out, &[], &["--no-apk"]);
    let ipk = out.join(ARCH).join(format!("ncmd_{}_{ARCH}.ipk", version()));
    let outer = std::fs::read(&ipk).unwrap_or_else(|e| panic!("{}: {e}", ipk.display()));
    // opkg-lede's deb_extract reads a gzip'd tar (libbb/unarchive.c); no ar.
    assert_eq!(&outer[..2], &[0x1f, 0x8b], "the .ipk is not gzip");
    let layout: Vec<String> = tar_listing(&outer).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(layout, ["debian-binary", "data.tar.gz", "control.tar.gz"]);
    assert_eq!(member(&ipk, "./debian-binary"), b"2.0\n");

    let control_tgz = member(&ipk, "./control.tar.gz");
    let control_members = tar_listing(&control_tgz);
    let modes: BTreeMap<_, _> = control_members.iter().map(|(p, m, o)| (p.as_str(), (m.as_str(), o.as_str()))).collect();
    assert_eq!(modes.get("control"), Some(&("-rw-r--r--", "0/0")), "{control_members:?}");
    assert_eq!(modes.get("postinst"), Some(&("-rwxr-xr-x", "0/0")), "{control_members:?}");
    assert_eq!(modes.get("prerm"), Some(&("-rwxr-xr-x", "0/0")), "{control_members:?}");
    // ipkg-build lists only conffiles the package ships; ncmd ships none of them.
    assert!(!modes.contains_key("conffiles"), "{control_members:?}");

    let control = String::from_utf8(member_of(&control_tgz, "./control")).unwrap();
    let fields: BTreeMap<&str, &str> = control.lines().filter_map(|l| l.split_once(": ")).collect();
    let data_tgz = member(&ipk, "./data.tar.gz");
    let installed = run(Command::new("sh").arg("-c").arg(format!("tar -xzOf '{}' ./data.tar.gz | zcat | wc -c", ipk.display())));
    let expect = [
        ("Package", "ncmd".to_string()),
        ("Version", version()),
        ("Depends", "kmod-usb-net-cdc-ncm, kmod-usb-serial-option".into()),
        ("Provides", "comgt-ncm".into()),
        ("Conflicts", "comgt-ncm".into()),
        ("License", "GPL-2.0-only".into()),
        ("Section", "net".into()),
        ("Architecture", ARCH.into()),
        ("Installed-Size", String::from_utf8(installed).unwrap().trim().into()),
    ];
    for (k, v) in expect {
        assert_eq!(fields.get(k).copied(), Some(v.as_str()), "control field {k}:\n{control}");
    }
    assert!(fields.get("Description").is_some_and(|d| d.contains("NCM")), "{control}");
    let postinst = String::from_utf8(member_of(&control_tgz, "./postinst")).unwrap();
    assert!(postinst.contains("default_postinst"), "postinst must enable the init script as OpenWrt's do:\n{postinst}");

    let data = tar_listing(&data_tgz);
    let files: BTreeMap<&str, &str> =
        data.iter().filter(|(_, m, _)| !m.starts_with('d')).map(|(p, m, _)| (p.as_str(), m.as_str())).collect();
    assert_eq!(files, expected_files());
    assert!(data.iter().all(|(_, _, o)| o == "0/0"), "every file root-owned: {data:?}");
    assert!(data.iter().filter(|(_, m, _)| m.starts_with('d')).all(|(_, m, _)| m == "drwxr-xr-x"), "{data:?}");
    assert_eq!(member_of(&data_tgz, "./lib/upgrade/keep.d/ncmd"), KEEP.as_bytes());
    assert_eq!(member_of(&data_tgz, "./usr/sbin/ncmd"), std::fs::read(env!("CARGO_BIN_EXE_ncmd")).unwrap());
    assert_eq!(
        member_of(&data_tgz, "./lib/netifd/proto/ncm.sh"),
        std::fs::read(repo().join("openwrt/ncmd/files/ncm.sh")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// apk-tools v3 is not in Debian 12, so this needs one built from source:
/// `NCMD_APK=/path/to/apk cargo test -p ncmd --test package -- --ignored`.
#[test]
#[ignore = "needs apk-tools v3 (not packaged in Debian 12); set NCMD_APK and run with --ignored"]
fn apk_holds_the_same_files_and_metadata_as_read_by_apk_tools() {
    let apk = std::env::var("NCMD_APK").expect("set NCMD_APK to an apk-tools v3 binary");
    let out = temp("apk");
    pack(&out, &[("NCMD_APK", &apk)], &[]);
    let file = out.join(ARCH).join(format!("ncmd-{}.apk", version()));
    // The real parser: apk-tools' own dump of the ADB and its own extraction.
    let dump = String::from_utf8(run(Command::new(&apk).arg("adbdump").arg(&file))).unwrap();
    for want in [
        "name: ncmd".to_string(),
        format!("version: {}", version()),
        format!("arch: {ARCH}"),
        "license: GPL-2.0-only".into(),
        "- kmod-usb-net-cdc-ncm".into(),
        "- kmod-usb-serial-option".into(),
        format!("- comgt-ncm={}", version()),
        "post-install: |".into(),
        "pre-deinstall: |".into(),
    ] {
        assert!(dump.lines().any(|l| l.trim() == want), "apk adbdump lacks '{want}':\n{dump}");
    }
    assert!(!dump.contains("user: ") || dump.lines().filter(|l| l.trim_start().starts_with("user: ")).all(|l| l.trim() == "user: root"));
    let dest = temp("apk-extract");
    run(Command::new(&apk).args(["extract", "--allow-untrusted", "--destination"]).arg(&dest).arg(&file));
    let listing = String::from_utf8(run(Command::new("find").arg(&dest).args(["-type", "f", "-printf", "%P %M\n"]))).unwrap();
    let mut files: BTreeMap<String, String> =
        listing.lines().filter_map(|l| l.split_once(' ')).map(|(p, m)| (p.to_string(), m.to_string())).collect();
    // OpenWrt 25.x's package database files (package-pack.mk): the file list and conffiles.
    assert_eq!(files.remove("lib/apk/packages/ncmd.list").as_deref(), Some("-rw-r--r--"));
    assert_eq!(files.remove("lib/apk/packages/ncmd.conffiles").as_deref(), Some("-rw-r--r--"));
    let expected: BTreeMap<String, String> = expected_files().into_iter().map(|(p, m)| (p.into(), m.into())).collect();
    assert_eq!(files, expected);
    assert_eq!(std::fs::read_to_string(dest.join("lib/apk/packages/ncmd.conffiles")).unwrap(), KEEP);
    let list = std::fs::read_to_string(dest.join("lib/apk/packages/ncmd.list")).unwrap();
    assert!(list.lines().any(|l| l == "/usr/sbin/ncmd") && list.lines().any(|l| l == "/lib/netifd/proto/ncm.sh"), "{list}");
    assert_eq!(std::fs::read(dest.join("usr/sbin/ncmd")).unwrap(), std::fs::read(env!("CARGO_BIN_EXE_ncmd")).unwrap());

    // apk installs it into an empty root once its dependencies are there (empty
    // packages of the same names stand in for the kernel modules).
    let sysroot = temp("apk-root");
    std::fs::create_dir_all(sysroot.join("etc/apk")).unwrap();
    std::fs::write(sysroot.join("etc/apk/arch"), format!("{ARCH}\n")).unwrap();
    let empty = temp("apk-empty");
    let mut install = Command::new(&apk);
    install.args(["add", "--initdb", "--allow-untrusted", "--no-scripts", "--force-no-chroot", "--no-network", "--root"]).arg(&sysroot);
    for dep in ["kmod-usb-net-cdc-ncm", "kmod-usb-serial-option"] {
        let pkg = out.join(format!("{dep}-1-r1.apk"));
        run(Command::new(&apk)
            .args(["mkpkg", "--info", &format!("name:{dep}"), "--info", "version:1-r1", "--info", &format!("arch:{ARCH}"), "--files"])
            .arg(&empty)
            .arg("--output")
            .arg(&pkg));
        install.arg(pkg);
    }
    let log = String::from_utf8(run(install.arg(&file))).unwrap();
    assert!(log.contains(&format!("Installing ncmd ({})", version())), "{log}");
    let mode = |p: &str| std::fs::metadata(sysroot.join(p)).map(|m| m.permissions().mode() & 0o7777);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(mode("usr/sbin/ncmd").ok(), Some(0o755));
    assert_eq!(mode("etc/hotplug.d/tty/30-ncmd").ok(), Some(0o644));
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&dest);
    let _ = std::fs::remove_dir_all(&sysroot);
    let _ = std::fs::remove_dir_all(&empty);
}
