//! `IsInCIDR`: whether an IP address is in any of a list of CIDR networks, matched as Go's
//! `net.IPNet` does.

use std::net::IpAddr;

use super::parse_ip;
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::funcs::{Args, ConverterFn, expect_string};
use crate::program::expr::Expr;
use crate::value::Value;

/// A network as Go's `net.IPNet` matches it: the masked network number and the mask, both 4
/// bytes for IPv4 and IPv4-mapped networks whose mask covers the mapping prefix, else 16.
struct Network {
    number: Vec<u8>,
    mask: Vec<u8>,
}

impl Network {
    /// `net.ParseCIDR`.
    fn parse(text: &str) -> std::result::Result<Network, String> {
        let invalid = || format!("invalid CIDR address: {text}");
        let (addr, bits) = text.split_once('/').ok_or_else(invalid)?;
        let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
        let width: u32 = if addr.is_ipv4() { 32 } else { 128 };
        if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let bits: u32 = bits.parse().map_err(|_| invalid())?;
        if bits > width {
            return Err(invalid());
        }
        let octets = match addr {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        let mut mask: Vec<u8> = (0..octets.len())
            .map(|i| {
                let start = u32::try_from(i).unwrap_or(0) * 8;
                match bits.saturating_sub(start) {
                    0 => 0,
                    n if n >= 8 => 0xff,
                    n => 0xffu8 << (8 - n),
                }
            })
            .collect();
        let mut number: Vec<u8> = octets.iter().zip(&mask).map(|(a, m)| a & m).collect();
        // `networkNumberAndMask`: an IPv4-mapped network number is matched as IPv4.
        if number.len() == 16
            && number[..10].iter().all(|b| *b == 0)
            && number[10..12] == [0xff, 0xff]
        {
            number.drain(..12);
            mask.drain(..12);
        }
        Ok(Network { number, mask })
    }

    /// `IPNet.Contains`.
    fn contains(&self, ip: &[u8]) -> bool {
        ip.len() == self.number.len()
            && ip
                .iter()
                .zip(&self.number)
                .zip(&self.mask)
                .all(|((a, n), m)| a & m == n & m)
    }
}

/// `IsInCIDR(target, networks[])`: whether the IP address is in any of the networks; a target
/// that is not an IP address is `false`. Literal networks are parsed once, when the statement
/// compiles.
struct IsInCidr {
    target: Expr,
    networks: Networks,
}

enum Networks {
    Literal(Vec<Network>),
    Dynamic(Vec<Expr>),
}

pub(super) fn build_is_in_cidr(args: &mut Args<'_>) -> Result<Box<dyn ConverterFn>> {
    let target = args.getter(0)?;
    let items = args.getter_list(1)?;
    let literal: Option<Vec<&str>> = items
        .iter()
        .map(|item| item.as_literal().and_then(Value::as_str))
        .collect();
    let networks = match literal {
        Some(texts) => {
            let mut parsed = Vec::with_capacity(texts.len());
            for text in texts {
                parsed.push(Network::parse(text).map_err(|e| args.error(1, e))?);
            }
            Networks::Literal(parsed)
        }
        None => Networks::Dynamic(items),
    };
    Ok(Box::new(IsInCidr { target, networks }))
}

impl ConverterFn for IsInCidr {
    fn eval<'c>(&'c self, ctx: &'c TransformContext<'_>) -> Result<Value<'c>> {
        let target = expect_string(self.target.eval(ctx)?, "IsInCIDR", "target")?;
        let Some(ip) = parse_ip(&target) else {
            return Ok(Value::Bool(false));
        };
        match &self.networks {
            Networks::Literal(networks) => {
                Ok(Value::Bool(networks.iter().any(|n| n.contains(&ip))))
            }
            Networks::Dynamic(exprs) => {
                for expr in exprs {
                    let text = expect_string(expr.eval(ctx)?, "IsInCIDR", "networks")?;
                    let network =
                        Network::parse(&text).map_err(|e| Error::eval(format!("IsInCIDR: {e}")))?;
                    if network.contains(&ip) {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matches_like_go() {
        let net = Network::parse("192.168.0.0/16").unwrap();
        assert!(net.contains(&parse_ip("192.168.4.1").unwrap()));
        assert!(net.contains(&parse_ip("::ffff:192.168.4.1").unwrap()));
        assert!(!net.contains(&parse_ip("10.0.0.1").unwrap()));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(&parse_ip("2001:db8::1").unwrap()));
        assert!(!v6.contains(&parse_ip("192.168.4.1").unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("10.0.0.0").is_err());
        assert!(Network::parse("10.0.0.0/+8").is_err());
    }
}
