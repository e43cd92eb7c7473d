//! Custom domains a brand brings, and the DNS record that proves each is theirs.

use chrono::{DateTime, Utc};

/// The most custom domains one organization keeps.
pub const MAX_DOMAINS: usize = 20;

/// The DNS name prefix of a domain's verification record.
const VERIFY_PREFIX: &str = "_plugboard-verify";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainStatus {
    /// Waiting for the brand to add the DNS record.
    Pending,
    Verified,
}

impl DomainStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Pending => "pending",
            DomainStatus::Verified => "verified",
        }
    }

    pub fn parse(s: &str) -> Option<DomainStatus> {
        [DomainStatus::Pending, DomainStatus::Verified]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// A custom domain of one organization. A host belongs to one organization at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomDomain {
    pub host: String,
    pub status: DomainStatus,
    /// The random value the brand publishes; not a secret (it is public in DNS once added).
    pub verification_token: String,
    pub created_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
}

/// A DNS record the brand must add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// `TXT`.
    pub kind: &'static str,
    pub name: String,
    pub value: String,
}

impl CustomDomain {
    pub fn verification_record(&self) -> DnsRecord {
        DnsRecord {
            kind: "TXT",
            name: format!("{VERIFY_PREFIX}.{}", self.host),
            value: format!("plugboard-verification={}", self.verification_token),
        }
    }
}

/// Reads a host name as a brand types it: trimmed, lower-cased, without a final dot. At least
/// two labels of letters, digits and inner hyphens; no scheme, path, port, wildcard or IP.
pub fn parse_host(input: &str) -> Result<String, String> {
    let host = input.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.contains("://") || host.contains('/') || host.contains(':') {
        return Err(format!(
            "Enter just the host name, like shop.example.com, without https://, a port or a path (got `{}`).",
            input.trim()
        ));
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let top_level_ok = labels
        .last()
        .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_lowercase()));
    if host.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) || !top_level_ok {
        return Err(format!(
            "`{}` is not a host name. Use letters, digits and hyphens in dot-separated parts, like shop.example.com.",
            input.trim()
        ));
    }
    Ok(host)
}
