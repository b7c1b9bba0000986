#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    otlp_fuzz::tolerate_caught_panics();
    otlp_fuzz::arrow_ipc(data)
});
