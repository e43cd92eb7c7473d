//! Invitations to join an organization: single-use, expiring, and stored only as a hash of
//! their token. The invited person accepts with an account using the invited e-mail address,
//! so a forwarded or leaked link is of no use to anyone else.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::ids::{OrgId, UserId};
use crate::model::Role;

/// How long an invitation stays valid.
pub const VALID_FOR_DAYS: i64 = 7;

/// Every invitation token starts with this, so one is easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "pbi_";

/// One invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvitationId(pub Uuid);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    /// Lower-cased.
    pub email: String,
    pub role: Role,
    pub invited_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }
}

/// When an invitation made at `now` stops being valid.
pub fn expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(VALID_FOR_DAYS)
}

impl Invitation {
    /// Accepted and revoked are final; otherwise the clock decides.
    pub fn status(&self, now: DateTime<Utc>) -> InvitationStatus {
        if self.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if self.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if self.expires_at <= now {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        }
    }

    /// Whether this account's e-mail is the invited one (e-mails compare case-insensitively).
    pub fn is_for(&self, email: &str) -> bool {
        self.email.eq_ignore_ascii_case(email.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(now: DateTime<Utc>) -> Invitation {
        Invitation {
            id: InvitationId(Uuid::new_v4()),
            org_id: OrgId::new(),
            email: "ana@example.com".to_owned(),
            role: Role::Member,
            invited_by: None,
            created_at: now,
            expires_at: expiry(now),
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        }
    }

    #[test]
    fn an_invitation_is_pending_for_seven_days() {
        let now = Utc::now();
        let inv = invitation(now);
        assert_eq!(inv.status(now), InvitationStatus::Pending);
        assert_eq!(
            inv.status(now + Duration::days(6)),
            InvitationStatus::Pending
        );
        assert_eq!(
            inv.status(now + Duration::days(7)),
            InvitationStatus::Expired
        );
    }

    #[test]
    fn accepted_and_revoked_are_final() {
        let now = Utc::now();
        let accepted = Invitation {
            accepted_at: Some(now),
            ..invitation(now)
        };
        assert_eq!(
            accepted.status(now + Duration::days(30)),
            InvitationStatus::Accepted
        );
        let revoked = Invitation {
            revoked_at: Some(now),
            ..invitation(now)
        };
        assert_eq!(revoked.status(now), InvitationStatus::Revoked);
    }

    #[test]
    fn only_the_invited_address_may_accept() {
        let inv = invitation(Utc::now());
        assert!(inv.is_for("Ana@Example.com"));
        assert!(!inv.is_for("bob@example.com"));
    }
}
