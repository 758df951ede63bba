//! The assignment's sentence, in its exact format (the course fixes it, in Korean; English
//! says the same), for a design's run and for each trial of `--repeat`.

use crate::lang::{ms, Lang};
use crate::results::Client;

/// The assignment's sentence for one model, in its exact format.
pub fn assignment_sentence(lang: Lang, c: &Client) -> String {
    sentence(lang, c.before_first_failure, c.requests, c.rps, c.avg_ms)
}

/// The assignment's sentence for one trial of `--repeat`.
pub fn trial_sentence(lang: Lang, t: &crate::Trial) -> String {
    sentence(lang, t.before_first_failure, t.requests, t.rps, t.avg_ms)
}

fn sentence(
    lang: Lang,
    before_first_failure: Option<u64>,
    requests: u64,
    rps: f64,
    avg_ms: f64,
) -> String {
    let c = Sentence {
        requests,
        rps,
        avg_ms,
    };
    match (lang, before_first_failure) {
        (Lang::En, Some(n)) => format!(
            "RPS was {:.1}; a failure occurred after {n} requests; the average response time was {} ms.",
            c.rps,
            ms(c.avg_ms)
        ),
        (Lang::En, None) => format!(
            "Over {} requests in total, RPS was {:.1} and the average response time was {} ms.",
            c.requests,
            c.rps,
            ms(c.avg_ms)
        ),
        (Lang::Ko, Some(n)) => format!(
            "RPS가 {:.1}이며, {n}번의 요청을 했을 시 failure가 발생한다. 그리고 평균 응답시간은 {}ms이다.",
            c.rps,
            ms(c.avg_ms)
        ),
        (Lang::Ko, None) => format!(
            "총 요청 {}번의 RPS가 {:.1}이며, 그리고 평균 응답시간은 {}ms이다.",
            c.requests,
            c.rps,
            ms(c.avg_ms)
        ),
    }
}

/// What the sentence says.
struct Sentence {
    requests: u64,
    rps: f64,
    avg_ms: f64,
}
