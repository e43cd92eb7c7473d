//! The generic OAuth path against a real OAuth 2 server nobody here wrote: oauth2-mock-server
//! (npm, in tests/oauth-peer) playing Calendly. It checks PKCE itself and rotates refresh tokens.

use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

use crate::helpers::{Options, TestApp, json_body, spawn_app_with};

/// The OAuth server, running for as long as the test holds it.
struct OAuthPeer {
    _child: Child,
    url: String,
}

impl OAuthPeer {
    async fn start() -> OAuthPeer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oauth-peer");
        assert!(
            dir.join("node_modules/oauth2-mock-server").is_dir(),
            "the OAuth test server is not installed: run `npm ci` in tests/oauth-peer (`make test` does)"
        );
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the server prints its port");
        let port = line.strip_prefix("listening ").expect("`listening <port>`");
        OAuthPeer {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn token_requests(&self) -> Vec<Value> {
        reqwest::get(format!("{}/_requests", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn revoke(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/_revoke", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
}

async fn app_against(peer: &OAuthPeer) -> TestApp {
    spawn_app_with(Options {
        platform_env: vec![
            ("CALENDLY_CLIENT_ID", "plugboard"),
            ("CALENDLY_CLIENT_SECRET", "peer-secret"),
        ],
        provider_base_urls: Some(format!("calendly={}", peer.url)),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn code_pkce_and_rotating_refresh_against_a_real_oauth_server() {
    let peer = OAuthPeer::start().await;
    let app = app_against(&peer).await;
    let (owner, org) = app.owner_with_org().await;

    let started = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/calendly/oauth/start"),
            &owner.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let consent = Url::parse(started["authorization_url"].as_str().unwrap()).unwrap();
    assert!(consent.as_str().starts_with(&peer.url));
    // The server approves at once and sends the browser back with a code.
    let approved = app.client.get(consent).send().await.unwrap();
    assert_eq!(approved.status(), 302);
    let callback = approved.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(&app.url("/api/v1/oauth/calendly/callback")));
    let landed = app.client.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), 303);
    let landing = landed.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        landing,
        "/settings/integrations/calendly?integration=calendly&result=connected"
    );

    let calendly = app.integration(&owner.token, &org, "calendly").await;
    assert_eq!(calendly["status"], "connected");
    assert_eq!(calendly["account_name"], "John Doe");
    assert_eq!(calendly["credentials"]["refresh_token"]["configured"], true);
    let requests = peer.token_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["grant_type"], "authorization_code");
    assert_eq!(requests[0]["code_verifier"], true, "PKCE verifier sent");
    assert_eq!(
        requests[0]["status"], 200,
        "the server accepted the verifier"
    );

    // Two refreshes: the second presents the token the first one rotated in.
    let refresh = format!("/api/v1/orgs/{org}/integrations/calendly/refresh");
    for _ in 0..2 {
        let renewed = json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
        assert_eq!(renewed["status"], "connected");
    }
    let requests = peer.token_requests().await;
    assert_eq!(requests.len(), 3);
    assert!(
        requests[1..]
            .iter()
            .all(|r| r["grant_type"] == "refresh_token")
    );
    assert_ne!(requests[1]["refresh_token"], requests[2]["refresh_token"]);

    // The grant is revoked at the provider: the connection needs a reconnect.
    peer.revoke().await;
    let expired = json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["last_error"]["code"], "refresh_refused");
}
