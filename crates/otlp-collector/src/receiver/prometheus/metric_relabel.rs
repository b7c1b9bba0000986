//! `metric_relabel_configs` on a scrape's samples, as Prometheus applies them: to each series' whole label set
//! (the sample's labels merged with the target's as `honor_labels` says, `job`, `instance` and `__name__`), after
//! which a sample is dropped, or kept with the labels the rules left. The resource stays the target's: rewriting
//! `job` or `instance` here changes nothing. A sample renamed out of its family (`__name__` rewritten) becomes a
//! series of its new name: of its family's kind for a counter or gauge, untyped for a histogram's or summary's
//! part.

use super::convert::{TargetLabels, merged};
use super::relabel::{Rule, process};
use super::text::{Family, Kind};

/// `families` after `rules`, their samples' labels holding the target's as well; `job` and `instance` are the
/// target's.
pub(super) fn relabel_families(
    families: Vec<Family>,
    rules: &[Rule],
    target: &TargetLabels,
    job: &str,
    instance: &str,
) -> Vec<Family> {
    let mut out: Vec<Family> = Vec::with_capacity(families.len());
    for family in families {
        let at = out.len();
        out.push(Family {
            samples: Vec::with_capacity(family.samples.len()),
            ..family.clone()
        });
        for mut sample in family.samples {
            let mut series = merged(&sample.labels, target);
            series
                .entry("job".to_owned())
                .or_insert_with(|| job.to_owned());
            series
                .entry("instance".to_owned())
                .or_insert_with(|| instance.to_owned());
            series.insert("__name__".to_owned(), sample.name.clone());
            let Some(mut series) = process(rules, series) else {
                continue;
            };
            let Some(name) = series.remove("__name__").filter(|name| !name.is_empty()) else {
                continue;
            };
            series.remove("job");
            series.remove("instance");
            sample.labels = series.into_iter().collect();
            if name == sample.name {
                out[at].samples.push(sample);
                continue;
            }
            sample.name = name.clone();
            let kind = match family.kind {
                Kind::Histogram | Kind::Summary => Kind::Untyped,
                kind => kind,
            };
            match out.iter_mut().find(|f| f.name == name && f.kind == kind) {
                Some(renamed) => renamed.samples.push(sample),
                None => out.push(Family {
                    name,
                    kind,
                    help: String::new(),
                    samples: vec![sample],
                }),
            }
        }
    }
    out.retain(|family| !family.samples.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::super::relabel::{RelabelConfig, compile};
    use super::super::text::parse;
    use super::*;

    fn relabel(text: &str, rules: &str, honor: bool) -> Vec<Family> {
        let configs: Vec<RelabelConfig> = serde_norway::from_str(rules).unwrap();
        let target = TargetLabels {
            labels: vec![("env".to_owned(), "prod".to_owned())],
            honor,
        };
        relabel_families(
            parse(text).unwrap(),
            &compile(&configs).unwrap(),
            &target,
            "node",
            "a:9100",
        )
    }

    #[test]
    fn series_are_dropped_by_name_and_labels_rewritten() {
        let text = "# TYPE go_goroutines gauge\ngo_goroutines 7\n# TYPE http_requests_total counter\n\
                    http_requests_total{code=\"200\",path=\"/a\"} 3\nhttp_requests_total{code=\"500\",path=\"/a\"} 1\n";
        let families = relabel(
            text,
            "- { source_labels: [__name__], regex: 'go_.*', action: drop }\n\
             - { source_labels: [code], regex: '5..', action: drop }\n\
             - { source_labels: [job, env], separator: '-', target_label: where }",
            false,
        );
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].samples.len(), 1);
        let labels = &families[0].samples[0].labels;
        assert_eq!(
            labels,
            &[
                ("code".into(), "200".into()),
                ("env".into(), "prod".into()),
                ("path".into(), "/a".into()),
                ("where".into(), "node-prod".into())
            ]
        );
    }

    #[test]
    fn a_renamed_series_joins_a_family_of_its_name() {
        let text = "# TYPE old counter\nold{a=\"1\"} 3\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n";
        let families = relabel(
            text,
            "- { source_labels: [__name__], regex: 'old', target_label: __name__, replacement: new }\n\
             - { source_labels: [__name__], regex: 'h_sum', target_label: __name__, replacement: h_total }",
            false,
        );
        let names: Vec<(&str, Kind, usize)> = families
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.samples.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("new", Kind::Counter, 1),
                ("h", Kind::Histogram, 2),
                ("h_total", Kind::Untyped, 1)
            ]
        );
    }

    #[test]
    fn clashing_labels_are_settled_before_the_rules_see_them() {
        let text = "m{env=\"dev\"} 1\n";
        let kept = relabel(
            text,
            "- { source_labels: [exported_env], regex: dev, action: keep }",
            false,
        );
        assert_eq!(
            kept.len(),
            1,
            "without honor_labels the sample's `env` is `exported_env`"
        );
        let honored = relabel(
            text,
            "- { source_labels: [env], regex: dev, action: keep }",
            true,
        );
        assert_eq!(
            honored.len(),
            1,
            "with honor_labels the sample's own `env` wins"
        );
    }
}
