//! Rate limits at admission (ours; otelcol has none): a token bucket per receiver and, optionally, one per value of
//! a tenant resource attribute, so a noisy tenant is refused before it starves the others. A refused request is
//! answered as backpressure (gRPC `RESOURCE_EXHAUSTED` with `RetryInfo`, HTTP 429 with `Retry-After`) with the
//! wait the bucket computed, which the OTLP exporters honour.

use crate::pipeline::{Refusal, RefusalKind};
use crate::{AnyRequest, Batch};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use otlp_control::protect::{Admission, AdmissionLimiter, LimitScope, RateLimit};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `rate_limit` of a receiver: items (spans, data points, log records) per second over all its transports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Items refilled per second.
    pub items_per_second: u32,
    /// The most items taken at once (default: one second's worth). A request larger than this is refused for
    /// good: the client must send smaller batches.
    #[serde(default)]
    pub burst: Option<u32>,
    /// A bucket per tenant too, checked before the receiver's so that a tenant over its share does not use up
    /// the others' tokens.
    #[serde(default)]
    pub per_tenant: Option<TenantRateLimitConfig>,
}

/// `rate_limit.per_tenant`: which resource attribute names the tenant, and each tenant's rate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRateLimitConfig {
    /// The resource attribute whose string value is the tenant (items without it are limited by the receiver's
    /// bucket only).
    pub attribute: String,
    /// Items refilled per second, per tenant.
    pub items_per_second: u32,
    /// The most items of one tenant taken at once (default: one second's worth).
    #[serde(default)]
    pub burst: Option<u32>,
}

fn limit(items_per_second: u32, burst: Option<u32>) -> RateLimit {
    RateLimit {
        items_per_second,
        burst: burst.unwrap_or(items_per_second),
    }
}

impl RateLimitConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        RateLimiter::new("check", self).map(|_| ())
    }
}

/// One receiver's buckets.
pub(crate) struct RateLimiter {
    receiver: String,
    limiter: AdmissionLimiter,
    tenant_attribute: Option<String>,
}

impl RateLimiter {
    pub(crate) fn new(receiver: &str, config: &RateLimitConfig) -> Result<Self, String> {
        let mut builder = AdmissionLimiter::builder()
            .receiver(receiver, limit(config.items_per_second, config.burst));
        if let Some(tenant) = &config.per_tenant {
            if tenant.attribute.is_empty() {
                return Err(
                    "rate_limit.per_tenant.attribute must name a resource attribute".into(),
                );
            }
            builder = builder.per_tenant(limit(tenant.items_per_second, tenant.burst));
        }
        Ok(RateLimiter {
            receiver: receiver.to_owned(),
            limiter: builder.build().map_err(|e| format!("rate_limit: {e}"))?,
            tenant_attribute: config.per_tenant.as_ref().map(|t| t.attribute.clone()),
        })
    }

    /// Takes `items` tokens for `batch`, or says why not. With tenants, each tenant of the request is charged its
    /// own items; a request refused for one tenant is refused whole, and the tokens the tenants checked before it
    /// took stay taken (the request is sent again, so that share of the rate was wanted).
    pub(crate) fn admit(&self, batch: &Batch, items: usize) -> Result<(), Refusal> {
        let items = u32::try_from(items).unwrap_or(u32::MAX);
        let Some(attribute) = &self.tenant_attribute else {
            return self.answer(self.limiter.check(&self.receiver, None, items));
        };
        for (tenant, count) in &items_by_tenant(batch.request(), attribute) {
            // The receiver's bucket is charged once, below, for the whole request.
            let admission = self.limiter.check("", Some(tenant), *count);
            self.answer(admission).map_err(|mut refusal| {
                refusal.message = format!("tenant `{tenant}`: {}", refusal.message);
                refusal
            })?;
        }
        self.answer(self.limiter.check(&self.receiver, None, items))
    }

    fn answer(&self, admission: Admission) -> Result<(), Refusal> {
        let scope = |scope: LimitScope| match scope {
            LimitScope::Receiver => "the receiver's",
            LimitScope::Tenant => "the tenant's",
        };
        match admission {
            Admission::Admitted => Ok(()),
            Admission::Limited {
                scope: s,
                retry_after,
            } => Err(Refusal {
                kind: RefusalKind::Backpressure,
                retry_after,
                message: format!("{}: over {} rate limit", self.receiver, scope(s)),
            }),
            Admission::ExceedsBurst { scope: s } => Err(Refusal::permanent(format!(
                "{}: the request holds more items than {} rate limit's burst: send smaller batches",
                self.receiver,
                scope(s)
            ))),
        }
    }
}

/// Items of `request` per value of the resource attribute `attribute` (string values only).
fn items_by_tenant(request: &AnyRequest, attribute: &str) -> BTreeMap<String, u32> {
    let mut tenants: BTreeMap<String, u32> = BTreeMap::new();
    let tenant_of = |attributes: Option<&Vec<KeyValue>>| -> Option<String> {
        attributes?
            .iter()
            .find(|kv| kv.key == attribute)
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(value) => Some(value.clone()),
                _ => None,
            })
    };
    let mut add = |tenant: Option<String>, count: usize| {
        if let Some(tenant) = tenant {
            *tenants.entry(tenant).or_default() += u32::try_from(count).unwrap_or(u32::MAX);
        }
    };
    match request {
        AnyRequest::Traces(traces) => {
            for rs in &traces.resource_spans {
                let count = rs.scope_spans.iter().map(|s| s.spans.len()).sum();
                add(
                    tenant_of(rs.resource.as_ref().map(|r| &r.attributes)),
                    count,
                );
            }
        }
        AnyRequest::Logs(logs) => {
            for rl in &logs.resource_logs {
                let count = rl.scope_logs.iter().map(|s| s.log_records.len()).sum();
                add(
                    tenant_of(rl.resource.as_ref().map(|r| &r.attributes)),
                    count,
                );
            }
        }
        AnyRequest::Metrics(metrics) => {
            for rm in &metrics.resource_metrics {
                let count = rm
                    .scope_metrics
                    .iter()
                    .flat_map(|scope| &scope.metrics)
                    .map(otlp_model::data_points)
                    .sum();
                add(
                    tenant_of(rm.resource.as_ref().map(|r| &r.attributes)),
                    count,
                );
            }
        }
    }
    tenants
}
