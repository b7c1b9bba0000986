use super::*;

#[test]
fn mounts_are_read_with_their_mode_and_escapes() {
    let mounts = "/dev/sda1 / ext4 rw,relatime 0 0\n\
                  /dev/sdb1 /mnt/my\\040disk xfs ro,noatime 0 0\n\
                  proc /proc proc rw,nosuid 0 0\n";
    assert_eq!(
        parse_mounts(mounts),
        [
            Mount {
                device: "/dev/sda1".into(),
                mountpoint: "/".into(),
                fs_type: "ext4".into(),
                mode: "rw"
            },
            Mount {
                device: "/dev/sdb1".into(),
                mountpoint: "/mnt/my disk".into(),
                fs_type: "xfs".into(),
                mode: "ro"
            },
            Mount {
                device: "proc".into(),
                mountpoint: "/proc".into(),
                fs_type: "proc".into(),
                mode: "rw"
            },
        ]
    );
    assert_eq!(unescape("a\\134b"), "a\\b");
    assert_eq!(unescape("trailing\\04"), "trailing\\04");
}

#[test]
fn nodev_types_are_virtual() {
    let filesystems = "nodev\tsysfs\nnodev\ttmpfs\n\text4\n\txfs\nnodev\toverlay\n";
    assert_eq!(virtual_types(filesystems), ["sysfs", "tmpfs", "overlay"]);
}
