//! SNMP v1 and v2c messages in BER (RFC 1157, RFC 3416): the requests the receiver sends (`GetRequest`,
//! `GetNextRequest`, `GetBulkRequest`) and the `Response` it reads, with the value types agents answer with.

use std::fmt;

/// An object identifier, as its arcs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Oid(pub(super) Vec<u32>);

impl Oid {
    /// Dotted arcs (`1.3.6.1.2.1.1.3.0`), a leading dot allowed as net-snmp prints them.
    pub(super) fn parse(text: &str) -> Result<Oid, String> {
        let arcs = text
            .trim()
            .trim_start_matches('.')
            .split('.')
            .map(|arc| arc.parse::<u32>())
            .collect::<Result<Vec<u32>, _>>()
            .map_err(|_| format!("`{text}` is not an OID of dotted numbers"))?;
        if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
            return Err(format!(
                "`{text}` is not an OID: it needs two arcs or more, the first 0, 1 or 2"
            ));
        }
        Ok(Oid(arcs))
    }

    /// Whether `self` is below `column` (a row of that column).
    pub(super) fn is_below(&self, column: &Oid) -> bool {
        self.0.len() > column.0.len() && self.0.starts_with(&column.0)
    }

    /// The arcs after `column`'s, as otelcol writes a row's index: `.1`, `.3.127.0.0.1`.
    pub(super) fn index_after(&self, column: &Oid) -> String {
        self.0[column.0.len().min(self.0.len())..]
            .iter()
            .map(|arc| format!(".{arc}"))
            .collect()
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arcs: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&arcs.join("."))
    }
}

/// A variable's value, as an agent answers it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Integer(i64),
    /// Counter32, Gauge32, TimeTicks, Counter64.
    Unsigned(u64),
    /// Opaque-wrapped float or double (net-snmp's extension).
    Float(f64),
    Text(Vec<u8>),
    Oid(Oid),
    IpAddress([u8; 4]),
    Null,
    /// noSuchObject, noSuchInstance: the agent has no such variable.
    NoSuch,
    EndOfMibView,
    /// A type this receiver does not read (Opaque holding anything else, NsapAddress…).
    Other(u8),
}

/// Which request a PDU is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request {
    Get,
    GetNext,
    /// v2c's: `max_repetitions` rows after each OID.
    GetBulk {
        max_repetitions: u32,
    },
}

/// The protocol version, as its number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    V1 = 0,
    V2c = 1,
}

/// A `Response`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Response {
    pub(super) request_id: i32,
    pub(super) error_status: i64,
    /// 1-based index of the variable the error is about.
    pub(super) error_index: i64,
    pub(super) bindings: Vec<(Oid, Value)>,
}

fn push_length(out: &mut Vec<u8>, length: usize) {
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    push_length(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

pub(super) fn integer(value: i64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    // The shortest two's complement: drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

fn oid_bytes(oid: &Oid) -> Vec<u8> {
    let arcs = &oid.0;
    let mut content = Vec::new();
    let mut push_arc = |mut arc: u32| {
        let mut digits = vec![(arc & 0x7f) as u8];
        arc >>= 7;
        while arc > 0 {
            digits.push(0x80 | (arc & 0x7f) as u8);
            arc >>= 7;
        }
        content.extend(digits.iter().rev());
    };
    push_arc(arcs[0] * 40 + arcs.get(1).copied().unwrap_or(0));
    for &arc in arcs.iter().skip(2) {
        push_arc(arc);
    }
    tlv(0x06, &content)
}

/// A request PDU for `oids`.
pub(super) fn pdu(kind: Request, request_id: i32, oids: &[Oid]) -> Vec<u8> {
    let mut bindings = Vec::new();
    for oid in oids {
        let mut binding = oid_bytes(oid);
        binding.extend_from_slice(&[0x05, 0x00]);
        bindings.extend(tlv(0x30, &binding));
    }
    let (tag, second, third) = match kind {
        Request::Get => (0xa0, 0, 0),
        Request::GetNext => (0xa1, 0, 0),
        Request::GetBulk { max_repetitions } => (0xa5, 0, i64::from(max_repetitions)),
    };
    let mut pdu = integer(i64::from(request_id));
    pdu.extend(integer(second));
    pdu.extend(integer(third));
    pdu.extend(tlv(0x30, &bindings));
    tlv(tag, &pdu)
}

/// A v1 or v2c request message for `oids`.
pub(super) fn request(
    version: Version,
    community: &str,
    kind: Request,
    request_id: i32,
    oids: &[Oid],
) -> Vec<u8> {
    let mut message = integer(version as i64);
    message.extend(tlv(0x04, community.as_bytes()));
    message.extend(pdu(kind, request_id, oids));
    tlv(0x30, &message)
}

/// Reads BER from a byte slice.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// Whether every element was read.
    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next element's tag and content.
    pub(super) fn next(&mut self) -> Result<(u8, &'a [u8]), String> {
        let (&tag, rest) = self.bytes.split_first().ok_or("the message ends early")?;
        let (&first, mut rest) = rest.split_first().ok_or("the message ends early")?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err("a length is not one this reader takes".to_owned());
            }
            let length = rest[..count]
                .iter()
                .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
            rest = &rest[count..];
            length
        };
        if rest.len() < length {
            return Err(format!(
                "an element of {length} bytes where {} are left",
                rest.len()
            ));
        }
        let (content, rest) = rest.split_at(length);
        self.bytes = rest;
        Ok((tag, content))
    }

    pub(super) fn tagged(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        let (found, content) = self.next()?;
        if found != tag {
            return Err(format!(
                "{what}: tag 0x{found:02x} where 0x{tag:02x} was expected"
            ));
        }
        Ok(content)
    }

    pub(super) fn integer(&mut self, what: &str) -> Result<i64, String> {
        signed(self.tagged(0x02, what)?)
    }
}

fn signed(content: &[u8]) -> Result<i64, String> {
    if content.is_empty() || content.len() > 8 {
        return Err(format!("an integer of {} bytes", content.len()));
    }
    let negative = content[0] & 0x80 != 0;
    Ok(content
        .iter()
        .fold(if negative { -1i64 } else { 0 }, |value, byte| {
            (value << 8) | i64::from(*byte)
        }))
}

fn unsigned(content: &[u8]) -> Result<u64, String> {
    let content = match content {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    };
    if content.is_empty() || content.len() > 8 {
        return Err(format!("an unsigned number of {} bytes", content.len()));
    }
    Ok(content
        .iter()
        .fold(0u64, |value, byte| (value << 8) | u64::from(*byte)))
}

fn oid(content: &[u8]) -> Result<Oid, String> {
    let mut arcs = Vec::new();
    let mut arc: u64 = 0;
    for &byte in content {
        arc = (arc << 7) | u64::from(byte & 0x7f);
        if arc > u64::from(u32::MAX) {
            return Err("an OID arc beyond 32 bits".to_owned());
        }
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (arc / 40).min(2);
                arcs.push(first as u32);
                arcs.push((arc - first * 40) as u32);
            } else {
                arcs.push(arc as u32);
            }
            arc = 0;
        }
    }
    if arcs.is_empty() {
        return Err("an empty OID".to_owned());
    }
    Ok(Oid(arcs))
}

fn value(tag: u8, content: &[u8]) -> Result<Value, String> {
    Ok(match tag {
        0x02 => Value::Integer(signed(content)?),
        0x04 => Value::Text(content.to_vec()),
        0x05 => Value::Null,
        0x06 => Value::Oid(oid(content)?),
        0x40 => match <[u8; 4]>::try_from(content) {
            Ok(address) => Value::IpAddress(address),
            Err(_) => Value::Other(tag),
        },
        0x41 | 0x42 | 0x43 | 0x46 | 0x47 => Value::Unsigned(unsigned(content)?),
        0x44 => opaque(content).unwrap_or(Value::Other(tag)),
        0x80 | 0x81 => Value::NoSuch,
        0x82 => Value::EndOfMibView,
        other => Value::Other(other),
    })
}

/// net-snmp's floats in Opaque: an inner element tagged 0x9f 0x78 (float) or 0x9f 0x79 (double).
fn opaque(content: &[u8]) -> Option<Value> {
    match content {
        [0x9f, 0x78, 4, bytes @ ..] => Some(Value::Float(f64::from(f32::from_be_bytes(
            bytes.try_into().ok()?,
        )))),
        [0x9f, 0x79, 8, bytes @ ..] => {
            Some(Value::Float(f64::from_be_bytes(bytes.try_into().ok()?)))
        }
        _ => None,
    }
}

/// Reads a v1 or v2c `Response` message.
pub(super) fn response(message: &[u8]) -> Result<Response, String> {
    let mut outer = Reader::new(message);
    let mut message = Reader::new(outer.tagged(0x30, "the message")?);
    message.integer("the version")?;
    message.tagged(0x04, "the community")?;
    let (tag, pdu) = message.next()?;
    if tag != RESPONSE {
        return Err(format!(
            "a PDU tagged 0x{tag:02x} where a Response was expected"
        ));
    }
    read_pdu(pdu)
}

/// A `Response` PDU's tag; a `Report`'s (SNMPv3's) is [`REPORT`].
pub(super) const RESPONSE: u8 = 0xa2;
/// SNMPv3's `Report` PDU.
pub(super) const REPORT: u8 = 0xa8;

/// Reads the content of a `Response` or `Report` PDU.
pub(super) fn read_pdu(content: &[u8]) -> Result<Response, String> {
    let mut pdu = Reader::new(content);
    let request_id = pdu.integer("the request id")?;
    let error_status = pdu.integer("the error status")?;
    let error_index = pdu.integer("the error index")?;
    let mut list = Reader::new(pdu.tagged(0x30, "the variable bindings")?);
    let mut bindings = Vec::new();
    while !list.is_empty() {
        let mut binding = Reader::new(list.tagged(0x30, "a variable binding")?);
        let name = oid(binding.tagged(0x06, "a variable's name")?)?;
        let (tag, content) = binding.next()?;
        bindings.push((name, value(tag, content)?));
    }
    Ok(Response {
        request_id: i32::try_from(request_id).map_err(|_| "a request id beyond 32 bits")?,
        error_status,
        error_index,
        bindings,
    })
}

/// The length of the whole message whose first bytes are `head` (a tag and its length), if they say it: how SNMP
/// over TCP (RFC 3430) frames messages.
pub(super) fn message_length(head: &[u8]) -> Option<usize> {
    let first = *head.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let count = usize::from(first & 0x7f);
    if count > 4 {
        return None;
    }
    let bytes = head.get(2..2 + count)?;
    Some(
        2 + count
            + bytes
                .iter()
                .fold(0usize, |length, byte| (length << 8) | usize::from(*byte)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_encoded_as_net_snmp_encodes_them() {
        // `snmpget -v2c -c public host 1.3.6.1.2.1.1.3.0` with request id 0x1234.
        let sent = request(
            Version::V2c,
            "public",
            Request::Get,
            0x1234,
            &[Oid::parse("1.3.6.1.2.1.1.3.0").unwrap()],
        );
        let expected: Vec<u8> = vec![
            0x30, 0x27, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0,
            0x1a, 0x02, 0x02, 0x12, 0x34, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30,
            0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x05, 0x00,
        ];
        assert_eq!(sent, expected);
        assert_eq!(message_length(&sent), Some(sent.len()));
    }

    #[test]
    fn responses_of_every_type_are_read() {
        let binding = |oid: &str, tag: u8, content: &[u8]| {
            let mut b = oid_bytes(&Oid::parse(oid).unwrap());
            b.extend(tlv(tag, content));
            tlv(0x30, &b)
        };
        let mut bindings = Vec::new();
        bindings.extend(binding("1.3.6.1.2.1.1.3.0", 0x43, &[0x00, 0x9a, 0x7e]));
        bindings.extend(binding("1.3.6.1.2.1.1.5.0", 0x04, b"router"));
        bindings.extend(binding(
            "1.3.6.1.2.1.2.2.1.5.1",
            0x42,
            &[0x00, 0xff, 0xff, 0xff, 0xff],
        ));
        bindings.extend(binding(
            "1.3.6.1.4.1.2021.10.1.6.1",
            0x44,
            &[0x9f, 0x78, 0x04, 0x3f, 0xc0, 0, 0],
        ));
        bindings.extend(binding("1.3.6.1.2.1.1.9.0", 0x02, &[0xff, 0x38]));
        bindings.extend(binding("1.3.6.1.2.1.1.10.0", 0x81, &[]));
        bindings.extend(binding(
            "1.3.6.1.2.1.4.20.1.1.127.0.0.1",
            0x40,
            &[127, 0, 0, 1],
        ));
        let mut pdu = integer(77);
        pdu.extend(integer(0));
        pdu.extend(integer(0));
        pdu.extend(tlv(0x30, &bindings));
        let mut message = integer(1);
        message.extend(tlv(0x04, b"public"));
        message.extend(tlv(0xa2, &pdu));
        let read = response(&tlv(0x30, &message)).unwrap();
        assert_eq!(read.request_id, 77);
        let values: Vec<&Value> = read.bindings.iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                &Value::Unsigned(39550),
                &Value::Text(b"router".to_vec()),
                &Value::Unsigned(4_294_967_295),
                &Value::Float(1.5),
                &Value::Integer(-200),
                &Value::NoSuch,
                &Value::IpAddress([127, 0, 0, 1]),
            ]
        );
        assert_eq!(
            read.bindings[6].0.to_string(),
            "1.3.6.1.2.1.4.20.1.1.127.0.0.1"
        );
        assert!(response(&[0x30, 0x05, 0x02]).is_err());
    }

    #[test]
    fn damaged_messages_are_errors_not_panics() {
        let mut binding = oid_bytes(&Oid::parse("1.3.6.1.2.1.2.2.1.10.1").unwrap());
        binding.extend(tlv(
            0x46,
            &[0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
        ));
        let mut pdu = integer(5);
        pdu.extend(integer(0));
        pdu.extend(integer(0));
        pdu.extend(tlv(0x30, &tlv(0x30, &binding)));
        let mut message = integer(1);
        message.extend(tlv(0x04, b"public"));
        message.extend(tlv(0xa2, &pdu));
        let good = tlv(0x30, &message);
        assert!(response(&good).is_ok());
        for cut in 0..good.len() {
            assert!(response(&good[..cut]).is_err(), "cut at {cut}");
            let _ = message_length(&good[..cut]);
        }
        for at in 0..good.len() {
            for byte in [0x00, 0x01, 0x7f, 0x80, 0x84, 0xff] {
                let mut damaged = good.clone();
                damaged[at] = byte;
                let _ = response(&damaged);
                let _ = message_length(&damaged);
            }
        }
    }

    #[test]
    fn oids_and_row_indexes() {
        let column = Oid::parse(".1.3.6.1.2.1.2.2.1.2").unwrap();
        let row = Oid::parse("1.3.6.1.2.1.2.2.1.2.10").unwrap();
        assert!(row.is_below(&column) && !column.is_below(&column));
        assert_eq!(row.index_after(&column), ".10");
        assert!(
            Oid::parse("1.3.x").is_err() && Oid::parse("7.1").is_err() && Oid::parse("1").is_err()
        );
        let big = Oid::parse("1.3.6.1.4.1.4294967295.200").unwrap();
        assert_eq!(oid(&oid_bytes(&big)[2..]).unwrap(), big);
        for value in [0i64, 127, 128, -1, -128, -129, 1 << 40, i64::MIN] {
            assert_eq!(signed(&integer(value)[2..]).unwrap(), value, "{value}");
        }
    }
}
