//! The collector side of a fleet on etcd (feature `fleet`): the `fleet` extension, which registers the
//! collector as a member under a lease, publishes its load and the config version it runs, and follows the
//! fleet's config document; and [`run_with_reloads`], which applies each validated version by draining the
//! pipelines and starting the new ones in the same process.
//!
//! The fleet document is a whole collector config without the `fleet` extension: member ids and addresses are
//! per collector, so each member keeps its `fleet` settings in its own file and adds them to every version
//! ([`merge_document`]) before validating it exactly as `otlp-suite validate` does. A version that does not
//! validate, or does not start, is rejected: the last good config keeps running and the rejection shows in the
//! member record (`otlp-suite fleet status`).
//!
//! ```
//! use otlp_suite::fleet::{FleetHost, validate_document};
//!
//! let document = "receivers: { otlp: { protocols: { grpc: { endpoint: '127.0.0.1:0' } } } }\n\
//!                 exporters: { debug: }\n\
//!                 service: { pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }";
//! assert!(validate_document(document, None).is_ok());
//! let with_fleet = format!("{document}\nextensions: {{ fleet: {{ endpoints: [x], member_id: a, advertise: b }} }}");
//! assert!(validate_document(&with_fleet, None).unwrap_err().contains("per member"));
//!
//! // A collector joins the fleet when its config (parsed with these components) enables `fleet`.
//! let components = FleetHost::new().components();
//! assert!(components.extension_types().contains(&"fleet"));
//! ```

mod agent;
mod config;
mod connect;
mod document;
mod error;
mod extension;
mod host;
mod load;
mod loadbalancing;
mod resolver;
mod supervise;

pub use config::{EtcdTlsConfig, FleetConfig};
pub use connect::{connect, connect_options, explain};
pub use document::{
    merge_document, validate_document, validation_components, variables_without_default,
};
pub use error::FleetError;
pub use extension::{Factory, TYPE};
pub use host::FleetHost;
pub use loadbalancing::LoadBalancingWithFleet;
pub use resolver::{FleetResolver, FleetResolverConfig};
pub use supervise::run_with_reloads;
