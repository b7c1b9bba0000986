//! Datadog's tag names and the OpenTelemetry attributes they are, as otelcol-contrib's datadog receiver maps them
//! (after Datadog's own semantic mapping): the unified service tags and the container, cloud, ECS and Kubernetes
//! tags name the resource; the error tags name the exception attributes.

/// The resource attribute a Datadog tag key is, compared without case.
pub(super) fn resource_attribute(key: &str) -> Option<&'static str> {
    Some(match key.to_ascii_lowercase().as_str() {
        "env" => "deployment.environment",
        "service" => "service.name",
        "version" => "service.version",
        "container_id" => "container.id",
        "container_name" => "container.name",
        "image_name" => "container.image.name",
        "image_tag" => "container.image.tag",
        "runtime" => "container.runtime",
        "cloud_provider" => "cloud.provider",
        "region" => "cloud.region",
        "zone" => "cloud.availability_zone",
        "task_family" => "aws.ecs.task.family",
        "task_arn" => "aws.ecs.task.arn",
        "ecs_cluster_name" => "aws.ecs.cluster.arn",
        "task_version" => "aws.ecs.task.revision",
        "ecs_container_name" => "aws.ecs.container.arn",
        "kube_container_name" => "k8s.container.name",
        "kube_cluster_name" => "k8s.cluster.name",
        "kube_deployment" => "k8s.deployment.name",
        "kube_replica_set" => "k8s.replicaset.name",
        "kube_stateful_set" => "k8s.statefulset.name",
        "kube_daemon_set" => "k8s.daemonset.name",
        "kube_job" => "k8s.job.name",
        "kube_cronjob" => "k8s.cronjob.name",
        "kube_namespace" => "k8s.namespace.name",
        "pod_name" => "k8s.pod.name",
        "process_id" => "process.pid",
        _ => return None,
    })
}

/// The attribute a span's or point's tag key is: the exception attributes for Datadog's error tags (otelcol maps
/// the older `error.msg` and `error.stacktrace`; tracers today write `error.message`, `error.stack` and
/// `error.type`), else the key itself.
pub(super) fn attribute(key: &str) -> &str {
    match key {
        "error.msg" | "error.message" => "exception.message",
        "error.stacktrace" | "error.stack" => "exception.stacktrace",
        "error.type" => "exception.type",
        _ => key,
    }
}

/// A tag of a metric (`key:value`) as a key and value; a tag without a `:` is `unnamed_<tag>` with the tag as its
/// value, as otelcol keeps them.
pub(super) fn split(tag: &str) -> (String, &str) {
    match tag.split_once(':') {
        Some((key, value)) => (key.to_owned(), value),
        None => (format!("unnamed_{tag}"), tag),
    }
}
