//! `protocols.grpc.keepalive.server_parameters`, otelcol's (grpc-go's) connection lifetimes on the gRPC server.
//!
//! `max_connection_age` is the one operators reach for: gRPC clients hold one HTTP/2 connection for as long as it
//! lives, so behind a layer-4 load balancer a fleet that grows never sees the existing clients. Closing each
//! connection after an age (with a `GOAWAY`, so that calls in flight finish within the grace) makes clients
//! reconnect and spread over the new members.

use crate::de;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// `protocols.grpc.keepalive`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcKeepalive {
    /// How long connections live and how idle ones are probed.
    pub server_parameters: KeepaliveServerParameters,
    /// grpc-go's limits on client pings, refused with the reason.
    #[serde(deserialize_with = "refuse_enforcement_policy")]
    enforcement_policy: de::Refused,
}

/// `keepalive.server_parameters`; a duration left out or zero leaves that limit off, as in otelcol.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveServerParameters {
    /// A connection is asked to close (`GOAWAY`) once it is this old.
    #[serde(deserialize_with = "de::optional_duration")]
    pub max_connection_age: Option<Duration>,
    /// How long calls in flight may take to finish on a connection past its age before it is closed.
    #[serde(deserialize_with = "de::optional_duration")]
    pub max_connection_age_grace: Option<Duration>,
    /// A connection that has received nothing for this long is pinged.
    #[serde(deserialize_with = "de::optional_duration")]
    pub time: Option<Duration>,
    /// A ping not answered within this long closes the connection (20 s when `time` is set and this is not).
    #[serde(deserialize_with = "de::optional_duration")]
    pub timeout: Option<Duration>,
    /// grpc-go's idle limit, refused with the reason.
    #[serde(deserialize_with = "refuse_max_connection_idle")]
    max_connection_idle: de::Refused,
}

// The reasons are tonic's (hyper's HTTP/2 server's) missing knobs, so an operator does not look for a spelling
// that works.
fn refuse_max_connection_idle<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported: tonic's gRPC server cannot close a connection for being idle (grpc-go's \
         `max_connection_idle`); `max_connection_age` closes connections by age, busy or idle, and `time` with \
         `timeout` closes those whose client stopped answering pings",
    )
}

fn refuse_enforcement_policy<'de, D: Deserializer<'de>>(_: D) -> Result<de::Refused, D::Error> {
    de::refuse::<D>(
        "not supported: tonic's gRPC server answers every client ping and has no policy on how often clients \
         may send them (grpc-go's `enforcement_policy`: `min_time`, `permit_without_stream`); leave it out",
    )
}

fn set(duration: Option<Duration>) -> Option<Duration> {
    duration.filter(|d| !d.is_zero())
}

impl GrpcKeepalive {
    /// `server` with these limits.
    pub(super) fn apply(&self, mut server: tonic::transport::Server) -> tonic::transport::Server {
        let parameters = &self.server_parameters;
        if let Some(age) = set(parameters.max_connection_age) {
            server = server.max_connection_age(age);
        }
        if let Some(grace) = set(parameters.max_connection_age_grace) {
            server = server.max_connection_age_grace(grace);
        }
        server
            .http2_keepalive_interval(set(parameters.time))
            .http2_keepalive_timeout(set(parameters.timeout))
    }
}
