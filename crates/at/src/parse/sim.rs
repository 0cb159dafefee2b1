//! SIM replies: `+CPIN` (3GPP TS 27.007 §8.3), Huawei `^CPIN` with its attempt counters,
//! `+CPINR` (27.007 §8.65) and Quectel `+QPINC`.

use super::{fields, payload, payloads, ParseError, Reply};
use serde::Serialize;

/// What the SIM waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimLock {
    Ready,
    SimPin,
    SimPuk,
    SimPin2,
    SimPuk2,
    PhNetPin,
    Other(String),
}

impl SimLock {
    fn from_code(code: &str) -> SimLock {
        match code.trim().to_ascii_uppercase().as_str() {
            "READY" => SimLock::Ready,
            "SIM PIN" => SimLock::SimPin,
            "SIM PUK" => SimLock::SimPuk,
            "SIM PIN2" => SimLock::SimPin2,
            "SIM PUK2" => SimLock::SimPuk2,
            "PH-NET PIN" => SimLock::PhNetPin,
            _ => SimLock::Other(code.trim().to_string()),
        }
    }
}

/// `+CPIN: READY` / `READY` → the SIM's lock state.
pub fn cpin<R: Reply + ?Sized>(reply: &R) -> Result<SimLock, ParseError> {
    let v = payload(reply, &["+CPIN:"], true)
        .ok_or_else(|| ParseError::new("+CPIN", "", "no +CPIN line"))?;
    let v = v.trim_matches('"').trim();
    if v.is_empty() {
        return Err(ParseError::new("+CPIN", v, "empty code"));
    }
    Ok(SimLock::from_code(v))
}

/// Huawei `^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinCounters {
    pub code: SimLock,
    /// Attempts left for the code currently asked for (empty when READY).
    pub times: Option<u8>,
    pub puk_times: Option<u8>,
    pub pin_times: Option<u8>,
    pub puk2_times: Option<u8>,
    pub pin2_times: Option<u8>,
}

pub fn huawei_cpin<R: Reply + ?Sized>(reply: &R) -> Result<PinCounters, ParseError> {
    let line = payload(reply, &["^CPIN:"], false)
        .ok_or_else(|| ParseError::new("^CPIN", "", "no ^CPIN line"))?;
    let f = fields(line);
    if f.len() != 6 || f[0].is_empty() {
        return Err(ParseError::new(
            "^CPIN",
            line,
            "expected 6 fields: code,times,puk,pin,puk2,pin2",
        ));
    }
    let n = |i: usize| {
        f[i].num::<u8>()
            .map_err(|why| ParseError::new("^CPIN", line, why))
    };
    Ok(PinCounters {
        code: SimLock::from_code(f[0].text),
        times: n(1)?,
        puk_times: n(2)?,
        pin_times: n(3)?,
        puk2_times: n(4)?,
        pin2_times: n(5)?,
    })
}

/// One `+CPINR: <code>,<retries>[,<default_retries>]` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinRetries {
    pub code: String,
    pub retries: u8,
    pub default_retries: Option<u8>,
}

pub fn cpinr<R: Reply + ?Sized>(reply: &R) -> Result<Vec<PinRetries>, ParseError> {
    payloads(reply, "+CPINR:")
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: String| ParseError::new("+CPINR", line, why);
            if !(2..=3).contains(&f.len()) || f[0].is_empty() {
                return Err(bad("expected code,retries[,default]".into()));
            }
            Ok(PinRetries {
                code: f[0].text.to_string(),
                retries: f[1]
                    .num::<u8>()
                    .map_err(bad)?
                    .ok_or_else(|| bad("retries missing".into()))?,
                default_retries: f
                    .get(2)
                    .map(|d| d.num::<u8>())
                    .transpose()
                    .map_err(bad)?
                    .flatten(),
            })
        })
        .collect()
}

/// One Quectel `+QPINC: <facility>,<pin_counter>,<puk_counter>` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuectelPinCounter {
    /// `SC` (SIM PIN) or `P2` (SIM PIN2).
    pub facility: String,
    pub pin_retries: u8,
    pub puk_retries: u8,
}

pub fn qpinc<R: Reply + ?Sized>(reply: &R) -> Result<Vec<QuectelPinCounter>, ParseError> {
    payloads(reply, "+QPINC:")
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: String| ParseError::new("+QPINC", line, why);
            if f.len() != 3 {
                return Err(bad("expected facility,pin,puk".into()));
            }
            let n = |i: usize| {
                f[i].num::<u8>()
                    .map_err(bad)?
                    .ok_or_else(|| bad("counter missing".into()))
            };
            Ok(QuectelPinCounter {
                facility: f[0].text.to_string(),
                pin_retries: n(1)?,
                puk_retries: n(2)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpin_forms() {
        // 27.007 §8.3 codes; comgt's setpin.gcom waits for exactly these strings
        // (shared/reference/openwrt-ncm.md).
        assert_eq!(cpin("+CPIN: READY"), Ok(SimLock::Ready));
        assert_eq!(cpin("+CPIN: SIM PIN\r\nOK"), Ok(SimLock::SimPin));
        assert_eq!(cpin("READY"), Ok(SimLock::Ready));
        assert_eq!(cpin("+CPIN: SIM PUK"), Ok(SimLock::SimPuk));
        assert_eq!(cpin("+CPIN: SIM PIN2"), Ok(SimLock::SimPin2));
        assert_eq!(cpin("+CPIN: PH-NET PIN"), Ok(SimLock::PhNetPin));
        assert_eq!(
            cpin("+CPIN: PH-SIM PIN"),
            Ok(SimLock::Other("PH-SIM PIN".into()))
        );
        assert!(cpin("+CPIN:").is_err());
        assert!(cpin("").is_err());
    }

    #[test]
    fn huawei_counters() {
        // Layout of Huawei's ^CPIN (ME909s/E3372 AT reference: code,times,puk,pin,puk2,pin2).
        let c = huawei_cpin("^CPIN: READY,,10,3,10,3").unwrap();
        assert_eq!(
            c,
            PinCounters {
                code: SimLock::Ready,
                times: None,
                puk_times: Some(10),
                pin_times: Some(3),
                puk2_times: Some(10),
                pin2_times: Some(3)
            }
        );
        let c = huawei_cpin("^CPIN: SIM PIN,2,10,2,10,3\r\nOK").unwrap();
        assert_eq!(
            (c.code, c.times, c.pin_times),
            (SimLock::SimPin, Some(2), Some(2))
        );
        assert!(huawei_cpin("^CPIN: READY,,10").is_err());
        assert!(huawei_cpin("^CPIN: READY,,x,3,10,3").is_err());
    }

    #[test]
    fn cpinr_and_qpinc() {
        // Constructed per 27.007 §8.65.
        let r = cpinr("+CPINR: SIM PIN,3,3\r\n+CPINR: SIM PUK,10,10\r\n+CPINR: SIM PIN2,3\r\nOK")
            .unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[1],
            PinRetries {
                code: "SIM PUK".into(),
                retries: 10,
                default_retries: Some(10)
            }
        );
        assert_eq!(r[2].default_retries, None);
        assert!(cpinr("+CPINR: SIM PIN").is_err());
        // Layout per Quectel's EC25 AT manual (AT+QPINC?).
        let q = qpinc("+QPINC: \"SC\",3,10\r\n+QPINC: \"P2\",3,10").unwrap();
        assert_eq!(
            q[0],
            QuectelPinCounter {
                facility: "SC".into(),
                pin_retries: 3,
                puk_retries: 10
            }
        );
    }
}
