//! What the certificate checks (`httpcheck.tls.cert_remaining`, `tlscheck.time_left`) say of a certificate, read
//! from its DER as otelcol's receivers read Go's parsed certificate: when it expires, its issuer as Go's
//! `pkix.Name.String()` writes it, its subject's common name, and its subject alternative names.

use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use otlp_ottl::{key_value, string_value};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

/// The facts of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Certificate {
    /// `NotAfter`, seconds since the epoch.
    pub(crate) not_after: i64,
    /// The issuer, `CN=…,O=…,C=…`.
    pub(crate) issuer: String,
    /// The subject's common name (empty without one).
    pub(crate) common_name: String,
    /// IP addresses, URIs, DNS names and e-mail addresses, in that order (otelcol's).
    pub(crate) alternative_names: Vec<String>,
}

impl Certificate {
    /// Reads a DER certificate; an error says what is wrong with it.
    pub(crate) fn from_der(der: &[u8]) -> Result<Certificate, String> {
        let (_, certificate) = X509Certificate::from_der(der)
            .map_err(|e| format!("the certificate does not parse: {e}"))?;
        let common_name = certificate
            .subject()
            .iter_common_name()
            .filter_map(|name| name.as_str().ok())
            .last()
            .unwrap_or_default()
            .to_owned();
        let mut by_kind: [Vec<String>; 4] = Default::default();
        if let Ok(Some(names)) = certificate.subject_alternative_name() {
            for name in &names.value.general_names {
                match name {
                    GeneralName::IPAddress(bytes) => by_kind[0].extend(ip_address(bytes)),
                    GeneralName::URI(uri) => by_kind[1].push((*uri).to_owned()),
                    GeneralName::DNSName(dns) => by_kind[2].push((*dns).to_owned()),
                    GeneralName::RFC822Name(email) => by_kind[3].push((*email).to_owned()),
                    _ => {}
                }
            }
        }
        Ok(Certificate {
            not_after: certificate.validity().not_after.timestamp(),
            issuer: go_name(certificate.issuer()),
            common_name,
            alternative_names: by_kind.concat(),
        })
    }

    /// Whole seconds from `now` (nanoseconds since the epoch) until it expires; negative once it has.
    pub(crate) fn seconds_left(&self, now: u64) -> i64 {
        let now = i64::try_from(now / 1_000_000_000).unwrap_or(i64::MAX);
        self.not_after.saturating_sub(now)
    }

    /// Its issuer, common name and alternative names (a list) as the attributes `[issuer, cn, san]` name.
    pub(crate) fn attributes(&self, [issuer, cn, san]: [&str; 3]) -> [KeyValue; 3] {
        let names = self.alternative_names.iter().map(string_value).collect();
        [
            key_value(issuer, string_value(&self.issuer)),
            key_value(cn, string_value(&self.common_name)),
            key_value(
                san,
                AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue { values: names })),
                },
            ),
        ]
    }
}

fn ip_address(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|octets| std::net::Ipv4Addr::from(octets).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|octets| std::net::Ipv6Addr::from(octets).to_string()),
        _ => None,
    }
}

/// The attribute types Go's `pkix.Name` parses into fields, in the order it writes them back into a sequence
/// (`ToRDNSequence`), with the names its `String` gives them.
const KNOWN: [(&str, &str); 9] = [
    ("2.5.4.6", "C"),
    ("2.5.4.8", "ST"),
    ("2.5.4.7", "L"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.17", "POSTALCODE"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.3", "CN"),
    ("2.5.4.5", "SERIALNUMBER"),
];

/// `name` as Go's `pkix.Name.String()`: the known attributes in Go's order (one value for CN and SERIALNUMBER, the
/// last; several of another type joined by `+`), after the others (as `<oid>=<value>`, or `#` and the value's
/// content bytes in hex where Go writes its whole DER, for a value that is not a string), the sequence written last
/// to first, joined by `,`.
pub(crate) fn go_name(name: &X509Name<'_>) -> String {
    let mut known: [Vec<&str>; 9] = Default::default();
    let mut others: Vec<String> = Vec::new();
    for attribute in name.iter_rdn().flat_map(|rdn| rdn.iter()) {
        let oid = attribute.attr_type().to_id_string();
        match KNOWN.iter().position(|(known_oid, _)| *known_oid == oid) {
            Some(index) => {
                if let Ok(value) = attribute.as_str() {
                    known[index].push(value);
                }
            }
            None => {
                let value = match attribute.as_str() {
                    Ok(text) => escape(text),
                    Err(_) => format!("#{}", hex(attribute.as_slice())),
                };
                others.push(format!("{oid}={value}"));
            }
        }
    }
    let mut sequence: Vec<String> = others;
    for (index, (_, short)) in KNOWN.iter().enumerate() {
        let values = &known[index];
        let values: &[&str] = match *short {
            // Go keeps a single common name and serial number, the last of the name's.
            "CN" | "SERIALNUMBER" => values.last().map(std::slice::from_ref).unwrap_or(&[]),
            _ => values,
        };
        if !values.is_empty() {
            let rdn: Vec<String> = values
                .iter()
                .map(|value| format!("{short}={}", escape(value)))
                .collect();
            sequence.push(rdn.join("+"));
        }
    }
    sequence.reverse();
    sequence.join(",")
}

/// A value escaped as Go's `RDNSequence.String` escapes it (RFC 2253's specials, a leading `#`, a leading or
/// trailing space).
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());
    for (index, c) in value.chars().enumerate() {
        let special = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => index == 0 || index == last,
            '#' => index == 0,
            _ => false,
        };
        if special {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_go_escapes_them() {
        assert_eq!(escape("Let's Encrypt"), "Let's Encrypt");
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" #x# "), "\\ #x#\\ ");
        assert_eq!(escape("#x"), "\\#x");
    }

    #[test]
    fn a_certificate_s_facts_are_read_as_otelcol_reports_them() {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "web.example");
        params.not_after = rcgen::date_time_ymd(2031, 1, 2);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut issuer_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        issuer_params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "US");
        issuer_params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example, Inc.");
        issuer_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Example CA");
        issuer_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer =
            rcgen::CertifiedIssuer::self_signed(issuer_params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        let certificate = params.signed_by(&key, &issuer).unwrap();
        let facts = Certificate::from_der(certificate.der()).unwrap();
        assert_eq!(facts.issuer, "CN=Example CA,O=Example\\, Inc.,C=US");
        assert_eq!(facts.common_name, "web.example");
        assert_eq!(facts.alternative_names, ["127.0.0.1", "localhost"]);
        assert_eq!(facts.not_after, 1_925_078_400, "2031-01-02T00:00:00Z");
        assert!(Certificate::from_der(b"not a certificate").is_err());
    }
}
