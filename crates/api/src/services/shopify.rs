//! Reading the brand's own Shopify store through its connection.

use domain::OrgId;
use domain::lifecycle::{self, Unusable};
use domain::registry::{Provider, Verify};
use domain::template::{self, Escape};
use domain::verify::TransportFailure;
use persistence::connections;
use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use super::catalog::provider;
use super::checks::ACCESS_TOKEN;
use super::vault::Vault;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::outbound::{classify, read_body};
use crate::state::AppState;

pub const SHOPIFY: &str = "shopify";

/// The 409 for a step that needs the Shopify store, with the sentence to show.
pub fn not_connected(why: Unusable) -> ApiError {
    let detail = match why {
        Unusable::Expired | Unusable::Failing => {
            "The Shopify connection needs attention. Reconnect your Shopify store, then continue."
        }
        Unusable::Disabled => {
            "The Shopify connection is turned off. Turn it back on in Settings → Integrations, then continue."
        }
        Unusable::NotConnected => {
            "Shopify is not connected yet. Connect your Shopify store first; it is the one integration every brand needs."
        }
    };
    ApiError::conflict(ErrorCode::ShopifyNotConnected, detail)
}

/// Shopify's GraphQL answer to `productsCount`.
#[derive(Deserialize)]
struct CountAnswer {
    data: Option<CountData>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CountData {
    products_count: Option<Count>,
}

#[derive(Deserialize)]
struct Count {
    count: u64,
}

#[derive(Deserialize)]
struct GraphqlError {
    message: String,
}

/// Every product, not just the first 10 000 (`limit: null`).
const COUNT_QUERY: &str = "{ productsCount(limit: null) { count } }";

fn unavailable(detail: &str) -> ApiError {
    ApiError::unavailable(
        ErrorCode::ProviderUnavailable,
        format!("{detail} Nothing was saved; try again in a few minutes."),
    )
}

/// Shopify's answer did not arrive whole: an outage (503), or the guard's refusal.
fn unreached(failure: TransportFailure) -> ApiError {
    match failure {
        TransportFailure::Timeout => unavailable("Shopify did not answer in time."),
        TransportFailure::Blocked => not_connected(Unusable::Failing),
        TransportFailure::TooLarge => {
            unavailable("Shopify sent a far larger answer than a product count.")
        }
        TransportFailure::Connect | TransportFailure::Other => {
            unavailable("Plugboard could not reach Shopify.")
        }
    }
}

/// How many products the store has: GraphQL Admin `productsCount` at the registry's verify
/// endpoint (`https://{shop}/admin/api/{api_version}/graphql.json`, the version the registry
/// pins) with the connection's access token. Shopify's outage is a 503, never a 4xx.
pub async fn product_count(state: &AppState, org_id: OrgId) -> ApiResult<u64> {
    let shopify = provider(state, SHOPIFY)?;
    let found = connections::find(&state.db, org_id, SHOPIFY).await?;
    let connection = lifecycle::usable(found.as_ref()).map_err(not_connected)?;
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
        return Err(not_connected(Unusable::Failing));
    };
    let url = graphql_url(shopify, shop).ok_or_else(|| not_connected(Unusable::Failing))?;
    // The shop's host came from the brand (checked against the myshopify.com pattern when it
    // connected); the operator's redirect, when set, is trusted.
    let redirected = shopify.base_url_override.is_some();
    let url = shopify.redirect(url);
    if state.http.refuses_literal(&url, true, redirected) {
        return Err(not_connected(Unusable::Failing));
    }
    let response = state
        .http
        .client_for(true, redirected)
        .post(url)
        .header("X-Shopify-Access-Token", token.expose_secret())
        .header("Accept", "application/json")
        .json(&serde_json::json!({ "query": COUNT_QUERY }))
        .send()
        .await
        .map_err(|err| unreached(classify(err)))?;
    match response.status().as_u16() {
        200 => {
            let body = read_body(response).await.map_err(unreached)?;
            let answer = serde_json::from_slice::<CountAnswer>(&body).map_err(|_| {
                unavailable("Shopify answered the product count in an unexpected form.")
            })?;
            match (
                answer.data.and_then(|d| d.products_count),
                answer.errors.first(),
            ) {
                (Some(count), _) => Ok(count.count),
                // GraphQL refuses a query the token may not run (no read_products) with a 200.
                (None, Some(error)) => Err(ApiError::conflict(
                    ErrorCode::ShopifyTokenRejected,
                    format!(
                        "Shopify refused to count the products ({}). Reconnect your Shopify store and approve product access, then try again.",
                        clip(&error.message)
                    ),
                )),
                (None, None) => Err(unavailable(
                    "Shopify answered the product count in an unexpected form.",
                )),
            }
        }
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

/// The shop's GraphQL Admin endpoint: the registry's verify URL, which pins the API version.
fn graphql_url(shopify: &Provider, shop: &str) -> Option<Url> {
    let Verify::Http(http) = &shopify.verify else {
        return None;
    };
    let rendered = template::render(&http.url, |name| {
        (name == "shop").then_some((shop, Escape::Raw))
    })
    .ok()?;
    Url::parse(&rendered).ok()
}

/// A provider's sentence, short and on one line, for a message of ours.
fn clip(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    clean.trim().to_owned()
}
