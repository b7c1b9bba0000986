use super::*;

#[test]
fn interfaces_give_receive_and_transmit_counters() {
    let dev = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0
  eth0: 5000 50 1 2 0 0 0 3 7000 70 4 5 0 0 0 0
";
    assert_eq!(
        parse_dev(dev),
        [
            Interface {
                name: "lo".into(),
                receive: [1000, 10, 0, 0],
                transmit: [1000, 10, 0, 0]
            },
            Interface {
                name: "eth0".into(),
                receive: [5000, 50, 1, 2],
                transmit: [7000, 70, 4, 5]
            },
        ]
    );
}

#[test]
fn tcp_connections_are_counted_by_state() {
    let tcp = "  sl  local_address rem_address   st tx_queue rx_queue
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000
   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000
   3: 0100007F:C352 0100007F:1F90 06 00000000:00000000 00:00000000 00000000
";
    let mut counts = [0; 11];
    count_tcp(tcp, &mut counts);
    let by_name: Vec<(&str, i64)> = TCP_STATES
        .iter()
        .copied()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(
        by_name,
        [("ESTABLISHED", 2), ("TIME_WAIT", 1), ("LISTEN", 1)]
    );
}
