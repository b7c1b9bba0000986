//! `CommunityID`: the Community ID v1 flow hash of a network flow tuple.

use std::borrow::Cow;

use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::parse_ip;
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::Value;

/// `CommunityID(source_ip, source_port, destination_ip, destination_port, protocol?, seed?)`:
/// the Community ID v1 of a flow, `1:` and the base64 SHA-1 of the normalized flow tuple.
struct CommunityId {
    source_ip: Expr,
    source_port: Expr,
    destination_ip: Expr,
    destination_port: Expr,
    protocol: Protocol,
    seed: Option<Expr>,
}

/// The protocol, resolved once when it is a literal.
enum Protocol {
    Fixed(u8),
    Dynamic(Expr),
}

/// The protocols otelcol knows, with their IANA numbers.
fn protocol_number(name: &str) -> Option<u8> {
    Some(match name {
        "ICMP" => 1,
        "TCP" => 6,
        "UDP" => 17,
        "RSVP" => 46,
        "ICMP6" => 58,
        "SCTP" => 132,
        _ => return None,
    })
}

pub(super) fn build_community_id(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let source_ip = args.getter(0)?;
    let source_port = args.getter(1)?;
    let destination_ip = args.getter(2)?;
    let destination_port = args.getter(3)?;
    let protocol = match args.opt_getter(4) {
        None => Protocol::Fixed(6),
        Some(expr) => match expr.as_literal() {
            Some(Value::Str(name)) => Protocol::Fixed(protocol_number(name).ok_or_else(|| {
                args.error(
                    4,
                    format!(
                        "unsupported protocol: {name}; use ICMP, TCP, UDP, RSVP, ICMP6 or SCTP"
                    ),
                )
            })?),
            _ => Protocol::Dynamic(expr),
        },
    };
    let seed = args.opt_getter(5);
    Ok(Box::new(CommunityId {
        source_ip,
        source_port,
        destination_ip,
        destination_port,
        protocol,
        seed,
    }))
}

fn community_ip(expr: &Expr, ctx: &TransformContext<'_>, which: &str) -> Result<Vec<u8>> {
    let text = expect_string(expr.eval(ctx)?, "CommunityID", which)?;
    parse_ip(&text).ok_or_else(|| Error::eval(format!("CommunityID: invalid {which}: {text}")))
}

fn community_u16(expr: &Expr, ctx: &TransformContext<'_>, which: &str, min: i64) -> Result<u16> {
    match expr.eval(ctx)? {
        Value::Int(i) if (min..=65535).contains(&i) => Ok(u16::try_from(i).unwrap_or(0)),
        Value::Int(i) => Err(Error::eval(format!(
            "CommunityID: {which} must be between {min} and 65535, got {i}"
        ))),
        other => Err(Error::eval(format!(
            "CommunityID: {which} must be an int, got {}",
            other.type_name()
        ))),
    }
}

impl ConverterFn for CommunityId {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let mut src_ip = community_ip(&self.source_ip, ctx, "source IP")?;
        let mut dst_ip = community_ip(&self.destination_ip, ctx, "destination IP")?;
        let mut src_port = community_u16(&self.source_port, ctx, "source port", 1)?;
        let mut dst_port = community_u16(&self.destination_port, ctx, "destination port", 1)?;
        let protocol = match &self.protocol {
            Protocol::Fixed(p) => *p,
            Protocol::Dynamic(expr) => {
                let name = expect_string(expr.eval(ctx)?, "CommunityID", "protocol")?;
                protocol_number(&name).ok_or_else(|| {
                    Error::eval(format!("CommunityID: unsupported protocol: {name}"))
                })?
            }
        };
        let seed = match &self.seed {
            Some(expr) => community_u16(expr, ctx, "seed", 0)?,
            None => 0,
        };
        // The lower endpoint goes first, so both directions of a flow get the same ID.
        let swap = if src_ip.len() != dst_ip.len() {
            src_ip.len() > dst_ip.len()
        } else {
            match src_ip.cmp(&dst_ip) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Equal => src_port > dst_port,
                std::cmp::Ordering::Less => false,
            }
        };
        if swap {
            std::mem::swap(&mut src_ip, &mut dst_ip);
            std::mem::swap(&mut src_port, &mut dst_port);
        }
        let mut tuple = Vec::with_capacity(2 + src_ip.len() + dst_ip.len() + 6);
        tuple.extend_from_slice(&seed.to_be_bytes());
        tuple.extend_from_slice(&src_ip);
        tuple.extend_from_slice(&dst_ip);
        tuple.extend_from_slice(&[protocol, 0]);
        tuple.extend_from_slice(&src_port.to_be_bytes());
        tuple.extend_from_slice(&dst_port.to_be_bytes());
        let digest = Sha1::digest(&tuple);
        Ok(Value::Str(Cow::Owned(format!(
            "1:{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ))))
    }
}
