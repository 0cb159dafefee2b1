//! Signal replies: `+CSQ` (3GPP TS 27.007 §8.5) and Huawei `^HCSQ`.
//!
//! `^HCSQ` decoding. Huawei's AT reference (E3372/ME909 "AT Command Interface
//! Specification", ^HCSQ) defines each value as a 1-unit (RSSI, RSRP, RSCP), 0.2 dB (SINR)
//! or 0.5 dB (RSRQ, Ec/Io) step above a floor: LTE rssi −120+v dBm, rsrp −140+v dBm,
//! sinr −20+0.2·v dB, rsrq −19.5+0.5·v dB; WCDMA rssi −120+v, rscp −120+v, ecio −32+0.5·v;
//! GSM rssi −120+v; 255 = unknown; `"NOSERVICE"` has no values. Huawei's own firmware source
//! (hisi modem `tafnew/common/at` `AT_Format4GHcsqResult`, `AT_SinrConvert`,
//! `AT_EcioConvert`, published in Huawei kernel trees on GitHub) encodes
//! `v = (real − floor)·steps + 1`, so a decoded value is the upper edge of the modem's
//! quantisation interval — at most one step (1 dB / 0.2 dB / 0.5 dB) above the measured
//! one. Several OpenWrt tools (3ginfo-lite, modemdata; see shared/reference/ecosystem.md)
//! report the lower edge instead (−141+n, −20.2+n/5, −20+n/2). Both are within the modem's
//! own resolution; this crate keeps the upper-edge formulas above as its contract.
//! NR (`^HCSQ: "NR",rsrp,sinr,rsrq`) goes through the same conversion functions in that
//! source, so it is decoded with the LTE formulas.

use super::{fields, payload, Field, ParseError, Reply, Technology};
use serde::Serialize;

/// `+CSQ: <rssi>,<ber>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Csq {
    /// 0 → −113 dBm … 31 → −51 dBm; 99 (unknown) → `None`.
    pub rssi_dbm: Option<i32>,
    /// RXQUAL 0–7; 99 (unknown) → `None`.
    pub ber: Option<u8>,
}

pub fn csq<R: Reply + ?Sized>(reply: &R) -> Result<Csq, ParseError> {
    let line = payload(reply, &["+CSQ:"], false)
        .ok_or_else(|| ParseError::new("+CSQ", "", "no +CSQ line"))?;
    let f = fields(line);
    let bad = |why: String| ParseError::new("+CSQ", line, why);
    if f.len() != 2 {
        return Err(bad("expected <rssi>,<ber>".into()));
    }
    let rssi = f[0]
        .num::<u16>()
        .map_err(bad)?
        .ok_or_else(|| bad("rssi missing".into()))?;
    let ber = f[1].num::<u16>().map_err(bad)?;
    Ok(Csq {
        rssi_dbm: (rssi <= 31).then(|| -113 + 2 * i32::from(rssi)),
        ber: ber.filter(|b| *b <= 7).and_then(|b| u8::try_from(b).ok()),
    })
}

/// Huawei `^HCSQ: <sysmode>[,<value>…]`, decoded (see the module doc for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Hcsq {
    /// `None` for `NOSERVICE` and unknown system modes.
    pub technology: Option<Technology>,
    pub rssi_dbm: Option<f64>,
    pub rsrp_dbm: Option<f64>,
    pub sinr_db: Option<f64>,
    pub rsrq_db: Option<f64>,
    pub rscp_dbm: Option<f64>,
    pub ecio_db: Option<f64>,
}

/// A value `v` in `0..=max` decoded as `floor + step·v`; 255, out of range or empty → `None`.
fn decode(f: Option<&Field<'_>>, max: u16, floor: f64, step: f64) -> Result<Option<f64>, String> {
    let Some(f) = f else { return Ok(None) };
    Ok(f.num::<u16>()?
        .filter(|v| *v <= max)
        .map(|v| floor + step * f64::from(v)))
}

pub fn hcsq<R: Reply + ?Sized>(reply: &R) -> Result<Hcsq, ParseError> {
    let line = payload(reply, &["^HCSQ:"], false)
        .ok_or_else(|| ParseError::new("^HCSQ", "", "no ^HCSQ line"))?;
    let f = fields(line);
    let bad = |why: String| ParseError::new("^HCSQ", line, why);
    let v = |i: usize| f.get(i);
    let mode = f[0].text.to_ascii_uppercase();
    let out = match mode.as_str() {
        "NOSERVICE" | "" => Hcsq::default(),
        "GSM" => Hcsq {
            technology: Some(Technology::Gsm),
            rssi_dbm: decode(v(1), 96, -120.0, 1.0).map_err(bad)?,
            ..Hcsq::default()
        },
        "WCDMA" | "TD-SCDMA" => Hcsq {
            technology: Some(Technology::Umts),
            rssi_dbm: decode(v(1), 96, -120.0, 1.0).map_err(bad)?,
            rscp_dbm: decode(v(2), 96, -120.0, 1.0).map_err(bad)?,
            ecio_db: decode(v(3), 65, -32.0, 0.5).map_err(bad)?,
            ..Hcsq::default()
        },
        "LTE" => Hcsq {
            technology: Some(Technology::Lte),
            rssi_dbm: decode(v(1), 96, -120.0, 1.0).map_err(bad)?,
            rsrp_dbm: decode(v(2), 97, -140.0, 1.0).map_err(bad)?,
            sinr_db: decode(v(3), 251, -20.0, 0.2).map_err(bad)?,
            rsrq_db: decode(v(4), 34, -19.5, 0.5).map_err(bad)?,
            ..Hcsq::default()
        },
        "NR" => Hcsq {
            technology: Some(Technology::Nr5g),
            rsrp_dbm: decode(v(1), 97, -140.0, 1.0).map_err(bad)?,
            sinr_db: decode(v(2), 251, -20.0, 0.2).map_err(bad)?,
            rsrq_db: decode(v(3), 34, -19.5, 0.5).map_err(bad)?,
            ..Hcsq::default()
        },
        other => return Err(bad(format!("unknown system mode {other:?}"))),
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn csq_values() {
        // "+CSQ: 23,99" from a SIMCom modem emulator in a public repo; 27.007 §8.5 mapping.
        assert_eq!(
            csq("+CSQ: 23,99").unwrap(),
            Csq {
                rssi_dbm: Some(-67),
                ber: None
            }
        );
        assert_eq!(
            csq("+CSQ: 0,0").unwrap(),
            Csq {
                rssi_dbm: Some(-113),
                ber: Some(0)
            }
        );
        assert_eq!(
            csq("+CSQ: 31,7\r\nOK").unwrap(),
            Csq {
                rssi_dbm: Some(-51),
                ber: Some(7)
            }
        );
        assert_eq!(
            csq("+CSQ: 99,99").unwrap(),
            Csq {
                rssi_dbm: None,
                ber: None
            }
        );
        assert!(csq("+CSQ: x,99").is_err());
        assert!(csq("+CSQ: 20").is_err());
        assert!(csq("OK").is_err());
    }

    #[test]
    fn hcsq_lte() {
        // Constructed; field layout as Huawei's firmware prints it (AT_Format4GHcsqResult:
        // "^HCSQ: \"LTE\",%d,%d,%d,%d"), here without the blank some firmwares omit.
        let h = hcsq("^HCSQ:\"LTE\",48,41,171,21").unwrap();
        assert_eq!(h.technology, Some(Technology::Lte));
        assert!(close(h.rssi_dbm, -72.0));
        assert!(close(h.rsrp_dbm, -99.0));
        assert!(close(h.sinr_db, 14.2));
        assert!(close(h.rsrq_db, -9.0));
        assert_eq!(h.rscp_dbm, None);
        let h = hcsq("^HCSQ: \"LTE\",255,255,255,255").unwrap();
        assert_eq!(
            (h.rssi_dbm, h.rsrp_dbm, h.sinr_db, h.rsrq_db),
            (None, None, None, None)
        );
    }

    #[test]
    fn hcsq_other_modes() {
        let h = hcsq("^HCSQ: \"WCDMA\",30,30,58").unwrap();
        assert_eq!(h.technology, Some(Technology::Umts));
        assert!(close(h.rscp_dbm, -90.0) && close(h.ecio_db, -3.0) && close(h.rssi_dbm, -90.0));
        let h = hcsq("^HCSQ: \"GSM\",40").unwrap();
        assert!(close(h.rssi_dbm, -80.0));
        assert_eq!(hcsq("^HCSQ: \"NOSERVICE\"").unwrap(), Hcsq::default());
        let h = hcsq("^HCSQ: \"NR\",60,100,20").unwrap();
        assert_eq!(h.technology, Some(Technology::Nr5g));
        assert!(close(h.rsrp_dbm, -80.0) && close(h.sinr_db, 0.0) && close(h.rsrq_db, -9.5));
        assert!(hcsq("^HCSQ: \"FOO\",1").is_err());
        assert!(hcsq("^HCSQ: \"LTE\",x").is_err());
    }
}
