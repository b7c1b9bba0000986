use super::*;

const STAT: &str = "cpu  500 10 300 9000 40 5 6 7 8 9
cpu0 200 10 100 4500 20 2 3 4 8 9
cpu1 300 0 200 4500 20 3 3 3 0 0
intr 123
btime 1700000000
processes 42
";

#[test]
fn per_cpu_lines_are_seconds_by_otelcol_state() {
    let times = parse_stat(STAT);
    assert_eq!(times.len(), 2, "the `cpu` total is not a CPU");
    assert_eq!(times[0].cpu, "0");
    assert_eq!(
        times[0].seconds,
        [2.0, 0.1, 1.0, 45.0, 0.2, 0.02, 0.03, 0.04]
    );
    assert_eq!(boot_time(STAT), Some(1_700_000_000));
}

#[test]
fn an_old_kernel_s_shorter_lines_leave_the_missing_states_at_zero() {
    let times = parse_stat("cpu0 100 0 100 800\n");
    assert_eq!(times[0].seconds, [1.0, 0.0, 1.0, 8.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn cpuinfo_gives_frequencies_and_physical_cores() {
    let cpuinfo = "processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\ncpu MHz\t\t: 2400.000\n\n\
                   processor\t: 1\nphysical id\t: 0\ncore id\t\t: 0\ncpu MHz\t\t: 2500.500\n\n\
                   processor\t: 2\nphysical id\t: 0\ncore id\t\t: 1\ncpu MHz\t\t: 2400.000\n";
    let (frequencies, cores) = parse_cpuinfo(cpuinfo);
    assert_eq!(
        frequencies,
        [
            ("0".to_owned(), 2.4e9),
            ("1".to_owned(), 2.5005e9),
            ("2".to_owned(), 2.4e9)
        ]
    );
    assert_eq!(cores, 2, "two hyperthreads of core 0, and core 1");
}
