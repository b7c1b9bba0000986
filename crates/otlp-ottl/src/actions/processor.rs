//! The `attributes` and `resource` processors over requests.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::config::{AttributesConfig, ResourceConfig};
use super::matching::Matcher;
use super::{Actions, ClientInfo};
use crate::context::Signal;
use crate::error::{ConfigProblem, Error, Result};

/// The `attributes` processor: actions on span, log record or data point attributes, for the
/// items `include`/`exclude` select.
#[derive(Debug, Clone)]
pub struct AttributesProcessor {
    actions: Actions,
    include: Option<Matcher>,
    exclude: Option<Matcher>,
    signal: Signal,
}

impl AttributesProcessor {
    /// Compiles the configuration for one signal (`include`/`exclude` properties differ per
    /// signal: `services` applies to spans, `log_bodies` to logs, `metric_names` to metrics).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] with every problem, at paths such as `actions[2]` or
    /// `include.services`.
    pub fn new(config: &AttributesConfig, signal: Signal) -> Result<Self> {
        let mut problems = Vec::new();
        if config.actions.is_empty() {
            problems.push(ConfigProblem::new(
                "actions",
                "at least one action is required",
            ));
        }
        let actions = match Actions::with_path(&config.actions, "actions") {
            Ok(actions) => actions,
            Err(error) => {
                problems.extend(error.into_problems("actions"));
                Actions::default()
            }
        };
        let mut matcher = |key: &str, props: Option<&super::config::MatchProperties>| {
            props.and_then(|p| {
                Matcher::new(p, signal)
                    .map_err(|message| problems.push(ConfigProblem::new(key, message)))
                    .ok()
            })
        };
        let include = matcher("include", config.include.as_ref());
        let exclude = matcher("exclude", config.exclude.as_ref());
        if !problems.is_empty() {
            return Err(Error::InvalidConfig(problems));
        }
        Ok(AttributesProcessor {
            actions,
            include,
            exclude,
            signal,
        })
    }

    /// The signal this processor was compiled for.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    fn selected(&self, matches: impl Fn(&Matcher) -> bool) -> bool {
        self.include.as_ref().is_none_or(&matches) && !self.exclude.as_ref().is_some_and(&matches)
    }

    /// Applies the actions to the selected spans.
    pub fn process_traces(&self, request: &mut ExportTraceServiceRequest, client: &ClientInfo) {
        for rs in &mut request.resource_spans {
            let resource = rs.resource.as_ref();
            for ss in &mut rs.scope_spans {
                let scope = ss.scope.as_ref();
                for span in &mut ss.spans {
                    if self.selected(|m| m.matches_span(resource, scope, span)) {
                        self.actions.apply(&mut span.attributes, client);
                    }
                }
            }
        }
    }

    /// Applies the actions to the selected log records.
    pub fn process_logs(&self, request: &mut ExportLogsServiceRequest, client: &ClientInfo) {
        for rl in &mut request.resource_logs {
            let resource = rl.resource.as_ref();
            for sl in &mut rl.scope_logs {
                let scope = sl.scope.as_ref();
                for log in &mut sl.log_records {
                    if self.selected(|m| m.matches_log(resource, scope, log)) {
                        self.actions.apply(&mut log.attributes, client);
                    }
                }
            }
        }
    }

    /// Applies the actions to the data points of the selected metrics.
    pub fn process_metrics(&self, request: &mut ExportMetricsServiceRequest, client: &ClientInfo) {
        for rm in &mut request.resource_metrics {
            let resource = rm.resource.as_ref();
            for sm in &mut rm.scope_metrics {
                for metric in &mut sm.metrics {
                    if !self.selected(|m| m.matches_metric(resource, metric)) {
                        continue;
                    }
                    match &mut metric.data {
                        Some(Data::Gauge(d)) => d
                            .data_points
                            .iter_mut()
                            .for_each(|p| self.actions.apply(&mut p.attributes, client)),
                        Some(Data::Sum(d)) => d
                            .data_points
                            .iter_mut()
                            .for_each(|p| self.actions.apply(&mut p.attributes, client)),
                        Some(Data::Histogram(d)) => d
                            .data_points
                            .iter_mut()
                            .for_each(|p| self.actions.apply(&mut p.attributes, client)),
                        Some(Data::ExponentialHistogram(d)) => d
                            .data_points
                            .iter_mut()
                            .for_each(|p| self.actions.apply(&mut p.attributes, client)),
                        Some(Data::Summary(d)) => d
                            .data_points
                            .iter_mut()
                            .for_each(|p| self.actions.apply(&mut p.attributes, client)),
                        None => {}
                    }
                }
            }
        }
    }
}

/// The `resource` processor: actions on every resource's attributes.
#[derive(Debug, Clone)]
pub struct ResourceProcessor {
    actions: Actions,
}

impl ResourceProcessor {
    /// Compiles the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] with every problem, at paths such as `attributes[0]`.
    pub fn new(config: &ResourceConfig) -> Result<Self> {
        if config.attributes.is_empty() {
            return Err(Error::InvalidConfig(vec![ConfigProblem::new(
                "attributes",
                "at least one action is required",
            )]));
        }
        Ok(ResourceProcessor {
            actions: Actions::with_path(&config.attributes, "attributes")?,
        })
    }

    fn apply(&self, resource: &mut Option<Resource>, client: &ClientInfo) {
        let resource = resource.get_or_insert_with(Resource::default);
        self.actions.apply(&mut resource.attributes, client);
    }

    /// Applies the actions to every resource of the request.
    pub fn process_traces(&self, request: &mut ExportTraceServiceRequest, client: &ClientInfo) {
        for rs in &mut request.resource_spans {
            self.apply(&mut rs.resource, client);
        }
    }

    /// Applies the actions to every resource of the request.
    pub fn process_metrics(&self, request: &mut ExportMetricsServiceRequest, client: &ClientInfo) {
        for rm in &mut request.resource_metrics {
            self.apply(&mut rm.resource, client);
        }
    }

    /// Applies the actions to every resource of the request.
    pub fn process_logs(&self, request: &mut ExportLogsServiceRequest, client: &ClientInfo) {
        for rl in &mut request.resource_logs {
            self.apply(&mut rl.resource, client);
        }
    }
}
