//! The `postgres` driver: the connection string as lib/pq (otelcol's driver) reads it, and each column's value as
//! text, as lib/pq hands it to otelcol (a boolean as `true`, a timestamp in RFC 3339, a numeric as its digits).

use super::rows::{QueryFailure, ResultSet};
use crate::ClientTlsSettings;
use crate::receiver::postgresql::client::{Connector, describe};
use bytes::BytesMut;
use std::error::Error as StdError;
use std::path::PathBuf;
use tokio_postgres::types::{Format, IsNull, Kind, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, types::FromSql};

/// A parsed connection string.
pub(super) struct Source {
    connector: Connector,
    database: String,
}

impl Source {
    /// Reads `datasource`: `key=value` pairs (`host=db port=5432 user=otel sslmode=disable`) or a URI
    /// (`postgresql://otel:secret@db:5432/shop?sslmode=disable`). lib/pq's defaults: host `localhost`, port 5432,
    /// the database named as the user, and `sslmode=require` (encrypted, the certificate not checked).
    pub(super) fn parse(datasource: &str) -> Result<Self, String> {
        let params =
            if datasource.starts_with("postgres://") || datasource.starts_with("postgresql://") {
                uri_params(datasource)?
            } else {
                keyword_params(datasource)?
            };
        let mut host = "localhost".to_owned();
        let mut port = 5432u16;
        let (mut user, mut password, mut database) = (String::new(), String::new(), None);
        let mut sslmode = "require".to_owned();
        let mut tls = ClientTlsSettings::default();
        let mut application_name = "otlp-suite sqlquery receiver".to_owned();
        for (key, value) in params {
            match key.as_str() {
                "host" | "hostaddr" if !value.is_empty() => host = value,
                "host" | "hostaddr" => {}
                "port" if value.is_empty() => {}
                "port" => {
                    port = value
                        .parse()
                        .map_err(|_| format!("port `{value}` is not a port number"))?;
                }
                "user" => user = value,
                "password" => password = value,
                "dbname" => database = Some(value),
                "sslmode" => sslmode = value,
                "sslrootcert" => tls.ca_file = Some(PathBuf::from(value)),
                "sslcert" => tls.cert_file = Some(PathBuf::from(value)),
                "sslkey" => tls.key_file = Some(PathBuf::from(value)),
                "application_name" => application_name = value,
                // Settings of the client that change nothing here: one connection, timed by the receiver's
                // `timeout`.
                "connect_timeout"
                | "fallback_application_name"
                | "sslsni"
                | "binary_parameters"
                | "disable_prepared_binary_result"
                | "keepalives"
                | "keepalives_idle" => {}
                other => {
                    return Err(format!(
                        "`{other}` is not a connection parameter the postgres driver reads"
                    ));
                }
            }
        }
        if host.contains(',') {
            return Err(format!(
                "host `{host}` lists several hosts; give one, as lib/pq reads one"
            ));
        }
        if user.is_empty() {
            return Err("the connection string names no user (`user=…`)".to_owned());
        }
        let (encrypted, prefer) = match sslmode.as_str() {
            "disable" => (false, false),
            "allow" | "prefer" => {
                tls.insecure_skip_verify = true;
                (true, true)
            }
            // libpq's `require` checks the certificate only when given the CA that signs it.
            "require" => {
                tls.insecure_skip_verify = tls.ca_file.is_none();
                (true, false)
            }
            "verify-ca" | "verify-full" => (true, false),
            other => {
                return Err(format!(
                    "sslmode `{other}` is not disable, allow, prefer, require, verify-ca or verify-full"
                ));
            }
        };
        let unix = host.starts_with('/');
        let connector = Connector::new(&host, port, unix, &user, &password, &tls, encrypted)?;
        let connector = if prefer {
            connector.preferring_tls()
        } else {
            connector
        };
        Ok(Source {
            connector: connector.named(&application_name),
            database: database.unwrap_or(user),
        })
    }

    /// The server, for log lines.
    pub(super) fn address(&self) -> &str {
        self.connector.address()
    }

    /// A connection, logged in.
    pub(super) async fn open(&self) -> Result<Client, String> {
        self.connector.open(&self.database).await
    }
}

/// `key=value` pairs separated by spaces; a value may be quoted (`password='it''s'`, or `\'`), and `\` escapes
/// the character after it.
fn keyword_params(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(params);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "`{key}` has no `=value` (a connection string is `key=value` pairs)"
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of `{key}` has no closing quote")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        params.push((key, value));
    }
}

/// `postgresql://user:password@host:port/dbname?key=value&…`, percent-decoded.
fn uri_params(uri: &str) -> Result<Vec<(String, String)>, String> {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let mut params = Vec::new();
    let (credentials, address) = match authority.rsplit_once('@') {
        Some((credentials, address)) => (Some(credentials), address),
        None => (None, authority),
    };
    if let Some(credentials) = credentials {
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        params.push(("user".to_owned(), crate::percent::decode(user)?));
        if credentials.contains(':') {
            params.push(("password".to_owned(), crate::percent::decode(password)?));
        }
    }
    let (host, port) = if let Some(bracketed) = address.strip_prefix('[') {
        // An IPv6 address: `[::1]:5432`.
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("`{address}` opens a `[` it does not close"))?;
        (host, after.strip_prefix(':').unwrap_or(""))
    } else {
        address.split_once(':').unwrap_or((address, ""))
    };
    params.push(("host".to_owned(), crate::percent::decode(host)?));
    params.push(("port".to_owned(), port.to_owned()));
    if !database.is_empty() {
        params.push(("dbname".to_owned(), crate::percent::decode(database)?));
    }
    params.extend(crate::percent::query_pairs(query)?);
    Ok(params)
}

/// Runs `sql` with `parameter` (a logs query's tracking value) as its one parameter, or with none. Each value
/// comes back as lib/pq renders it: see [`Text`].
pub(super) async fn query(
    client: &Client,
    sql: &str,
    parameter: Option<&str>,
) -> Result<ResultSet, QueryFailure> {
    let failure = |e: tokio_postgres::Error| {
        if client.is_closed() {
            QueryFailure::Connection(describe(&e))
        } else {
            QueryFailure::Query(describe(&e))
        }
    };
    let statement = client.prepare(sql).await.map_err(failure)?;
    let parameter = parameter.map(Parameter);
    let params: Vec<&(dyn ToSql + Sync)> = match (&parameter, statement.params().len()) {
        (None, 0) => Vec::new(),
        (Some(parameter), 1) => vec![parameter],
        (Some(_), n) => {
            return Err(QueryFailure::Query(format!(
                "the statement takes {n} parameters; with `tracking_column` it takes exactly one ($1), \
                 the last row's value"
            )));
        }
        (None, n) => {
            return Err(QueryFailure::Query(format!(
                "the statement takes {n} parameters; only a logs query with `tracking_column` passes one"
            )));
        }
    };
    let rows = client.query(&statement, &params).await.map_err(failure)?;
    let columns: Vec<String> = statement
        .columns()
        .iter()
        .map(|column| column.name().to_owned())
        .collect();
    let mut values = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut cells = Vec::with_capacity(columns.len());
        for (i, name) in columns.iter().enumerate() {
            let cell: Option<Text> = row.try_get(i).map_err(|e| {
                QueryFailure::Query(format!(
                    "column `{name}`: {}",
                    e.source()
                        .map_or_else(|| e.to_string(), ToString::to_string)
                ))
            })?;
            cells.push(cell.map(|text| text.0));
        }
        values.push(cells);
    }
    Ok(ResultSet::new(columns, values))
}

/// The tracking value, sent as text for the server to read as the parameter's type (an `int8`, a `timestamptz`),
/// as lib/pq sends a string.
#[derive(Debug)]
struct Parameter<'a>(&'a str);

impl ToSql for Parameter<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// A value as lib/pq renders it to otelcol: integers and floats as numbers, `true`/`false`, a numeric as its
/// digits, timestamps and dates in RFC 3339 (UTC), a UUID hyphenated, text and JSON as they are, bytes as bytes.
/// Other types are refused with the cast that reads them.
struct Text(String);

impl<'a> FromSql<'a> for Text {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        text(ty, raw).map(Text)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn text(ty: &Type, raw: &[u8]) -> Result<String, Box<dyn StdError + Sync + Send>> {
    let utf8 = |raw: &[u8]| String::from_utf8_lossy(raw).into_owned();
    Ok(match *ty {
        Type::BOOL => bool::from_sql(ty, raw)?.to_string(),
        Type::INT2 => i16::from_sql(ty, raw)?.to_string(),
        Type::INT4 => i32::from_sql(ty, raw)?.to_string(),
        Type::INT8 => i64::from_sql(ty, raw)?.to_string(),
        Type::OID => u32::from_sql(ty, raw)?.to_string(),
        Type::FLOAT4 => float(
            f64::from(f32::from_sql(ty, raw)?),
            f32::from_sql(ty, raw)?.to_string(),
        ),
        Type::FLOAT8 => {
            let value = f64::from_sql(ty, raw)?;
            float(value, value.to_string())
        }
        Type::NUMERIC => numeric(raw)?,
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::UNKNOWN
        | Type::JSON
        | Type::XML
        | Type::BYTEA => utf8(raw),
        // jsonb's binary form is a version byte, then the text.
        Type::JSONB => utf8(raw.get(1..).unwrap_or_default()),
        Type::CHAR => utf8(raw),
        Type::UUID => {
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            if hex.len() != 32 {
                return Err("a uuid is 16 bytes".into());
            }
            format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            )
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => timestamp(i64::from_sql(&Type::INT8, raw)?)?,
        Type::DATE => date(i32::from_sql(&Type::INT4, raw)?)?,
        _ => match ty.kind() {
            // Labels and extension text types (`citext`) are sent as their text.
            Kind::Enum(_) => utf8(raw),
            Kind::Simple if ty.name() == "citext" => utf8(raw),
            Kind::Domain(base) => text(base, raw)?,
            Kind::Array(element) => {
                return Err(format!(
                    "its type, {}[], is not read here; cast it in the query (`::text`)",
                    element.name()
                )
                .into());
            }
            _ => {
                return Err(format!(
                    "its type, {}, is not read here; cast it in the query (`::text`)",
                    ty.name()
                )
                .into());
            }
        },
    })
}

/// Go's names for the floats that are not numbers.
fn float(value: f64, shown: String) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        shown
    }
}

/// Microseconds since 2000-01-01 UTC, in RFC 3339 with as many fraction digits as it needs.
fn timestamp(micros: i64) -> Result<String, Box<dyn StdError + Sync + Send>> {
    match micros {
        i64::MAX => return Ok("infinity".to_owned()),
        i64::MIN => return Ok("-infinity".to_owned()),
        _ => {}
    }
    let since_2000 = jiff::SignedDuration::from_micros(micros);
    let instant = jiff::Timestamp::from_second(POSTGRES_EPOCH)?.checked_add(since_2000)?;
    Ok(instant.to_string())
}

/// Days since 2000-01-01, as the midnight (UTC) lib/pq makes of a date.
fn date(days: i32) -> Result<String, Box<dyn StdError + Sync + Send>> {
    match days {
        i32::MAX => return Ok("infinity".to_owned()),
        i32::MIN => return Ok("-infinity".to_owned()),
        _ => {}
    }
    timestamp(i64::from(days) * 86_400_000_000)
}

/// 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix seconds.
const POSTGRES_EPOCH: i64 = 946_684_800;

/// A numeric's binary form (digit count, weight of the first digit, sign, scale, then base-10000 digits) as its
/// decimal text, to its scale.
fn numeric(raw: &[u8]) -> Result<String, Box<dyn StdError + Sync + Send>> {
    let word = |i: usize| -> Result<i32, Box<dyn StdError + Sync + Send>> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| i32::from(i16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| "a numeric shorter than its header says".into())
    };
    let (count, weight, sign, scale) = (word(0)?, word(1)?, word(2)? as u16, word(3)? as u16);
    match sign {
        0xC000 => return Ok("NaN".to_owned()),
        0xD000 => return Ok("Infinity".to_owned()),
        0xF000 => return Ok("-Infinity".to_owned()),
        _ => {}
    }
    let digit = |i: i32| -> Result<i32, Box<dyn StdError + Sync + Send>> {
        if (0..count).contains(&i) {
            word(4 + i as usize)
        } else {
            Ok(0)
        }
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let d = digit(i)?;
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if scale > 0 {
        out.push('.');
        let mut fraction = String::new();
        let mut i = weight + 1;
        while fraction.len() < usize::from(scale) {
            fraction.push_str(&format!("{:04}", digit(i)?));
            i += 1;
        }
        fraction.truncate(usize::from(scale));
        out.push_str(&fraction);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_strings_read_quotes_escapes_and_spaces_around_equals() {
        let params =
            keyword_params(r"host=db port = 5433 password='it\'s a secret' dbname=a\ b").unwrap();
        assert_eq!(
            params,
            [
                ("host", "db"),
                ("port", "5433"),
                ("password", "it's a secret"),
                ("dbname", "a b")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert!(
            keyword_params("host")
                .unwrap_err()
                .contains("`host` has no `=value`")
        );
        assert!(
            keyword_params("password='open")
                .unwrap_err()
                .contains("closing quote")
        );
    }

    #[test]
    fn uris_give_user_password_host_port_database_and_parameters_decoded() {
        let params =
            uri_params("postgresql://otel:p%40ss@[::1]:5433/my%20db?sslmode=disable").unwrap();
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("user"), Some("otel"));
        assert_eq!(get("password"), Some("p@ss"));
        assert_eq!(get("host"), Some("::1"));
        assert_eq!(get("port"), Some("5433"));
        assert_eq!(get("dbname"), Some("my db"));
        assert_eq!(get("sslmode"), Some("disable"));
        assert!(crate::percent::decode("100%").is_err());
    }

    #[test]
    fn connection_strings_are_checked_before_any_connection() {
        let error = |text: &str| Source::parse(text).err().unwrap();
        assert!(error("host=db").contains("names no user"));
        assert!(error("user=a sslmode=sometimes").contains("sslmode `sometimes`"));
        assert!(
            error("user=a search_path=x").contains("`search_path` is not a connection parameter")
        );
        assert!(error("user=a port=99999").contains("is not a port number"));
        assert!(error("user=a host=a,b").contains("several hosts"));
        let source = Source::parse("user=otel host=/run/postgresql sslmode=disable").unwrap();
        assert_eq!(source.address(), "/run/postgresql/.s.PGSQL.5432");
        assert_eq!(source.database, "otel");
    }

    #[test]
    fn numerics_keep_their_scale() {
        fn encode(count: i16, weight: i16, sign: u16, scale: u16, digits: &[i16]) -> Vec<u8> {
            let mut raw = Vec::new();
            for word in [count, weight, sign as i16, scale as i16]
                .iter()
                .chain(digits)
            {
                raw.extend_from_slice(&word.to_be_bytes());
            }
            raw
        }
        // 12345.678
        assert_eq!(
            numeric(&encode(3, 1, 0, 3, &[1, 2345, 6780])).unwrap(),
            "12345.678"
        );
        // -0.0042
        assert_eq!(
            numeric(&encode(1, -1, 0x4000, 4, &[42])).unwrap(),
            "-0.0042"
        );
        // 100000000 (trailing zero groups are left out of the digits)
        assert_eq!(numeric(&encode(1, 2, 0, 0, &[1])).unwrap(), "100000000");
        // 0.50 with scale 2
        assert_eq!(numeric(&encode(1, -1, 0, 2, &[5000])).unwrap(), "0.50");
        assert_eq!(numeric(&encode(0, 0, 0xC000, 0, &[])).unwrap(), "NaN");
        assert!(numeric(&[0, 1]).is_err());
    }

    #[test]
    fn times_are_rfc3339_utc_trimmed() {
        assert_eq!(timestamp(0).unwrap(), "2000-01-01T00:00:00Z");
        assert_eq!(timestamp(1_500_000).unwrap(), "2000-01-01T00:00:01.5Z");
        assert_eq!(date(-1).unwrap(), "1999-12-31T00:00:00Z");
        assert_eq!(timestamp(i64::MAX).unwrap(), "infinity");
    }
}
