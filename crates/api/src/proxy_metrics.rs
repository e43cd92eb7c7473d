//! What the provider proxy did, for `/metrics`: calls by provider, method and status class
//! (and whether the answer was the provider's or Plugboard's own), the provider's time to
//! answer and the time Plugboard added, as histograms by provider. No path, query or body.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::latency::Histogram;

/// Whose answer the caller got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// The provider's, passed on (`Plugboard-Proxied: true`).
    Provider,
    /// Plugboard's own problem: refused, not connected, the provider unreachable.
    Plugboard,
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Origin::Provider => "provider",
            Origin::Plugboard => "plugboard",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Call {
    provider: String,
    method: &'static str,
    class: &'static str,
    origin: Origin,
}

fn class_of(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[derive(Default)]
struct Figures {
    calls: HashMap<Call, u64>,
    upstream: HashMap<String, Histogram>,
    added: HashMap<String, Histogram>,
}

#[derive(Default)]
pub struct ProxyMetrics {
    figures: Mutex<Figures>,
}

impl ProxyMetrics {
    /// Counts one call. `provider` must be a registry id (or `unknown`), so callers cannot
    /// multiply the series; the durations are there when the provider answered.
    pub fn observe(
        &self,
        provider: &str,
        method: &'static str,
        status: u16,
        origin: Origin,
        timings: Option<(Duration, Duration)>,
    ) {
        let mut figures = self.figures.lock().unwrap_or_else(|e| e.into_inner());
        let call = Call {
            provider: provider.to_owned(),
            method,
            class: class_of(status),
            origin,
        };
        *figures.calls.entry(call).or_default() += 1;
        if let Some((upstream, added)) = timings {
            figures
                .upstream
                .entry(provider.to_owned())
                .or_default()
                .observe(upstream.as_secs_f64());
            figures
                .added
                .entry(provider.to_owned())
                .or_default()
                .observe(added.as_secs_f64());
        }
    }

    pub fn render(&self, out: &mut String) {
        let figures = self.figures.lock().unwrap_or_else(|e| e.into_inner());
        let name = "plugboard_proxy_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} Proxied calls by provider, method, status class and whose answer it was."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        let mut calls: Vec<_> = figures.calls.iter().collect();
        calls.sort_by(|a, b| a.0.cmp(b.0));
        for (call, n) in calls {
            let _ = writeln!(
                out,
                "{name}{{provider=\"{}\",method=\"{}\",class=\"{}\",origin=\"{}\"}} {n}",
                call.provider,
                call.method,
                call.class,
                call.origin.label()
            );
        }
        for (name, help, histograms) in [
            (
                "plugboard_proxy_upstream_duration_seconds",
                "Time from sending a proxied call to the provider's answer head (waits excluded), by provider.",
                &figures.upstream,
            ),
            (
                "plugboard_proxy_added_duration_seconds",
                "Time Plugboard added to a proxied call before the answer head went back (checks, token, rewriting set-up), by provider.",
                &figures.added,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} histogram");
            let sorted: BTreeMap<_, _> = histograms.iter().collect();
            for (provider, histogram) in sorted {
                histogram.render(out, name, &format!("provider=\"{provider}\""));
            }
        }
    }
}
