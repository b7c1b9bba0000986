//! What connectors join: which pipeline hands data to which through them, the checks otelcol makes on that
//! (each connector both fed and feeding, signals it can join, no cycle), and the order it gives the pipelines.

use super::{Config, problem};
use crate::ConfigProblem;
use crate::id::{ComponentId, PipelineId};
use std::collections::{BTreeMap, BTreeSet};

/// One pipeline handing to another through a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) from: PipelineId,
    pub(crate) connector: ComponentId,
    pub(crate) to: PipelineId,
}

/// Every link of the config: a pipeline exporting to a connector, to a pipeline receiving from it, for each pair
/// of their signals the connector's type can join.
pub(crate) fn links(config: &Config) -> Vec<Link> {
    let pipelines = &config.service.pipelines;
    let mut links = Vec::new();
    for (from_id, from) in pipelines {
        for connector in from
            .exporters
            .iter()
            .filter(|id| config.connectors.contains_key(*id))
        {
            let Some(factory) = config.components().connector(connector.kind()) else {
                continue;
            };
            for (to_id, to) in pipelines {
                if to.receivers.contains(connector)
                    && factory.pairs().contains(&(from_id.signal, to_id.signal))
                {
                    links.push(Link {
                        from: from_id.clone(),
                        connector: connector.clone(),
                        to: to_id.clone(),
                    });
                }
            }
        }
    }
    links
}

/// How many links the longest chain of pipelines before each pipeline has: 0 for a pipeline no connector
/// feeds. Data only flows to deeper pipelines, so building them deepest first gives each connector its
/// pipelines, and draining them shallowest first lets each drain into pipelines still running. `None` when
/// the links form a cycle.
pub(crate) fn depths(config: &Config, links: &[Link]) -> Option<BTreeMap<PipelineId, usize>> {
    let mut depth: BTreeMap<PipelineId, usize> = config
        .service
        .pipelines
        .keys()
        .map(|id| (id.clone(), 0))
        .collect();
    // Longest paths by relaxing every link as many times as there are pipelines: a chain is at most that
    // long unless it goes round.
    for _ in 0..=depth.len() {
        let mut changed = false;
        for link in links {
            let from = depth.get(&link.from).copied().unwrap_or(0);
            let to = depth.entry(link.to.clone()).or_insert(0);
            if *to < from + 1 {
                *to = from + 1;
                changed = true;
            }
        }
        if !changed {
            return Some(depth);
        }
    }
    None
}

/// otelcol's checks on connectors, reported as problems of the config.
pub(super) fn check(config: &Config, problems: &mut Vec<ConfigProblem>) {
    let pipelines = &config.service.pipelines;
    let links = links(config);
    for (id, settings) in &config.connectors {
        let path = format!("connectors.{id}");
        let clash = [
            ("a receiver", &config.receivers),
            ("an exporter", &config.exporters),
        ]
        .into_iter()
        .find(|(_, defined)| defined.contains_key(id));
        if let Some((section, _)) = clash {
            // Which of the two a pipeline means cannot be told, so nothing else about it can be judged.
            problems.push(problem(
                &path,
                format!(
                    "`{id}` is both a connector and {section}: pipelines name them the same way, so the ids \
                     must differ (e.g. `{}/2`)",
                    id.kind()
                ),
            ));
            continue;
        }
        let feeding: Vec<&PipelineId> = pipelines
            .iter()
            .filter(|(_, p)| p.exporters.contains(id))
            .map(|(pipeline, _)| pipeline)
            .collect();
        let fed: Vec<&PipelineId> = pipelines
            .iter()
            .filter(|(_, p)| p.receivers.contains(id))
            .map(|(pipeline, _)| pipeline)
            .collect();
        match (feeding.is_empty(), fed.is_empty()) {
            // Defined and unused, like any other component: not built.
            (true, true) => continue,
            (false, true) => {
                problems.push(problem(
                    &path,
                    format!(
                        "{} to connector `{id}`, but no pipeline lists it among its receivers: a connector hands \
                         what it is given to the pipelines that receive from it",
                        doing(&feeding, "exports", "export")
                    ),
                ));
                continue;
            }
            (true, false) => {
                problems.push(problem(
                    &path,
                    format!(
                        "{} from connector `{id}`, but no pipeline lists it among its exporters: a connector is \
                         given data by the pipelines that export to it",
                        doing(&fed, "receives", "receive")
                    ),
                ));
                continue;
            }
            (false, false) => {}
        }
        let Some(factory) = config.components().connector(id.kind()) else {
            continue;
        };
        let joins = joins(factory.pairs());
        for (key, named) in factory.named_pipelines(settings) {
            if !fed.iter().any(|pipeline| pipeline.to_string() == named) {
                problems.push(problem(
                    format!("{path}.{key}"),
                    format!(
                        "pipeline `{named}` does not receive from `{id}` (those that do: {})",
                        listed(&fed)
                    ),
                ));
            }
        }
        let mut signals: Vec<crate::Signal> = feeding.iter().map(|p| p.signal).collect();
        signals.dedup();
        for signal in signals {
            for found in factory.validate_for(&path, settings, signal) {
                if !problems.contains(&found) {
                    problems.push(found);
                }
            }
        }
        for pipeline in feeding {
            if !links
                .iter()
                .any(|l| &l.from == pipeline && &l.connector == id)
            {
                problems.push(problem(
                    format!("service.pipelines.{pipeline}.exporters"),
                    format!(
                        "connector `{id}` cannot hand {} to any pipeline that receives from it ({}); `{}` joins {joins}",
                        pipeline.signal,
                        listed(&fed),
                        id.kind()
                    ),
                ));
            }
        }
        for pipeline in fed {
            if !links
                .iter()
                .any(|l| &l.to == pipeline && &l.connector == id)
            {
                problems.push(problem(
                    format!("service.pipelines.{pipeline}.receivers"),
                    format!(
                        "connector `{id}` cannot produce {} from what the pipelines exporting to it send; `{}` \
                         joins {joins}",
                        pipeline.signal,
                        id.kind()
                    ),
                ));
            }
        }
    }
    if let Some(cycle) = cycle(&links) {
        problems.push(problem(
            "service.pipelines",
            format!(
                "pipelines joined by connectors form a cycle, so data would go round for ever: {cycle}"
            ),
        ));
    }
}

/// `a`, or `a, b and c`, each in backticks.
fn listed(pipelines: &[&PipelineId]) -> String {
    let named: Vec<String> = pipelines.iter().map(|p| format!("`{p}`")).collect();
    match named.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => named.join(""),
    }
}

/// `pipeline `a` exports`, or `pipelines `a` and `b` export`.
fn doing(pipelines: &[&PipelineId], one: &str, several: &str) -> String {
    match pipelines {
        [_] => format!("pipeline {} {one}", listed(pipelines)),
        _ => format!("pipelines {} {several}", listed(pipelines)),
    }
}

/// `traces to traces, metrics to metrics`.
fn joins(pairs: &[(crate::Signal, crate::Signal)]) -> String {
    pairs
        .iter()
        .map(|(from, to)| format!("{from} to {to}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One cycle of the links, written `traces/a → forward → traces/b → forward/2 → traces/a`, if there is one.
fn cycle(links: &[Link]) -> Option<String> {
    fn visit<'a>(
        at: &'a PipelineId,
        links: &'a [Link],
        path: &mut Vec<&'a Link>,
        done: &mut BTreeSet<&'a PipelineId>,
    ) -> Option<String> {
        if let Some(start) = path.iter().position(|link| &link.from == at) {
            let mut text = at.to_string();
            for link in &path[start..] {
                text.push_str(&format!(" → {} → {}", link.connector, link.to));
            }
            return Some(text);
        }
        if done.contains(at) {
            return None;
        }
        for link in links.iter().filter(|link| &link.from == at) {
            path.push(link);
            if let Some(found) = visit(&link.to, links, path, done) {
                return Some(found);
            }
            path.pop();
        }
        done.insert(at);
        None
    }
    let mut done = BTreeSet::new();
    links
        .iter()
        .find_map(|link| visit(&link.from, links, &mut Vec::new(), &mut done))
}
