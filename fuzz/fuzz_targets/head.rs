//! The request head parser on arbitrary bytes: it never panics, a head it accepts lies inside
//! the input with its target inside the head, and parsing exactly those bytes again gives the
//! same head (the parser decides from the head alone, not from what follows it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmlab_http::{parse_head, Config};

fuzz_target!(|data: &[u8]| {
    let cfg = Config::default();
    if let Ok(Some(head)) = parse_head(data, &cfg) {
        assert!(head.len <= data.len());
        assert!(head.target.start <= head.target.end && head.target.end <= head.len);
        assert!(data[..head.len].ends_with(b"\n"));
        assert_eq!(parse_head(&data[..head.len], &cfg), Ok(Some(head.clone())));
        // a strict prefix is never a complete head
        assert!(!matches!(parse_head(&data[..head.len - 1], &cfg), Ok(Some(_))));
    }
});
