use actix_web::{HttpResponse, get, web};

use crate::error::ApiResult;
use crate::latency::Latencies;
use crate::proxy_metrics::ProxyMetrics;
use crate::state::AppState;
use crate::worker::metrics::Metrics;

/// Prometheus text: refreshes and failures by class, health checks, notifications sent,
/// failed and pending, outbox depth and oldest age, lease claims and lag; HTTP answer times by
/// method, route and status; proxied calls by provider, method and status class, with the
/// provider's and Plugboard's share of the time.
#[utoipa::path(
    operation_id = "getMetrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain; version=0.0.4", body = String), (status = 503, body = crate::error::Problem))
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    latencies: web::Data<Latencies>,
    proxied: web::Data<ProxyMetrics>,
) -> ApiResult<HttpResponse> {
    let mut text = metrics.render(&state.db).await?;
    latencies.render(&mut text);
    proxied.render(&mut text);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
