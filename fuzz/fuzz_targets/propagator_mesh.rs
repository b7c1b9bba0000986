#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_fuzz::propagator_mesh(data));
