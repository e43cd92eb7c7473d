//! Every URL a tenant can set, tried with the forms an attacker uses to reach the server's own
//! network: each is refused with a problem naming the field, nothing is stored, and a canary
//! listening on loopback receives no connection at all. A provider answering with a redirect
//! to loopback is not followed either.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

/// Listeners on 127.0.0.1 and [::1] that count every connection made to them.
struct Canary {
    port: u16,
    v6_port: Option<u16>,
    connections: Arc<AtomicUsize>,
}

impl Canary {
    async fn start() -> Canary {
        let connections = Arc::new(AtomicUsize::new(0));
        let listen = |listener: tokio::net::TcpListener| {
            let connections = connections.clone();
            tokio::spawn(async move {
                while listener.accept().await.is_ok() {
                    connections.fetch_add(1, Ordering::SeqCst);
                }
            });
        };
        let v4 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = v4.local_addr().unwrap().port();
        listen(v4);
        let v6_port = match tokio::net::TcpListener::bind("[::1]:0").await {
            Ok(v6) => {
                let port = v6.local_addr().unwrap().port();
                listen(v6);
                Some(port)
            }
            Err(_) => None,
        };
        let canary = Canary {
            port,
            v6_port,
            connections,
        };
        canary.proves_it_counts().await;
        canary
    }

    /// One connection to each listener must be counted, or a count of 0 would prove nothing.
    async fn proves_it_counts(&self) {
        let mut addresses = vec![format!("127.0.0.1:{}", self.port)];
        addresses.extend(self.v6_port.map(|p| format!("[::1]:{p}")));
        for address in &addresses {
            tokio::net::TcpStream::connect(address).await.unwrap();
        }
        for _ in 0..100 {
            if self.count() == addresses.len() {
                self.connections.store(0, Ordering::SeqCst);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!(
            "the canary counted {} of {} connections",
            self.count(),
            addresses.len()
        );
    }

    /// The hosts (with port) that all mean "this machine" or its cloud's metadata service.
    fn hosts(&self) -> Vec<String> {
        let p = self.port;
        let v6 = self.v6_port.unwrap_or(p);
        vec![
            "169.254.169.254".to_owned(),
            format!("127.0.0.1:{p}"),
            format!("[::1]:{v6}"),
            format!("[::ffff:127.0.0.1]:{p}"),
            format!("2130706433:{p}"),
            format!("0x7f.1:{p}"),
            format!("localhost:{p}"),
        ]
    }

    fn count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// An app whose providers are reached where their registry says (no operator redirect), so a
/// tenant-supplied host goes through the guard as in production.
async fn guarded_app() -> TestApp {
    spawn_app_with(Options {
        redirect_providers: false,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn every_tenant_url_field_refuses_every_form_of_an_inside_address() {
    let app = guarded_app().await;
    let canary = Canary::start().await;
    let (owner, org) = app.owner_with_org().await;
    let (stranger, _) = app.owner_with_org().await;
    // (provider, the URL field, the rest of a valid change)
    let fields: [(&str, &str, Value); 3] = [
        (
            "crm",
            "base_url",
            json!({"credentials": {"api_key": "crm-key-1234567890"}}),
        ),
        (
            "affiliate_network",
            "base_url",
            json!({"config": {"network_id": "net-1"}, "credentials": {"api_key": "aff-key-1234567890"}}),
        ),
        (
            "fiverr",
            "api_url",
            json!({"credentials": {"api_key": "fiverr-token-1234567890"}}),
        ),
    ];
    for (provider, field, rest) in &fields {
        for host in canary.hosts() {
            let url = format!("http://{host}/x");
            let mut body = rest.clone();
            body.as_object_mut()
                .unwrap()
                .entry("config")
                .or_insert_with(|| json!({}))[*field] = json!(url);
            let path = format!("/api/v1/orgs/{org}/integrations/{provider}");
            let refused = problem(app.patch(&path, &owner.token, body.clone()).await, 422).await;
            assert_eq!(
                refused["code"], "address_not_allowed",
                "{provider}.{field} = {url}: {refused}"
            );
            let integration = app.integration(&owner.token, &org, provider).await;
            assert_eq!(
                integration["status"], "not_connected",
                "{provider}: {integration}"
            );
            assert!(
                integration["config"].get(*field).is_none(),
                "nothing stored: {integration}"
            );
            // Another tenant's organization is a 404 before the address is even looked at.
            problem(app.patch(&path, &stranger.token, body).await, 404).await;
        }
    }

    let settings = format!("/api/v1/orgs/{org}/notification-settings");
    for field in ["webhook_url", "slack_webhook_url"] {
        for host in canary.hosts() {
            let url = format!("https://{host}/hook");
            let response = app
                .request(
                    reqwest::Method::PUT,
                    &settings,
                    Some(&owner.token),
                    Some(json!({ field: url })),
                )
                .await;
            let refused = problem(response, 422).await;
            assert_eq!(
                refused["errors"][0]["field"], field,
                "{field} = {url}: {refused}"
            );
        }
        let read = json_body(app.get(&settings, &owner.token).await, 200).await;
        assert_eq!(read[field], Value::Null, "nothing stored: {read}");
    }
    assert_eq!(canary.count(), 0, "the canary on loopback was reached");
}

#[tokio::test]
async fn a_provider_redirecting_to_loopback_is_not_followed() {
    // Providers reached through the operator's redirect (wiremock): trusted hosts, whose
    // redirects are still never followed.
    let app = spawn_app().await;
    let canary = Canary::start().await;
    let (owner, org) = app.owner_with_org().await;
    for host in canary.hosts() {
        app.provider.reset().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("http://{host}/v1/models")),
            )
            .mount(&app.provider)
            .await;
        let saved = app
            .patch(
                &format!("/api/v1/orgs/{org}/integrations/openai"),
                &owner.token,
                json!({"credentials": {"api_key": "sk-redirect-0123456789abcdef"}}),
            )
            .await;
        assert!(
            saved.status().is_client_error(),
            "{host}: {}",
            saved.status()
        );
        let integration = app.integration(&owner.token, &org, "openai").await;
        assert_eq!(
            integration["status"], "not_connected",
            "{host}: {integration}"
        );
    }
    assert_eq!(
        canary.count(),
        0,
        "a redirect reached the canary on loopback"
    );
}
