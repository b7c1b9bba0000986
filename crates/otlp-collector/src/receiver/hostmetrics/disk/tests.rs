use super::*;

#[test]
fn diskstats_lines_give_each_device_s_counters() {
    let text = "   8       0 sda 100 5 2048 40 200 10 4096 80 1 110 130 0 0 0 0\n   7       0 loop0 0 0 0 0\n";
    assert_eq!(
        parse(text),
        [DiskStats {
            device: "sda".into(),
            read: [100, 5, 2048, 40],
            write: [200, 10, 4096, 80],
            in_progress: 1,
            io_ms: 110,
            weighted_ms: 130,
        }]
    );
}
