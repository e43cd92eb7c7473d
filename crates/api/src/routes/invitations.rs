//! Invitations: `/orgs/{org_id}/invitations` for admins (members may list them) and
//! `/invitations/{token}/accept` for the invited person, signed in with the invited address.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use domain::Role;
use domain::invitations::{Invitation, InvitationId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::ValidateEmail;

use super::paging::{PageOut, PageQuery};
use crate::auth::{AuthUser, MembersReader, OrgOwnerOrAdmin};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::services::invitations::{self as service, CreatedInvitation, NewInvite};
use crate::state::AppState;

/// Invitations grant `admin` or `member`; ownership is handed over by an owner, not by a link.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationRoleIn {
    Admin,
    Member,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "bo@acme.example",
    "role": "admin"
})))]
pub struct InvitationIn {
    /// The address the person will sign in with to accept.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub role: InvitationRoleIn,
}

impl InvitationIn {
    /// The checked invitation; `field` names it in errors (e.g. `data.invitations[0]`).
    pub(crate) fn parse(self, field: &str) -> Result<NewInvite, FieldError> {
        let email = self.email.trim().to_lowercase();
        if email.len() > 254 || !email.validate_email() {
            return Err(FieldError::new(
                format!("{field}email"),
                "Enter the e-mail address of the person to invite, like ana@example.com.",
            ));
        }
        let role = match self.role {
            InvitationRoleIn::Admin => Role::Admin,
            InvitationRoleIn::Member => Role::Member,
        };
        Ok(NewInvite { email, role })
    }
}

/// A pending invitation.
fn invitation_example() -> serde_json::Value {
    serde_json::json!({
        "id": "7e2d9c41-5a8b-4c36-b1f0-93e6d2a7c845",
        "email": "bo@acme.example",
        "role": "admin",
        "status": "pending",
        "invited_by": "0b8e6f52-3c1d-4e2a-9f57-6a4d2c8e1b93",
        "created_at": "2026-11-24T09:31:12Z",
        "expires_at": "2026-12-01T09:31:12Z",
        "accepted_at": null,
        "revoked_at": null
    })
}

/// The same invitation as its creation answers it, with its token shown once.
fn invitation_created_example() -> serde_json::Value {
    let mut example = invitation_example();
    example["token"] = "pbi_…WXYZ".into();
    example
}

#[derive(Serialize, ToSchema)]
#[schema(examples(invitation_example))]
pub struct InvitationOut {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: crate::contract::Role,
    pub status: crate::contract::InvitationStatus,
    pub invited_by: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<Invitation> for InvitationOut {
    fn from(i: Invitation) -> Self {
        InvitationOut {
            id: i.id.0,
            status: i.status(Utc::now()).into(),
            email: i.email,
            role: i.role.into(),
            invited_by: i.invited_by.map(|u| u.0),
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_at: i.accepted_at,
            revoked_at: i.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(invitation_created_example))]
pub struct InvitationCreatedOut {
    #[serde(flatten)]
    pub invitation: InvitationOut,
    /// The invitation's token (`pbi_…`). Shown this once: send it to the person, who accepts
    /// with POST /api/v1/invitations/{token}/accept.
    pub token: String,
}

impl From<CreatedInvitation> for InvitationCreatedOut {
    fn from(created: CreatedInvitation) -> Self {
        InvitationCreatedOut {
            invitation: created.invitation.into(),
            token: created.token,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "org_id": "5f0c2a9e-8d3b-4b71-9a64-2f1e7c3d9b10",
    "org_name": "Acme",
    "role": "admin"
})))]
pub struct AcceptedOut {
    pub org_id: uuid::Uuid,
    pub org_name: String,
    /// The role the invitation granted.
    pub role: crate::contract::Role,
}

/// The organization's invitations, newest first (never their tokens).
#[utoipa::path(
    operation_id = "listInvitations",
    tag = "invitations",
    params(("org_id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = PageOut<InvitationOut>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/invitations")]
pub async fn list(
    state: web::Data<AppState>,
    reader: MembersReader,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<PageOut<InvitationOut>>> {
    let page = service::list(&state, reader.0.org_id, query.request()?).await?;
    Ok(web::Json(PageOut::from_page(page, InvitationOut::from)))
}

/// Invites an e-mail address. The token in the answer is shown this once.
#[utoipa::path(
    operation_id = "createInvitation",
    tag = "invitations",
    params(("org_id" = uuid::Uuid, Path)),
    request_body = InvitationIn,
    responses(
        (status = 201, body = InvitationCreatedOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Already a member, or an invitation is pending."),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/invitations")]
#[tracing::instrument(skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    body: web::Json<InvitationIn>,
) -> ApiResult<HttpResponse> {
    invite(&state, &admin, body.into_inner()).await
}

/// Creates one invitation and answers it with its token (here and for `POST …/members`).
pub(crate) async fn invite(
    state: &AppState,
    admin: &OrgOwnerOrAdmin,
    input: InvitationIn,
) -> ApiResult<HttpResponse> {
    let invite = input.parse("").map_err(|e| ApiError::validation(vec![e]))?;
    let created = service::create(state, admin.org_id, admin.user_id, invite).await?;
    let out = InvitationCreatedOut::from(created);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!(
                "/api/v1/orgs/{}/invitations/{}",
                admin.org_id.0, out.invitation.id
            ),
        ))
        .json(out))
}

/// Revokes an invitation: its token stops working.
#[utoipa::path(
    operation_id = "revokeInvitation",
    tag = "invitations",
    params(("org_id" = uuid::Uuid, Path), ("invitation_id" = uuid::Uuid, Path)),
    responses(
        (status = 204),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Already accepted."),
    ),
    security(("bearer" = []))
)]
#[delete("/invitations/{invitation_id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> ApiResult<HttpResponse> {
    service::revoke(&state, admin.org_id, InvitationId(path.1)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accepts an invitation as the signed-in user, whose e-mail must be the invited one. It works
/// once: a used, revoked or expired invitation is refused and changes nothing.
#[utoipa::path(
    operation_id = "acceptInvitation",
    tag = "invitations",
    params(("token" = String, Path, description = "The invitation's token, `pbi_…`")),
    responses(
        (status = 200, body = AcceptedOut),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "The invitation was sent to another address."),
        (status = 404, body = Problem, description = "No invitation has this token."),
        (status = 409, body = Problem, description = "Already accepted, or already a member."),
        (status = 410, body = Problem, description = "Expired or revoked."),
    ),
    security(("bearer" = []))
)]
#[post("/invitations/{token}/accept")]
#[tracing::instrument(skip_all)]
pub async fn accept(
    state: web::Data<AppState>,
    user: AuthUser,
    token: web::Path<String>,
) -> ApiResult<web::Json<AcceptedOut>> {
    let accepted = service::accept(&state, &user.0, &token).await?;
    Ok(web::Json(AcceptedOut {
        org_id: accepted.org.id.0,
        org_name: accepted.org.name,
        role: accepted.role.into(),
    }))
}
