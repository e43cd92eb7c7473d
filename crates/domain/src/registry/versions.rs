//! Provider API versions: which version each template pins, when the provider retires it, and
//! the clock that tells whether that day has come or is near.

use chrono::NaiveDate;
use regex::Regex;

use super::{Provider, Registry, Verify};
use crate::template;

/// The placeholder a template writes instead of a literal version.
pub const PLACEHOLDER: &str = "api_version";

/// Days before a sunset when the version test starts to warn.
pub const TEST_WARNING_DAYS: i64 = 60;
/// Days before a sunset when platform readiness lists the version.
pub const READINESS_WARNING_DAYS: i64 = 90;

/// A provider's pinned API version and what its owner publishes about retiring it.
#[derive(Clone, Copy, Debug)]
pub struct VersionPin<'p> {
    pub provider: &'p Provider,
    pub version: &'p str,
    /// The provider's published retirement date; `None` when it publishes none.
    pub sunsets_on: Option<NaiveDate>,
    /// Why there is no date (the provider publishes none), or extra context for the date.
    pub note: Option<&'p str>,
    /// The page that says so.
    pub source: &'p str,
}

impl<'p> VersionPin<'p> {
    /// What stops working when the version is switched off, as a sentence.
    pub fn breaks(&self) -> String {
        let provider = self.provider;
        let mut parts = Vec::new();
        if provider.version_in_oauth {
            parts.push(format!("connecting {} (OAuth)", provider.name));
        }
        if provider.version_in_verify {
            parts.push("connection tests and daily health checks".to_owned());
        }
        if let Some(more) = &provider.version_breaks {
            parts.push(more.clone());
        }
        let list = match parts.as_slice() {
            [] => "every call Plugboard makes to it".to_owned(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        };
        format!("{list} stop working for every brand.")
    }
}

/// Where a pinned version stands on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// The provider has switched it off (the sunset day itself counts: requests fail from it).
    Lapsed { days_ago: i64 },
    /// It sunsets within the warning window.
    Soon { days_left: i64 },
    /// Sunsets later than the window, or no date is published.
    Current,
}

impl Standing {
    pub fn of(sunsets_on: Option<NaiveDate>, today: NaiveDate, warn_days: i64) -> Standing {
        let Some(sunset) = sunsets_on else {
            return Standing::Current;
        };
        let days_left = (sunset - today).num_days();
        if days_left <= 0 {
            Standing::Lapsed {
                days_ago: -days_left,
            }
        } else if days_left <= warn_days {
            Standing::Soon { days_left }
        } else {
            Standing::Current
        }
    }
}

/// A version that has lapsed or lapses soon, with the sentence to show.
#[derive(Clone, Debug)]
pub struct VersionAlert<'p> {
    pub pin: VersionPin<'p>,
    pub sunsets_on: NaiveDate,
    pub standing: Standing,
    pub message: String,
}

/// Every pinned version that has lapsed or lapses within `warn_days` of `today`, soonest first.
pub fn alerts(registry: &Registry, today: NaiveDate, warn_days: i64) -> Vec<VersionAlert<'_>> {
    let mut found: Vec<VersionAlert<'_>> = registry
        .providers()
        .iter()
        .filter_map(Provider::version)
        .filter_map(|pin| {
            let sunsets_on = pin.sunsets_on?;
            let standing = Standing::of(Some(sunsets_on), today, warn_days);
            let name = &pin.provider.name;
            let version = pin.version;
            let breaks = pin.breaks();
            let message = match standing {
                Standing::Current => return None,
                Standing::Lapsed { .. } => format!(
                    "{name} switched off API version {version} on {sunsets_on}: {breaks} Move the registry to a supported version ({})."
                    , pin.source
                ),
                Standing::Soon { days_left } => format!(
                    "{name} switches off API version {version} on {sunsets_on} (in {days_left} days): {breaks} Move the registry to a newer version before then ({}).",
                    pin.source
                ),
            };
            Some(VersionAlert {
                pin,
                sunsets_on,
                standing,
                message,
            })
        })
        .collect();
    found.sort_by_key(|a| (a.sunsets_on, a.pin.provider.id.clone()));
    found
}

/// What the version test says on a given day: lapsed versions fail it, versions that sunset
/// within [`TEST_WARNING_DAYS`] are printed as warnings.
#[derive(Debug, Default)]
pub struct ClockReport {
    pub lapsed: Vec<String>,
    pub warnings: Vec<String>,
}

pub fn clock(registry: &Registry, today: NaiveDate) -> ClockReport {
    let mut report = ClockReport::default();
    for alert in alerts(registry, today, TEST_WARNING_DAYS) {
        match alert.standing {
            Standing::Lapsed { .. } => report.lapsed.push(alert.message),
            Standing::Soon { .. } => report.warnings.push(alert.message),
            Standing::Current => {}
        }
    }
    report
}

pub(super) fn uses_version(text: &str) -> bool {
    template::placeholders(text).contains(&PLACEHOLDER)
}

pub(super) fn http_templates(http: &super::HttpVerify) -> impl Iterator<Item = &str> {
    std::iter::once(http.url.as_str())
        .chain(http.headers.values().map(String::as_str))
        .chain(http.query.values().map(String::as_str))
        .chain(http.form.values().map(String::as_str))
        .chain(http.body.as_deref())
}

/// A literal that looks like an API version: a URL path segment such as `v21.0`, `v1beta` or
/// `2025-01`, or a header value that is a dated version such as `2024-10-15` or
/// `2026-09-30.endive`. A template holding one should say `{api_version}` instead.
pub(super) struct LiteralVersions {
    segment: Regex,
    header: Regex,
}

impl LiteralVersions {
    pub(super) fn new() -> Result<LiteralVersions, regex::Error> {
        Ok(LiteralVersions {
            segment: Regex::new(
                r"^(v[0-9]+(\.[0-9]+)*([a-z]+[0-9]*)?|[0-9]{4}-[0-9]{2}(-[0-9]{2})?)$",
            )?,
            header: Regex::new(r"^[0-9]{4}-?[0-9]{2}(-?[0-9]{2})?(\.[a-z]+)?$")?,
        })
    }

    /// The first version-like path segment of a URL template, if any.
    pub(super) fn in_url<'t>(&self, url: &'t str) -> Option<&'t str> {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path = rest.split(['?', '#']).next().unwrap_or(rest);
        path.split('/').skip(1).find(|s| self.segment.is_match(s))
    }

    pub(super) fn is_header_version(&self, value: &str) -> bool {
        self.header.is_match(value.trim())
    }
}

/// Puts the pinned version into every template that names `{api_version}`, once at load, so
/// every consumer of a template (OAuth, verify, the sandbox) sees the version the registry pins.
pub(super) fn fill(provider: &mut Provider) {
    let Some(version) = provider.api_version.clone() else {
        return;
    };
    let put = |text: &mut String| *text = template::fill(text, PLACEHOLDER, &version);
    if let super::Auth::Oauth2(oauth) = &mut provider.auth {
        provider.version_in_oauth =
            uses_version(&oauth.authorize_url) || uses_version(&oauth.token_url);
        put(&mut oauth.authorize_url);
        put(&mut oauth.token_url);
    }
    if let Verify::Http(http) = &mut provider.verify {
        provider.version_in_verify = http_templates(http).any(uses_version);
        put(&mut http.url);
        http.headers.values_mut().for_each(put);
        http.query.values_mut().for_each(put);
        http.form.values_mut().for_each(put);
        if let Some(body) = &mut http.body {
            put(body);
        }
    }
    if let Some(api) = &mut provider.api {
        put(&mut api.base);
        api.headers.values_mut().for_each(put);
        api.query.values_mut().for_each(put);
    }
}
