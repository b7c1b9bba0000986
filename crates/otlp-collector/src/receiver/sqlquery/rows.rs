//! A query's rows as otelcol's `sqlquery` receiver turns them into telemetry: a data point per row for each
//! metric setting, a log record per row for each logs setting, every value read as text.

use super::config::{LogsQuery, MetricQuery, Query};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum, metric, number_data_point,
};
use otlp_ottl::{key_value, string_value};

/// The columns and rows a statement returned, each value as text (`None`: NULL).
#[derive(Debug, Default)]
pub(super) struct ResultSet {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

/// Why a statement returned nothing.
#[derive(Debug)]
pub(super) enum QueryFailure {
    /// The server refused it (a syntax error, a missing table) or a value could not be read: the connection goes
    /// on.
    Query(String),
    /// The connection failed: it is opened again for the next statement.
    Connection(String),
}

impl ResultSet {
    /// `rows` of `columns`; each row holds a value per column.
    pub(super) fn new(columns: Vec<String>, rows: Vec<Vec<Option<String>>>) -> Self {
        ResultSet { columns, rows }
    }

    /// How many rows there are.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column == name)
    }

    /// The columns holding NULL in some row that no setting of `query` reads, which otelcol warns about.
    pub(super) fn unread_nulls(&self, query: &Query) -> Vec<&str> {
        let read = |name: &str| {
            query.tracking_column == name
                || query.metrics.iter().any(|m| {
                    m.value_column == name
                        || m.attribute_columns.iter().any(|c| c == name)
                        || m.ts_column == name
                        || m.start_ts_column == name
                        || m.row_condition.as_ref().is_some_and(|c| c.column == name)
                })
                || query
                    .logs
                    .iter()
                    .any(|l| l.body_column == name || l.attribute_columns.iter().any(|c| c == name))
        };
        self.columns
            .iter()
            .enumerate()
            .filter(|(i, name)| !read(name) && self.rows.iter().any(|row| row[*i].is_none()))
            .map(|(_, name)| name.as_str())
            .collect()
    }

    /// The last row's value of `column`, the parameter of a logs query's next run.
    pub(super) fn last_value(&self, column: &str) -> Result<String, String> {
        let i = self
            .column(column)
            .ok_or_else(|| format!("tracking_column `{column}` is not a column of the result"))?;
        match self.rows.last().map(|row| &row[i]) {
            Some(Some(value)) => Ok(value.clone()),
            Some(None) => Err(format!(
                "tracking_column `{column}` is NULL in the last row; the next run reads from the same value"
            )),
            None => Err("no rows".to_owned()),
        }
    }
}

/// When the points of one run were taken, and when its sums started.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    /// The run's time, in nanoseconds since the epoch.
    pub(super) now: u64,
    /// A cumulative sum's start: when the receiver started.
    pub(super) started: u64,
    /// A delta sum's start is `now` less this: the collection interval.
    pub(super) interval: u64,
}

/// `setting`'s metric over `rows`: a point for each row its `row_condition` admits, or `None` when no row made
/// one. A row whose value cannot be read makes no point; why is added to `problems`.
pub(super) fn metric(
    rows: &ResultSet,
    setting: &MetricQuery,
    times: Times,
    problems: &mut Vec<String>,
) -> Option<Metric> {
    let mut points = Vec::new();
    for (n, row) in rows.rows.iter().enumerate() {
        let value_of = |column: &str, role: &str| -> Result<&str, String> {
            let i = rows
                .column(column)
                .ok_or_else(|| format!("{role} `{column}` is not a column of the result"))?;
            row[i]
                .as_deref()
                .ok_or_else(|| format!("{role} `{column}` is NULL"))
        };
        if let Some(condition) = &setting.row_condition {
            match value_of(&condition.column, "row_condition.column") {
                Ok(value) if value == condition.value => {}
                Ok(_) => continue,
                Err(e) => {
                    problems.push(format!("metric `{}`, row {n}: {e}", setting.metric_name));
                    continue;
                }
            }
        }
        match point(setting, times, &value_of) {
            Ok(point) => points.push(point),
            Err(e) => problems.push(format!("metric `{}`, row {n}: {e}", setting.metric_name)),
        }
    }
    if points.is_empty() {
        return None;
    }
    let data = if setting.is_sum() {
        metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: if setting.is_delta() {
                AggregationTemporality::Delta
            } else {
                AggregationTemporality::Cumulative
            } as i32,
            is_monotonic: setting.monotonic,
        })
    } else {
        metric::Data::Gauge(Gauge {
            data_points: points,
        })
    };
    Some(Metric {
        name: setting.metric_name.clone(),
        description: setting.description.clone(),
        unit: setting.unit.clone(),
        data: Some(data),
        metadata: Vec::new(),
    })
}

fn point<'row>(
    setting: &MetricQuery,
    times: Times,
    value_of: &dyn Fn(&str, &str) -> Result<&'row str, String>,
) -> Result<NumberDataPoint, String> {
    let raw = value_of(&setting.value_column, "value_column")?;
    let value = if setting.is_double() {
        number_data_point::Value::AsDouble(raw.trim().parse().map_err(|_| {
            format!(
                "value_column `{}`: `{raw}` is not a number",
                setting.value_column
            )
        })?)
    } else {
        number_data_point::Value::AsInt(raw.trim().parse().map_err(|_| {
            format!(
                "value_column `{}`: `{raw}` is not an integer (`value_type: double` reads decimals)",
                setting.value_column
            )
        })?)
    };
    let nanos = |column: &str, role: &str| -> Result<u64, String> {
        let raw = value_of(column, role)?;
        raw.trim()
            .parse::<u64>()
            .map_err(|_| format!("{role} `{column}`: `{raw}` is not nanoseconds since the epoch"))
    };
    let time = if setting.ts_column.is_empty() {
        times.now
    } else {
        nanos(&setting.ts_column, "ts_column")?
    };
    let start = if !setting.start_ts_column.is_empty() {
        nanos(&setting.start_ts_column, "start_ts_column")?
    } else if !setting.is_sum() {
        0
    } else if setting.is_delta() {
        time.saturating_sub(times.interval)
    } else {
        times.started
    };
    let mut attributes: Vec<KeyValue> = setting
        .static_attributes
        .iter()
        .map(|(key, value)| key_value(key.as_str(), string_value(value.as_str())))
        .collect();
    for column in &setting.attribute_columns {
        attributes.push(key_value(
            column.as_str(),
            string_value(value_of(column, "attribute_column")?),
        ));
    }
    Ok(NumberDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(value),
        exemplars: Vec::new(),
        flags: 0,
    })
}

/// `setting`'s log records over `rows`, observed `now`. A row whose body or an attribute is missing makes no
/// record; why is added to `problems`.
pub(super) fn logs(
    rows: &ResultSet,
    setting: &LogsQuery,
    now: u64,
    problems: &mut Vec<String>,
) -> Vec<LogRecord> {
    let mut records = Vec::with_capacity(rows.len());
    'rows: for (n, row) in rows.rows.iter().enumerate() {
        let value_of = |column: &str, role: &str| -> Result<String, String> {
            let i = rows
                .column(column)
                .ok_or_else(|| format!("{role} `{column}` is not a column of the result"))?;
            row[i]
                .clone()
                .ok_or_else(|| format!("{role} `{column}` is NULL"))
        };
        let body = match value_of(&setting.body_column, "body_column") {
            Ok(body) => body,
            Err(e) => {
                problems.push(format!("log row {n}: {e}"));
                continue;
            }
        };
        let mut attributes = Vec::with_capacity(setting.attribute_columns.len());
        for column in &setting.attribute_columns {
            match value_of(column, "attribute_column") {
                Ok(value) => attributes.push(key_value(column.as_str(), string_value(value))),
                Err(e) => {
                    problems.push(format!("log row {n}: {e}"));
                    continue 'rows;
                }
            }
        }
        records.push(LogRecord {
            observed_time_unix_nano: now,
            body: Some(string_value(body)),
            attributes,
            ..Default::default()
        });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::sqlquery::config::RowCondition;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;

    fn movies() -> ResultSet {
        ResultSet::new(
            vec!["count".into(), "genre".into(), "note".into()],
            vec![
                vec![Some("2".into()), Some("sci-fi".into()), None],
                vec![Some("1".into()), Some("action".into()), Some("x".into())],
                vec![Some("1.5".into()), None, Some("y".into())],
            ],
        )
    }

    const TIMES: Times = Times {
        now: 10_000,
        started: 1_000,
        interval: 500,
    };

    fn genres() -> MetricQuery {
        MetricQuery {
            metric_name: "movie.genres".into(),
            value_column: "count".into(),
            attribute_columns: vec!["genre".into()],
            static_attributes: [("dbinstance".to_owned(), "mydb".to_owned())].into(),
            ..Default::default()
        }
    }

    fn points(metric: &Metric) -> &[NumberDataPoint] {
        match metric.data.as_ref().unwrap() {
            metric::Data::Gauge(g) => &g.data_points,
            metric::Data::Sum(s) => &s.data_points,
            other => panic!("{other:?}"),
        }
    }

    fn attribute<'a>(point: &'a NumberDataPoint, key: &str) -> Option<&'a str> {
        point
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.as_str()),
                _ => None,
            })
    }

    #[test]
    fn a_gauge_point_per_row_with_static_and_column_attributes() {
        let mut problems = Vec::new();
        let metric = metric(&movies(), &genres(), TIMES, &mut problems).unwrap();
        let points = points(&metric);
        assert_eq!(
            points.len(),
            2,
            "the row whose value is not an integer makes none"
        );
        assert_eq!(points[0].value, Some(number_data_point::Value::AsInt(2)));
        assert_eq!(attribute(&points[0], "genre"), Some("sci-fi"));
        assert_eq!(attribute(&points[0], "dbinstance"), Some("mydb"));
        assert_eq!(
            (points[0].time_unix_nano, points[0].start_time_unix_nano),
            (10_000, 0)
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`1.5` is not an integer"),
            "{problems:?}"
        );
    }

    #[test]
    fn sums_start_when_the_receiver_did_or_an_interval_ago_or_at_their_column() {
        let mut problems = Vec::new();
        let mut sum = MetricQuery {
            data_type: "sum".into(),
            value_type: "double".into(),
            monotonic: true,
            ..genres()
        };
        sum.attribute_columns.clear();
        let cumulative = metric(&movies(), &sum, TIMES, &mut problems).unwrap();
        let Some(metric::Data::Sum(data)) = &cumulative.data else {
            panic!()
        };
        assert!(data.is_monotonic);
        assert_eq!(
            data.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(data.data_points.len(), 3);
        assert_eq!(
            data.data_points[2].value,
            Some(number_data_point::Value::AsDouble(1.5))
        );
        assert!(
            data.data_points
                .iter()
                .all(|p| p.start_time_unix_nano == 1_000)
        );

        sum.aggregation = "delta".into();
        let delta = metric(&movies(), &sum, TIMES, &mut problems).unwrap();
        assert!(
            points(&delta)
                .iter()
                .all(|p| p.start_time_unix_nano == 9_500)
        );

        let stamped = ResultSet::new(
            vec!["v".into(), "t".into(), "s".into()],
            vec![vec![
                Some("3".into()),
                Some("7000".into()),
                Some("6000".into()),
            ]],
        );
        let setting = MetricQuery {
            metric_name: "m".into(),
            value_column: "v".into(),
            ts_column: "t".into(),
            start_ts_column: "s".into(),
            ..Default::default()
        };
        let stamped = metric(&stamped, &setting, TIMES, &mut problems).unwrap();
        let point = &points(&stamped)[0];
        assert_eq!(
            (point.time_unix_nano, point.start_time_unix_nano),
            (7_000, 6_000)
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn row_conditions_pick_the_rows_of_a_metric() {
        let setting = MetricQuery {
            row_condition: Some(RowCondition {
                column: "genre".into(),
                value: "action".into(),
            }),
            ..genres()
        };
        let mut problems = Vec::new();
        let metric = metric(&movies(), &setting, TIMES, &mut problems).unwrap();
        assert_eq!(points(&metric).len(), 1);
        assert_eq!(attribute(&points(&metric)[0], "genre"), Some("action"));
        assert_eq!(
            problems.len(),
            1,
            "the NULL genre is reported: {problems:?}"
        );
    }

    #[test]
    fn missing_and_null_columns_are_reported_and_lose_only_their_row() {
        let mut problems = Vec::new();
        let setting = MetricQuery {
            value_column: "nope".into(),
            ..genres()
        };
        assert!(metric(&movies(), &setting, TIMES, &mut problems).is_none());
        assert!(
            problems[0].contains("value_column `nope` is not a column"),
            "{problems:?}"
        );

        problems.clear();
        let setting = LogsQuery {
            body_column: "genre".into(),
            attribute_columns: vec!["note".into()],
        };
        let records = logs(&movies(), &setting, 42, &mut problems);
        assert_eq!(
            records.len(),
            1,
            "rows 0 (NULL note) and 2 (NULL genre) make none"
        );
        assert_eq!(records[0].observed_time_unix_nano, 42);
        assert_eq!(
            records[0].body.as_ref().and_then(|b| b.value.clone()),
            Some(Value::StringValue("action".into()))
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn nulls_in_unread_columns_and_tracking_values_are_found() {
        let query = Query {
            metrics: vec![genres()],
            ..Default::default()
        };
        let rows = movies();
        assert_eq!(rows.unread_nulls(&query), ["note"]);
        assert_eq!(rows.last_value("note").unwrap(), "y");
        assert!(
            rows.last_value("genre")
                .unwrap_err()
                .contains("NULL in the last row")
        );
        assert!(rows.last_value("id").unwrap_err().contains("not a column"));
    }
}
