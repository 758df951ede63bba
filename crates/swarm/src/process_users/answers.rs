//! How a Python user's request ends: counted (at once, or when its `catch_response` block
//! has judged it) and handed back to the process, whole or, with `stream=True`, its head
//! first and its body in parts as it arrives.

use std::time::Instant;

use super::ProcessUsers;
use crate::client::Response;
use crate::event_loop::Core;
use crate::output::failure;
use crate::process_request::{client_rule, Pending};
use crate::profile::{ClientProfile, Failed, Failure};
use crate::remote::{self, flags, Outcome};

/// A catch_response request answered, waiting for its block's verdict.
pub(super) struct Judged {
    pub(super) entry: usize,
    pub(super) us: u64,
    pub(super) length: u64,
    pub(super) status: u16,
    pub(super) error: Option<Failed>,
    pub(super) fast: bool,
    pub(super) name_for_errors: String,
}

impl ProcessUsers {
    /// The request is over: counted (now, or once its block has judged it), and its
    /// response handed to the process. A streamed one (`stream=True`) was handed back at its
    /// head: it ends with its body's last part (and what cut it short, if anything did).
    /// The process gets a failure in the words of the request's client.
    pub(super) fn answer(
        &mut self,
        core: &mut Core,
        id: u32,
        status: u16,
        resp: Option<Response>,
        error: Option<Failure>,
        now: Instant,
    ) {
        let Some(mut p) = self.reqs.remove(&id) else {
            return;
        };
        if let Some(slot) = p.conn {
            if self
                .conns
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.req == Some(id))
            {
                self.drop_conn(core, slot);
            }
        }
        let body = resp.as_ref().map_or(&[][..], |r| r.body.as_slice());
        let error = error.map(|why| ClientProfile::of(p.flags & flags::FAST != 0).failed(why));
        let error = error.as_ref();
        if p.streaming {
            let text = error.map(failure::text).unwrap_or_default();
            remote::part(&mut self.process.out, id, true, body, &text);
        } else {
            self.hand_back(core, id, &mut p, status, resp.as_ref(), error, now);
            if p.flags & flags::STREAM != 0 && error.is_none() {
                // the whole answer came at once: no more parts
                remote::part(&mut self.process.out, id, true, b"", "");
            }
        }
        if self.process.out.len() > 1 << 16 {
            self.flush_channel(core);
        }
    }

    /// A streamed response's progress: its head goes back to the process, counted then (as
    /// python-requests returns at the headers; its length the announced Content-Length), and
    /// its body after it in parts. A redirect the request follows is read whole and followed.
    pub(super) fn stream_progress(
        &mut self,
        core: &mut Core,
        slot: usize,
        head: Option<Response>,
        body: Vec<u8>,
        now: Instant,
    ) {
        let Some(id) = self.conns[slot].as_ref().and_then(|c| c.req) else {
            return;
        };
        if let Some(mut head) = head {
            if self.redirect(id, &head).is_some() {
                return;
            }
            self.keep_cookies(id, &head);
            head.content = head
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            let Some(mut p) = self.reqs.remove(&id) else {
                return;
            };
            self.hand_back(core, id, &mut p, head.status, Some(&head), None, now);
            p.streaming = true;
            self.reqs.insert(id, p);
        }
        if !body.is_empty() && self.reqs.get(&id).is_some_and(|p| p.streaming) {
            remote::part(&mut self.process.out, id, false, &body, "");
        }
    }

    /// Counts request `p` (now, or once its block has judged it) and hands its response (or a
    /// streamed one's head) to the process.
    #[allow(clippy::too_many_arguments)]
    fn hand_back(
        &mut self,
        core: &mut Core,
        id: u32,
        p: &mut Pending,
        status: u16,
        resp: Option<&Response>,
        error: Option<&Failed>,
        now: Instant,
    ) {
        let us = now.saturating_duration_since(p.started).as_micros() as u64;
        let fast = p.flags & flags::FAST != 0;
        let length = resp.as_ref().map_or(0, |r| r.content);
        let name = core
            .shared
            .names()
            .list
            .get(p.entry)
            .map(|e| e.name.clone())
            .unwrap_or_default();
        if p.flags & flags::DEFERRED != 0 {
            self.judged.insert(
                id,
                Judged {
                    entry: p.entry,
                    us,
                    length,
                    status,
                    error: error.cloned(),
                    fast,
                    name_for_errors: name,
                },
            );
        } else {
            let verdict = error.cloned().or_else(|| client_rule(status, fast, &name));
            core.record(p.entry, us, None, length, verdict, now);
        }
        let (headers, body) = match resp {
            Some(r) => {
                let mut h = std::mem::take(&mut p.cookies_seen);
                h.extend(r.headers.iter().cloned());
                (h, r.body.as_slice())
            }
            None => (Vec::new(), &[][..]),
        };
        remote::resp(
            &mut self.process.out,
            &remote::Resp {
                id,
                status,
                ms: us as f64 / 1000.0,
                length,
                headers: &headers,
                body,
                error: &error.map(failure::text).unwrap_or_default(),
                url: &p.url,
            },
        );
    }

    /// A catch_response block's verdict on request `id`.
    pub(super) fn judge(
        &mut self,
        core: &mut Core,
        id: u32,
        outcome: Outcome,
        error: String,
        now: Instant,
    ) {
        let Some(j) = self.judged.remove(&id) else {
            return;
        };
        let verdict = match outcome {
            Outcome::Success => None,
            Outcome::Failure => Some(Failed::said(error)),
            Outcome::ClientRule => j
                .error
                .or_else(|| client_rule(j.status, j.fast, &j.name_for_errors)),
            Outcome::NotReported => return,
        };
        core.record(j.entry, j.us, None, j.length, verdict, now);
    }
}
