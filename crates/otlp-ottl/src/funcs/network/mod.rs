//! Network converters: `IsInCIDR`, `CommunityID`, `URL`, `IsValidLuhn`.

use std::net::IpAddr;

use super::{FunctionDef, ParamKind, optional, required, unary, unary_def};

mod cidr;
mod community_id;
mod go_url;
mod luhn;
mod url;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    unary_def(
        "IsInCIDR",
        &[
            required("target", ParamKind::Getter),
            required("networks", ParamKind::GetterList),
        ],
        cidr::build_is_in_cidr,
    ),
    unary_def(
        "IsValidLuhn",
        &[required("target", ParamKind::Getter)],
        |a| unary(a, luhn::is_valid_luhn),
    ),
    unary_def("URL", &[required("uri", ParamKind::Getter)], |a| {
        unary(a, url::parse_url)
    }),
    unary_def(
        "CommunityID",
        &[
            required("source_ip", ParamKind::Getter),
            required("source_port", ParamKind::Getter),
            required("destination_ip", ParamKind::Getter),
            required("destination_port", ParamKind::Getter),
            optional("protocol", ParamKind::Getter),
            optional("seed", ParamKind::Getter),
        ],
        community_id::build_community_id,
    ),
];

/// An address as Go's `net.ParseIP(...).To4()`-or-16-bytes: IPv4 and IPv4-mapped IPv6
/// addresses are 4 bytes, other IPv6 addresses 16. Go's and Rust's parsers agree on what they
/// accept (no leading zeros in IPv4, no zones).
fn parse_ip(text: &str) -> Option<Vec<u8>> {
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.octets().to_vec()),
        IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets().to_vec(),
        }),
    }
}
