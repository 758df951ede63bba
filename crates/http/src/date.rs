//! The `Date` header value, formatted at most once per second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    static CACHE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Appends the current IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, 29 bytes) to `out`.
pub(crate) fn write_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs {
            let text = httpdate::fmt_http_date(now);
            cache.1.copy_from_slice(&text.as_bytes()[..29]);
            cache.0 = secs;
        }
        out.extend_from_slice(&cache.1);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_is_an_imf_fixdate() {
        let mut out = Vec::new();
        super::write_date(&mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert_eq!(text.len(), 29);
        assert!(text.ends_with(" GMT"));
        assert!(httpdate::parse_http_date(text).is_ok());
    }
}
