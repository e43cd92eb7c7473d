//! Invitations: an admin invites an e-mail address with a role; the token is shown once and
//! stored only as a SHA-256 hash; it expires after seven days and works once. The person
//! accepts while signed in with the invited address, which makes them a member.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use chrono::Utc;
use domain::invitations::{
    self as rules, Invitation, InvitationId, InvitationStatus, TOKEN_PREFIX,
};
use domain::model::{Organization, User};
use domain::{OrgId, Role, UserId};
use persistence::invitations::{self, NewInvitation};
use persistence::page::{Page, PageRequest};
use persistence::{DatabaseTransaction, StoreError, orgs};

use crate::auth::{hash_token, random_token};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// An invitation to make; the e-mail is lower-cased and checked by the caller.
pub struct NewInvite {
    pub email: String,
    pub role: Role,
}

/// A new invitation with its token, which is shown this once.
pub struct CreatedInvitation {
    pub invitation: Invitation,
    pub token: String,
}

/// What accepting gave.
pub struct Accepted {
    pub org: Organization,
    pub role: Role,
}

/// Refuses invitations that could not work: to someone who is already a member, to an address
/// with an invitation still pending, or the same address twice in one request.
pub(crate) async fn check_new(
    state: &AppState,
    org_id: OrgId,
    invites: &[NewInvite],
) -> ApiResult<()> {
    let members: BTreeSet<String> = orgs::members(&state.db, org_id)
        .await?
        .into_iter()
        .map(|m| m.user.email.to_lowercase())
        .collect();
    let now = Utc::now();
    let pending: BTreeSet<String> = invitations::pending_emails(&state.db, org_id, now)
        .await?
        .into_iter()
        .collect();
    let mut seen = BTreeSet::new();
    for invite in invites {
        let email = &invite.email;
        if members.contains(email) {
            return Err(ApiError::conflict(
                ErrorCode::AlreadyMember,
                format!("{email} is already a member of this organization."),
            ));
        }
        if pending.contains(email) {
            return Err(already_invited(email));
        }
        if !seen.insert(email) {
            return Err(ApiError::unprocessable(
                ErrorCode::DuplicateInvitation,
                format!("{email} is listed twice; invite each address once."),
            ));
        }
    }
    Ok(())
}

fn already_invited(email: &str) -> ApiError {
    ApiError::conflict(
        ErrorCode::AlreadyInvited,
        format!("{email} already has a pending invitation. Revoke it first to send a new one."),
    )
}

/// Stores checked invitations inside the caller's transaction and hands back their tokens.
/// The database holds one open invitation per address: one sent at the same moment by
/// another request is refused here, and an expired one is closed to make room.
pub(crate) async fn insert(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    invited_by: UserId,
    invites: Vec<NewInvite>,
) -> ApiResult<Vec<CreatedInvitation>> {
    let now = Utc::now();
    let expires_at = rules::expiry(now);
    let mut created = Vec::with_capacity(invites.len());
    for invite in invites {
        invitations::close_expired(txn, org_id, &invite.email, now).await?;
        let token = format!("{TOKEN_PREFIX}{}", random_token(32)?);
        let invitation = invitations::create(
            txn,
            org_id,
            NewInvitation {
                email: &invite.email,
                role: invite.role,
                token_hash: &hash_token(&token),
                invited_by,
                expires_at,
            },
        )
        .await
        .map_err(|err| match err {
            StoreError::Duplicate(_) => already_invited(&invite.email),
            other => other.into(),
        })?;
        created.push(CreatedInvitation { invitation, token });
    }
    Ok(created)
}

/// POST …/invitations.
pub async fn create(
    state: &AppState,
    org_id: OrgId,
    invited_by: UserId,
    invite: NewInvite,
) -> ApiResult<CreatedInvitation> {
    check_new(state, org_id, std::slice::from_ref(&invite)).await?;
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let created = insert(&txn, org_id, invited_by, vec![invite]).await?;
    txn.commit().await.map_err(StoreError::from)?;
    created
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an invitation was not created")))
}

pub async fn list(
    state: &AppState,
    org_id: OrgId,
    request: PageRequest,
) -> ApiResult<Page<Invitation>> {
    Ok(invitations::list(&state.db, org_id, request).await?)
}

/// DELETE …/invitations/{id}: the token stops working. Revoking twice is harmless.
pub async fn revoke(state: &AppState, org_id: OrgId, id: InvitationId) -> ApiResult<()> {
    if invitations::revoke(&state.db, org_id, id).await? {
        return Ok(());
    }
    match invitations::get(&state.db, org_id, id).await? {
        None => Err(ApiError::not_found(
            "This organization has no invitation with that id.",
        )),
        Some(invitation) if invitation.accepted_at.is_some() => Err(ApiError::conflict(
            ErrorCode::InvitationAccepted,
            "This invitation was already accepted. To take the access back, remove the member instead.",
        )),
        Some(_) => Ok(()),
    }
}

fn gone(code: ErrorCode, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::GONE, code, detail)
}

fn already_used() -> ApiError {
    ApiError::conflict(
        ErrorCode::InvitationUsed,
        "This invitation has already been accepted; it works once. Ask an admin of the organization for a new one if you still need access.",
    )
}

/// POST /invitations/{token}/accept by a signed-in user.
pub async fn accept(state: &AppState, user: &User, token: &str) -> ApiResult<Accepted> {
    let not_valid = || {
        ApiError::not_found(
            "This invitation link is not valid. Check that you copied all of it, or ask for a new invitation.",
        )
    };
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(not_valid());
    }
    let invitation = invitations::find_by_token_hash(&state.db, &hash_token(token))
        .await?
        .ok_or_else(not_valid)?;
    let now = Utc::now();
    match invitation.status(now) {
        InvitationStatus::Pending => {}
        InvitationStatus::Accepted => return Err(already_used()),
        InvitationStatus::Revoked => {
            return Err(gone(
                ErrorCode::InvitationRevoked,
                "This invitation was withdrawn by the organization. Ask an admin for a new one if you still need access.",
            ));
        }
        InvitationStatus::Expired => {
            return Err(gone(
                ErrorCode::InvitationExpired,
                format!(
                    "This invitation expired on {}. Ask an admin of the organization to send a new one.",
                    invitation.expires_at.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
    }
    if !invitation.is_for(&user.email) {
        return Err(ApiError::forbidden(
            "This invitation was sent to a different e-mail address. Sign in with the invited address to accept it.",
        ));
    }
    let org_id = invitation.org_id;
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    if !invitations::claim(&txn, org_id, invitation.id, user.id, now).await? {
        return Err(already_used());
    }
    orgs::add_member(&txn, org_id, user.id, invitation.role)
        .await
        .map_err(|err| match err {
            StoreError::Duplicate(_) => ApiError::conflict(
                ErrorCode::AlreadyMember,
                "You are already a member of this organization; the invitation was left unused.",
            ),
            other => other.into(),
        })?;
    txn.commit().await.map_err(StoreError::from)?;
    let org = orgs::get(&state.db, org_id).await?.ok_or_else(|| {
        ApiError::not_found("The organization of this invitation no longer exists.")
    })?;
    Ok(Accepted {
        org,
        role: invitation.role,
    })
}
