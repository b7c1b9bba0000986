//! The collector's YAML config, as `otlp-suite run --config` and a hot reload read it.

use otlp_collector::Config;

/// A config file: parsed and validated by [`Config::from_yaml_with_env`], with `${env:…}` substituted from a
/// fixed environment (so a run depends on its input only).
///
/// The loader must answer every text with a config or an error that names at least one problem, never panic,
/// and a config it accepts must be whole: every pipeline has a receiver and an exporter, and every component a
/// pipeline or the service names is defined.
pub fn config_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_yaml_with_env(text, &environment) {
        Ok(config) => config,
        Err(error) => {
            assert!(
                !error.to_string().is_empty(),
                "a refused config has an empty error"
            );
            return;
        }
    };
    for (pipeline, settings) in &config.service.pipelines {
        assert!(
            !settings.receivers.is_empty() && !settings.exporters.is_empty(),
            "pipeline {pipeline} was accepted without a receiver or an exporter"
        );
        for (ids, defined) in [
            (&settings.receivers, &config.receivers),
            (&settings.processors, &config.processors),
            (&settings.exporters, &config.exporters),
        ] {
            for id in ids {
                assert!(
                    defined.contains_key(id),
                    "pipeline {pipeline} names {id}, which is not defined"
                );
            }
        }
    }
    for id in &config.service.extensions {
        assert!(
            config.extensions.contains_key(id),
            "the service names extension {id}, which is not defined"
        );
    }
}

/// A few variables, so that substitution and its defaults are reached; every other name is unset.
fn environment(name: &str) -> Option<String> {
    match name {
        "HOST" => Some("127.0.0.1".to_owned()),
        "PORT" => Some("4317".to_owned()),
        "ENDPOINT" => Some("http://127.0.0.1:4317".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}
