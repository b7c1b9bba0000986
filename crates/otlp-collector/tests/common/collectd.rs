//! A collectd of a test's own (Debian's `collectd-core`, with `libyajl2` for `write_http`'s JSON; `cargo xtask
//! setup` installs both), reading the host every second and writing with the plugins a test configures.

use super::server_program;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running collectd, stopped when dropped.
pub struct Collectd(Child);

impl Collectd {
    /// Starts collectd as host `testhost`, reading the load average, CPU and memory every second, with `writers`
    /// (`LoadPlugin` lines and their `<Plugin>` blocks) added to its configuration, which is written in `dir`.
    pub fn start(dir: &Path, writers: &str) -> Collectd {
        let config = dir.join("collectd.conf");
        std::fs::write(
            &config,
            format!(
                "Hostname \"testhost\"\nFQDNLookup false\nInterval 1\nBaseDir \"{dir}\"\nPIDFile \"{dir}/collectd.pid\"\n\
                 PluginDir \"/usr/lib/collectd\"\nTypesDB \"/usr/share/collectd/types.db\"\n\
                 LoadPlugin load\nLoadPlugin cpu\nLoadPlugin memory\n{writers}",
                dir = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(server_program("collectd"))
            .arg("-f")
            .arg("-C")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run collectd: {e}; run `cargo xtask setup`"));
        Collectd(child)
    }
}

impl Drop for Collectd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
