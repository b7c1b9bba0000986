use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{SamplingResult, ShouldSample};

use super::consistent_result;
use crate::consistent::{MAX_ADJUSTED_COUNT, Threshold};
use crate::error::{Error, Result};

/// Settings of an [`AnomalySampler`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalySamplerConfig {
    /// Fraction of spans to keep on average (the budget), in `(0, 1]`.
    pub budget: f64,
    /// How much more likely a span scored 1.0 is kept than one scored 0.0 (weight is
    /// `1 + boost * score`).
    pub boost: f64,
    /// Learning rate of the online logistic regression.
    pub learning_rate: f64,
    /// A completed span slower than `mean + slow_sigmas * stddev` of its operation counts
    /// as anomalous when training.
    pub slow_sigmas: f64,
    /// Operations tracked individually; the rest share one bucket.
    pub max_operations: usize,
}

impl Default for AnomalySamplerConfig {
    fn default() -> Self {
        AnomalySamplerConfig {
            budget: 0.1,
            boost: 9.0,
            learning_rate: 0.05,
            slow_sigmas: 3.0,
            max_operations: 2_000,
        }
    }
}

/// What happened to a finished span, fed back with [`AnomalySampler::observe`] so the
/// model learns which operations and attributes tend to be slow or failing.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanOutcome<'a> {
    /// Span name (the operation).
    pub name: &'a str,
    /// Attributes the span started with.
    pub attributes: &'a [KeyValue],
    /// How long the span took.
    pub duration: Duration,
    /// Whether the span ended with an error status.
    pub is_error: bool,
}

const FEATURES: usize = 4;
/// Smoothing of the mean sampling weight; about the last 1000 decisions count.
const WEIGHT_SMOOTHING: f64 = 0.001;
/// Smoothing of per-operation latency and anomaly statistics.
const OPERATION_SMOOTHING: f64 = 0.05;
/// Completed spans an operation needs before its latency statistics are trusted.
const MIN_LATENCY_SAMPLES: u64 = 30;

#[derive(Debug, Default, Clone)]
struct OperationStats {
    started: u64,
    completed: u64,
    latency_mean: f64,
    latency_var: f64,
    anomaly_rate: f64,
}

#[derive(Debug)]
struct Model {
    weights: [f64; FEATURES],
    mean_weight: f64,
    total_started: u64,
    operations: HashMap<String, OperationStats>,
}

/// An anomaly-seeking sampler that keeps unusual spans at a higher rate inside a fixed
/// budget.
///
/// Each span gets a score in `(0, 1)` from a streaming logistic regression over four
/// features: a bias, how rare its operation is, whether its attributes signal an error
/// (`error=true`, HTTP status >= 500, a non-zero gRPC status, `exception.type`), and how
/// often its operation has recently been slow or failed (learned from
/// [`AnomalySampler::observe`]). Its probability is
/// `budget * (1 + boost * score) / mean weight`, so the average stays at the budget while
/// high scores get more. Every kept span carries its own `th`, so each one's adjusted
/// count is `1 / p` and sums of adjusted counts remain unbiased estimates of totals.
#[derive(Debug, Clone)]
pub struct AnomalySampler {
    config: AnomalySamplerConfig,
    model: Arc<Mutex<Model>>,
}

impl AnomalySampler {
    /// A sampler with an untrained model whose priors favour error-looking and rare spans.
    pub fn new(config: AnomalySamplerConfig) -> Result<Self> {
        if !(config.budget > 1.0 / MAX_ADJUSTED_COUNT as f64 && config.budget <= 1.0) {
            return Err(Error::ProbabilityOutOfRange(config.budget));
        }
        if !(config.boost.is_finite() && config.boost >= 0.0) {
            return Err(Error::Config(format!(
                "boost must be a non-negative number, got {}",
                config.boost
            )));
        }
        if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
            return Err(Error::Config(format!(
                "learning_rate must be a positive number, got {}",
                config.learning_rate
            )));
        }
        Ok(AnomalySampler {
            config,
            model: Arc::new(Mutex::new(Model {
                // bias, rarity, error hint, operation anomaly rate
                weights: [-3.0, 2.0, 4.0, 4.0],
                mean_weight: 0.0,
                total_started: 0,
                operations: HashMap::new(),
            })),
        })
    }

    /// The model's current score for a span, in `(0, 1)`.
    pub fn score(&self, name: &str, attributes: &[KeyValue]) -> f64 {
        let model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
        let features = features(&model, name, attributes);
        sigmoid(dot(&model.weights, &features))
    }

    /// Trains the model on a finished span: it is a positive example when it failed or
    /// was unusually slow for its operation.
    pub fn observe(&self, outcome: &SpanOutcome<'_>) {
        let mut model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
        let key = operation_key(&model, outcome.name, self.config.max_operations).to_owned();
        let latency = outcome.duration.as_secs_f64();
        let slow = {
            let stats = model.operations.entry(key.clone()).or_default();
            let slow = stats.completed >= MIN_LATENCY_SAMPLES
                && latency
                    > stats.latency_mean + self.config.slow_sigmas * stats.latency_var.sqrt();
            // Outliers stay out of the baseline, so one slow burst does not widen it
            // enough to hide the next.
            if !slow {
                stats.completed += 1;
                let alpha = OPERATION_SMOOTHING.max(1.0 / stats.completed as f64);
                let delta = latency - stats.latency_mean;
                stats.latency_mean += alpha * delta;
                stats.latency_var = (1.0 - alpha) * (stats.latency_var + alpha * delta * delta);
            }
            slow
        };
        let label = if outcome.is_error || slow { 1.0 } else { 0.0 };
        let x = features(&model, outcome.name, outcome.attributes);
        let prediction = sigmoid(dot(&model.weights, &x));
        let step = self.config.learning_rate * (label - prediction);
        for (weight, feature) in model.weights.iter_mut().zip(x) {
            *weight += step * feature;
        }
        if let Some(stats) = model.operations.get_mut(&key) {
            stats.anomaly_rate += OPERATION_SMOOTHING * (label - stats.anomaly_rate);
        }
    }

    fn probability_for(&self, name: &str, attributes: &[KeyValue]) -> f64 {
        let mut model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
        model.total_started += 1;
        let key = match model.operations.get_mut(name) {
            Some(stats) => {
                stats.started += 1;
                name
            }
            None => {
                let key = operation_key(&model, name, self.config.max_operations);
                model.operations.entry(key.to_owned()).or_default().started += 1;
                key
            }
        };
        let score = sigmoid(dot(&model.weights, &features(&model, key, attributes)));
        let weight = 1.0 + self.config.boost * score;
        model.mean_weight = if model.mean_weight == 0.0 {
            weight
        } else {
            model.mean_weight + WEIGHT_SMOOTHING * (weight - model.mean_weight)
        };
        (self.config.budget * weight / model.mean_weight)
            .clamp(1.0 / MAX_ADJUSTED_COUNT as f64, 1.0)
    }
}

impl ShouldSample for AnomalySampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        _span_kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let probability = self.probability_for(name, attributes);
        let threshold =
            Threshold::from_probability(probability).unwrap_or(Threshold::ALWAYS_SAMPLE);
        consistent_result(parent_context, trace_id, threshold)
    }
}

fn operation_key<'a>(model: &Model, name: &'a str, max_operations: usize) -> &'a str {
    if model.operations.contains_key(name) || model.operations.len() < max_operations {
        name
    } else {
        ""
    }
}

fn features(model: &Model, name: &str, attributes: &[KeyValue]) -> [f64; FEATURES] {
    let stats = model.operations.get(name);
    let rarity = match (stats, model.operations.len()) {
        (Some(stats), operations) if model.total_started > 0 && operations > 0 => {
            // 0.5 for an operation with an average share of traffic, towards 1 for rare ones.
            let average = model.total_started as f64 / operations as f64;
            1.0 / (1.0 + stats.started as f64 / average)
        }
        _ => 1.0,
    };
    let anomaly_rate = stats.map_or(0.0, |s| s.anomaly_rate);
    [1.0, rarity, error_hint(attributes), anomaly_rate]
}

fn error_hint(attributes: &[KeyValue]) -> f64 {
    let signals_error = attributes
        .iter()
        .any(|kv| match (kv.key.as_str(), &kv.value) {
            ("error", Value::Bool(true)) => true,
            ("http.response.status_code" | "http.status_code", Value::I64(code)) => *code >= 500,
            ("rpc.grpc.status_code", Value::I64(code)) => *code != 0,
            ("exception.type", _) => true,
            _ => false,
        });
    if signals_error { 1.0 } else { 0.0 }
}

fn dot(weights: &[f64; FEATURES], features: &[f64; FEATURES]) -> f64 {
    weights.iter().zip(features).map(|(w, x)| w * x).sum()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}
