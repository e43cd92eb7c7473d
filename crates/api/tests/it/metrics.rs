//! `/metrics`: HTTP answer times by method, route and status, with no id or path in a label.

use crate::helpers::*;

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

fn count(metrics: &str, labels: &str) -> u64 {
    let prefix = format!("plugboard_http_request_duration_seconds_count{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn answer_times_are_counted_by_route_and_status_without_ids() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let (stranger, _) = app.owner_with_org().await;
    for _ in 0..3 {
        let list = app
            .get(&format!("/api/v1/orgs/{org}/integrations"), &owner.token)
            .await;
        assert_eq!(list.status(), 200);
    }
    // Another tenant's organization: counted as a 404 of the same route.
    let refused = app
        .get(&format!("/api/v1/orgs/{org}/integrations"), &stranger.token)
        .await;
    assert_eq!(refused.status(), 404);
    let missing = app.get("/api/v1/no-such-thing/42", &owner.token).await;
    assert_eq!(missing.status(), 404);

    let metrics = scrape(&app).await;
    let route = r#"method="GET",route="/api/v1/orgs/{org_id}/integrations""#;
    assert_eq!(
        count(&metrics, &format!(r#"{route},status="200""#)),
        3,
        "{metrics}"
    );
    assert_eq!(count(&metrics, &format!(r#"{route},status="404""#)), 1);
    assert_eq!(
        count(&metrics, r#"method="GET",route="unmatched",status="404""#),
        1
    );
    assert!(
        !metrics.contains(&org),
        "an organization's id is never a label"
    );
    assert!(
        !metrics.contains("no-such-thing"),
        "an unknown path is never a label"
    );

    // A histogram: cumulative buckets ending in +Inf equal to the count, and a sum.
    let buckets: Vec<u64> = metrics
        .lines()
        .filter(|l| {
            l.starts_with(&format!(
                "plugboard_http_request_duration_seconds_bucket{{{route},status=\"200\""
            ))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 15);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(*buckets.last().unwrap(), 3);
    assert!(metrics.contains("# TYPE plugboard_http_request_duration_seconds histogram"));
    assert!(metrics.contains(&format!(
        "plugboard_http_request_duration_seconds_sum{{{route},status=\"200\"}} "
    )));
}
