use super::*;

#[test]
fn stat_fields_are_counted_from_the_last_parenthesis() {
    // A real line (a shell), its command changed to hold spaces and parentheses.
    let line = "828531 (my (odd) sh) S 828530 828531 828531 34816 828600 4194304 1183 4021 2 7 11 5 3 1 20 0 \
                3 0 27396843 9003008 1100 18446744073709551615 1 1 0 0 0 0 65536 3686404 1266761467 0 0 0 17 1 0 \
                0 9 0 0 0 0 0 0 0 0 0 0";
    let stat = stat(line).unwrap();
    assert_eq!(
        stat,
        Stat {
            parent_pid: 828530,
            minor_faults: 1183,
            major_faults: 2,
            user_ticks: 11,
            system_ticks: 5,
            iowait_ticks: 9,
            threads: 3,
            start_ticks: 27396843,
        }
    );
    assert_eq!(super::stat("828531 (sh S 1"), None);
    assert_eq!(super::stat("garbage"), None);
}

#[test]
fn status_amounts_user_and_signals() {
    let text = "Name:\tredis-server\nUid:\t999\t999\t999\t999\nVmSize:\t   55140 kB\nVmRSS:\t    8932 kB\n\
                SigQ:\t2/63359\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t3\n";
    let fields = status(text);
    assert_eq!(fields["Name"], "redis-server");
    assert_eq!(kilobytes(&fields, "VmRSS"), 8932 * 1024);
    assert_eq!(kilobytes(&fields, "VmSwap"), 0);
    assert_eq!(uid(&fields), Some(999));
    assert_eq!(signals_queued(&fields), Some(2));
    let passwd =
        "root:x:0:0:root:/root:/bin/bash\nredis:x:999:999::/var/lib/redis:/usr/sbin/nologin\n";
    assert_eq!(user_name(passwd, 999).as_deref(), Some("redis"));
    assert_eq!(user_name(passwd, 5), None);
}

#[test]
fn io_and_command_lines() {
    let text = "rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\n\
                cancelled_write_bytes: 0\n";
    assert_eq!(
        io(text),
        Some(Io {
            read_bytes: 4096,
            write_bytes: 8192,
            read_calls: 3,
            write_calls: 4
        })
    );
    assert_eq!(io("rchar: 1\n"), None);
    assert_eq!(
        cmdline(b"/usr/bin/python3\0-m\0http.server\0"),
        ["/usr/bin/python3", "-m", "http.server"]
    );
    assert!(cmdline(b"").is_empty());
}

#[test]
fn a_cut_name_is_completed_from_the_command() {
    let command = vec![
        "/opt/bin/otelcol-contrib-custom".to_owned(),
        "--config".to_owned(),
    ];
    assert_eq!(name("otelcol-contrib", &command), "otelcol-contrib-custom");
    assert_eq!(name("bash", &["/bin/bash".to_owned()]), "bash");
    assert_eq!(name("kworker/0:1-eve", &[]), "kworker/0:1-eve");
}
