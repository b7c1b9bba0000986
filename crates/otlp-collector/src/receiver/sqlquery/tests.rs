use super::*;

fn config(yaml: &str) -> SqlqueryConfig {
    serde_norway::from_str(yaml).unwrap()
}

fn problems(yaml: &str) -> String {
    let Err(invalid) = Factory.validate(&config(yaml)) else {
        return String::new();
    };
    invalid.lines().join("\n")
}

#[test]
fn otelcols_example_config_is_valid() {
    let yaml = r#"
driver: postgres
datasource: "host=localhost port=5432 user=postgres password=s3cr3t sslmode=disable"
storage: file_storage
queries:
  - sql: "select * from my_logs where log_id > $$1"
    tracking_start_value: "10000"
    tracking_column: log_id
    logs:
      - body_column: log_body
  - sql: "select count(*) as count, genre from movie group by genre"
    metrics:
      - metric_name: movie.genres
        value_column: "count"
        attribute_columns: ["genre"]
        static_attributes:
          dbinstance: mydbinstance
"#;
    assert_eq!(problems(yaml), "");
    let config = config(yaml);
    assert_eq!(config.collection_interval, Duration::from_secs(10));
    assert_eq!(
        config.queries[1].metrics[0].static_attributes["dbinstance"],
        "mydbinstance"
    );
}

#[test]
fn each_mistake_is_named_where_it_is() {
    let all = problems(
        r#"
driver: sqlserver
datasource: "x"
host: db
queries:
  - sql: ""
  - sql: "select 1 as v"
    tracking_column: v
    metrics:
      - metric_name: m
        value_type: float
        data_type: gauge
        aggregation: delta
      - value_column: v
        data_type: histogram
        row_condition: { value: a }
"#,
    );
    for expected in [
        "driver: `sqlserver` is otelcol's, but not built here",
        "host: must not be set with `datasource`",
        "queries[0].sql: must not be empty",
        "queries[0]: needs at least one of `metrics` and `logs`",
        "queries[1].tracking_column: applies to logs queries only",
        "queries[1].metrics[0].value_column: must name a column",
        "queries[1].metrics[0].value_type: `float` is not int or double",
        "queries[1].metrics[0].aggregation: `delta` applies to sums only",
        "queries[1].metrics[1].metric_name: must not be empty",
        "queries[1].metrics[1].data_type: `histogram` is not gauge or sum",
        "queries[1].metrics[1].row_condition.column: must name a column",
    ] {
        assert!(all.contains(expected), "{expected} in:\n{all}");
    }
    assert!(
        problems("driver: mysql\nqueries: []")
            .contains("host: must be set when `datasource` is not")
    );
    assert!(problems("driver: postgres\ndatasource: \"user=a sslmode=on\"\nqueries: [{sql: x, logs: [{body_column: b}]}]")
        .contains("datasource: sslmode `on`"));
    let typo = serde_norway::from_str::<SqlqueryConfig>("driver: mysql\nquery: []").unwrap_err();
    assert!(typo.to_string().contains("unknown field `query`"), "{typo}");
}

#[test]
fn connection_settings_make_the_datasource_otelcol_would() {
    let mysql = config(
        "driver: mysql\nhost: db\nport: 3307\ndatabase: shop\nusername: otel\npassword: 'p@ss'\n\
         additional_params: { tls: skip-verify, sql_mode: \"'ANSI'\" }\nqueries: []",
    );
    assert_eq!(
        datasource_of_parts(&mysql),
        "otel:p@ss@tcp(db:3307)/shop?sql_mode=%27ANSI%27&tls=skip-verify"
    );
    assert_eq!(Driver::new(&mysql).unwrap().address(), "db:3307");

    let postgres = config(
        "driver: postgres\nhost: /run/postgresql\nport: 5433\ndatabase: shop\nusername: otel\n\
         password: \"it's\"\nadditional_params: { sslmode: disable, connect_timeout: 5 }\nqueries: []",
    );
    assert_eq!(
        datasource_of_parts(&postgres),
        r"host='/run/postgresql' port=5433 dbname='shop' user='otel' password='it\'s' connect_timeout='5' sslmode='disable'"
    );
    assert_eq!(
        Driver::new(&postgres).unwrap().address(),
        "/run/postgresql/.s.PGSQL.5433"
    );
}
