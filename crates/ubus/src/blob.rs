//! libubox's blob and blobmsg formats (libubox `blob.h`, `blobmsg.h`), written and read.
//!
//! Owns: the TLV encoding ubus messages are made of — a 32-bit big-endian header (bit 31:
//! extended, bits 24-30: id, bits 0-23: length with the header), data padded to 4 bytes —
//! and blobmsg's named, typed values on top of it, converted from and to JSON as
//! libubox's `blobmsg_json` does. Must not know about sockets or ubus message types.

use serde_json::{Map, Number, Value};

const EXTENDED: u32 = 0x8000_0000;
const ID_SHIFT: u32 = 24;
const LEN_MASK: u32 = 0x00ff_ffff;

/// blobmsg value types (libubox `enum blobmsg_type`).
pub mod kind {
    pub const UNSPEC: u8 = 0;
    pub const ARRAY: u8 = 1;
    pub const TABLE: u8 = 2;
    pub const STRING: u8 = 3;
    pub const INT64: u8 = 4;
    pub const INT32: u8 = 5;
    pub const INT16: u8 = 6;
    /// Also booleans.
    pub const INT8: u8 = 7;
    pub const DOUBLE: u8 = 8;
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds a blob: attributes appended in order, nests opened and closed.
#[derive(Debug, Default)]
pub struct BlobBuf {
    buf: Vec<u8>,
}

impl BlobBuf {
    pub fn new() -> BlobBuf {
        BlobBuf::default()
    }

    /// A plain attribute (ubus message attributes: `UBUS_ATTR_*`).
    pub fn put(&mut self, id: u8, data: &[u8]) {
        let at = self.open(id, false);
        self.buf.extend_from_slice(data);
        self.close(at);
    }

    pub fn put_u32(&mut self, id: u8, v: u32) {
        self.put(id, &v.to_be_bytes());
    }

    /// A NUL-terminated string attribute.
    pub fn put_string(&mut self, id: u8, s: &str) {
        let at = self.open(id, false);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.close(at);
    }

    /// Opens an attribute whose data follows; returns where its header is.
    pub fn open(&mut self, id: u8, extended: bool) -> usize {
        let at = self.buf.len();
        let flag = if extended { EXTENDED } else { 0 };
        self.buf
            .extend_from_slice(&(flag | (u32::from(id) << ID_SHIFT)).to_be_bytes());
        at
    }

    /// Closes the attribute opened at `at`: writes its length, pads its data.
    pub fn close(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u32;
        let head = u32::from_be_bytes([
            self.buf[at],
            self.buf[at + 1],
            self.buf[at + 2],
            self.buf[at + 3],
        ]);
        let head = (head & !LEN_MASK) | (len & LEN_MASK);
        self.buf[at..at + 4].copy_from_slice(&head.to_be_bytes());
        self.buf.resize(pad4(self.buf.len()), 0);
    }

    /// Opens a blobmsg value: extended header, then the name (length, bytes, NUL, padding).
    fn open_msg(&mut self, kind: u8, name: &str) -> usize {
        let at = self.open(kind, true);
        let name = &name.as_bytes()[..name.len().min(u16::MAX as usize - 1)];
        self.buf
            .extend_from_slice(&(name.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(name);
        self.buf.push(0);
        self.buf.resize(at + 4 + pad4(2 + name.len() + 1), 0);
        at
    }

    /// One JSON value as a named blobmsg value (objects as tables, arrays as arrays,
    /// booleans as int8, integers as int32 when they fit, else int64, null as unspec).
    pub fn put_json(&mut self, name: &str, v: &Value) {
        match v {
            Value::Null => {
                let at = self.open_msg(kind::UNSPEC, name);
                self.close(at);
            }
            Value::Bool(b) => {
                let at = self.open_msg(kind::INT8, name);
                self.buf.push(u8::from(*b));
                self.close(at);
            }
            Value::Number(n) => {
                if let Some(i) = n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                    let at = self.open_msg(kind::INT32, name);
                    self.buf.extend_from_slice(&i.to_be_bytes());
                    self.close(at);
                } else if let Some(i) = n.as_i64() {
                    let at = self.open_msg(kind::INT64, name);
                    self.buf.extend_from_slice(&i.to_be_bytes());
                    self.close(at);
                } else {
                    let at = self.open_msg(kind::DOUBLE, name);
                    self.buf
                        .extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_bits().to_be_bytes());
                    self.close(at);
                }
            }
            Value::String(s) => {
                let at = self.open_msg(kind::STRING, name);
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.push(0);
                self.close(at);
            }
            Value::Array(items) => {
                let at = self.open_msg(kind::ARRAY, name);
                for item in items {
                    self.put_json("", item);
                }
                self.close(at);
            }
            Value::Object(map) => {
                let at = self.open_msg(kind::TABLE, name);
                self.put_table_fields(map);
                self.close(at);
            }
        }
    }

    /// The fields of a table, without the table's own header (a ubus `DATA` attribute
    /// holds them directly).
    pub fn put_table_fields(&mut self, map: &Map<String, Value>) {
        for (k, v) in map {
            self.put_json(k, v);
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// One attribute read from a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub id: u8,
    pub extended: bool,
    pub data: &'a [u8],
}

impl<'a> Attr<'a> {
    pub fn u32(&self) -> Option<u32> {
        Some(u32::from_be_bytes(self.data.get(..4)?.try_into().ok()?))
    }

    /// A NUL-terminated string (the NUL and anything after it dropped).
    pub fn string(&self) -> Option<&'a str> {
        let end = self.data.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&self.data[..end]).ok()
    }
}

/// Why a blob could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlobError {
    #[error("blob attribute at byte {0} is cut short")]
    Truncated(usize),
    #[error("blobmsg value at byte {0} is malformed")]
    Malformed(usize),
}

/// The attributes in `data` (a blob's payload), in order.
pub fn attrs(data: &[u8]) -> Result<Vec<Attr<'_>>, BlobError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let head = data.get(at..at + 4).ok_or(BlobError::Truncated(at))?;
        let head = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let len = (head & LEN_MASK) as usize;
        if len < 4 || at + len > data.len() {
            return Err(BlobError::Truncated(at));
        }
        out.push(Attr {
            id: ((head >> ID_SHIFT) & 0x7f) as u8,
            extended: head & EXTENDED != 0,
            data: &data[at + 4..at + len],
        });
        at += pad4(len);
    }
    Ok(out)
}

/// A blobmsg value's name and payload.
fn msg_parts<'a>(a: &Attr<'a>) -> Option<(&'a str, &'a [u8])> {
    let namelen = u16::from_be_bytes(a.data.get(..2)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(a.data.get(2..2 + namelen)?).ok()?;
    let start = pad4(2 + namelen + 1);
    Some((name, a.data.get(start..)?))
}

/// A blobmsg table's fields (the payload of a ubus `DATA` attribute) as a JSON object.
pub fn table_to_json(data: &[u8]) -> Result<Map<String, Value>, BlobError> {
    let mut map = Map::new();
    for a in attrs(data)? {
        let (name, v) = msg_to_json(&a, data)?;
        map.insert(name.to_string(), v);
    }
    Ok(map)
}

fn msg_to_json<'a>(a: &Attr<'a>, whole: &[u8]) -> Result<(&'a str, Value), BlobError> {
    let bad = || BlobError::Malformed(a.data.as_ptr() as usize - whole.as_ptr() as usize);
    let (name, p) = msg_parts(a).ok_or_else(bad)?;
    let int = |n: usize| p.get(..n).ok_or_else(bad);
    let v = match a.id {
        kind::UNSPEC => Value::Null,
        kind::TABLE => Value::Object(table_to_json(p)?),
        kind::ARRAY => Value::Array(
            attrs(p)?
                .iter()
                .map(|c| msg_to_json(c, whole).map(|(_, v)| v))
                .collect::<Result<_, _>>()?,
        ),
        kind::STRING => {
            let end = p.iter().position(|&b| b == 0).ok_or_else(bad)?;
            Value::String(String::from_utf8_lossy(&p[..end]).into_owned())
        }
        kind::INT64 => Value::from(i64::from_be_bytes(int(8)?.try_into().map_err(|_| bad())?)),
        kind::INT32 => Value::from(i32::from_be_bytes(int(4)?.try_into().map_err(|_| bad())?)),
        kind::INT16 => Value::from(i16::from_be_bytes(int(2)?.try_into().map_err(|_| bad())?)),
        kind::INT8 => Value::Bool(int(1)?[0] != 0),
        kind::DOUBLE => {
            let f = f64::from_bits(u64::from_be_bytes(int(8)?.try_into().map_err(|_| bad())?));
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        _ => return Err(bad()),
    };
    Ok((name, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_blobmsg() {
        let v = json!({"state": "up", "n": 3, "big": 1i64 << 40, "ok": true, "x": 1.5, "none": null,
                       "list": ["a", 2], "t": {"k": "v"}});
        let mut b = BlobBuf::new();
        b.put_table_fields(v.as_object().unwrap());
        let bytes = b.into_bytes();
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(Value::Object(table_to_json(&bytes).unwrap()), v);
    }

    #[test]
    fn layout_matches_libubox() {
        // blobmsg_add_string(&b, "a", "xy"): extended | STRING << 24 | len 12;
        // namelen 1, "a\0" padded to 4 bytes of name header, "xy\0" padded.
        let mut b = BlobBuf::new();
        b.put_json("a", &json!("xy"));
        assert_eq!(
            b.into_bytes(),
            [0x83, 0, 0, 11, 0, 1, b'a', 0, b'x', b'y', 0, 0]
        );
        let mut b = BlobBuf::new();
        b.put_u32(3, 0x0102_0304);
        assert_eq!(b.into_bytes(), [0x03, 0, 0, 8, 1, 2, 3, 4]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(attrs(&[0, 0, 0]).is_err());
        assert!(attrs(&[0, 0, 0, 200]).is_err());
        assert!(table_to_json(&[0x85, 0, 0, 6, 0, 9]).is_err());
        for n in 0..64u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
            let _ = table_to_json(&bytes);
        }
    }
}
