//! The web UI Locust users know, over the steering handle: a start form, a header with state,
//! users, RPS and failures, the Statistics, Charts, Failures, Exceptions, Current ratio and
//! Download Data tabs, and Locust's endpoints with Locust's JSON shapes ([`locust`]).
//!
//! axum serves it on its own thread and tokio runtime, so the page never competes with the
//! engine for anything but the lock it reads statistics under (held for microseconds). Charts
//! are drawn from the engine's per-second history (`GET /stats/history`), kept on the server
//! and bounded, then moved every second by a server-sent-events stream (`GET /events`), so they
//! survive a reload and a long run. Every script and style (uPlot included) is compiled into
//! the binary: the page works offline.
//!
//! State changes only by POST. `--web-login USER:PASS` puts everything behind HTTP basic auth.
//! In `compare` the same page shows which model runs now with its live charts, then a link to
//! the finished report; the form is off there (compare drives).

pub mod locust;
mod origin;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Query, State as AxumState};
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::json;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tower_http::validate_request::{ValidateRequest, ValidateRequestHeaderLayer};

use swarmlab_swarm::engine::{Event, Swarm};
use swarmlab_swarm::output::csv;

use crate::html_report as html;
use swarmlab_swarm::plan::Plan;
use swarmlab_swarm::wait::WaitTime;
use swarmlab_swarm::workload::Workload;

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const UPLOT_JS: &str = include_str!("assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("assets/uplot/uPlot.min.css");
const UPLOT_LICENSE: &str = include_str!("assets/uplot/LICENSE");

/// Where and how the UI is served.
#[derive(Clone, Debug)]
pub struct WebOptions {
    /// Address to bind. By default, 127.0.0.1:8089 (Locust's port, loopback only).
    pub bind: SocketAddr,
    /// `USER:PASS` for HTTP basic auth. By default, none.
    pub login: Option<String>,
}

impl Default for WebOptions {
    fn default() -> WebOptions {
        WebOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 8089)),
            login: None,
        }
    }
}

/// What users do when the form says nothing else: the one default user against a host, or a
/// workload from a scenario (or locustfile) that a host in the form retargets.
pub enum Template {
    /// `GET` the host's path, with this wait time.
    Simple(WaitTime),
    /// A workload (a form host overrides its classes' hosts).
    Workload(Workload),
}

/// The form's initial values.
#[derive(Clone, Debug, Default)]
pub struct FormDefaults {
    /// Users.
    pub users: usize,
    /// Spawn rate.
    pub spawn_rate: f64,
    /// Host URL.
    pub host: String,
    /// Run time, as typed (`""`: none).
    pub run_time: String,
    /// Wait time, as typed.
    pub wait_time: String,
    /// Open-model rate (`""`: closed model).
    pub rate: String,
    /// The scenario or locustfile named in the page (Locust's `locustfile`).
    pub locustfile: String,
}

/// The UI's state: the engine it shows (replaced per model in `compare`), what the form builds
/// runs from, and compare's progress.
pub struct App {
    swarm: RwLock<Option<Swarm>>,
    /// Bumped when `swarm` is replaced, so the event bridge follows the new engine.
    generation: AtomicU64,
    template: Mutex<Template>,
    /// Engine-wide options for an engine the form creates (no host was known before).
    plan: Plan,
    defaults: Mutex<FormDefaults>,
    /// Compare's banner (which model, which phase) and finished report, in compare mode.
    compare: Option<Mutex<CompareStatus>>,
    /// A file with every entry's history (`--csv-full-history`), for its download.
    full_history_csv: Mutex<Option<std::path::PathBuf>>,
    events: broadcast::Sender<String>,
    closing: AtomicBool,
    /// Pages served: whether anyone is watching.
    visits: AtomicU64,
}

#[derive(Default)]
struct CompareStatus {
    banner: String,
    report: Option<String>,
}

impl App {
    /// The UI of `swarmlab swarm`: `swarm` when a host or scenario was given, else one is made
    /// at the first start from the form's host.
    pub fn for_swarm(
        swarm: Option<Swarm>,
        template: Template,
        plan: Plan,
        defaults: FormDefaults,
    ) -> Arc<App> {
        App::new(swarm, template, plan, defaults, None)
    }

    /// The UI of `swarmlab compare`: no form; [`App::show`] each model's engine as it runs.
    pub fn for_compare() -> Arc<App> {
        App::new(
            None,
            Template::Simple(WaitTime::default()),
            Plan::default(),
            FormDefaults::default(),
            Some(Mutex::new(CompareStatus::default())),
        )
    }

    fn new(
        swarm: Option<Swarm>,
        template: Template,
        plan: Plan,
        defaults: FormDefaults,
        compare: Option<Mutex<CompareStatus>>,
    ) -> Arc<App> {
        let (events, _) = broadcast::channel(256);
        Arc::new(App {
            swarm: RwLock::new(swarm),
            generation: AtomicU64::new(0),
            template: Mutex::new(template),
            plan,
            defaults: Mutex::new(defaults),
            compare,
            full_history_csv: Mutex::new(None),
            events,
            closing: AtomicBool::new(false),
            visits: AtomicU64::new(0),
        })
    }

    /// The engine shown now.
    pub fn swarm(&self) -> Option<Swarm> {
        self.swarm.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Shows `swarm` from now on, with `banner` above it (compare: the model and phase).
    pub fn show(&self, swarm: Swarm, banner: &str) {
        *self.swarm.write().unwrap_or_else(|e| e.into_inner()) = Some(swarm);
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.set_banner(banner);
    }

    /// Changes the banner (compare: phase and time left).
    pub fn set_banner(&self, banner: &str) {
        if let Some(c) = &self.compare {
            lock(c).banner = banner.to_string();
            let _ = self
                .events
                .send(sse("banner", &json!({ "banner": banner })));
        }
    }

    /// Compare is done: the page links to this report.
    pub fn set_report(&self, html: String) {
        if let Some(c) = &self.compare {
            lock(c).report = Some(html);
            let _ = self.events.send(sse("report", &json!({})));
        }
    }

    /// Serves the full-history CSV file from `path` (`--csv-full-history`).
    pub fn set_full_history_csv(&self, path: std::path::PathBuf) {
        *lock(&self.full_history_csv) = Some(path);
    }

    /// How many times the page was opened.
    pub fn visits(&self) -> u64 {
        self.visits.load(Ordering::Relaxed)
    }

    fn host(&self) -> String {
        lock(&self.defaults).host.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn sse(kind: &str, data: &serde_json::Value) -> String {
    format!("{kind}\n{data}")
}

/// A running web UI.
pub struct Web {
    /// Where it listens.
    pub addr: SocketAddr,
    app: Arc<App>,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long open connections (a page's event stream never ends by itself) get to finish once
/// the UI closes; then they are dropped (a browser showing the page held Ctrl-C off forever).
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

impl Web {
    /// Stops serving: open event streams end, every connection within 0.5 s.
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.app.closing.store(true, Ordering::SeqCst);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.shut();
    }
}

/// Binds `opts.bind` and serves `app` on a thread of its own.
pub fn start(app: Arc<App>, opts: &WebOptions) -> io::Result<Web> {
    let listener = std::net::TcpListener::bind(opts.bind)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let router = router(Arc::clone(&app), opts.login.as_deref());
    let (tx, rx) = tokio::sync::watch::channel(false);
    let bridge_app = Arc::clone(&app);
    std::thread::Builder::new()
        .name("swarm-web-events".into())
        .spawn(move || bridge(&bridge_app))?;
    let thread = std::thread::Builder::new()
        .name("swarm-web".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the web UI");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("register the listener");
                let mut down = rx.clone();
                let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                    let _ = down.wait_for(|d| *d).await;
                });
                let mut down = rx;
                // the runtime drops every connection still open when this returns
                tokio::select! {
                    _ = serve => {}
                    _ = async move {
                        let _ = down.wait_for(|d| *d).await;
                        tokio::time::sleep(CLOSE_GRACE).await;
                    } => {}
                }
            });
        })?;
    Ok(Web {
        addr,
        app,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// Forwards the shown engine's events to the page's event streams, following the engine when
/// compare replaces it.
fn bridge(app: &App) {
    while !app.closing.load(Ordering::SeqCst) {
        let generation = app.generation.load(Ordering::SeqCst);
        let Some(swarm) = app.swarm() else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let rx = swarm.subscribe();
        let _ = app.events.send(sse("swarm", &json!({})));
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Event::Second(row)) => {
                    let _ = app.events.send(sse("row", &json!(row)));
                }
                Ok(Event::State(state)) => {
                    let _ = app
                        .events
                        .send(sse("state", &json!({ "state": state.name() })));
                }
                Ok(Event::Quit) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    // wait for another engine (compare) or the end
                    while app.generation.load(Ordering::SeqCst) == generation
                        && !app.closing.load(Ordering::SeqCst)
                    {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    break;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            if app.generation.load(Ordering::SeqCst) != generation
                || app.closing.load(Ordering::SeqCst)
            {
                break;
            }
        }
    }
}

/// The routes, behind basic auth when `login` is `USER:PASS`.
pub fn router(app: Arc<App>, login: Option<&str>) -> Router {
    let r = Router::new()
        .route("/", get(index))
        .route("/assets/app.js", get(|| asset(APP_JS, "text/javascript")))
        .route("/assets/app.css", get(|| asset(APP_CSS, "text/css")))
        .route(
            "/assets/uPlot.iife.min.js",
            get(|| asset(UPLOT_JS, "text/javascript")),
        )
        .route(
            "/assets/uPlot.min.css",
            get(|| asset(UPLOT_CSS, "text/css")),
        )
        .route(
            "/assets/uPlot.LICENSE.txt",
            get(|| asset(UPLOT_LICENSE, "text/plain")),
        )
        .route("/swarm", post(swarm_start))
        .route("/stop", post(stop))
        .route("/stats/reset", post(reset))
        .route("/stats/requests", get(requests))
        .route("/stats/history", get(history))
        .route("/stats/requests/csv", get(requests_csv))
        .route("/stats/requests_full_history/csv", get(full_history_csv))
        .route("/stats/failures/csv", get(failures_csv))
        .route("/exceptions/csv", get(exceptions_csv))
        .route("/exceptions", get(exceptions))
        .route("/tasks", get(tasks))
        .route("/stats/report", get(report))
        .route("/compare/report", get(compare_report))
        .route(
            "/worker-count",
            get(|| async { Json(json!({"worker_count": 0})) }),
        )
        .route(
            "/logs",
            get(|| async { Json(json!({"master": [], "workers": {}})) }),
        )
        .route("/events", get(events))
        .with_state(app)
        .layer(ValidateRequestHeaderLayer::custom(origin::SameOrigin::new(
            login.is_none(),
        )));
    match login {
        Some(login) => r.layer(ValidateRequestHeaderLayer::custom(BasicAuth::new(login))),
        None => r,
    }
}

/// HTTP basic auth against one `USER:PASS`.
#[derive(Clone)]
struct BasicAuth {
    expected: HeaderValue,
}

impl BasicAuth {
    fn new(login: &str) -> BasicAuth {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(login);
        BasicAuth {
            expected: HeaderValue::from_str(&format!("Basic {token}"))
                .expect("base64 is a valid header value"),
        }
    }
}

impl<B> ValidateRequest<B> for BasicAuth {
    type ResponseBody = axum::body::Body;

    fn validate(&mut self, request: &mut Request<B>) -> Result<(), Response<Self::ResponseBody>> {
        match request.headers().get(header::AUTHORIZATION) {
            Some(v) if v == self.expected => Ok(()),
            _ => Err((
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"swarmlab\"")],
                "login required\n",
            )
                .into_response()),
        }
    }
}

async fn asset(body: &'static str, content_type: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

async fn index(AxumState(app): AxumState<Arc<App>>) -> Html<String> {
    app.visits.fetch_add(1, Ordering::Relaxed);
    let d = lock(&app.defaults).clone();
    let state = app.swarm().map_or("ready", |s| s.state().name());
    let args = json!({
        "locustfile": d.locustfile,
        "state": state,
        "is_distributed": false,
        "user_count": app.swarm().map_or(0, |s| s.view(|v| v.status.users)),
        "version": env!("CARGO_PKG_VERSION"),
        "host": d.host,
        "num_users": d.users,
        "spawn_rate": d.spawn_rate,
        "run_time": d.run_time,
        "wait_time": d.wait_time,
        "rate": d.rate,
        "percentiles_to_chart": [0.5, 0.95, 0.99],
        "percentiles_to_statistics": [0.95, 0.99],
        "compare": app.compare.is_some(),
        "full_history": lock(&app.full_history_csv).is_some(),
    });
    // `</` cannot end the script early: the JSON is embedded with it escaped.
    let args = args.to_string().replace("</", "<\\/");
    Html(INDEX.replace("{{TEMPLATE_ARGS}}", &args))
}

fn reply(success: bool, message: &str, host: &str) -> Json<serde_json::Value> {
    Json(json!({"success": success, "message": message, "host": host}))
}

async fn swarm_start(
    AxumState(app): AxumState<Arc<App>>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<serde_json::Value> {
    let host = app.host();
    if app.compare.is_some() {
        return reply(false, "compare drives these runs; the form is off", &host);
    }
    let parsed = match locust::parse_swarm_form(&form) {
        Ok(p) => p,
        Err(message) => return reply(false, &message, &host),
    };
    let running = app.swarm().is_some_and(|s| {
        matches!(
            s.state(),
            swarmlab_swarm::State::Spawning | swarmlab_swarm::State::Running
        )
    });
    let mut start = parsed.start;
    let run_time = start.run_time;
    if !running {
        // A new run: the form's host and wait time decide the workload.
        let target = match &parsed.host {
            Some(t) => Some(t.clone()),
            None if app.swarm().is_some() => None,
            None => return reply(false, "Host is required: the form's host field is empty and none was given on the command line", &host),
        };
        let workload = {
            let template = lock(&app.template);
            match (&*template, &target) {
                (Template::Simple(w), Some(t)) => {
                    Some(Workload::simple(t, parsed.wait.unwrap_or(*w)))
                }
                (Template::Workload(base), Some(t)) => Some(base.retarget(t)),
                (Template::Workload(base), None) if parsed.wait.is_some() => Some(base.clone()),
                (_, None) => None,
            }
        };
        let workload = match (workload, parsed.wait) {
            (Some(w), Some(wait)) => Some(w.with_wait(wait)),
            (None, Some(wait)) => app.swarm().map(|s| s.view(|v| v.workload.with_wait(wait))),
            (w, None) => w,
        };
        if let Some(t) = &target {
            lock(&app.defaults).host = t.url();
        }
        match app.swarm() {
            Some(swarm) => {
                start.workload = workload;
                swarm.start(start);
            }
            None => {
                let swarm = Swarm::new(workload.expect("a host was given"), app.plan.clone());
                swarm.start(start);
                app.show(swarm, "");
            }
        }
    } else if let Some(swarm) = app.swarm() {
        // Edit: users and spawn rate (and the open model's rate) of the running test.
        swarm.start(start);
    }
    let mut body = json!({"success": true, "message": "Swarming started", "host": app.host()});
    if let Some(t) = run_time {
        body["run_time"] = json!(t.as_secs());
    }
    Json(body)
}

async fn stop(AxumState(app): AxumState<Arc<App>>) -> Json<serde_json::Value> {
    if app.compare.is_some() {
        return reply(
            false,
            "compare drives these runs; stop compare with Ctrl-C",
            &app.host(),
        );
    }
    if let Some(s) = app.swarm() {
        s.stop();
    }
    Json(json!({"success": true, "message": "Test stopped"}))
}

async fn reset(AxumState(app): AxumState<Arc<App>>) -> &'static str {
    if app.compare.is_none() {
        if let Some(s) = app.swarm() {
            s.reset_stats();
        }
    }
    "ok"
}

async fn requests(AxumState(app): AxumState<Arc<App>>) -> Json<serde_json::Value> {
    let mut body = match app.swarm() {
        Some(s) => s.view(locust::request_stats),
        None => json!({
            "stats": [], "errors": [], "total_rps": 0.0, "total_fail_per_sec": 0.0,
            "current_rps": 0.0, "current_fail_per_sec": 0.0, "fail_ratio": 0.0,
            "current_response_time_percentiles": {}, "state": "ready", "user_count": 0,
        }),
    };
    body["host"] = json!(app.host());
    if let Some(c) = &app.compare {
        let c = lock(c);
        body["compare"] = json!({"banner": c.banner, "report": c.report.is_some()});
    }
    Json(body)
}

async fn history(AxumState(app): AxumState<Arc<App>>) -> Json<serde_json::Value> {
    let rows = app
        .swarm()
        .map_or_else(Vec::new, |s| s.view(|v| v.history.rows()));
    Json(json!({ "rows": rows }))
}

/// Locust's download names: `Locust_<YYYY-MM-DD-HHhMM>_<locustfile>_<host>_<kind>.csv`, made
/// safe for a file name.
fn download_name(app: &App, start_time: f64, kind: &str, ext: &str) -> String {
    let stamp = swarmlab_swarm::output::utc(start_time as u64);
    let stamp = format!("{}-{}h{}", &stamp[..10], &stamp[11..13], &stamp[14..16]);
    let d = lock(&app.defaults);
    let name = format!("Locust_{stamp}_{}_{}{kind}.{ext}", d.locustfile, d.host);
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn attachment(name: String, content_type: &'static str, body: String) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment;filename={name}"),
            ),
        ],
        body,
    )
}

fn csv_download(
    app: &App,
    kind: &str,
    make: impl FnOnce(&swarmlab_swarm::engine::View) -> String,
) -> axum::response::Response {
    let Some(swarm) = app.swarm() else {
        return (StatusCode::NOT_FOUND, "no run yet\n").into_response();
    };
    let (start, body) = swarm.view(|v| (v.stats.start_time, make(v)));
    attachment(
        download_name(app, start, &format!("_{kind}"), "csv"),
        "text/csv",
        body,
    )
    .into_response()
}

async fn requests_csv(AxumState(app): AxumState<Arc<App>>) -> axum::response::Response {
    csv_download(&app, "requests", |v| csv::stats_csv(&v.stats, v.entries()))
}

async fn failures_csv(AxumState(app): AxumState<Arc<App>>) -> axum::response::Response {
    csv_download(&app, "failures", |v| {
        csv::failures_csv(&v.stats, v.entries())
    })
}

async fn exceptions_csv(AxumState(app): AxumState<Arc<App>>) -> axum::response::Response {
    csv_download(&app, "exceptions", |v| csv::exceptions_csv(&v.stats))
}

/// `GET /exceptions`: user code's exceptions, as Locust's page reads them.
async fn exceptions(AxumState(app): AxumState<Arc<App>>) -> Json<serde_json::Value> {
    let rows: Vec<serde_json::Value> = app.swarm().map_or_else(Vec::new, |s| {
        s.view(|v| {
            v.stats
                .exceptions
                .iter()
                .map(|(tb, row)| {
                    json!({"count": row.count, "msg": row.msg, "traceback": tb, "nodes": "local"})
                })
                .collect()
        })
    });
    Json(json!({ "exceptions": rows }))
}

async fn full_history_csv(AxumState(app): AxumState<Arc<App>>) -> axum::response::Response {
    let path = lock(&app.full_history_csv).clone();
    match path.map(std::fs::read_to_string) {
        Some(Ok(text)) => {
            let start = app.swarm().map_or(0.0, |s| s.view(|v| v.stats.start_time));
            attachment(
                download_name(&app, start, "_requests_full_history", "csv"),
                "text/csv",
                text,
            )
            .into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            "Error: Server was not started with option to generate full history.",
        )
            .into_response(),
    }
}

async fn tasks(AxumState(app): AxumState<Arc<App>>) -> Json<serde_json::Value> {
    Json(app.swarm().map_or_else(
        || json!({"per_class": {}, "total": {}}),
        |s| s.view(locust::tasks),
    ))
}

async fn report(
    AxumState(app): AxumState<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let Some(swarm) = app.swarm() else {
        return (StatusCode::NOT_FOUND, "no run yet\n").into_response();
    };
    let host = app.host();
    let (start, body) = swarm.view(|v| {
        (
            v.stats.start_time,
            html::report(&v.summary(), v.entries(), &host),
        )
    });
    if q.contains_key("download") {
        attachment(
            download_name(&app, start, "", "html"),
            "text/html; charset=utf-8",
            body,
        )
        .into_response()
    } else {
        Html(body).into_response()
    }
}

async fn compare_report(AxumState(app): AxumState<Arc<App>>) -> axum::response::Response {
    match app.compare.as_ref().and_then(|c| lock(c).report.clone()) {
        Some(html) => Html(html).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "the comparison is not finished yet\n",
        )
            .into_response(),
    }
}

async fn events(
    AxumState(app): AxumState<Arc<App>>,
) -> Sse<impl tokio_stream::Stream<Item = Result<SseEvent, std::convert::Infallible>>> {
    let rx = app.events.subscribe();
    let stream = tokio_stream::wrappers::BroadcastStream::new(rx).filter_map(|msg| {
        let msg = msg.ok()?;
        let (kind, data) = msg.split_once('\n')?;
        Some(Ok(SseEvent::default().event(kind).data(data)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests;
