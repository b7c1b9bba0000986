//! Small building blocks shared by the three signal generators.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

pub(crate) fn any_str(value: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(value.to_owned())),
    }
}

pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..Default::default()
    }
}

pub(crate) fn kv_str(key: &str, value: &str) -> KeyValue {
    kv(key, any_str(value))
}

pub(crate) fn kv_string(key: &str, value: String) -> KeyValue {
    kv(
        key,
        AnyValue {
            value: Some(Value::StringValue(value)),
        },
    )
}

pub(crate) fn kv_int(key: &str, value: i64) -> KeyValue {
    kv(
        key,
        AnyValue {
            value: Some(Value::IntValue(value)),
        },
    )
}

pub(crate) fn kv_double(key: &str, value: f64) -> KeyValue {
    kv(
        key,
        AnyValue {
            value: Some(Value::DoubleValue(value)),
        },
    )
}

pub(crate) fn kv_bool(key: &str, value: bool) -> KeyValue {
    kv(
        key,
        AnyValue {
            value: Some(Value::BoolValue(value)),
        },
    )
}

pub(crate) fn array_of_str(values: &[&str]) -> AnyValue {
    AnyValue {
        value: Some(Value::ArrayValue(ArrayValue {
            values: values.iter().map(|v| any_str(v)).collect(),
        })),
    }
}

pub(crate) fn kvlist(values: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::KvlistValue(KeyValueList { values })),
    }
}

/// A random id of `N` bytes that is never all zero (OTLP treats an all-zero id as invalid).
pub(crate) fn random_id<const N: usize>(rng: &mut ChaCha8Rng) -> [u8; N] {
    let mut id: [u8; N] = rng.random();
    if id.iter().all(|b| *b == 0)
        && let Some(last) = id.last_mut()
    {
        *last = 1;
    }
    id
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the lowest `digits` hex digits of `value` (most significant first).
pub(crate) fn push_hex(out: &mut String, value: u64, digits: u32) {
    for shift in (0..digits).rev() {
        let nibble = (value >> (shift * 4)) & 0xf;
        // `nibble` is masked to 0..=15, so the lookup always succeeds.
        if let Some(c) = HEX.get(nibble as usize) {
            out.push(char::from(*c));
        }
    }
}

/// A log-normal duration in nanoseconds described by its median, the way latencies are
/// usually quoted. The fallback to the median only exists so that construction is
/// infallible; the parameters used in this crate are constants that `LogNormal` accepts
/// (a unit test checks every one of them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latency {
    median_ns: f64,
    dist: Option<LogNormal<f64>>,
}

impl Latency {
    pub(crate) fn new(median_ns: f64, sigma: f64) -> Self {
        Self {
            median_ns,
            dist: LogNormal::new(median_ns.ln(), sigma).ok(),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_valid(&self) -> bool {
        self.dist.is_some()
    }

    pub(crate) fn sample_ns(&self, rng: &mut ChaCha8Rng) -> u64 {
        let value = match &self.dist {
            Some(dist) => dist.sample(rng),
            None => self.median_ns,
        };
        // Float-to-int `as` saturates; clamp to 1 ns so every span has a positive duration
        // and cap at one minute so a far tail sample cannot produce an absurd trace.
        (value as u64).clamp(1, 60_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn push_hex_writes_fixed_width_lowercase() {
        let mut s = String::new();
        push_hex(&mut s, 0xab_cdef, 8);
        assert_eq!(s, "00abcdef");
    }

    #[test]
    fn random_id_is_never_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            let id: [u8; 8] = random_id(&mut rng);
            assert!(id.iter().any(|b| *b != 0));
        }
    }

    #[test]
    fn latency_samples_stay_positive_and_spread_around_the_median() {
        let latency = Latency::new(1_000_000.0, 0.5);
        assert!(latency.is_valid());
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut samples: Vec<u64> = (0..10_001).map(|_| latency.sample_ns(&mut rng)).collect();
        samples.sort_unstable();
        let median = samples[5_000] as f64;
        assert!(
            (800_000.0..1_250_000.0).contains(&median),
            "median {median}"
        );
    }
}
