//! The OpenTelemetry specification's consistent-probability vectors and error cases for
//! `th`, `rv` and the `ot` tracestate entry.

use otlp_sampling::Error;
use otlp_sampling::consistent::{
    MAX_VALUE, OtelTraceState, Randomness, Threshold, ot_from_w3c, set_ot_in_w3c,
};

fn th(probability: f64, precision: u8) -> String {
    Threshold::from_probability_with_precision(probability, precision)
        .unwrap()
        .to_th()
}

#[test]
fn probability_to_threshold_vectors_at_precision_3_4_5() {
    let cases: [(f64, [&str; 3]); 4] = [
        (1.0 / 3.0, ["aab", "aaab", "aaaab"]),
        (0.1, ["e66", "e666", "e6666"]),
        (0.01, ["fd71", "fd70a", "fd70a4"]),
        (0.001, ["ffbe7", "ffbe77", "ffbe76d"]),
    ];
    for (probability, expected) in cases {
        for (precision, want) in [3u8, 4, 5].into_iter().zip(expected) {
            assert_eq!(
                th(probability, precision),
                want,
                "p={probability} precision={precision}"
            );
        }
    }
}

#[test]
fn smallest_probability_is_all_fs_and_one_is_zero() {
    let smallest = 2f64.powi(-56);
    for precision in [1, 4, 14] {
        assert_eq!(th(smallest, precision), "ffffffffffffff");
    }
    assert_eq!(th(1.0, 4), "0");
    assert_eq!(th(0.5, 4), "8");
    assert_eq!(th(0.25, 4), "c");
    assert_eq!(
        Threshold::parse_th("ffffffffffffff").unwrap().raw(),
        MAX_VALUE
    );
}

#[test]
fn probabilities_outside_range_are_rejected() {
    for bad in [0.0, -0.1, 1.5, f64::NAN, 2f64.powi(-57)] {
        assert!(matches!(
            Threshold::from_probability(bad),
            Err(Error::ProbabilityOutOfRange(_))
        ));
    }
    assert_eq!(
        Threshold::from_probability_with_precision(0.5, 0),
        Err(Error::PrecisionOutOfRange(0))
    );
    assert_eq!(
        Threshold::from_probability_with_precision(0.5, 15),
        Err(Error::PrecisionOutOfRange(15))
    );
}

#[test]
fn th_parsing_pads_trailing_zeros_and_round_trips() {
    let t = Threshold::parse_th("c").unwrap();
    assert_eq!(t.raw(), 0xc0_0000_0000_0000);
    assert_eq!(t.probability(), 0.25);
    assert_eq!(t.adjusted_count(), 4.0);
    for encoded in ["0", "8", "aaab", "fd70a", "ffffffffffffff", "0000000000001"] {
        assert_eq!(
            Threshold::parse_th(encoded).unwrap().to_th(),
            encoded.trim_end_matches('0').max("0")
        );
    }
}

#[test]
fn th_errors_for_size_and_syntax() {
    assert_eq!(
        Threshold::parse_th(""),
        Err(Error::ThresholdSize(String::new()))
    );
    assert_eq!(
        Threshold::parse_th("123456789abcdef"),
        Err(Error::ThresholdSize("123456789abcdef".into()))
    );
    for bad in ["AAAB", "g", "8 ", "-1", "0x8"] {
        assert_eq!(
            Threshold::parse_th(bad),
            Err(Error::ThresholdSyntax(bad.into())),
            "{bad:?}"
        );
    }
}

#[test]
fn rv_must_be_exactly_14_lowercase_hex_digits() {
    assert_eq!(
        Randomness::parse_rv("6e6d1a75832a2f").unwrap().raw(),
        0x6e6d1a75832a2f
    );
    for bad in ["", "6e6d1a75832a2", "6e6d1a75832a2f0"] {
        assert_eq!(
            Randomness::parse_rv(bad),
            Err(Error::RandomnessSize(bad.into()))
        );
    }
    for bad in ["6E6D1A75832A2F", "6e6d1a75832a2g"] {
        assert_eq!(
            Randomness::parse_rv(bad),
            Err(Error::RandomnessSyntax(bad.into()))
        );
    }
}

#[test]
fn randomness_from_trace_id_is_its_low_56_bits() {
    let id = u128::from_str_radix("4bf92f3577b34da6a3ce929d0e0e4736", 16).unwrap();
    assert_eq!(
        Randomness::from_trace_id(id.to_be_bytes()).raw(),
        0xce929d0e0e4736
    );
}

#[test]
fn ot_value_parses_and_keeps_unknown_subkeys_in_order() {
    let ot = OtelTraceState::parse("th:c;rv:6e6d1a75832a2f;x:y.z;abc9:-_").unwrap();
    assert_eq!(ot.threshold, Some(Threshold::parse_th("c").unwrap()));
    assert_eq!(
        ot.randomness,
        Some(Randomness::parse_rv("6e6d1a75832a2f").unwrap())
    );
    assert_eq!(
        ot.extra,
        vec![
            ("x".to_owned(), "y.z".to_owned()),
            ("abc9".to_owned(), "-_".to_owned())
        ]
    );
    assert_eq!(ot.encode(), "th:c;rv:6e6d1a75832a2f;x:y.z;abc9:-_");
}

#[test]
fn ot_value_errors() {
    let long = format!("th:8;x:{}", "a".repeat(250));
    assert_eq!(
        OtelTraceState::parse(&long),
        Err(Error::OtValueTooLong(long.len()))
    );
    let exactly_256 = format!("x:{}", "a".repeat(254));
    assert!(OtelTraceState::parse(&exactly_256).is_ok());
    for bad in [
        "th",
        "th:8;",
        ";th:8",
        "TH:8",
        "9x:1",
        "th:8;x:a b",
        "x:a=b",
    ] {
        assert!(
            matches!(OtelTraceState::parse(bad), Err(Error::OtValueSyntax(_))),
            "{bad:?} should be a syntax error"
        );
    }
    assert!(matches!(
        OtelTraceState::parse("th:AB"),
        Err(Error::ThresholdSyntax(_))
    ));
    assert!(matches!(
        OtelTraceState::parse("rv:abc"),
        Err(Error::RandomnessSize(_))
    ));
}

#[test]
fn w3c_helpers_read_and_rewrite_ot() {
    let header = "rojo=00f067aa0ba902b7,ot=rv:6e6d1a75832a2f,congo=t61rcWkgMzE";
    let mut ot = ot_from_w3c(header).unwrap();
    assert_eq!(ot.randomness.map(Randomness::raw), Some(0x6e6d1a75832a2f));
    ot.threshold = Some(Threshold::parse_th("e666").unwrap());
    assert_eq!(
        set_ot_in_w3c(header, &ot),
        "ot=th:e666;rv:6e6d1a75832a2f,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
    assert_eq!(ot_from_w3c("").unwrap(), OtelTraceState::default());
}

#[test]
fn encoding_round_trips_and_rounding_error_is_bounded_by_precision() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for _ in 0..20_000 {
        // Log-uniform over [2^-56, 1], so tiny probabilities are exercised as much as large.
        let probability = 2f64.powf(-56.0 * rng.random::<f64>());
        let precision = rng.random_range(1..=14u8);
        let threshold = Threshold::from_probability_with_precision(probability, precision).unwrap();
        assert_eq!(Threshold::parse_th(&threshold.to_th()).unwrap(), threshold);
        // Rounding T to the widened precision changes p by at most 2^(3 - 4 * precision)
        // relative, except where the 56-bit grid itself is coarser: half a unit, 2^-57.
        let relative = (threshold.probability() - probability).abs() / probability;
        let grid = 2f64.powi(-57) / probability;
        let bound = 2f64.powi(3 - 4 * i32::from(precision)).max(grid) * (1.0 + 1e-9);
        assert!(
            relative <= bound,
            "p={probability} precision={precision}: off by {relative}"
        );
    }
}
