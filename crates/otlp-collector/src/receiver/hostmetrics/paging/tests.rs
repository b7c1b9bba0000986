use super::*;

#[test]
fn swap_devices_and_vmstat_counters_are_read() {
    let swaps =
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2 partition 1000 250 -2\n";
    assert_eq!(
        parse_swaps(swaps),
        [("/dev/sda2".to_owned(), 1000 * 1024, 250 * 1024)]
    );
    assert!(parse_swaps("Filename Type Size Used Priority\n").is_empty());
    let vm = "pgpgin 100\npgfault 5000\npgmajfault 12\n";
    assert_eq!(vmstat(vm, "pgfault"), Some(5000));
    assert_eq!(vmstat(vm, "pgmajfault"), Some(12));
    assert_eq!(vmstat(vm, "pswpin"), None);
}
