//! `GET /`: the fleet on one HTML page that reloads itself every 5 s (no scripts, no
//! assets): queue depth per lane, utilization, throughput, failure rate and task times
//! per agent type, every live worker, this coordinator's job times and coordination
//! overhead, and the most recent jobs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use daa_shared::model::{AgentKind, Priority};
use daa_shared::store::JobState;

use super::fleet::Snapshot;

/// Tasks processed per agent type at the previous page view, to show a throughput.
#[derive(Debug, Default)]
pub(crate) struct Throughput {
    last: Mutex<Option<(Instant, BTreeMap<AgentKind, u64>)>>,
}

impl Throughput {
    /// Tasks per second per agent type since the previous call at least a second ago;
    /// empty on the first call. A worker that left takes its count with it, so a drop
    /// reads as zero.
    fn rates(&self, fleet: &Snapshot) -> BTreeMap<AgentKind, f64> {
        let mut now_counts: BTreeMap<AgentKind, u64> = BTreeMap::new();
        for w in &fleet.workers {
            let n = w.heartbeat.as_ref().map_or(0, |h| h.processed);
            *now_counts.entry(w.agent).or_default() += n;
        }
        let now = Instant::now();
        let mut last = match self.last.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut rates = BTreeMap::new();
        match last.as_ref() {
            // Too soon for a rate worth showing: keep the older sample.
            Some((at, _)) if now.duration_since(*at).as_secs_f64() < 1.0 => return rates,
            Some((at, before)) => {
                let secs = now.duration_since(*at).as_secs_f64();
                for (agent, n) in &now_counts {
                    let was = before.get(agent).copied().unwrap_or(0);
                    rates.insert(*agent, n.saturating_sub(was) as f64 / secs);
                }
            }
            None => {}
        }
        *last = Some((now, now_counts));
        rates
    }
}

/// What this coordinator adds to the page.
pub(crate) struct Own<'a> {
    pub(crate) instance: &'a str,
    pub(crate) leading: bool,
    pub(crate) jobs: JobTotals,
    pub(crate) recent: Vec<(String, Option<JobState>)>,
}

/// This coordinator's ended jobs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JobTotals {
    pub(crate) accepted: u64,
    pub(crate) completed: u64,
    pub(crate) partial: u64,
    pub(crate) failed: u64,
    pub(crate) ended: u64,
    pub(crate) total_ms: u64,
    pub(crate) coordination_ms: u64,
}

/// The page.
pub(crate) fn page(fleet: &Snapshot, own: &Own<'_>, throughput: &Throughput) -> String {
    let rates = throughput.rates(fleet);
    let mut h = String::with_capacity(16 * 1024);
    h.push_str(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"5\"><title>daa fleet</title><style>\
         body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}\
         table{border-collapse:collapse;margin:.5em 0 1.5em}\
         th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}\
         th:first-child,td:first-child{text-align:left}.bad{color:#b00}\
         </style></head><body>",
    );
    let _ = write!(
        h,
        "<h1>daa fleet</h1><p>Coordinator <code>{}</code>{}. The page reloads every 5 s. \
         Also: <a href=\"/metrics\">/metrics</a>, <a href=\"/api/v1/fleet\">/api/v1/fleet</a>, \
         <code>/api/v1/jobs/&lt;id&gt;</code>.</p>",
        esc(own.instance),
        if own.leading { " (leader)" } else { "" }
    );
    for e in &fleet.errors {
        let _ = write!(h, "<p class=\"bad\">Could not read: {}</p>", esc(e));
    }
    queues(&mut h, fleet);
    agents(&mut h, fleet, &rates);
    workers(&mut h, fleet);
    jobs(&mut h, own);
    h.push_str("</body></html>\n");
    h
}

fn queues(h: &mut String, fleet: &Snapshot) {
    h.push_str(
        "<h2>Queue depth</h2><p>Tasks waiting per lane (waiting / delivered and unacknowledged); \
         scale a type out while its lanes grow.</p><table><tr><th>agent</th>",
    );
    for p in Priority::ALL {
        let _ = write!(h, "<th>{}</th>", p.as_str());
    }
    h.push_str("</tr>");
    for a in AgentKind::ALL {
        let _ = write!(h, "<tr><td>{}</td>", a.as_str());
        for p in Priority::ALL {
            match fleet.lanes.iter().find(|l| l.agent == a && l.priority == p) {
                Some(l) => {
                    let _ = write!(h, "<td>{} / {}</td>", l.pending, l.unacknowledged);
                }
                None => h.push_str("<td>-</td>"),
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

fn agents(h: &mut String, fleet: &Snapshot, rates: &BTreeMap<AgentKind, f64>) {
    h.push_str(
        "<h2>Agents</h2><table><tr><th>agent</th><th>live workers</th><th>slots</th>\
         <th>utilization</th><th>tasks/s</th><th>processed</th><th>failure rate</th>\
         <th>slowest p50</th><th>slowest p99</th></tr>",
    );
    for a in AgentKind::ALL {
        let ws: Vec<_> = fleet.workers_of(a).collect();
        let hbs: Vec<_> = ws.iter().filter_map(|w| w.heartbeat.as_ref()).collect();
        let slots: u64 = hbs.iter().map(|hb| hb.fetching_slots()).sum();
        let busy: u64 = hbs.iter().map(|hb| hb.in_flight).sum();
        let processed: u64 = hbs.iter().map(|hb| hb.processed).sum();
        let failed: u64 = hbs.iter().map(|hb| hb.failed).sum();
        let p50 = hbs.iter().map(|hb| hb.p50_ms).max().unwrap_or(0);
        let p99 = hbs.iter().map(|hb| hb.p99_ms).max().unwrap_or(0);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{slots}</td><td>{}</td><td>{}</td><td>{processed}</td>\
             <td>{}</td><td>{p50} ms</td><td>{p99} ms</td></tr>",
            a.as_str(),
            ws.len(),
            percent(busy, slots),
            rates.get(&a).map_or("-".to_owned(), |r| format!("{r:.1}")),
            percent(failed, processed),
        );
    }
    h.push_str("</table>");
}

fn workers(h: &mut String, fleet: &Snapshot) {
    h.push_str(
        "<h2>Workers</h2><table><tr><th>instance</th><th>agent</th><th>state</th>\
         <th>in flight</th><th>processed</th><th>failed</th><th>p50</th><th>p99</th>\
         <th>memory</th><th>last beat</th></tr>",
    );
    for w in &fleet.workers {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td>",
            esc(&w.instance),
            w.agent.as_str()
        );
        match &w.heartbeat {
            Some(hb) => {
                let _ = write!(
                    h,
                    "<td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{} ms</td>\
                     <td>{:.0} MiB</td>",
                    esc(&hb.state),
                    hb.in_flight,
                    hb.concurrency,
                    hb.processed,
                    hb.failed,
                    hb.p50_ms,
                    hb.p99_ms,
                    hb.rss_bytes as f64 / (1024.0 * 1024.0)
                );
            }
            None => h.push_str("<td colspan=\"7\">heartbeat record expired</td>"),
        }
        let _ = write!(h, "<td>{:.1} s ago</td></tr>", w.beat_age_ms as f64 / 1e3);
    }
    h.push_str("</table>");
}

fn jobs(h: &mut String, own: &Own<'_>) {
    let t = own.jobs;
    let mean = |sum: u64| {
        if t.ended == 0 {
            "-".to_owned()
        } else {
            format!("{:.0} ms", sum as f64 / t.ended as f64)
        }
    };
    let _ = write!(
        h,
        "<h2>Jobs</h2><p>This coordinator since it started: {} accepted, {} ended \
         ({} completed, {} partial, {} failed); mean job time {}, of which coordination \
         (planning, commits, synthesis, transit) {}.</p>",
        t.accepted,
        t.ended,
        t.completed,
        t.partial,
        t.failed,
        mean(t.total_ms),
        mean(t.coordination_ms)
    );
    h.push_str(
        "<table><tr><th>job</th><th>status</th><th>stage</th><th>updated</th><th>error</th></tr>",
    );
    let now = daa_shared::time::now_ms();
    for (id, state) in &own.recent {
        match state {
            Some(s) => {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1} s ago</td><td>{}</td></tr>",
                    esc(id),
                    s.status.as_str(),
                    s.stage.map_or("", |st| st.as_str()),
                    now.saturating_sub(s.updated_ms) as f64 / 1e3,
                    esc(s.error.as_deref().unwrap_or(""))
                );
            }
            None => {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td colspan=\"4\">expired</td></tr>",
                    esc(id)
                );
            }
        }
    }
    h.push_str("</table>");
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.0} %", part as f64 * 100.0 / whole as f64)
    }
}

/// HTML-escape text from the fleet (instance names, error messages, job ids).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fleet::Worker;
    use daa_shared::store::Heartbeat;

    fn fleet(processed: u64) -> Snapshot {
        Snapshot {
            lanes: Vec::new(),
            workers: vec![Worker {
                agent: AgentKind::Web,
                instance: "<script>".into(),
                beat_age_ms: 0,
                heartbeat: Some(Heartbeat {
                    state: "running".into(),
                    concurrency: 4,
                    in_flight: 1,
                    processed,
                    failed: processed / 2,
                    ..Heartbeat::default()
                }),
            }],
            dead_letters: None,
            errors: vec!["workers: Redis & co".into()],
        }
    }

    #[test]
    fn fleet_text_is_escaped_and_figures_are_derived() {
        let own = Own {
            instance: "c1",
            leading: true,
            jobs: JobTotals::default(),
            recent: Vec::new(),
        };
        let page = page(&fleet(10), &own, &Throughput::default());
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("Redis &amp; co"));
        // web: 1 of 4 slots busy, 5 of 10 tasks failed.
        assert!(
            page.contains("<td>web</td><td>1</td><td>4</td><td>25 %</td>"),
            "{page}"
        );
        assert!(page.contains("<td>50 %</td>"), "{page}");
    }

    #[test]
    fn throughput_is_the_growth_between_views() {
        let t = Throughput::default();
        assert!(t.rates(&fleet(10)).is_empty());
        // Pretend the first view was two seconds ago.
        if let Ok(mut g) = t.last.lock() {
            if let Some((at, _)) = g.as_mut() {
                *at -= std::time::Duration::from_secs(2);
            }
        }
        let r = t.rates(&fleet(30));
        let web = r.get(&AgentKind::Web).copied().unwrap_or_default();
        assert!((9.0..=10.0).contains(&web), "{web}");
    }
}
