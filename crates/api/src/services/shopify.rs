//! Reading the brand's own Shopify store through its connection.

use domain::verify::TransportFailure;
use domain::{ConnectionStatus, OrgId};
use persistence::connections;
use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use super::catalog::provider;
use super::checks::ACCESS_TOKEN;
use super::vault::Vault;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::outbound::classify;
use crate::state::AppState;

pub const SHOPIFY: &str = "shopify";

/// The 409 for a step that needs the Shopify store, with the sentence to show.
pub fn not_connected(status: Option<ConnectionStatus>) -> ApiError {
    let detail = match status {
        Some(status @ (ConnectionStatus::Expired | ConnectionStatus::Error)) => format!(
            "The Shopify connection needs attention ({status}). Reconnect your Shopify store, then continue."
        ),
        Some(ConnectionStatus::Disabled) => {
            "The Shopify connection is turned off. Turn it back on in Settings → Integrations, then continue.".to_owned()
        }
        _ => "Shopify is not connected yet. Connect your Shopify store first; it is the one integration every brand needs.".to_owned(),
    };
    ApiError::conflict(ErrorCode::ShopifyNotConnected, detail)
}

#[derive(Deserialize)]
struct CountAnswer {
    count: u64,
}

fn unavailable(detail: &str) -> ApiError {
    ApiError::unavailable(
        ErrorCode::ProviderUnavailable,
        format!("{detail} Nothing was saved; try again in a few minutes."),
    )
}

/// How many products the store has: `GET https://{shop}/admin/api/2025-01/products/count.json`
/// with the connection's access token. Shopify's outage is a 503, never a 4xx.
pub async fn product_count(state: &AppState, org_id: OrgId) -> ApiResult<u64> {
    let shopify = provider(state, SHOPIFY)?;
    let connection = connections::find(&state.db, org_id, SHOPIFY).await?;
    let status = connection.as_ref().map(|c| c.status);
    let Some(connection) = connection.filter(|c| c.status == ConnectionStatus::Connected) else {
        return Err(not_connected(status));
    };
    let sealed = connections::sealed_secrets(&state.db, org_id, connection.id).await?;
    let opened = Vault {
        keys: &state.keys,
        org_id,
        provider: &shopify.id,
    }
    .open_all(sealed);
    let (Some(shop), Some(token)) = (
        connection.config.get("shop"),
        opened.secrets.get(ACCESS_TOKEN),
    ) else {
        return Err(not_connected(Some(ConnectionStatus::Error)));
    };
    let url = Url::parse(&format!(
        "https://{shop}/admin/api/2025-01/products/count.json"
    ))
    .map_err(|_| not_connected(Some(ConnectionStatus::Error)))?;
    // The shop's host came from the brand (checked against the myshopify.com pattern when it
    // connected); the operator's redirect, when set, is trusted.
    let redirected = shopify.base_url_override.is_some();
    let url = shopify.redirect(url);
    if state.http.refuses_literal(&url, true, redirected) {
        return Err(not_connected(Some(ConnectionStatus::Error)));
    }
    let response = state
        .http
        .client_for(true, redirected)
        .get(url)
        .header("X-Shopify-Access-Token", token.expose_secret())
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|err| match classify(err) {
            TransportFailure::Timeout => unavailable("Shopify did not answer in time."),
            TransportFailure::Blocked => not_connected(Some(ConnectionStatus::Error)),
            TransportFailure::Connect | TransportFailure::Other => {
                unavailable("Plugboard could not reach Shopify.")
            }
        })?;
    match response.status().as_u16() {
        200 => response
            .json::<CountAnswer>()
            .await
            .map(|answer| answer.count)
            .map_err(|_| unavailable("Shopify answered the product count in an unexpected form.")),
        401 | 403 => Err(ApiError::conflict(
            ErrorCode::ShopifyTokenRejected,
            "Shopify refused the stored access token, so the products could not be counted. Reconnect your Shopify store, then try again.",
        )),
        status => {
            tracing::warn!(status, "Shopify's product count failed");
            Err(unavailable(&format!(
                "Shopify could not count the products right now (HTTP {status})."
            )))
        }
    }
}
