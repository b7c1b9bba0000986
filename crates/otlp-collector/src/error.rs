//! The collector's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can stop the collector from loading its config, starting or shutting down cleanly.
///
/// Errors on the data path (a malformed request, a full queue, a failed export) are not here: they are answered
/// to the client or counted in the self-metrics and never stop the collector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadConfig {
        /// The file named on the command line.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The config is not valid YAML.
    #[error("config is not valid YAML: {0}")]
    Yaml(String),
    /// The config is valid YAML but not a valid collector config.
    #[error("invalid config at `{path}`: {message}")]
    Config {
        /// Where in the file, as a dotted key path (`exporters.otlp/2.sending_queue.queue_size`).
        path: String,
        /// What is wrong and, for unknown names, what is supported.
        message: String,
    },
    /// The config has several problems; all of them, in the order of the file's sections.
    #[error("invalid config, {} problems:{}", .0.len(), list_problems(.0))]
    Problems(Vec<ConfigProblem>),
    /// A listener could not be opened.
    #[error("{component}: cannot listen on {endpoint}: {source}")]
    Bind {
        /// The component that wanted the port (`receivers.otlp`, `service.telemetry.metrics`).
        component: String,
        /// The configured endpoint.
        endpoint: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A listener's endpoint resolved to no address.
    #[error("{component}: endpoint {endpoint} resolves to no address")]
    NoAddress {
        /// The component that wanted the port.
        component: String,
        /// The configured endpoint.
        endpoint: String,
    },
    /// A component could not be started.
    #[error("{component}: {message}")]
    Start {
        /// The component, as its id in the config (`exporters.file/traces`).
        component: String,
        /// Why it could not start.
        message: String,
    },
    /// A server task failed while running.
    #[error("{component} stopped: {message}")]
    Serve {
        /// The component whose server failed.
        component: String,
        /// Why.
        message: String,
    },
    /// A persistent sending queue's files (`sending_queue.storage`) could not be read or written. Corrupt
    /// contents are not an error: they are cut on start and reported in the log and the self-metrics.
    #[error("persistent queue storage {path}: {source}")]
    Storage {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A listener was asked for by name but the collector has none of that name.
    #[error("no listener named {0}")]
    UnknownListener(String),
}

/// One problem of a config: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where in the file, as a dotted key path (`processors.transform.trace_statements[0]`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at `{}`: {}", self.path, self.message)
    }
}

fn list_problems(problems: &[ConfigProblem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

impl Error {
    /// The config problems this error stands for: one for [`Error::Config`], all of them for
    /// [`Error::Problems`], none for other errors.
    pub fn config_problems(&self) -> Vec<ConfigProblem> {
        match self {
            Error::Config { path, message } => vec![ConfigProblem {
                path: path.clone(),
                message: message.clone(),
            }],
            Error::Problems(problems) => problems.clone(),
            _ => Vec::new(),
        }
    }

    /// [`Error::Config`] for one problem, [`Error::Problems`] for several; `None` for none.
    pub(crate) fn from_problems(mut problems: Vec<ConfigProblem>) -> Option<Self> {
        match problems.len() {
            0 => None,
            1 => problems.pop().map(|p| Error::config(p.path, p.message)),
            _ => Some(Error::Problems(problems)),
        }
    }

    pub(crate) fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn bind(
        component: &str,
        endpoint: &str,
        addr: SocketAddr,
        source: std::io::Error,
    ) -> Self {
        // The resolved address only says more when the endpoint was a name (`localhost:4317`).
        let resolved = addr.to_string();
        Error::Bind {
            component: component.to_string(),
            endpoint: if resolved == endpoint {
                resolved
            } else {
                format!("{endpoint} ({resolved})")
            },
            source,
        }
    }
}

/// `text` followed by the messages of `cause` and its own causes that add something to it: transport errors give
/// the reason (`Connection refused`, `certificate has expired`) only in their innermost cause, under layers that
/// say "client error (Connect)" or "tcp connect error".
pub(crate) fn with_causes(
    mut text: String,
    mut cause: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(current) = cause {
        let message = current.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    struct Layer {
        message: &'static str,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    }

    #[test]
    fn causes_are_added_once_each() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let connect = Layer {
            message: "tcp connect error",
            source: Some(Box::new(refused)),
        };
        let repeated = Layer {
            message: "tcp connect error",
            source: Some(Box::new(connect)),
        };
        assert_eq!(
            with_causes("Unavailable: tcp connect error".into(), Some(&repeated)),
            "Unavailable: tcp connect error: connection refused"
        );
        assert_eq!(with_causes("alone".into(), None), "alone");
    }
}
