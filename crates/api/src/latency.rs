//! How long HTTP answers take, by route and status, for `/metrics` (a Prometheus histogram).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

/// Upper bounds of the buckets, in seconds: sub-millisecond reads up to a slow provider.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of one series. The route is the matched pattern (`/api/v1/orgs/{org_id}`), never
/// the path, so ids and file names cannot multiply the series.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Series {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Default)]
pub(crate) struct Histogram {
    /// Answers at or under each bound (not cumulative; summed when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Latencies {
    series: Mutex<HashMap<Series, Histogram>>,
}

impl Histogram {
    pub(crate) fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    /// One series' lines: cumulative buckets, sum and count; `labels` already escaped.
    pub(crate) fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

impl Latencies {
    fn observe(&self, series: Series, seconds: f64) {
        let mut all = self.series.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(series).or_default().observe(seconds);
    }

    /// The histogram family in the Prometheus text format, series in a stable order.
    pub fn render(&self, out: &mut String) {
        let name = "plugboard_http_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to answer an HTTP request, by method, route and status."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        let all = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let mut series: Vec<_> = all.iter().collect();
        series.sort_by(|a, b| a.0.cmp(b.0));
        for (labels, histogram) in series {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                labels.method,
                labels.route.replace('\\', "\\\\").replace('"', "\\\""),
                labels.status
            );
            histogram.render(out, name, &labels);
        }
    }
}

/// Methods outside the standard ones share one label, like unmatched paths share one route.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Times every answer, errors included, and files it under its route and status.
pub async fn measure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let latencies = req.app_data::<web::Data<Latencies>>().cloned();
    let method = method_label(req.method());
    // Paths no route matched (the SPA's files, unknown paths) share one series.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.call(req).await;
    if let Some(latencies) = latencies {
        let status = match &response {
            Ok(response) => response.status(),
            // A refusal raised by a middleware, answered once it leaves the app.
            Err(err) => err.as_response_error().status_code(),
        };
        let series = Series {
            method,
            route,
            status: status.as_u16(),
        };
        latencies.observe(series, started.elapsed().as_secs_f64());
    }
    response
}
