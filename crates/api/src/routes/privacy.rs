//! `/orgs/{org_id}/privacy-requests`: the privacy requests providers sent about the brand's
//! customers or shop (Shopify's `customers/data_request`, `customers/redact`, `shop/redact`),
//! for its admins to answer within their due date and mark done.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use persistence::privacy::{self as store, PrivacyRequest};
use serde::Serialize;
use utoipa::ToSchema;

use super::ListOut;
use crate::auth::OrgAdmin;
use crate::contract;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

fn privacy_request_example() -> serde_json::Value {
    serde_json::json!({
        "id": "3c9a1e57-2b84-4d6f-a0c3-7e5b9d2f4a18",
        "connection_id": "9d4f2b7e-1c3a-4e58-b6d0-2a7c5e9f1b34",
        "provider": "shopify",
        "kind": "customer_data_request",
        "details": {
            "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
            "orders_requested": [299938, 280263],
            "orders_to_redact": null,
            "data_request": {"id": 9999}
        },
        "received_at": "2026-12-06T09:31:12Z",
        "due_at": "2027-01-05T09:31:12Z",
        "done_at": null,
        "done_by": null
    })
}

/// A privacy request and where it stands.
#[derive(Serialize, ToSchema)]
#[schema(examples(privacy_request_example))]
pub struct PrivacyRequestOut {
    pub id: uuid::Uuid,
    pub connection_id: uuid::Uuid,
    pub provider: String,
    pub kind: contract::PrivacyKind,
    /// What the provider named (the customer, the orders); null for a shop's erasure, and once
    /// the shop's data was erased.
    pub details: Option<serde_json::Value>,
    pub received_at: DateTime<Utc>,
    /// The day the answer is due (30 days after it came).
    pub due_at: DateTime<Utc>,
    /// When it was answered; a shop's erasure is done by Plugboard as it arrives.
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<uuid::Uuid>,
}

impl From<PrivacyRequest> for PrivacyRequestOut {
    fn from(r: PrivacyRequest) -> Self {
        PrivacyRequestOut {
            id: r.id,
            connection_id: r.connection_id.0,
            provider: r.provider,
            kind: r.kind.into(),
            details: r.details,
            received_at: r.received_at,
            due_at: r.due_at,
            done_at: r.done_at,
            done_by: r.done_by.map(|u| u.0),
        }
    }
}

/// The organization's privacy requests, newest first (admins only).
#[utoipa::path(
    operation_id = "listPrivacyRequests",
    tag = "privacy",
    params(("org_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = ListOut<PrivacyRequestOut>),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/privacy-requests")]
pub async fn list(
    state: web::Data<AppState>,
    admin: OrgAdmin,
) -> ApiResult<web::Json<ListOut<PrivacyRequestOut>>> {
    let requests = store::list(&state.db, admin.0.org_id).await?;
    Ok(web::Json(ListOut {
        data: requests.into_iter().map(PrivacyRequestOut::from).collect(),
    }))
}

/// Marks a privacy request answered. Marking it again keeps the first answer.
#[utoipa::path(
    operation_id = "completePrivacyRequest",
    tag = "privacy",
    params(("org_id" = uuid::Uuid, Path), ("request_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = PrivacyRequestOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/privacy-requests/{request_id}/done")]
pub async fn mark_done(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> ApiResult<web::Json<PrivacyRequestOut>> {
    let (_, id) = path.into_inner();
    let done = store::mark_done(&state.db, admin.0.org_id, id, admin.0.user_id(), Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("This organization has no such privacy request."))?;
    Ok(web::Json(done.into()))
}
