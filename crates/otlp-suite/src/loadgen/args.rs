//! What to send and how fast: the command line of `otlp-suite loadgen`, checked, with its defaults resolved.

use crate::error::Error;
use std::time::Duration;

const DEFAULT_GRPC_ENDPOINT: &str = "http://127.0.0.1:4317";
const DEFAULT_HTTP_ENDPOINT: &str = "http://127.0.0.1:4318";
/// Without `--rate` or `--max`, a gentle rate that any collector should sustain.
const DEFAULT_RATE: u64 = 10_000;

/// The wire protocol to send OTLP with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// OTLP/gRPC (`TraceService/Export`), default port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`POST /v1/traces`), default port 4318.
    Http,
}

/// Compression of the request bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    /// Uncompressed.
    None,
    /// gzip (`grpc-encoding: gzip` / `Content-Encoding: gzip`).
    Gzip,
    /// zstd (`grpc-encoding: zstd` / `Content-Encoding: zstd`).
    Zstd,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    otlp_model::duration::parse(text).map_err(|e| e.to_string())
}

/// Arguments of `otlp-suite loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadgenArgs {
    /// Base URL of the collector [default: http://127.0.0.1:4317 for grpc,
    /// http://127.0.0.1:4318 for http, where /v1/traces is appended].
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Wire protocol.
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub protocol: Protocol,
    /// Target rate in spans per second; 0 means as fast as possible
    /// [default: 10000 unless --max is given].
    #[arg(long, conflicts_with = "max")]
    pub rate: Option<u64>,
    /// No rate limit: each connection sends as soon as its previous request is answered.
    #[arg(long)]
    pub max: bool,
    /// How long to send, e.g. 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Spans in each export request.
    #[arg(long, default_value_t = 100)]
    pub spans_per_request: usize,
    /// Concurrent connections (gRPC channels or HTTP connections), each with its own task.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Compression of the request bodies.
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compression: Compression,
    /// Do not show the progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Print the report as one JSON object (for scripts and benchmarks) instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// A header (gRPC metadata) sent with every request, `NAME=VALUE`; repeat for more. For a collector that
    /// keeps its clients' metadata: a tenant (`X-Scope-OrgID=acme`), credentials (`Authorization=Bearer ...`).
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    pub headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
}

/// A `--header`: a valid header name, `=`, a value a header can carry.
fn parse_header(
    text: &str,
) -> Result<(reqwest::header::HeaderName, reqwest::header::HeaderValue), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not `NAME=VALUE`"))?;
    let name = reqwest::header::HeaderName::try_from(name.trim())
        .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
    if name.as_str().ends_with("-bin") {
        return Err(format!(
            "`{name}` is binary gRPC metadata; give text headers"
        ));
    }
    let value = reqwest::header::HeaderValue::try_from(value)
        .map_err(|_| format!("the value of `{name}` holds characters a header cannot"))?;
    Ok((name, value))
}

/// How the workers pace their requests.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pace {
    Max,
    /// Nanoseconds between two consecutive requests of the shared schedule.
    Every(f64),
}

/// Checks the arguments and resolves the defaults: (endpoint as given, URL, pace).
pub(super) fn validate(args: &LoadgenArgs) -> Result<(String, reqwest::Url, Pace), Error> {
    if args.spans_per_request == 0 {
        return Err(Error::InvalidArgument {
            argument: "spans-per-request",
            reason: "must be at least 1".to_owned(),
        });
    }
    if args.connections == 0 {
        return Err(Error::InvalidArgument {
            argument: "connections",
            reason: "must be at least 1".to_owned(),
        });
    }
    if args.duration.is_zero() {
        return Err(Error::InvalidArgument {
            argument: "duration",
            reason: "must be longer than zero".to_owned(),
        });
    }
    let endpoint = args.endpoint.clone().unwrap_or_else(|| {
        match args.protocol {
            Protocol::Grpc => DEFAULT_GRPC_ENDPOINT,
            Protocol::Http => DEFAULT_HTTP_ENDPOINT,
        }
        .to_owned()
    });
    let invalid = |reason: String| Error::InvalidArgument {
        argument: "endpoint",
        reason,
    };
    // `localhost:4317` parses as a URL of scheme `localhost`, and `127.0.0.1:4317` not at all: both mean http.
    if !endpoint.contains("://") {
        return Err(invalid(format!(
            "`{endpoint}` is not a URL; write `http://{endpoint}`"
        )));
    }
    let url = reqwest::Url::parse(&endpoint)
        .map_err(|e| invalid(format!("`{endpoint}` is not a URL: {e}")))?;
    if url.scheme() != "http" {
        return Err(invalid(format!(
            "`{endpoint}` uses {}://; the load generator speaks plain http:// only",
            url.scheme()
        )));
    }
    if url.host_str().is_none() {
        return Err(invalid(format!("`{endpoint}` has no host")));
    }
    let rate = if args.max {
        0
    } else {
        args.rate.unwrap_or(DEFAULT_RATE)
    };
    let pace = if rate == 0 {
        Pace::Max
    } else {
        Pace::Every(args.spans_per_request as f64 * 1e9 / rate as f64)
    };
    Ok((endpoint, url, pace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: LoadgenArgs,
    }

    fn parse(args: &[&str]) -> Result<LoadgenArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("loadgen").chain(args.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn headers_are_name_equals_value_and_repeat() {
        let args = parse(&[
            "--header",
            "X-Scope-OrgID=acme",
            "--header",
            "authorization=Bearer a=b",
        ])
        .expect("two headers");
        let headers: Vec<(String, String)> = args
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            headers,
            [
                ("x-scope-orgid".to_owned(), "acme".to_owned()),
                ("authorization".to_owned(), "Bearer a=b".to_owned()),
            ]
        );
        for (wrong, said) in [
            ("X-Scope-OrgID", "is not `NAME=VALUE`"),
            ("bad name=x", "is not a valid header name"),
            ("trace-bin=AAE", "binary gRPC metadata"),
        ] {
            let error = parse(&["--header", wrong]).unwrap_err().to_string();
            assert!(error.contains(said), "{wrong}: {error}");
        }
    }

    #[test]
    fn defaults_resolve_to_the_grpc_port_and_a_moderate_rate() {
        let args = parse(&[]).expect("no arguments are needed");
        assert_eq!(args.duration, Duration::from_secs(10));
        assert_eq!(
            (args.spans_per_request, args.connections, args.seed),
            (100, 4, 1)
        );
        let (endpoint, _, pace) = validate(&args).expect("defaults are valid");
        assert_eq!(endpoint, "http://127.0.0.1:4317");
        assert!(
            matches!(pace, Pace::Every(ns) if (ns - 1e7).abs() < 1.0),
            "{pace:?}"
        );
        let http = parse(&["--protocol", "http"]).expect("http");
        assert_eq!(validate(&http).expect("valid").0, "http://127.0.0.1:4318");
    }

    #[test]
    fn max_and_rate_zero_mean_unlimited_and_exclude_each_other() {
        let max = parse(&["--max"]).expect("--max");
        assert!(matches!(validate(&max).expect("valid").2, Pace::Max));
        let zero = parse(&["--rate", "0"]).expect("--rate 0");
        assert!(matches!(validate(&zero).expect("valid").2, Pace::Max));
        assert!(parse(&["--rate", "5", "--max"]).is_err());
    }

    #[test]
    fn durations_and_enums_parse() {
        let args = parse(&[
            "--duration",
            "500ms",
            "--compression",
            "zstd",
            "--protocol",
            "http",
        ])
        .expect("valid");
        assert_eq!(args.duration, Duration::from_millis(500));
        assert_eq!(
            (args.compression, args.protocol),
            (Compression::Zstd, Protocol::Http)
        );
        assert!(parse(&["--duration", "ten seconds"]).is_err());
        assert!(parse(&["--compression", "brotli"]).is_err());
    }

    #[test]
    fn unusable_arguments_are_named_in_the_error() {
        for (flags, argument) in [
            (&["--connections", "0"][..], "connections"),
            (&["--spans-per-request", "0"][..], "spans-per-request"),
            (&["--duration", "0"][..], "duration"),
            (&["--endpoint", "https://collector:4317"][..], "endpoint"),
            (&["--endpoint", "not a url"][..], "endpoint"),
        ] {
            let args = parse(flags).expect("parses");
            match validate(&args) {
                Err(Error::InvalidArgument {
                    argument: named, ..
                }) => assert_eq!(named, argument),
                other => panic!("{flags:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_host_and_port_without_a_scheme_is_told_to_add_http() {
        for endpoint in ["localhost:4317", "127.0.0.1:4317"] {
            let args = parse(&["--endpoint", endpoint]).expect("parses");
            let error = validate(&args).expect_err("no scheme");
            assert_eq!(
                error.to_string(),
                format!("invalid --endpoint: `{endpoint}` is not a URL; write `http://{endpoint}`")
            );
        }
    }
}
