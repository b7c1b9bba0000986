//! A port of Go's `net/url`, as far as otelcol's `ParseURI` uses it: `url.Parse`, escaping and
//! unescaping, and `URL.String`.

/// The component a byte is escaped or unescaped for, as Go's `net/url` distinguishes them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Path,
    UserPassword,
    QueryComponent,
    Fragment,
    Host,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, part: Part) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if part == Part::Host && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match part {
                Part::Path => c == b'?',
                Part::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Part::QueryComponent => true,
                Part::Fragment => false,
                Part::Host => true,
            };
        }
        _ => {}
    }
    !(part == Part::Fragment && matches!(c, b'!' | b'(' | b')' | b'*'))
}

/// Go's `escape`.
fn escape(s: &str, part: Part) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if should_escape(c, part) {
            if c == b' ' && part == Part::QueryComponent {
                out.push('+');
            } else {
                out.push('%');
                out.push_str(&format!("{c:02X}"));
            }
        } else {
            out.push(char::from(c));
        }
    }
    out
}

/// Go's `unescape`: `%XX` decoded (an error when malformed), `+` a space in query components,
/// and in a host only characters a host may hold. Decoded bytes that are not UTF-8 are replaced
/// (a Go string may hold them, a Rust one cannot).
pub(super) fn unescape(s: &str, part: Part) -> std::result::Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(hex) = hex else {
                    let end = (i + 3).min(bytes.len());
                    return Err(format!(
                        "invalid URL escape {:?}",
                        String::from_utf8_lossy(&bytes[i..end])
                    ));
                };
                let value =
                    u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("0"), 16).unwrap_or(0);
                if part == Part::Host && value < 0x80 && &bytes[i..i + 3] != b"%25" {
                    return Err(format!(
                        "invalid URL escape {:?}",
                        String::from_utf8_lossy(&bytes[i..i + 3])
                    ));
                }
                out.push(value);
                i += 3;
            }
            b'+' if part == Part::QueryComponent => {
                out.push(b' ');
                i += 1;
            }
            c => {
                if part == Part::Host && c < 0x80 && should_escape(c, part) {
                    return Err(format!(
                        "invalid character {:?} in host name",
                        char::from(c).to_string()
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `validEncoded`: whether a raw path or fragment can be kept as written.
fn valid_encoded(s: &str, part: Part) -> bool {
    s.bytes()
        .all(|c| b"!$&'()*+,;=:@[]%".contains(&c) || !should_escape(c, part))
}

/// Go's `validOptionalPort`.
fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
        None => port.is_empty(),
    }
}

/// The parts of a URL as Go's `url.Parse` fills them.
#[derive(Default)]
pub(super) struct GoUrl {
    pub(super) scheme: String,
    opaque: String,
    /// `Some((username, password))`; the password is `None` when no `:` was given.
    pub(super) user: Option<(String, Option<String>)>,
    host: String,
    pub(super) path: String,
    raw_path: String,
    omit_host: bool,
    force_query: bool,
    pub(super) raw_query: String,
    pub(super) fragment: String,
    raw_fragment: String,
}

impl GoUrl {
    /// `url.Parse`.
    pub(super) fn parse(raw: &str) -> std::result::Result<GoUrl, String> {
        let (rest, fragment) = match raw.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (raw, None),
        };
        let mut url = GoUrl::default();
        url.parse_main(rest)?;
        if let Some(fragment) = fragment {
            url.fragment = unescape(fragment, Part::Fragment)?;
            url.raw_fragment = fragment.to_owned();
        }
        Ok(url)
    }

    fn parse_main(&mut self, raw: &str) -> std::result::Result<(), String> {
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err("net/url: invalid control character in URL".to_owned());
        }
        if raw == "*" {
            self.path = "*".to_owned();
            return Ok(());
        }
        let mut rest = raw;
        // getScheme: letters first, then letters, digits, `+`, `-` or `.` up to a `:`.
        for (i, c) in raw.bytes().enumerate() {
            match c {
                b'a'..=b'z' | b'A'..=b'Z' => {}
                b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
                b':' if i == 0 => return Err("missing protocol scheme".to_owned()),
                b':' => {
                    self.scheme = raw[..i].to_ascii_lowercase();
                    rest = &raw[i + 1..];
                    break;
                }
                _ => break,
            }
        }
        if rest.ends_with('?') && rest.matches('?').count() == 1 {
            self.force_query = true;
            rest = &rest[..rest.len() - 1];
        } else if let Some((before, query)) = rest.split_once('?') {
            self.raw_query = query.to_owned();
            rest = before;
        }
        if !rest.starts_with('/') {
            if !self.scheme.is_empty() {
                self.opaque = rest.to_owned();
                return Ok(());
            }
            let segment = rest.split('/').next().unwrap_or_default();
            if segment.contains(':') {
                return Err("first path segment in URL cannot contain colon".to_owned());
            }
        }
        if (!self.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
            let after = &rest[2..];
            let (authority, path) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            self.parse_authority(authority)?;
            rest = path;
        } else if !self.scheme.is_empty() && rest.starts_with('/') {
            self.omit_host = true;
        }
        self.path = unescape(rest, Part::Path)?;
        if escape(&self.path, Part::Path) != rest {
            self.raw_path = rest.to_owned();
        }
        Ok(())
    }

    fn parse_authority(&mut self, authority: &str) -> std::result::Result<(), String> {
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        self.host = parse_host(host)?;
        if let Some(userinfo) = userinfo {
            let valid = userinfo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c));
            if !valid {
                return Err("net/url: invalid userinfo".to_owned());
            }
            self.user = Some(match userinfo.split_once(':') {
                Some((name, password)) => (
                    unescape(name, Part::UserPassword)?,
                    Some(unescape(password, Part::UserPassword)?),
                ),
                None => (unescape(userinfo, Part::UserPassword)?, None),
            });
        }
        Ok(())
    }

    /// `Userinfo.String`.
    pub(super) fn user_info(&self) -> Option<String> {
        self.user.as_ref().map(|(name, password)| {
            let mut out = escape(name, Part::UserPassword);
            if let Some(password) = password {
                out.push(':');
                out.push_str(&escape(password, Part::UserPassword));
            }
            out
        })
    }

    /// `splitHostPort` of the host: the host name (IPv6 brackets removed) and the port.
    pub(super) fn host_port(&self) -> (&str, &str) {
        let (mut host, port) = match self.host.rfind(':') {
            Some(i) if valid_optional_port(&self.host[i..]) => {
                (&self.host[..i], &self.host[i + 1..])
            }
            _ => (self.host.as_str(), ""),
        };
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            host = inner;
        }
        (host, port)
    }

    fn escaped_path(&self) -> String {
        if !self.raw_path.is_empty() && valid_encoded(&self.raw_path, Part::Path) {
            return self.raw_path.clone();
        }
        if self.path == "*" {
            return "*".to_owned();
        }
        escape(&self.path, Part::Path)
    }

    fn escaped_fragment(&self) -> String {
        if !self.raw_fragment.is_empty() && valid_encoded(&self.raw_fragment, Part::Fragment) {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Part::Fragment)
    }

    /// `URL.String`: the URL written back, which is what otelcol reports as `url.original`.
    pub(super) fn to_go_string(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            let no_authority = self.host.is_empty() && self.user.is_none();
            let has_authority_part = !self.scheme.is_empty() || !no_authority;
            // `OmitHost`: `scheme:/path` was written without `//`, so none is added back.
            if has_authority_part && !(self.omit_host && no_authority) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if let Some(user) = self.user_info() {
                    out.push_str(&user);
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Part::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().unwrap_or_default().contains(':') {
                out.push_str("./");
            }
            out.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&self.escaped_fragment());
        }
        out
    }
}

/// Go's `parseHost`: a bracketed IPv6 literal or a name, each with an optional `:port`.
fn parse_host(host: &str) -> std::result::Result<String, String> {
    if host.starts_with('[') {
        let end = host
            .rfind(']')
            .ok_or_else(|| "missing ']' in host".to_owned())?;
        let port = &host[end + 1..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
        return unescape(host, Part::Host);
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
    }
    unescape(host, Part::Host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_url_round_trips_like_net_url() {
        let url = GoUrl::parse("HTTP://a%20b@host:8080/p%20q/r?x=1#f%20g").unwrap();
        assert_eq!(url.scheme, "http");
        assert_eq!(url.path, "/p q/r");
        assert_eq!(url.fragment, "f g");
        assert_eq!(url.host_port(), ("host", "8080"));
        assert_eq!(
            url.to_go_string(),
            "http://a%20b@host:8080/p%20q/r?x=1#f%20g"
        );
        let opaque = GoUrl::parse("mailto:someone@example.com").unwrap();
        assert_eq!(opaque.opaque, "someone@example.com");
        assert_eq!(opaque.to_go_string(), "mailto:someone@example.com");
        assert!(GoUrl::parse("http://host:port/").is_err());
        assert!(GoUrl::parse("a:b").is_ok());
        assert!(GoUrl::parse("/a:b").is_ok());
        assert!(GoUrl::parse("a:b/c").is_ok());
        assert!(GoUrl::parse("1a:b").is_err());
    }
}
