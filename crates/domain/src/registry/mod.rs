//! The provider registry: every third-party service Plugboard can connect, loaded from
//! `providers.toml` and validated once at start.

mod validate;
pub mod versions;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::template;
use chrono::NaiveDate;
use regex::Regex;
use serde::Deserialize;
use url::Url;

pub use validate::RegistryError;
pub use versions::VersionPin;

const BUILTIN: &str = include_str!("../../providers.toml");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Commerce,
    Payments,
    Advertising,
    Analytics,
    Marketing,
    Reviews,
    Communication,
    VideoMedia,
    Productivity,
    Surveys,
    Monitoring,
    Ai,
    Crm,
    Social,
}

impl Category {
    pub const ALL: [Category; 14] = [
        Category::Commerce,
        Category::Payments,
        Category::Advertising,
        Category::Analytics,
        Category::Marketing,
        Category::Reviews,
        Category::Communication,
        Category::VideoMedia,
        Category::Productivity,
        Category::Surveys,
        Category::Monitoring,
        Category::Ai,
        Category::Crm,
        Category::Social,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Commerce => "commerce",
            Category::Payments => "payments",
            Category::Advertising => "advertising",
            Category::Analytics => "analytics",
            Category::Marketing => "marketing",
            Category::Reviews => "reviews",
            Category::Communication => "communication",
            Category::VideoMedia => "video_media",
            Category::Productivity => "productivity",
            Category::Surveys => "surveys",
            Category::Monitoring => "monitoring",
            Category::Ai => "ai",
            Category::Crm => "crm",
            Category::Social => "social",
        }
    }

    /// The heading a person sees.
    pub fn label(self) -> &'static str {
        match self {
            Category::Commerce => "Commerce",
            Category::Payments => "Payments",
            Category::Advertising => "Advertising",
            Category::Analytics => "Analytics",
            Category::Marketing => "Marketing",
            Category::Reviews => "Reviews",
            Category::Communication => "Communication",
            Category::VideoMedia => "Video & media",
            Category::Productivity => "Productivity",
            Category::Surveys => "Surveys & feedback",
            Category::Monitoring => "Monitoring",
            Category::Ai => "AI",
            Category::Crm => "CRM",
            Category::Social => "Social",
        }
    }
}

/// How strongly the onboarding wizard asks for a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Onboarding {
    Required,
    Recommended,
    Optional,
}

impl Onboarding {
    pub fn as_str(self) -> &'static str {
        match self {
            Onboarding::Required => "required",
            Onboarding::Recommended => "recommended",
            Onboarding::Optional => "optional",
        }
    }
}

/// Whether each brand connects its own account, or the platform holds one for everybody.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Tenant,
    Platform,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Tenant => "tenant",
            Level::Platform => "platform",
        }
    }
}

/// How a brand proves it owns the account.
// Loaded once at start-up, a few dozen of them: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// Authorization-code flow; tokens come from the provider.
    Oauth2(OAuth2),
    /// One or more keys the brand pastes in; `verify` says how they are sent.
    ApiKey,
    /// A user name and password (or id and secret) sent as HTTP basic auth.
    Basic,
    /// An identifier with no secret, such as an analytics project id.
    PublicId,
}

impl Auth {
    pub fn kind(&self) -> AuthKind {
        match self {
            Auth::Oauth2(_) => AuthKind::Oauth2,
            Auth::ApiKey => AuthKind::ApiKey,
            Auth::Basic => AuthKind::Basic,
            Auth::PublicId => AuthKind::PublicId,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    Oauth2,
    ApiKey,
    Basic,
    PublicId,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Oauth2 => "oauth2",
            AuthKind::ApiKey => "api_key",
            AuthKind::Basic => "basic",
            AuthKind::PublicId => "public_id",
        }
    }
}

/// How the client authenticates itself at a token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    RequestBody,
    BasicAuth,
}

/// A provider's departure from plain OAuth 2, handled by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quirk {
    /// Hosts are the shop's own; the callback carries an `hmac` to verify.
    Shopify,
    /// The short-lived token is exchanged for a long-lived one.
    MetaLongLived,
    /// Offline access and consent, so a refresh token comes back.
    GoogleOffline,
    /// Comma-separated scopes; user tokens under `authed_user`.
    Slack,
    /// `app_id`/`auth_code` instead of `client_id`/`code`; answers wrapped in `data`.
    Tiktok,
    /// The connected account is `stripe_user_id`.
    StripeConnect,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    pub authorize_url: String,
    pub token_url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default = "space")]
    pub scope_separator: String,
    #[serde(default)]
    pub authorize_params: BTreeMap<String, String>,
    #[serde(default)]
    pub token_params: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub pkce: bool,
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// The platform variables holding the app's client id and secret.
    pub client_id_env: String,
    pub client_secret_env: String,
    #[serde(default)]
    pub quirks: Vec<Quirk>,
    /// Seconds a token is assumed to live when the token answer has no `expires_in`.
    pub default_expires_in: Option<i64>,
}

impl OAuth2 {
    pub fn has_quirk(&self, quirk: Quirk) -> bool {
        self.quirks.contains(&quirk)
    }
}

/// What kind of value a connection field holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Text,
    /// A whole base URL the brand supplies; requests to it pass the SSRF guard.
    Url,
    /// A host name that ends up in request URLs.
    Host,
    /// One of `options`.
    Select,
}

impl FieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Url => "url",
            FieldKind::Host => "host",
            FieldKind::Select => "select",
        }
    }
}

/// A value the brand supplies: configuration shown back, or a secret that never is.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub secret: bool,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub kind: FieldKind,
    #[serde(default)]
    pub options: Vec<String>,
    pub pattern: Option<String>,
    /// What a person reads when the value does not match `pattern`.
    pub pattern_hint: Option<String>,
    pub placeholder: Option<String>,
    pub help: Option<String>,
    /// Needed before the consent screen (e.g. the shop of a Shopify store).
    #[serde(default)]
    pub before_consent: bool,
    /// The value used when none is given (a select field's usual option).
    pub default: Option<String>,
    #[serde(skip)]
    regex: Option<Regex>,
}

/// DNS limits (RFC 1035 §2.3.4): a name of 253 characters at most, each label 63.
fn check_dns_lengths(label: &str, host: &str) -> Result<(), String> {
    if host.len() > 253 {
        return Err(format!(
            "{label} is too long for a host name (253 characters at most)."
        ));
    }
    if host.split('.').any(|part| part.len() > 63) {
        return Err(format!(
            "{label} has a part longer than 63 characters between dots, which no host name can have."
        ));
    }
    Ok(())
}

impl Field {
    /// Checks a value against the field's rules; the error is a sentence for a person.
    pub fn check(&self, value: &str) -> Result<(), String> {
        if value.trim().is_empty() {
            return Err(format!("{} must not be empty.", self.label));
        }
        if value.len() > 4096 {
            return Err(format!(
                "{} is too long (4096 characters at most).",
                self.label
            ));
        }
        if self.kind == FieldKind::Select && !self.options.iter().any(|o| o == value) {
            return Err(format!(
                "{} must be one of: {}.",
                self.label,
                self.options.join(", ")
            ));
        }
        if self.kind == FieldKind::Url {
            let url = Url::parse(value).map_err(|_| {
                format!(
                    "{} must be a full URL such as https://api.example.com.",
                    self.label
                )
            })?;
            if url.scheme() != "https" && url.scheme() != "http" {
                return Err(format!("{} must start with https://.", self.label));
            }
        }
        if self.kind == FieldKind::Host {
            check_dns_lengths(&self.label, value)?;
        }
        if let Some(regex) = &self.regex
            && !regex.is_match(value)
        {
            return Err(self
                .pattern_hint
                .clone()
                .unwrap_or_else(|| format!("{} is not in the expected format.", self.label)));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Post,
}

/// HTTP basic credentials, as templates.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicTemplate {
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// A value the answer must hold for the credentials to count as good (Slack's `ok: true`);
/// without `equals`, the pointer must lead to a value that is not null (a GraphQL `data`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessCheck {
    pub pointer: String,
    pub equals: Option<serde_json::Value>,
}

impl SuccessCheck {
    pub fn holds(&self, answer: Option<&serde_json::Value>) -> bool {
        let found = answer.and_then(|a| a.pointer(&self.pointer));
        match &self.equals {
            Some(expected) => found == Some(expected),
            None => found.is_some_and(|v| !v.is_null()),
        }
    }
}

/// The real request that proves a connection's credentials work.
// Loaded once at start-up, a few dozen of them: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Verify {
    Http(HttpVerify),
    /// No request is possible (there is no secret); the identifier's format is checked.
    Format {
        message: String,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpVerify {
    #[serde(default)]
    pub method: Method,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub basic: Option<BasicTemplate>,
    /// A JSON body template; values are JSON-escaped.
    pub body: Option<String>,
    /// Form fields for an `application/x-www-form-urlencoded` body.
    #[serde(default)]
    pub form: BTreeMap<String, String>,
    #[serde(default = "ok_statuses")]
    pub expect_status: Vec<u16>,
    pub success: Option<SuccessCheck>,
    /// JSON pointers into the answer.
    pub account_name: Option<String>,
    pub account_id: Option<String>,
    /// Where the provider puts its error text, to quote it back.
    pub error_message: Option<String>,
}

/// A provider's HTTP API as the proxy calls it: the base every proxied path goes under and
/// where the credential goes (headers, query parameters or basic auth, as templates like
/// `verify`'s), with the provider's fixed headers (a pinned version, a developer token).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// `https://{shop}/admin/api/{api_version}`: the host is literal or a connection's host
    /// field; nothing after it but literal segments and `{api_version}`.
    pub base: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub basic: Option<BasicTemplate>,
    /// Why the API is not called on the pinned version (its paths name versions themselves).
    pub unversioned: Option<String>,
}

impl Api {
    /// Every template of the API: base, header and query values, basic credentials.
    pub fn templates(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.base.as_str())
            .chain(self.headers.values().map(String::as_str))
            .chain(self.query.values().map(String::as_str))
            .chain(
                self.basic
                    .iter()
                    .flat_map(|b| [b.username.as_str(), b.password.as_str()]),
            )
    }
}

/// What a connection can be pointed at once it is connected (an ad account, a channel), and
/// how the provider lists them through its API.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    AdAccount,
    Pixel,
    Customer,
    LoginCustomer,
    Advertiser,
    Property,
    DataStream,
    Site,
    Channel,
    List,
    Calendar,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 11] = [
        ResourceKind::AdAccount,
        ResourceKind::Pixel,
        ResourceKind::Customer,
        ResourceKind::LoginCustomer,
        ResourceKind::Advertiser,
        ResourceKind::Property,
        ResourceKind::DataStream,
        ResourceKind::Site,
        ResourceKind::Channel,
        ResourceKind::List,
        ResourceKind::Calendar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::AdAccount => "ad_account",
            ResourceKind::Pixel => "pixel",
            ResourceKind::Customer => "customer",
            ResourceKind::LoginCustomer => "login_customer",
            ResourceKind::Advertiser => "advertiser",
            ResourceKind::Property => "property",
            ResourceKind::DataStream => "data_stream",
            ResourceKind::Site => "site",
            ResourceKind::Channel => "channel",
            ResourceKind::List => "list",
            ResourceKind::Calendar => "calendar",
        }
    }

    pub fn parse(name: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One kind of resource a provider's connection can be pointed at.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    pub kind: ResourceKind,
    /// "Ad account": how a person names one.
    pub label: String,
    /// The connection setting (a field of the provider) a choice fills.
    pub setting: String,
    /// Whether the connection is of no use until one is chosen.
    #[serde(default)]
    pub required: bool,
    /// Path and query, relative to the API base, of the request that lists them. It may name
    /// another resource's setting (`{config.ad_account_id}/adspixels`): that one is its parent,
    /// chosen first.
    pub list: String,
    /// Query parameters the listing sends with the platform's own credentials
    /// (`{env.TIKTOK_APP_SECRET}`): added by the proxy beside the connection's credential, so
    /// they are in no cache key, log line or answer.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON pointer to the array of items in the listing's answer.
    pub items: String,
    /// The provider leaves an empty list out of its answer (proto3 JSON, as Google's APIs
    /// write it): no list there means nothing to choose.
    #[serde(default)]
    pub omits_empty: bool,
    /// Pointer into each entry of `items` to the array that holds the items themselves (GA4's
    /// properties inside account summaries); none: the entries are the items.
    pub within: Option<String>,
    /// Pointer into an item to its id; empty: the item is the id (a list of strings).
    pub id: String,
    /// Taken off the front of an id as listed (`customers/` before a Google Ads customer).
    pub id_prefix: Option<String>,
    /// Pointer into an item to its name, for people.
    pub name: Option<String>,
    /// Pointer into an item to a detail shown beside the name.
    pub detail: Option<String>,
    pub paging: Option<Paging>,
    /// Where an answer with a 2xx status says whether the provider agreed (TikTok's `code`
    /// 0, Slack's `ok`); none: the status says it.
    pub success: Option<SuccessCheck>,
    /// Path, relative to the API base, that answers 2xx while a chosen one is reachable
    /// (`{id}` is the chosen id; the parent's `{config.…}` as in `list`). None: the chosen id
    /// must be in the listing.
    pub check: Option<String>,
    /// Pointer to the item in the check's answer (`/channel`); empty: the answer is the item.
    /// An answer without it means the chosen one is not reachable.
    #[serde(default)]
    pub check_item: String,
    /// The provider's listing gives ids only; each item shown is named by one more request.
    pub named_by: Option<NameRequest>,
    /// The verify request names whatever it lists first (GA4's first account), not the login:
    /// once one is chosen, the connection is named after the choice alone.
    #[serde(default)]
    pub replaces_account: bool,
    /// A sentence for the people choosing and the callers using the choice (what it is for, a
    /// header to send), shown beside the picker.
    pub note: Option<String>,
}

impl Resource {
    /// The settings of other resources the listing or check names (`{config.ad_account_id}`).
    pub fn parent_settings(&self) -> impl Iterator<Item = &str> {
        template::placeholders(&self.list)
            .into_iter()
            .chain(
                self.check
                    .as_deref()
                    .map(template::placeholders)
                    .unwrap_or_default(),
            )
            .filter_map(|name| name.strip_prefix(CONFIG_PREFIX))
    }
}

/// How a listing or check names a stored setting: `{config.ad_account_id}`.
pub const CONFIG_PREFIX: &str = "config.";

/// The request that names one listed item (a Google Ads customer by a `customer` query).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameRequest {
    #[serde(default)]
    pub method: Method,
    /// Path relative to the API base; `{id}` is the item's id.
    pub path: String,
    /// A JSON body, `{id}` JSON-escaped.
    pub body: Option<String>,
    /// Pointer to the name in the answer.
    pub name: String,
    /// Pointer to a detail in the answer.
    pub detail: Option<String>,
}

/// How a listing goes on to its next page, in the provider's own shape.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Paging {
    Cursor(CursorPaging),
    Numbered(NumberedPaging),
    Sliced(SlicedPaging),
}

/// An opaque cursor handed back in each answer (Graph API's `after`, Google's `pageToken`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorPaging {
    /// The query parameter that takes the cursor (`after`, `cursor`, `pageToken`).
    pub param: String,
    /// Pointer to the next page's cursor in an answer.
    pub next: String,
    /// Pointer that is present only when there is a next page (Meta's `/paging/next`); without
    /// it, a missing or empty cursor ends the listing.
    pub more: Option<String>,
    /// `next` points to the next page's URL, whose `param` is the cursor (Klaviyo's
    /// `links.next`).
    #[serde(default)]
    pub in_link: bool,
}

/// Numbered pages with a page count in each answer (TikTok's `page_info`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberedPaging {
    /// The query parameter that takes the page number, from 1.
    pub param: String,
    /// Pointer to the number of the page answered.
    pub page: String,
    /// Pointer to how many pages there are.
    pub pages: String,
}

/// The provider answers everything at once (Google Ads' accessible customers); Plugboard
/// shows it `slice` at a time, so a page costs a bounded number of naming requests.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlicedPaging {
    pub slice: usize,
}

/// The webhooks the provider sends the platform's own app (`/api/v1/webhooks/{id}`): how they
/// are signed, the platform variable holding the secret, and which stored value names the
/// account a delivery is about.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub scheme: crate::inbound::Scheme,
    pub secret_env: String,
    /// The connection field holding the account the provider names (Shopify's shop); without
    /// it, the account id the verify request stored (a Slack team, a Meta user, a Stripe
    /// account).
    pub match_field: Option<String>,
    /// Where the provider's own documentation says how to register the URL.
    pub docs_url: String,
}

/// The feature flag a provider drives, `integrations.<id>`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    #[serde(default)]
    pub default: bool,
    #[serde(default = "yes")]
    pub requires_connection: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub logo: String,
    pub docs_url: String,
    pub onboarding: Onboarding,
    pub level: Level,
    pub auth: Auth,
    #[serde(default)]
    pub fields: Vec<Field>,
    pub verify: Verify,
    /// The API the proxy forwards to; none for a provider that is not proxied.
    pub api: Option<Api>,
    /// What a connection can be pointed at, listed through `api`.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// Platform environment variables this provider needs before brands can use it.
    #[serde(default)]
    pub platform_env: Vec<String>,
    /// The webhooks the provider sends the platform's app, for a provider that sends any.
    pub inbound: Option<Inbound>,
    pub flag: FlagSpec,
    /// The API version the templates pin with `{api_version}`, for a provider that versions
    /// its API.
    pub api_version: Option<String>,
    /// The day the provider switches the pinned version off, as it publishes it.
    pub sunsets_on: Option<NaiveDate>,
    /// Said instead of a date when the provider publishes none.
    pub sunset_note: Option<String>,
    /// The provider's page that gives the version and its sunset (or says there is none).
    pub version_source: Option<String>,
    /// What else stops working at the sunset, beyond the connection check (e.g. an import).
    pub version_breaks: Option<String>,
    #[serde(skip)]
    version_in_oauth: bool,
    #[serde(skip)]
    version_in_verify: bool,
    /// Operator-set replacement for every URL's scheme, host and port (tests, the sandbox).
    #[serde(skip)]
    pub base_url_override: Option<Url>,
    /// The override keeps the original host as the first path segment, so the sandbox knows
    /// which host (a Shopify shop) was meant.
    #[serde(skip)]
    pub override_keeps_host: bool,
}

impl Provider {
    pub fn resource(&self, kind: ResourceKind) -> Option<&Resource> {
        self.resources.iter().find(|r| r.kind == kind)
    }

    /// Whether the proxy calls this provider's API with a brand's connection: a tenant-level
    /// provider with an API. A platform-level provider's credentials are the platform's own.
    pub fn is_proxied(&self) -> bool {
        self.level == Level::Tenant && self.api.is_some()
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    pub fn secret_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.secret)
    }

    pub fn config_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| !f.secret)
    }

    pub fn oauth(&self) -> Option<&OAuth2> {
        match &self.auth {
            Auth::Oauth2(oauth) => Some(oauth),
            _ => None,
        }
    }

    /// The pinned API version with its sunset, for a provider that versions its API.
    pub fn version(&self) -> Option<VersionPin<'_>> {
        Some(VersionPin {
            provider: self,
            version: self.api_version.as_deref()?,
            sunsets_on: self.sunsets_on,
            note: self.sunset_note.as_deref(),
            source: self.version_source.as_deref().unwrap_or(&self.docs_url),
        })
    }

    pub fn flag_key(&self) -> String {
        format!("integrations.{}", self.id)
    }

    /// Points a rendered URL at the operator's override, keeping its path and query. A path
    /// on the override (a sandbox mounted under a prefix) is put in front of the URL's path.
    pub fn redirect(&self, url: Url) -> Url {
        let Some(base) = &self.base_url_override else {
            return url;
        };
        let mut target = base.clone();
        let prefix = base.path().trim_end_matches('/');
        match url.host_str().filter(|_| self.override_keeps_host) {
            Some(host) => target.set_path(&format!("{prefix}/{host}{}", url.path())),
            None => target.set_path(&format!("{prefix}{}", url.path())),
        }
        target.set_query(url.query());
        target
    }
}

/// Every provider, in display order, with an index by id.
pub struct Registry {
    providers: Vec<Provider>,
    index: HashMap<String, usize>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("providers", &self.providers.len())
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    provider: Vec<Provider>,
}

impl Registry {
    /// The registry that ships with Plugboard.
    pub fn builtin() -> Result<Registry, RegistryError> {
        Self::from_toml(BUILTIN)
    }

    pub fn from_toml(text: &str) -> Result<Registry, RegistryError> {
        let file: RegistryFile =
            toml::from_str(text).map_err(|e| RegistryError::Parse(e.to_string()))?;
        let mut providers = file.provider;
        validate::validate(&mut providers)?;
        let index = providers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Ok(Registry { providers, index })
    }

    /// Applies `provider=http://host:port,…` overrides. Unknown providers and bad URLs are
    /// refused so that a typo does not silently send traffic to the real provider.
    pub fn with_base_urls(mut self, spec: &str) -> Result<Registry, RegistryError> {
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, base) = entry
                .split_once('=')
                .ok_or_else(|| RegistryError::Override(format!("`{entry}` is not provider=url")))?;
            let url = Url::parse(base.trim())
                .ok()
                .filter(|u| u.has_host() && matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    RegistryError::Override(format!("`{base}` is not an http(s) URL"))
                })?;
            let index = *self
                .index
                .get(id.trim())
                .ok_or_else(|| RegistryError::Override(format!("unknown provider `{id}`")))?;
            self.providers[index].base_url_override = Some(url);
            self.providers[index].override_keeps_host = false;
        }
        Ok(self)
    }

    /// Points every provider at the sandbox mounted at `{base}/sandbox/{provider}`; apply
    /// before `with_base_urls` so an operator's own redirects win.
    pub fn with_sandbox(mut self, base: &Url) -> Result<Registry, RegistryError> {
        for provider in &mut self.providers {
            let url = base
                .join(&format!("/sandbox/{}", provider.id))
                .map_err(|e| RegistryError::Override(format!("sandbox base `{base}`: {e}")))?;
            provider.base_url_override = Some(url);
            provider.override_keeps_host = true;
        }
        Ok(self)
    }

    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.index.get(id).map(|&i| &self.providers[i])
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }
}

fn yes() -> bool {
    true
}

fn space() -> String {
    " ".to_owned()
}

fn ok_statuses() -> Vec<u16> {
    vec![200]
}

#[cfg(test)]
mod tests;
