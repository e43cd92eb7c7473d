//! Organization API keys for partner developers: shown once, stored as a hash, revocable.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use domain::ids::ApiKeyId;
use domain::model::ApiKey;
use persistence::api_keys::{self, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::paging::{PageOut, PageQuery};
use crate::auth::{OrgOwnerOrAdmin, hash_token, random_token};
use crate::contract::Scope;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::state::AppState;
use crate::validation::validated;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "name": "Partner app",
    "scopes": [
        "integrations:read",
        "integrations:write"
    ]
})))]
pub struct ApiKeyIn {
    #[validate(length(
        min = 1,
        max = 100,
        message = "Name the key (1 to 100 characters) so you can tell it apart later."
    ))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// What the key may do: at least one scope.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    pub scopes: Vec<String>,
    /// The providers the key may call through the proxy (ids such as `shopify`); left out, it
    /// may call every connected one.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub providers: Option<Vec<String>>,
}

/// A key in use.
fn api_key_example() -> serde_json::Value {
    serde_json::json!({
        "id": "c3a7d1e4-92b6-4f08-8e5d-1b7f3a6c2d49",
        "name": "Partner app",
        "prefix": "pb_Xq3vT9k",
        "scopes": [
            "integrations:read",
            "integrations:write"
        ],
        "providers": null,
        "created_at": "2026-11-24T09:30:00Z",
        "last_used_at": "2026-11-24T09:32:05Z",
        "revoked_at": null
    })
}

/// A key as its creation answers it: never used yet, its secret shown once.
fn api_key_created_example() -> serde_json::Value {
    let mut example = api_key_example();
    example["last_used_at"] = serde_json::Value::Null;
    example["secret"] = "pb_Xq3vT9k…WXYZ".into();
    example
}

#[derive(Serialize, ToSchema)]
#[schema(examples(api_key_example))]
pub struct ApiKeyOut {
    pub id: uuid::Uuid,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// The providers it may call through the proxy; `null`: every one.
    pub providers: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(key: ApiKey) -> Self {
        ApiKeyOut {
            id: key.id.0,
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            providers: key.providers,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(api_key_created_example))]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// The whole key. Shown this once; store it now.
    pub secret: String,
}

/// A key's provider list, checked: each one a provider Plugboard proxies, sorted, once each.
fn proxied_providers(state: &AppState, mut asked: Vec<String>) -> ApiResult<Vec<String>> {
    asked.sort();
    asked.dedup();
    let proxied = |id: &str| state.registry.get(id).is_some_and(|p| p.is_proxied());
    let unknown: Vec<&str> = asked
        .iter()
        .map(String::as_str)
        .filter(|id| !proxied(id))
        .collect();
    if asked.is_empty() || !unknown.is_empty() {
        let detail = if asked.is_empty() {
            "List at least one provider, or leave `providers` out to allow every one.".to_owned()
        } else {
            format!(
                "Plugboard does not call {} through its proxy; use provider ids from the integrations list, such as `shopify` or `meta_ads`.",
                unknown.join(", ")
            )
        };
        return Err(ApiError::validation(vec![FieldError::new(
            "providers",
            detail,
        )]));
    }
    Ok(asked)
}

/// The organization's API keys (never the keys themselves).
#[utoipa::path(
    operation_id = "listApiKeys",
    tag = "api keys",
    params(("org_id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = PageOut<ApiKeyOut>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/api-keys")]
pub async fn list(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<PageOut<ApiKeyOut>>> {
    let page = api_keys::list(&state.db, admin.org_id, query.request()?).await?;
    Ok(web::Json(PageOut::from_page(page, ApiKeyOut::from)))
}

/// Creates a key; the answer holds it once.
#[utoipa::path(
    operation_id = "createApiKey",
    tag = "api keys",
    params(("org_id" = uuid::Uuid, Path)),
    request_body = ApiKeyIn,
    responses((status = 201, body = ApiKeyCreatedOut), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/api-keys")]
pub async fn create(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    body: web::Json<ApiKeyIn>,
) -> ApiResult<HttpResponse> {
    let input = validated(body.into_inner())?;
    let mut scopes = input.scopes;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() || scopes.iter().any(|s| Scope::parse(s).is_none()) {
        let names: Vec<String> = Scope::ALL
            .iter()
            .map(|s| format!("`{}`", s.as_str()))
            .collect();
        return Err(ApiError::validation(vec![FieldError::new(
            "scopes",
            format!("Choose at least one of {}.", names.join(", ")),
        )]));
    }
    let providers = input
        .providers
        .map(|asked| proxied_providers(&state, asked))
        .transpose()?;
    let secret = format!("{}{}", crate::auth::API_KEY_PREFIX, random_token(32)?);
    let prefix: String = secret.chars().take(10).collect();
    let key = api_keys::create(
        &state.db,
        admin.org_id,
        NewApiKey {
            name: input.name.trim(),
            prefix: &prefix,
            key_hash: &hash_token(&secret),
            scopes: &scopes,
            providers: providers.as_deref(),
            created_by: admin.user_id,
        },
    )
    .await?;
    let location = format!("/api/v1/orgs/{}/api-keys/{}", admin.org_id.0, key.id.0);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(ApiKeyCreatedOut {
            key: key.into(),
            secret,
        }))
}

/// Revokes a key at once.
#[utoipa::path(
    operation_id = "revokeApiKey",
    tag = "api keys",
    params(("org_id" = uuid::Uuid, Path), ("key_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/api-keys/{key_id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> ApiResult<HttpResponse> {
    let key_id = ApiKeyId(path.into_inner().1);
    if api_keys::revoke(&state.db, admin.org_id, key_id).await? {
        // What the tenant guard kept is by the key's hash, which is not known here.
        state.recent_callers.forget_all();
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(
            "This organization has no live API key with that id.",
        ))
    }
}
