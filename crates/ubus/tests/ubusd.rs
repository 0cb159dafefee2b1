//! Against the real ubusd and `ubus` CLI that the netifd harness builds from OpenWrt's
//! sources (`shared/netifd-harness/build.sh`, run from the repository root; or set
//! NCMD_UBUS_ROOT to another install prefix). Fails loudly when they are not built.

use ncmd_ubus::blob::kind;
use ncmd_ubus::{Connection, Method, Status};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn prefix() -> PathBuf {
    let root = std::env::var_os("NCMD_UBUS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/netifd-harness/root")
        });
    assert!(
        root.join("sbin/ubusd").exists() && root.join("bin/ubus").exists(),
        "no ubusd/ubus under {}: build them with shared/netifd-harness/build.sh from the repository root (see its README for the packages), or set NCMD_UBUS_ROOT",
        root.display()
    );
    root
}

struct Ubusd {
    child: Child,
    socket: PathBuf,
    root: PathBuf,
    _dir: PathBuf,
}

impl Ubusd {
    fn start(tag: &str) -> Ubusd {
        let root = prefix();
        let dir = std::env::temp_dir().join(format!("ncmd-ubus-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("ubus.sock");
        let child = Command::new(root.join("sbin/ubusd"))
            .arg("-s")
            .arg(&socket)
            .env("LD_LIBRARY_PATH", root.join("lib"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start ubusd");
        let t0 = Instant::now();
        while !socket.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "ubusd made no socket"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Ubusd {
            child,
            socket,
            root,
            _dir: dir,
        }
    }

    /// `ubus -s SOCK ARGS...` → (exit code, stdout).
    fn cli(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(self.root.join("bin/ubus"))
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .env("LD_LIBRARY_PATH", self.root.join("lib"))
            .output()
            .expect("run ubus");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Ubusd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

async fn handler(method: String, args: Map<String, Value>) -> Result<Map<String, Value>, Status> {
    match method.as_str() {
        "status" => {
            let iface = args
                .get("interface")
                .and_then(Value::as_str)
                .unwrap_or("wwan");
            if iface != "wwan" {
                return Err(Status::NotFound);
            }
            let v = json!({"wwan": {"state": "up", "uptime_s": 42, "signal": {"rssi_dbm": -71.5}, "ipv6": null, "events": ["a", "b"], "ok": true}});
            Ok(v.as_object().unwrap().clone())
        }
        _ => Ok(Map::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ubus_call_reaches_the_published_object() {
    let bus = Ubusd::start("call");
    let conn = Connection::publish(
        &bus.socket,
        "ncmd",
        vec![
            Method::new("status", &[("interface", kind::STRING)]),
            Method::new("info", &[]),
        ],
    )
    .await
    .expect("publish");
    assert!(conn.object_id() != 0);
    let server = tokio::spawn(conn.serve(handler));

    let bus2 = &bus;
    let (code, list) = tokio::task::block_in_place(|| bus2.cli(&["-v", "list", "ncmd"]));
    assert_eq!(code, 0);
    assert!(
        list.contains("\"status\":{\"interface\":\"String\"}"),
        "{list}"
    );
    let (code, out) = tokio::task::block_in_place(|| bus2.cli(&["call", "ncmd", "status"]));
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).expect("ubus prints JSON");
    assert_eq!(
        v,
        json!({"wwan": {"state": "up", "uptime_s": 42, "signal": {"rssi_dbm": -71.5}, "ipv6": null, "events": ["a", "b"], "ok": true}})
    );
    let (code, _) = tokio::task::block_in_place(|| {
        bus2.cli(&["call", "ncmd", "status", "{\"interface\":\"lan\"}"])
    });
    // The CLI exits with the negated status: 256 - 4 for NOT_FOUND.
    assert_eq!(code, 256 - Status::NotFound as i32);
    let (code, _) = tokio::task::block_in_place(|| bus2.cli(&["call", "ncmd", "nosuch"]));
    assert_eq!(code, 256 - Status::MethodNotFound as i32);
    let (code, out) = tokio::task::block_in_place(|| bus2.cli(&["call", "ncmd", "info"]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("JSON"),
        json!({})
    );
    // ubusd gone: serve ends with an error, never spins.
    drop(bus);
    let ended = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve ends when ubusd goes");
    assert!(ended.expect("join").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_publisher_of_the_same_name_is_refused_clearly() {
    let bus = Ubusd::start("dup");
    let _first = Connection::publish(&bus.socket, "ncmd", vec![Method::new("status", &[])])
        .await
        .expect("first");
    let err = Connection::publish(&bus.socket, "ncmd", vec![Method::new("status", &[])])
        .await
        .err()
        .expect("second refused");
    assert!(err.to_string().contains("another process"), "{err}");
}
