//! SNMPv3 messages (RFC 3412) under the user-based security model (`usm.rs`): the agent's engine learned by
//! discovery (a request it answers with a `Report` carrying its id, boots and time), requests authenticated and
//! encrypted for it, and its answers checked and decrypted.

use super::ber::{self, Oid, REPORT, RESPONSE, Reader, Response};
use super::usm::{Auth, Privacy};
use std::time::Instant;

/// The largest message this end takes (`msgMaxSize`).
const MAX_SIZE: i64 = 65_507;
/// `msgFlags`' bits.
const AUTHENTICATED: u8 = 0x01;
const ENCRYPTED: u8 = 0x02;
const REPORTABLE: u8 = 0x04;
/// The user-based security model's number.
const USM: i64 = 3;

/// What an agent's `Report` says (RFC 3414's `usmStats*` counters), as the OID it names.
pub(super) fn report_reason(oid: &Oid) -> String {
    let reason = match oid.to_string().as_str() {
        "1.3.6.1.6.3.15.1.1.1.0" => "the security level is not one the user may use",
        "1.3.6.1.6.3.15.1.1.2.0" => "the request was outside the engine's time window",
        "1.3.6.1.6.3.15.1.1.3.0" => "the agent has no such user",
        "1.3.6.1.6.3.15.1.1.4.0" => "the agent's engine id was not known",
        "1.3.6.1.6.3.15.1.1.5.0" => {
            "wrong digest: the authentication password or type is not the user's"
        }
        "1.3.6.1.6.3.15.1.1.6.0" => {
            "the agent could not decrypt: the privacy password or type is not the user's"
        }
        other => return format!("the agent reported {other}"),
    };
    reason.to_owned()
}

/// Whether a report only means the engine's id or time was stale, which the report itself corrects.
pub(super) fn is_resync(oid: &Oid) -> bool {
    matches!(
        oid.to_string().as_str(),
        "1.3.6.1.6.3.15.1.1.2.0" | "1.3.6.1.6.3.15.1.1.4.0"
    )
}

/// The agent's engine, as last learned.
struct Engine {
    id: Vec<u8>,
    boots: u32,
    time: u32,
    learned: Instant,
    auth_key: Vec<u8>,
    privacy_key: Vec<u8>,
}

/// A user's security settings and the agent's engine.
pub(super) struct UserSecurity {
    user: String,
    auth: Option<(Auth, String)>,
    privacy: Option<(Privacy, String)>,
    engine: Option<Engine>,
    salt: u64,
}

/// An answer: the agent's `Response`, or a `Report` naming what went wrong.
pub(super) enum Incoming {
    Response(Response),
    Report(Oid),
}

/// An SNMPv3 message's parts, as read.
struct Parts<'a> {
    id: i32,
    flags: u8,
    engine_id: &'a [u8],
    boots: u32,
    time: u32,
    /// Where the authentication parameters are in the message, and they.
    auth_at: usize,
    auth: &'a [u8],
    salt: &'a [u8],
    data: (u8, &'a [u8]),
}

/// Where `part` starts in `whole`, of which it is a slice.
fn offset(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

fn read_parts(message: &[u8]) -> Result<Parts<'_>, String> {
    let mut outer = Reader::new(message);
    let mut reader = Reader::new(outer.tagged(0x30, "the message")?);
    let version = reader.integer("the version")?;
    if version != 3 {
        return Err(format!("an SNMP version {version} message"));
    }
    let mut global = Reader::new(reader.tagged(0x30, "the header")?);
    let id = i32::try_from(global.integer("the message id")?)
        .map_err(|_| "a message id beyond 32 bits")?;
    global.integer("the largest size")?;
    let flags = *global
        .tagged(0x04, "the flags")?
        .first()
        .ok_or("empty flags")?;
    let model = global.integer("the security model")?;
    if model != USM {
        return Err(format!("security model {model}, not the user-based one"));
    }
    let mut security = Reader::new(reader.tagged(0x04, "the security parameters")?);
    let mut usm = Reader::new(security.tagged(0x30, "the security parameters")?);
    let engine_id = usm.tagged(0x04, "the engine id")?;
    let boots = u32::try_from(usm.integer("the engine boots")?)
        .map_err(|_| "engine boots beyond 32 bits")?;
    let time =
        u32::try_from(usm.integer("the engine time")?).map_err(|_| "engine time beyond 32 bits")?;
    usm.tagged(0x04, "the user name")?;
    let auth = usm.tagged(0x04, "the authentication parameters")?;
    let salt = usm.tagged(0x04, "the privacy parameters")?;
    let data = reader.next()?;
    Ok(Parts {
        id,
        flags,
        engine_id,
        boots,
        time,
        auth_at: offset(message, auth),
        auth,
        salt,
        data,
    })
}

impl UserSecurity {
    pub(super) fn new(
        user: String,
        auth: Option<(Auth, String)>,
        privacy: Option<(Privacy, String)>,
    ) -> Self {
        UserSecurity {
            user,
            auth,
            privacy,
            engine: None,
            salt: rand::random(),
        }
    }

    /// Whether the agent's engine is known (else [`UserSecurity::discovery`] comes first).
    pub(super) fn knows_engine(&self) -> bool {
        self.engine.is_some()
    }

    /// The message that makes the agent tell its engine: no user, no security, an empty `GET`.
    pub(super) fn discovery(&self, id: i32) -> Vec<u8> {
        let header = Header {
            id,
            flags: REPORTABLE,
            engine_id: &[],
            boots: 0,
            time: 0,
            user: "",
            auth: &[],
            salt: &[],
        };
        message(&header, &scoped(&[], &ber::pdu(ber::Request::Get, id, &[])))
    }

    /// `pdu` (with request id `id`) as a message for the agent's engine, authenticated and encrypted as the
    /// user's settings say.
    pub(super) fn request(&mut self, id: i32, pdu: &[u8]) -> Result<Vec<u8>, String> {
        let engine = self
            .engine
            .as_ref()
            .ok_or("the agent's engine is not known yet")?;
        let time = engine
            .time
            .saturating_add(u32::try_from(engine.learned.elapsed().as_secs()).unwrap_or(u32::MAX));
        let plain = scoped(&engine.id, pdu);
        let mut flags = REPORTABLE;
        let (data, salt) = match &self.privacy {
            Some((privacy, _)) => {
                flags |= ENCRYPTED;
                self.salt = self.salt.wrapping_add(1);
                let (encrypted, salt) =
                    privacy.encrypt(&engine.privacy_key, engine.boots, time, self.salt, &plain)?;
                (ber::tlv(0x04, &encrypted), salt)
            }
            None => (plain, Vec::new()),
        };
        let placeholder = match &self.auth {
            Some((auth, _)) => {
                flags |= AUTHENTICATED;
                vec![0u8; auth.mac_length()]
            }
            None => Vec::new(),
        };
        let header = Header {
            id,
            flags,
            engine_id: &engine.id,
            boots: engine.boots,
            time,
            user: &self.user,
            auth: &placeholder,
            salt: &salt,
        };
        let mut whole = message(&header, &data);
        if let Some((auth, _)) = &self.auth {
            let mac = auth.mac(&engine.auth_key, &whole);
            let at = read_parts(&whole)?.auth_at;
            whole[at..at + mac.len()].copy_from_slice(&mac);
        }
        Ok(whole)
    }

    /// Reads an answer: its message id and what it says. A report that carries the engine's id, boots or time
    /// updates them (and makes the keys, the first time).
    pub(super) fn read(&mut self, message: &[u8]) -> Result<(i32, Incoming), String> {
        let parts = read_parts(message)?;
        if parts.flags & AUTHENTICATED != 0 {
            let (Some((auth, _)), Some(engine)) = (&self.auth, &self.engine) else {
                return Err("an authenticated answer to a user without authentication".to_owned());
            };
            let mut zeroed = message.to_vec();
            zeroed[parts.auth_at..parts.auth_at + parts.auth.len()].fill(0);
            if auth.mac(&engine.auth_key, &zeroed) != parts.auth {
                return Err("the answer's digest is wrong: it is not from the agent, or the passwords differ".to_owned());
            }
        }
        let plain;
        let scoped_pdu = match parts.data {
            (0x04, encrypted) => {
                let (Some((privacy, _)), Some(engine)) = (&self.privacy, &self.engine) else {
                    return Err("an encrypted answer to a user without privacy".to_owned());
                };
                plain = privacy.decrypt(
                    &engine.privacy_key,
                    parts.boots,
                    parts.time,
                    parts.salt,
                    encrypted,
                )?;
                let mut outer = Reader::new(&plain);
                outer.tagged(0x30, "the decrypted PDU")?
            }
            (0x30, scoped) => scoped,
            (tag, _) => return Err(format!("message data tagged 0x{tag:02x}")),
        };
        let mut scoped = Reader::new(scoped_pdu);
        scoped.tagged(0x04, "the context engine id")?;
        scoped.tagged(0x04, "the context name")?;
        let (tag, pdu) = scoped.next()?;
        let response = ber::read_pdu(pdu)?;
        match tag {
            RESPONSE => Ok((parts.id, Incoming::Response(response))),
            REPORT => {
                let oid = response
                    .bindings
                    .first()
                    .map(|(oid, _)| oid.clone())
                    .ok_or("a report naming nothing")?;
                if is_resync(&oid) && !parts.engine_id.is_empty() {
                    self.learn(parts.engine_id, parts.boots, parts.time);
                }
                Ok((parts.id, Incoming::Report(oid)))
            }
            other => Err(format!("a PDU tagged 0x{other:02x}")),
        }
    }

    fn learn(&mut self, id: &[u8], boots: u32, time: u32) {
        let same = self.engine.as_ref().is_some_and(|engine| engine.id == id);
        if same {
            if let Some(engine) = &mut self.engine {
                engine.boots = boots;
                engine.time = time;
                engine.learned = Instant::now();
            }
            return;
        }
        // Keys are localized to the engine: made again only when it changes (a megabyte hashed per key).
        let auth_key = self
            .auth
            .as_ref()
            .map(|(auth, password)| auth.localized_key(password, id))
            .unwrap_or_default();
        let privacy_key = match (&self.auth, &self.privacy) {
            (Some((auth, _)), Some((_, password))) => auth.localized_key(password, id),
            _ => Vec::new(),
        };
        self.engine = Some(Engine {
            id: id.to_vec(),
            boots,
            time,
            learned: Instant::now(),
            auth_key,
            privacy_key,
        });
    }
}

fn scoped(engine_id: &[u8], pdu: &[u8]) -> Vec<u8> {
    let mut content = ber::tlv(0x04, engine_id);
    content.extend(ber::tlv(0x04, b""));
    content.extend_from_slice(pdu);
    ber::tlv(0x30, &content)
}

/// A message's header and security parameters.
struct Header<'a> {
    id: i32,
    flags: u8,
    engine_id: &'a [u8],
    boots: u32,
    time: u32,
    user: &'a str,
    auth: &'a [u8],
    salt: &'a [u8],
}

fn message(header: &Header<'_>, data: &[u8]) -> Vec<u8> {
    let mut global = ber::integer(i64::from(header.id));
    global.extend(ber::integer(MAX_SIZE));
    global.extend(ber::tlv(0x04, &[header.flags]));
    global.extend(ber::integer(USM));
    let mut usm = ber::tlv(0x04, header.engine_id);
    usm.extend(ber::integer(i64::from(header.boots)));
    usm.extend(ber::integer(i64::from(header.time)));
    usm.extend(ber::tlv(0x04, header.user.as_bytes()));
    usm.extend(ber::tlv(0x04, header.auth));
    usm.extend(ber::tlv(0x04, header.salt));
    let mut content = ber::integer(3);
    content.extend(ber::tlv(0x30, &global));
    content.extend(ber::tlv(0x04, &ber::tlv(0x30, &usm)));
    content.extend_from_slice(data);
    ber::tlv(0x30, &content)
}
