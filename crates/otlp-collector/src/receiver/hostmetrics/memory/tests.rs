use super::*;

#[test]
fn states_are_computed_as_free_computes_them() {
    let meminfo = "MemTotal:       16000 kB\nMemFree:         4000 kB\nMemAvailable:   9000 kB\n\
                   Buffers:          500 kB\nCached:          3000 kB\nSReclaimable:    1000 kB\n\
                   SUnreclaim:       200 kB\n";
    let by_state = states(meminfo).unwrap();
    let kib = |n: u64| n * 1024;
    assert_eq!(
        by_state,
        [
            ("total", kib(16000)),
            ("used", kib(16000 - 4000 - 500 - 4000)),
            ("free", kib(4000)),
            ("buffered", kib(500)),
            ("cached", kib(4000)),
            ("slab_reclaimable", kib(1000)),
            ("slab_unreclaimable", kib(200)),
        ]
    );
    assert_eq!(states("Buffers: 1 kB\n"), None);
}
