//! The `mysql` driver: the connection string as go-sql-driver/mysql (otelcol's driver) reads it, and each column's
//! value as text, as that driver hands it to otelcol (the server's text, or with `parseTime=true` a date or
//! time in RFC 3339).

use super::rows::{QueryFailure, ResultSet};
use crate::ClientTlsSettings;
use crate::receiver::mysql::queries::describe;
use crate::receiver::mysql::ssl_options;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Opts, OptsBuilder, Row, Value};

/// A parsed connection string.
pub(super) struct Source {
    opts: Opts,
    address: String,
    /// With `parseTime=true`, dates and times in RFC 3339 in this zone (`loc`).
    parse_time: Option<jiff::tz::TimeZone>,
}

impl Source {
    /// Reads `[user[:password]@][tcp[(host:port)]|unix(path)]/[database][?key=value&…]`. Parameters the driver
    /// takes as its own are read (`tls`, `parseTime`, `loc`) or have nothing to change here (`timeout`,
    /// `charset`, …); any other is a session variable, set on each connection as the driver sets it
    /// (`sql_mode=%27ANSI%27` runs `SET sql_mode='ANSI'`).
    pub(super) fn parse(datasource: &str) -> Result<Self, String> {
        let (before, after) = datasource.rsplit_once('/').ok_or_else(|| {
            "the connection string has no `/` before the database (`user:password@tcp(host:3306)/database`)"
                .to_owned()
        })?;
        let (database, query) = after.split_once('?').unwrap_or((after, ""));
        let (credentials, address) = before.rsplit_once('@').unwrap_or(("", before));
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        let (network, target) = match address.split_once('(') {
            Some((network, rest)) => (
                network,
                rest.strip_suffix(')')
                    .ok_or_else(|| format!("`{address}` opens a `(` it does not close"))?,
            ),
            None => (address, ""),
        };
        let mut builder = OptsBuilder::default()
            .user(Some(user).filter(|u| !u.is_empty()))
            .pass(Some(password).filter(|p| !p.is_empty()))
            .db_name(Some(database).filter(|d| !d.is_empty()))
            // The client would otherwise ask a local server for its socket and move there, leaving the TCP (and
            // TLS) connection the string asks for.
            .prefer_socket(false);
        let address = match network {
            "unix" => {
                let path = if target.is_empty() {
                    "/tmp/mysql.sock"
                } else {
                    target
                };
                builder = builder.socket(Some(path));
                path.to_owned()
            }
            "" | "tcp" | "tcp4" | "tcp6" => {
                let target = if target.is_empty() {
                    "127.0.0.1:3306"
                } else {
                    target
                };
                let (host, port) = match target.rsplit_once(':') {
                    Some((host, port)) if !host.ends_with(':') || host.starts_with('[') => {
                        let port = port
                            .parse::<u16>()
                            .map_err(|_| format!("port `{port}` is not a port number"))?;
                        (host.trim_start_matches('[').trim_end_matches(']'), port)
                    }
                    _ => (target, 3306),
                };
                builder = builder.ip_or_hostname(host.to_owned()).tcp_port(port);
                format!("{host}:{port}")
            }
            other => {
                return Err(format!(
                    "network `{other}` is not tcp or unix (`tcp(host:port)`, `unix(/path/to/socket)`)"
                ));
            }
        };
        let mut parse_time = false;
        let mut zone = jiff::tz::TimeZone::UTC;
        let mut session = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = unescape(value)?;
            match key {
                "tls" => {
                    let tls = match value.as_str() {
                        "false" => None,
                        "true" => Some(ClientTlsSettings::default()),
                        // The driver's `preferred` encrypts when the server offers TLS; this client cannot fall
                        // back, so a server without TLS is then not reached.
                        "skip-verify" | "preferred" => Some(ClientTlsSettings {
                            insecure_skip_verify: true,
                            ..Default::default()
                        }),
                        other => {
                            return Err(format!(
                                "tls `{other}` is not true, false, skip-verify or preferred \
                                 (a TLS config registered in Go code has no counterpart in a config file)"
                            ));
                        }
                    };
                    if let Some(tls) = tls {
                        builder = builder.ssl_opts(Some(ssl_options(&tls)?));
                    }
                }
                "parseTime" => parse_time = boolean(key, &value)?,
                "loc" => zone = crate::clock::zone(&value).map_err(|e| format!("loc: {e}"))?,
                // The driver's own settings, which change nothing in what the receiver reads: the receiver's
                // `timeout` bounds a run, the connection speaks utf8mb4, and the rest concern statements the
                // receiver does not send.
                "timeout"
                | "readTimeout"
                | "writeTimeout"
                | "charset"
                | "collation"
                | "allowNativePasswords"
                | "allowCleartextPasswords"
                | "allowOldPasswords"
                | "allowAllFiles"
                | "allowFallbackToPlaintext"
                | "clientFoundRows"
                | "columnsWithAlias"
                | "interpolateParams"
                | "maxAllowedPacket"
                | "multiStatements"
                | "rejectReadOnly"
                | "checkConnLiveness"
                | "serverPubKey"
                | "compress"
                | "connectionAttributes"
                | "timeTruncate" => {}
                variable => {
                    if !variable
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '@')
                    {
                        return Err(format!("`{variable}` is not a session variable's name"));
                    }
                    session.push(format!("SET {variable}={value}"));
                }
            }
        }
        Ok(Source {
            opts: builder.init(session).into(),
            address,
            parse_time: parse_time.then_some(zone),
        })
    }

    /// The server, for log lines.
    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// A connection, logged in.
    pub(super) async fn open(&self) -> Result<Conn, String> {
        Conn::new(self.opts.clone())
            .await
            .map_err(|e| format!("connecting to {}: {}", self.address, describe(&e)))
    }

    /// Runs `sql` with `parameter` (a logs query's tracking value, as a string the server converts as the
    /// comparison needs) as its one `?`, or without: the text protocol then, as the Go driver uses for a statement
    /// without arguments.
    pub(super) async fn query(
        &self,
        conn: &mut Conn,
        sql: &str,
        parameter: Option<&str>,
    ) -> Result<ResultSet, QueryFailure> {
        let (columns, rows) = match parameter {
            None => {
                let mut result = conn.query_iter(sql).await.map_err(failure)?;
                let columns = result.columns();
                (columns, result.collect::<Row>().await.map_err(failure)?)
            }
            Some(parameter) => {
                let mut result = conn.exec_iter(sql, (parameter,)).await.map_err(failure)?;
                let columns = result.columns();
                (columns, result.collect::<Row>().await.map_err(failure)?)
            }
        };
        let columns: Vec<Column> = columns.map(|c| c.to_vec()).unwrap_or_default();
        let values = rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .zip(&columns)
                    .map(|(value, column)| self.text(value, column))
                    .collect()
            })
            .collect();
        let names = columns.iter().map(|c| c.name_str().into_owned()).collect();
        Ok(ResultSet::new(names, values))
    }

    /// `value` of `column` as the Go driver renders it to otelcol.
    fn text(&self, value: Value, column: &Column) -> Option<String> {
        let kind = column.column_type();
        let dated = matches!(
            kind,
            ColumnType::MYSQL_TYPE_DATE
                | ColumnType::MYSQL_TYPE_NEWDATE
                | ColumnType::MYSQL_TYPE_DATETIME
                | ColumnType::MYSQL_TYPE_DATETIME2
                | ColumnType::MYSQL_TYPE_TIMESTAMP
                | ColumnType::MYSQL_TYPE_TIMESTAMP2
        );
        let date_only = matches!(
            kind,
            ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE
        );
        Some(match value {
            Value::NULL => return None,
            Value::Bytes(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                match &self.parse_time {
                    Some(zone) if dated => rfc3339(&text, zone).unwrap_or(text),
                    _ => text,
                }
            }
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Double(d) => d.to_string(),
            Value::Date(year, month, day, hour, minute, second, micros) => {
                let mut text = format!("{year:04}-{month:02}-{day:02}");
                if !date_only {
                    text.push_str(&format!(" {hour:02}:{minute:02}:{second:02}"));
                    let decimals = usize::from(column.decimals().min(6));
                    if decimals > 0 {
                        let fraction = format!("{micros:06}");
                        text.push('.');
                        text.push_str(&fraction[..decimals]);
                    }
                }
                match &self.parse_time {
                    Some(zone) => rfc3339(&text, zone).unwrap_or(text),
                    None => text,
                }
            }
            Value::Time(negative, days, hours, minutes, seconds, micros) => {
                let hours = u64::from(days) * 24 + u64::from(hours);
                let sign = if negative { "-" } else { "" };
                let mut text = format!("{sign}{hours:02}:{minutes:02}:{seconds:02}");
                if micros > 0 {
                    text.push_str(&format!(".{micros:06}"));
                }
                text
            }
        })
    }
}

/// A query's error: the server's (the connection goes on) or the connection's.
fn failure(error: mysql_async::Error) -> QueryFailure {
    match error {
        mysql_async::Error::Server(_) => QueryFailure::Query(describe(&error)),
        // A statement's parameter count, checked by the client: the connection goes on.
        mysql_async::Error::Driver(_) => QueryFailure::Query(describe(&error)),
        _ => QueryFailure::Connection(describe(&error)),
    }
}

/// The server's `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` in `zone`, in RFC 3339; `None` for what is no such time (the
/// zero date `0000-00-00`).
fn rfc3339(text: &str, zone: &jiff::tz::TimeZone) -> Option<String> {
    let civil: jiff::civil::DateTime = if text.len() == 10 {
        text.parse::<jiff::civil::Date>()
            .ok()?
            .to_datetime(jiff::civil::Time::midnight())
    } else {
        text.replacen(' ', "T", 1).parse().ok()?
    };
    let zoned = civil.to_zoned_datetime(zone.clone()).ok()?;
    let offset = zoned.offset();
    let local = zoned.datetime();
    let time = local.time();
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        time.hour(),
        time.minute(),
        time.second()
    );
    let nanos = time.subsec_nanosecond();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    if offset.seconds() == 0 {
        out.push('Z');
    } else {
        let seconds = offset.seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        let seconds = seconds.unsigned_abs();
        out.push_str(&format!(
            "{sign}{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60
        ));
    }
    Some(out)
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" | "True" | "TRUE" => Ok(true),
        "false" | "0" | "False" | "FALSE" => Ok(false),
        other => Err(format!("{key} `{other}` is not true or false")),
    }
}

/// A parameter's value, `%XX`-decoded as the driver decodes it.
fn unescape(value: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        match byte {
            b'%' => {
                let decoded = after
                    .get(..2)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| format!("`{value}` has a `%` not followed by two hex digits"))?;
                bytes.push(decoded);
                rest = &after[2..];
            }
            b'+' => {
                bytes.push(b' ');
                rest = after;
            }
            _ => {
                bytes.push(byte);
                rest = after;
            }
        }
    }
    String::from_utf8(bytes).map_err(|_| format!("`{value}` does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_connection_strings_give_the_address_database_and_session() {
        let source = Source::parse(
            "otel:p@ss:word@tcp(db.local:3307)/shop?parseTime=true&sql_mode=%27ANSI%27",
        )
        .unwrap();
        assert_eq!(source.address(), "db.local:3307");
        assert_eq!(source.opts.user(), Some("otel"));
        assert_eq!(source.opts.pass(), Some("p@ss:word"));
        assert_eq!(source.opts.db_name(), Some("shop"));
        assert_eq!(source.opts.init(), ["SET sql_mode='ANSI'"]);
        assert!(source.parse_time.is_some());

        let socket = Source::parse("root@unix(/run/mysqld/mysqld.sock)/").unwrap();
        assert_eq!(socket.address(), "/run/mysqld/mysqld.sock");
        assert_eq!(socket.opts.db_name(), None);
        assert_eq!(Source::parse("u@tcp(db)/x").unwrap().address(), "db:3306");
        assert_eq!(Source::parse("u@/x").unwrap().address(), "127.0.0.1:3306");
        assert_eq!(
            Source::parse("u@tcp([::1]:3307)/x").unwrap().address(),
            "::1:3307"
        );
    }

    #[test]
    fn bad_connection_strings_say_what_is_wrong() {
        let error = |text: &str| Source::parse(text).err().unwrap();
        assert!(error("otel@tcp(db:3306)").contains("no `/`"));
        assert!(error("otel@udp(db:3306)/x").contains("network `udp`"));
        assert!(error("otel@tcp(db:3306/x").contains("does not close"));
        assert!(error("otel@tcp(db:port)/x").contains("port `port`"));
        assert!(error("otel@tcp(db)/x?tls=custom").contains("tls `custom`"));
        assert!(error("otel@tcp(db)/x?parseTime=yes").contains("parseTime `yes`"));
        assert!(error("otel@tcp(db)/x?a;DROP=1").contains("not a session variable"));
        assert!(
            error("otel@tcp(db)/x?loc=Nowhere%2FElse")
                .contains("loc: unknown time zone `Nowhere/Else`")
        );
    }

    #[test]
    fn parse_time_renders_dates_in_rfc3339_in_the_zone() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            rfc3339("2024-02-29 13:04:05.250000", &utc).as_deref(),
            Some("2024-02-29T13:04:05.25Z")
        );
        assert_eq!(
            rfc3339("2024-02-29", &utc).as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            rfc3339("2024-07-01 12:00:00", &paris).as_deref(),
            Some("2024-07-01T12:00:00+02:00")
        );
        assert_eq!(rfc3339("0000-00-00 00:00:00", &utc), None);
    }
}
