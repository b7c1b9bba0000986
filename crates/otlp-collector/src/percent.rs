//! Percent-encoding (RFC 3986) read back, as URLs, connection strings and `OTEL_RESOURCE_ATTRIBUTES` carry it.

/// `text` with each `%XX` replaced by its byte; an error names the text when a `%` is not followed by two hex
/// digits or the bytes are not UTF-8.
pub(crate) fn decode(text: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        if byte == b'%' {
            let hex = after
                .get(..2)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format!("`{text}` has a `%` not followed by two hex digits"))?;
            bytes.push(hex);
            rest = &after[2..];
        } else {
            bytes.push(byte);
            rest = after;
        }
    }
    String::from_utf8(bytes).map_err(|_| format!("`{text}` does not decode to UTF-8"))
}

/// `text` with every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) written `%XX`, for a URL
/// query value.
pub(crate) fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A URL query's `key=value` pairs, in order, as Go's `url.ParseQuery` reads them: `+` is a space, a pair without
/// `=` has an empty value, empty pairs are skipped.
pub(crate) fn query_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                decode(&key.replace('+', " "))?,
                decode(&value.replace('+', " "))?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_read_and_broken_ones_named() {
        assert_eq!(decode("a%20b%2Fc+d").as_deref(), Ok("a b/c+d"));
        assert!(decode("100%").unwrap_err().contains("`100%`"));
        assert!(decode("%zz").is_err());
        assert!(decode("%ff").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn encoding_leaves_only_unreserved_characters_and_reads_back() {
        assert_eq!(encode("my db/é=1&x~"), "my%20db%2F%C3%A9%3D1%26x~");
        assert_eq!(decode(&encode("a b/é")).as_deref(), Ok("a b/é"));
    }

    #[test]
    fn query_pairs_are_read_as_go_reads_them() {
        assert_eq!(
            query_pairs("dim:host=a+b&&flag&dim%3Aenv=prod%26dev").unwrap(),
            [
                ("dim:host".to_owned(), "a b".to_owned()),
                ("flag".to_owned(), String::new()),
                ("dim:env".to_owned(), "prod&dev".to_owned()),
            ]
        );
    }
}
