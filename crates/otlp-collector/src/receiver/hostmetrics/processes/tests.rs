use super::*;

#[test]
fn the_state_is_read_after_a_command_holding_parentheses_and_spaces() {
    let stat = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1234 0 0 0";
    assert_eq!(state_letter(stat), Some('S'));
    assert_eq!(state_letter("garbage"), None);
}

#[test]
fn letters_map_to_otelcol_s_statuses() {
    assert_eq!(status('R'), "running");
    assert_eq!(status('S'), "sleeping");
    assert_eq!(status('D'), "blocked");
    assert_eq!(status('Z'), "zombies");
    assert_eq!(status('t'), "stopped");
    assert_eq!(status('I'), "idle");
    assert_eq!(status('X'), "unknown");
}

#[test]
fn the_kernel_s_counts_replace_running_and_blocked_and_unknown_makes_up_the_total() {
    let stat = "cpu  1 2 3 4\nctxt 99\nbtime 1700000000\nprocesses 81234\nprocs_running 3\nprocs_blocked 1\n";
    let tasks = tasks(stat, "0.52 0.58 0.59 3/467 12345\n");
    assert_eq!(
        tasks,
        Tasks {
            created: Some(81234),
            running: 3,
            blocked: 1,
            total: Some(467)
        }
    );
    let counts = counts(['S', 'S', 'R', 'I', 'Z', 'D'], &tasks);
    assert_eq!(counts["sleeping"], 2);
    assert_eq!(counts["running"], 3);
    assert_eq!(counts["blocked"], 1);
    assert_eq!(counts["idle"], 1);
    assert_eq!(counts["zombies"], 1);
    assert_eq!(counts.values().sum::<i64>(), 467);
    assert_eq!(counts["unknown"], 467 - 8);
}
