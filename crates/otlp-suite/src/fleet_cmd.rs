//! `otlp-suite fleet ...`: the fleet's status, its config, rollouts and collector selection, read from and
//! written to etcd through otlp-control.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use otlp_control::etcd::{EtcdFleet, RolloutChange, RolloutRequest};
use otlp_control::fleet::{HealthGate, Member, PickRequest, PickStrategy, RolloutStrategy, pick};
use otlp_control::protect::DegradationLevel;
use otlp_suite::fleet::{
    EtcdTlsConfig, FleetError, connect, explain, validate_document, variables_without_default,
};

/// Where the fleet is.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// etcd client URLs, comma-separated.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379"
    )]
    endpoints: Vec<String>,
    /// The fleet's key prefix.
    #[arg(long, global = true, default_value = "/otlp-suite")]
    prefix: String,
    /// etcd user (the password is read from $OTLP_FLEET_ETCD_PASSWORD).
    #[arg(long, global = true)]
    user: Option<String>,
    /// PEM CA certificates that sign etcd's certificate (etcdctl's flag; for `https://` endpoints).
    #[arg(long, global = true)]
    cacert: Option<PathBuf>,
    /// PEM client certificate, when etcd demands one (with --key).
    #[arg(long, global = true, requires = "key")]
    cert: Option<PathBuf>,
    /// PEM key of --cert.
    #[arg(long, global = true, requires = "cert")]
    key: Option<PathBuf>,
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Members, leader, config versions, load per region and the latest rollout.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read or replace the fleet's config document.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Roll a config out in stages with health gates, watch it, or abort it.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// The collector a client should send to: same region first, then least loaded.
    Pick {
        /// The client's region.
        #[arg(long)]
        region: Option<String>,
        /// Print the whole member record as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the stable config document (or one version of the history).
    Get {
        /// A version from the history instead of the stable one.
        #[arg(long)]
        version: Option<u64>,
    },
    /// Validate FILE as `otlp-suite validate` does, then store it as the new stable version every member applies.
    Set {
        /// The collector config document (without the per-member `fleet` extension).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RolloutCommand {
    /// Stage a config (validated first) and roll it out in batches or as a canary.
    Start {
        /// The config document to roll out.
        #[arg(long, conflicts_with = "binary", required_unless_present = "binary")]
        file: Option<PathBuf>,
        /// A binary version members must come to report (an operator hook installs it).
        #[arg(long)]
        binary: Option<String>,
        /// Canary stages 1 → 5 → 10 → 50 → 100% compared with the baseline, instead of batches.
        #[arg(long)]
        canary: bool,
        /// Members per batch of a rolling rollout.
        #[arg(long, default_value_t = 1, conflicts_with = "canary")]
        batch_size: usize,
        /// How long updated members must stay healthy before the next step, e.g. 30s.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        bake: Duration,
        /// How long members may take to report the target, e.g. 60s.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        apply_timeout: Duration,
        /// The highest export error rate an updated member may report, as a fraction (0.05 is 5%).
        #[arg(long, default_value_t = 0.05)]
        max_error_rate: f64,
    },
    /// The current (or last) rollout.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Abort the rollout in progress: every member returns to the stable config.
    Abort {
        /// Why, recorded in the rollout's events.
        #[arg(long, default_value = "aborted by an operator")]
        reason: String,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    otlp_model::duration::parse(text).map_err(|e| e.to_string())
}

/// The picked collector, and why it is not what the client would want when it is not: same region
/// first and Emergency last are preferences, so an operator reading the answer needs to know
/// which one gave way.
fn describe_pick(picked: &Member, region: Option<&str>, members: &[Member]) -> String {
    let mut text = format!("{} {} ({})", picked.address, picked.id, picked.region);
    if let Some(region) = region.filter(|region| *region != picked.region) {
        // `pick` leaves the client's region only when it has no member that is not in Emergency.
        let local = members
            .iter()
            .filter(|member| member.region == region)
            .count();
        match local {
            0 => text.push_str(&format!("; no member is in region {region}")),
            1 => text.push_str(&format!("; the member in region {region} is in emergency")),
            _ => text.push_str(&format!(
                "; all {local} members in region {region} are in emergency"
            )),
        }
    }
    if picked.load.level == DegradationLevel::Emergency {
        text.push_str("; it is in emergency (keeping error spans only), as is every member");
    }
    text
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, FleetError> {
    serde_json::to_string_pretty(value).map_err(|error| FleetError::Invalid(error.to_string()))
}

fn read_document(path: &std::path::Path) -> Result<Vec<u8>, FleetError> {
    let document = std::fs::read(path).map_err(|source| FleetError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let text = std::str::from_utf8(&document)
        .map_err(|_| FleetError::InvalidConfig(format!("{}: not UTF-8", path.display())))?;
    validate_document(text, None)
        .map_err(|problems| FleetError::InvalidConfig(format!("{}: {problems}", path.display())))?;
    // Validation expanded them from this machine's environment, which is not the members'.
    for unset in variables_without_default(text) {
        eprintln!(
            "{}: note: every member must set `{}` (at `{}`), which has no default",
            path.display(),
            unset.name,
            unset.path
        );
    }
    Ok(document)
}

/// Runs a `fleet` command; what it prints on success is returned.
pub async fn run(args: FleetArgs) -> Result<String, FleetError> {
    let password = std::env::var("OTLP_FLEET_ETCD_PASSWORD").ok();
    let credentials = match (&args.user, &password) {
        (Some(user), Some(password)) => Some((user.as_str(), password.as_str())),
        (Some(_), None) => {
            return Err(FleetError::Invalid(
                "--user needs the password in $OTLP_FLEET_ETCD_PASSWORD".into(),
            ));
        }
        _ => None,
    };
    // Validate a document before connecting, so a bad file is reported even when etcd is down.
    let document = match &args.command {
        FleetCommand::Config(ConfigCommand::Set { file })
        | FleetCommand::Rollout(RolloutCommand::Start {
            file: Some(file), ..
        }) => Some(read_document(file)?),
        _ => None,
    };
    let tls = (args.cacert.is_some() || args.cert.is_some()).then(|| EtcdTlsConfig {
        ca_file: args.cacert.clone(),
        cert_file: args.cert.clone(),
        key_file: args.key.clone(),
        server_name: None,
    });
    let fleet: EtcdFleet =
        connect(&args.endpoints, &args.prefix, credentials, tls.as_ref()).await?;
    // etcd-client connects lazily without a user, so a closed connection may first show in the command.
    execute(&fleet, args.command, document)
        .await
        .map_err(|error| explain(error, &args.endpoints, tls.as_ref()))
}

/// Carries out `command` on `fleet`; `document` is the validated file of `config set` or `rollout start`.
async fn execute(
    fleet: &EtcdFleet,
    command: FleetCommand,
    document: Option<Vec<u8>>,
) -> Result<String, FleetError> {
    match command {
        FleetCommand::Status { json: as_json } => {
            let status = fleet.status().await?;
            if as_json {
                json(&status)
            } else {
                Ok(status.to_string())
            }
        }
        FleetCommand::Config(ConfigCommand::Get { version }) => {
            let config = match version {
                Some(version) => fleet.config_version(version).await?.ok_or_else(|| {
                    FleetError::Invalid(format!("config version {version} is not in the history"))
                })?,
                None => fleet.config().await?.ok_or_else(|| {
                    FleetError::Invalid(
                        "the fleet has no config yet; store one with `otlp-suite fleet config set FILE`"
                            .into(),
                    )
                })?,
            };
            Ok(String::from_utf8_lossy(&config.document).into_owned())
        }
        FleetCommand::Config(ConfigCommand::Set { .. }) => {
            let document = document.unwrap_or_default();
            let version = fleet.put_config(&document).await?;
            Ok(format!("stored config version {version}"))
        }
        FleetCommand::Rollout(RolloutCommand::Start {
            binary,
            canary,
            batch_size,
            bake,
            apply_timeout,
            max_error_rate,
            ..
        }) => {
            let change = match (document, binary) {
                (Some(document), _) => RolloutChange::Config(document),
                (None, Some(version)) => RolloutChange::Binary(version),
                (None, None) => return Err(FleetError::Invalid("give --file or --binary".into())),
            };
            let strategy = if canary {
                RolloutStrategy::canary()
            } else {
                RolloutStrategy::Rolling { batch_size }
            };
            let gate = HealthGate {
                bake,
                apply_timeout,
                max_error_rate,
                ..HealthGate::default()
            };
            let rollout = fleet
                .start_rollout(RolloutRequest {
                    change,
                    strategy,
                    gate,
                })
                .await?;
            Ok(rollout.to_string())
        }
        FleetCommand::Rollout(RolloutCommand::Status { json: as_json }) => {
            match fleet.rollout_status().await? {
                Some(rollout) if as_json => json(&rollout),
                Some(rollout) => Ok(rollout.to_string()),
                None if as_json => Ok("null".into()),
                None => Ok("no rollout yet".into()),
            }
        }
        FleetCommand::Rollout(RolloutCommand::Abort { reason }) => {
            Ok(fleet.abort_rollout(&reason).await?.to_string())
        }
        FleetCommand::Pick {
            region,
            json: as_json,
        } => {
            let request = PickRequest {
                region: region.clone(),
                strategy: PickStrategy::LeastLoaded,
                ..PickRequest::default()
            };
            let members = fleet.members().await?;
            match pick(&members, &request) {
                Some(member) if as_json => json(member),
                Some(member) => Ok(describe_pick(member, region.as_deref(), &members)),
                None => Err(FleetError::Invalid("no collector is registered".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, region: &str, level: DegradationLevel) -> Member {
        let mut member = Member::new(id, region, format!("{id}:4317"), "1").unwrap();
        member.load.level = level;
        member
    }

    fn picked_for(region: &str, members: &[Member]) -> String {
        let request = PickRequest {
            region: Some(region.into()),
            ..PickRequest::default()
        };
        describe_pick(pick(members, &request).unwrap(), Some(region), members)
    }

    #[test]
    fn a_pick_outside_the_clients_region_says_whether_the_region_is_empty_or_in_emergency() {
        let members = [
            member("eu-1", "eu", DegradationLevel::Emergency),
            member("eu-2", "eu", DegradationLevel::Emergency),
            member("us-1", "us", DegradationLevel::Heavy),
        ];
        assert_eq!(picked_for("us", &members), "us-1:4317 us-1 (us)");
        assert_eq!(
            picked_for("ap", &members),
            "us-1:4317 us-1 (us); no member is in region ap"
        );
        assert_eq!(
            picked_for("eu", &members),
            "us-1:4317 us-1 (us); all 2 members in region eu are in emergency"
        );
        assert_eq!(
            picked_for("eu", &members[1..]),
            "us-1:4317 us-1 (us); the member in region eu is in emergency"
        );
    }

    #[test]
    fn a_pick_among_members_all_in_emergency_says_so() {
        let members = [
            member("eu-1", "eu", DegradationLevel::Emergency),
            member("us-1", "us", DegradationLevel::Emergency),
        ];
        assert_eq!(
            picked_for("eu", &members),
            "eu-1:4317 eu-1 (eu); it is in emergency (keeping error spans only), as is every member"
        );
    }
}
