//! The registry's rules, checked at start-up and in a test, so a bad entry never ships.

use std::collections::HashSet;

use regex::Regex;
use url::Url;

use super::versions::{self, LiteralVersions};
use super::{Auth, FieldKind, Level, Paging, Provider, Verify};
use crate::oauth::ACCESS_TOKEN;
use crate::template::{self, Escape};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("the provider registry does not parse: {0}")]
    Parse(String),
    #[error("provider `{provider}`: {problem}")]
    Invalid { provider: String, problem: String },
    #[error("PLUGBOARD_PROVIDER_BASE_URLS: {0}")]
    Override(String),
}

fn invalid(provider: &Provider, problem: impl Into<String>) -> RegistryError {
    RegistryError::Invalid {
        provider: provider.id.clone(),
        problem: problem.into(),
    }
}

pub(super) fn validate(providers: &mut [Provider]) -> Result<(), RegistryError> {
    let id_pattern =
        Regex::new(r"^[a-z][a-z0-9_]{0,31}$").map_err(|e| RegistryError::Parse(e.to_string()))?;
    let env_pattern =
        Regex::new(r"^[A-Z][A-Z0-9_]*$").map_err(|e| RegistryError::Parse(e.to_string()))?;
    let literals = LiteralVersions::new().map_err(|e| RegistryError::Parse(e.to_string()))?;
    let mut ids = HashSet::new();
    for provider in providers.iter_mut() {
        if !id_pattern.is_match(&provider.id) {
            return Err(invalid(
                provider,
                "the id must be lower-case letters, digits and `_`",
            ));
        }
        if !ids.insert(provider.id.clone()) {
            return Err(invalid(provider, "the id is used twice"));
        }
        if provider.name.trim().is_empty() || provider.description.trim().is_empty() {
            return Err(invalid(provider, "name and description must not be empty"));
        }
        if !Url::parse(&provider.docs_url).is_ok_and(|u| u.scheme() == "https") {
            return Err(invalid(provider, "docs_url must be an https URL"));
        }
        for env in &provider.platform_env {
            if !env_pattern.is_match(env) {
                return Err(invalid(
                    provider,
                    format!("`{env}` is not an environment variable name"),
                ));
            }
        }
        compile_fields(provider)?;
        if let Some(inbound) = &provider.inbound {
            if !env_pattern.is_match(&inbound.secret_env) {
                return Err(invalid(
                    provider,
                    "inbound.secret_env is not an environment variable name",
                ));
            }
            if let Some(key) = &inbound.match_field
                && provider.config_fields().all(|f| &f.key != key)
            {
                return Err(invalid(
                    provider,
                    format!("inbound.match_field `{key}` is not one of the provider's settings"),
                ));
            }
            if !Url::parse(&inbound.docs_url).is_ok_and(|u| u.scheme() == "https") {
                return Err(invalid(provider, "inbound.docs_url must be an https URL"));
            }
        }
        check_version(provider, &literals)?;
        check_auth(provider)?;
        check_verify(provider)?;
        check_api(provider, &literals)?;
        check_resources(provider)?;
        versions::fill(provider);
    }
    Ok(())
}

/// Every template a provider has: its OAuth URLs and its verify request.
fn templates(provider: &Provider) -> Vec<&str> {
    let mut all: Vec<&str> = Vec::new();
    if let Some(oauth) = provider.oauth() {
        all.push(&oauth.authorize_url);
        all.push(&oauth.token_url);
    }
    if let Verify::Http(http) = &provider.verify {
        all.extend(versions::http_templates(http));
    }
    if let Some(api) = &provider.api {
        all.extend(api.templates());
    }
    all
}

/// A provider that versions its API pins the version once, in `api_version`, with the sunset
/// its owner publishes (or a note that it publishes none) and the page that says so; templates
/// name it as `{api_version}`, never as a literal.
fn check_version(provider: &Provider, literals: &LiteralVersions) -> Result<(), RegistryError> {
    let write_placeholder = "set api_version and write {api_version} in the template";
    // Once a version is pinned, a second, fixed marker may stay literal (Stripe's /v1 beside
    // its dated Stripe-Version).
    if let (Verify::Http(http), None) = (&provider.verify, &provider.api_version) {
        if let Some(segment) = literals.in_url(&http.url) {
            return Err(invalid(
                provider,
                format!(
                    "verify.url names the API version `{segment}` literally: {write_placeholder}"
                ),
            ));
        }
        if let Some((name, _)) = http
            .headers
            .iter()
            .find(|(_, value)| literals.is_header_version(value))
        {
            return Err(invalid(
                provider,
                format!(
                    "verify header `{name}` names an API version literally: {write_placeholder}"
                ),
            ));
        }
    }
    let all = templates(provider);
    let uses = all.iter().any(|t| versions::uses_version(t));
    let Some(version) = &provider.api_version else {
        if uses {
            return Err(invalid(
                provider,
                "a template uses {api_version} but the provider pins no api_version",
            ));
        }
        if provider.sunsets_on.is_some()
            || provider.sunset_note.is_some()
            || provider.version_source.is_some()
            || provider.version_breaks.is_some()
        {
            return Err(invalid(
                provider,
                "sunsets_on, sunset_note, version_source and version_breaks belong to an api_version",
            ));
        }
        return Ok(());
    };
    if version.is_empty()
        || version
            .chars()
            .any(|c| c.is_whitespace() || "/?#{}".contains(c))
    {
        return Err(invalid(
            provider,
            "api_version must be one word (such as v26 or 2026-10)",
        ));
    }
    if !uses {
        return Err(invalid(
            provider,
            "api_version is pinned but no template uses {api_version}",
        ));
    }
    // The verify request names the pinned version only through the placeholder; OAuth URLs may
    // carry an unrelated OAuth version (LinkedIn's /oauth/v2 beside its API's /v2).
    let repeats = |text: &str| {
        text.split(['/', '?', '&', '=', '"', ' '])
            .any(|piece| piece == version.as_str())
    };
    let verify_templates: Vec<&str> = match &provider.verify {
        Verify::Http(http) => versions::http_templates(http).collect(),
        Verify::Format { .. } => Vec::new(),
    };
    if let Some(template) = verify_templates.iter().find(|t| repeats(t)) {
        return Err(invalid(
            provider,
            format!("`{template}` repeats the version {version} literally: write {{api_version}}"),
        ));
    }
    if provider.sunsets_on.is_none()
        && provider
            .sunset_note
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
    {
        return Err(invalid(
            provider,
            "api_version needs sunsets_on, or a sunset_note saying the provider publishes no date",
        ));
    }
    if provider
        .version_source
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .is_none_or(|u| u.scheme() != "https")
    {
        return Err(invalid(
            provider,
            "api_version needs version_source: the https page that gives the version and its sunset",
        ));
    }
    Ok(())
}

fn compile_fields(provider: &mut Provider) -> Result<(), RegistryError> {
    let mut keys = HashSet::new();
    let mut compiled = Vec::with_capacity(provider.fields.len());
    for field in &provider.fields {
        if !keys.insert(field.key.as_str()) {
            return Err(invalid(
                provider,
                format!("field `{}` is declared twice", field.key),
            ));
        }
        if field.key == ACCESS_TOKEN || field.key.starts_with("env.") {
            return Err(invalid(
                provider,
                format!("field key `{}` is reserved", field.key),
            ));
        }
        if field.kind == FieldKind::Select && field.options.is_empty() {
            return Err(invalid(
                provider,
                format!("select field `{}` has no options", field.key),
            ));
        }
        if field.secret
            && matches!(
                field.kind,
                FieldKind::Url | FieldKind::Host | FieldKind::Select
            )
        {
            return Err(invalid(
                provider,
                format!("secret field `{}` must be text", field.key),
            ));
        }
        let regex = match &field.pattern {
            Some(pattern) => {
                if !pattern.starts_with('^') || !pattern.ends_with('$') {
                    return Err(invalid(
                        provider,
                        format!(
                            "the pattern of `{}` must be anchored with ^ and $",
                            field.key
                        ),
                    ));
                }
                Some(Regex::new(pattern).map_err(|e| {
                    invalid(
                        provider,
                        format!("the pattern of `{}` does not compile: {e}", field.key),
                    )
                })?)
            }
            None => None,
        };
        compiled.push(regex);
    }
    for (field, regex) in provider.fields.iter_mut().zip(compiled) {
        field.regex = regex;
    }
    for field in &provider.fields {
        if let Some(default) = &field.default
            && let Err(problem) = field.check(default)
        {
            return Err(invalid(
                provider,
                format!("the default of `{}` is not valid: {problem}", field.key),
            ));
        }
    }
    Ok(())
}

fn check_auth(provider: &Provider) -> Result<(), RegistryError> {
    let secrets: Vec<&str> = provider.secret_fields().map(|f| f.key.as_str()).collect();
    match &provider.auth {
        Auth::Oauth2(oauth) => {
            if !secrets.is_empty() {
                return Err(invalid(
                    provider,
                    "an OAuth provider gets its tokens from the provider, not from secret fields",
                ));
            }
            for env in [&oauth.client_id_env, &oauth.client_secret_env] {
                if !provider.platform_env.contains(env) {
                    return Err(invalid(
                        provider,
                        format!("`{env}` must be listed in platform_env"),
                    ));
                }
            }
            for (what, url) in [
                ("authorize_url", &oauth.authorize_url),
                ("token_url", &oauth.token_url),
            ] {
                check_url_template(provider, what, url, &[])?;
            }
            if oauth.scope_separator.is_empty() {
                return Err(invalid(provider, "scope_separator must not be empty"));
            }
        }
        Auth::ApiKey | Auth::Basic => {
            // A platform-level provider's credentials are the platform's own variables, which
            // `check_verify` requires its request to send.
            if secrets.is_empty() && provider.level == Level::Tenant {
                return Err(invalid(provider, "needs at least one secret field"));
            }
            if matches!(provider.auth, Auth::ApiKey)
                && secrets.len() == 1
                && secrets[0] != "api_key"
            {
                return Err(invalid(
                    provider,
                    "a provider with a single secret names it `api_key`",
                ));
            }
        }
        Auth::PublicId => {
            if !secrets.is_empty() {
                return Err(invalid(
                    provider,
                    "a public-id provider has no secret fields",
                ));
            }
            if provider.fields.iter().all(|f| !f.required) {
                return Err(invalid(
                    provider,
                    "a public-id provider needs its identifier field",
                ));
            }
        }
    }
    Ok(())
}

/// The names a provider's templates may use: its fields, `access_token` for OAuth, and
/// `env.NAME` for its platform variables.
fn known_placeholder(provider: &Provider, name: &str) -> bool {
    if let Some(env) = name.strip_prefix("env.") {
        return provider.platform_env.iter().any(|e| e == env);
    }
    if name == versions::PLACEHOLDER {
        return provider.api_version.is_some();
    }
    (name == ACCESS_TOKEN && provider.oauth().is_some()) || provider.field(name).is_some()
}

/// A stand-in value for each placeholder, shaped like its field, to prove the URL parses. A
/// select field stands in with its first option, so an option that is a host is checked too.
fn sample<'p>(provider: &'p Provider, name: &str) -> &'p str {
    match provider.field(name) {
        Some(field) if field.kind == FieldKind::Url => "https://api.example.com",
        Some(field) if field.kind == FieldKind::Host => "sample.example.com",
        Some(field) if field.kind == FieldKind::Select => {
            field.options.first().map_or("sample", String::as_str)
        }
        _ => "sample",
    }
}

fn check_url_template(
    provider: &Provider,
    what: &str,
    url: &str,
    extra: &[&str],
) -> Result<(), RegistryError> {
    for name in template::placeholders(url) {
        if !known_placeholder(provider, name) && !extra.contains(&name) {
            return Err(invalid(
                provider,
                format!("{what} uses unknown placeholder `{{{name}}}`"),
            ));
        }
    }
    let rendered = template::render(url, |name| Some((sample(provider, name), Escape::Raw)))
        .map_err(|e| invalid(provider, format!("{what}: {e}")))?;
    let parsed = Url::parse(&rendered)
        .map_err(|e| invalid(provider, format!("{what} is not a URL: {e}")))?;
    if parsed.scheme() != "https" {
        return Err(invalid(provider, format!("{what} must use https")));
    }
    Ok(())
}

fn check_verify(provider: &Provider) -> Result<(), RegistryError> {
    let http = match (&provider.verify, &provider.auth) {
        (Verify::Format { message }, Auth::PublicId) => {
            if message.trim().is_empty() {
                return Err(invalid(
                    provider,
                    "a format-only verify must say what it checked",
                ));
            }
            return Ok(());
        }
        (Verify::Format { .. }, _) => {
            return Err(invalid(
                provider,
                "only a public-id provider may skip the verify request",
            ));
        }
        (Verify::Http(_), Auth::PublicId) => {
            return Err(invalid(
                provider,
                "a public-id provider has no secret to send; use kind = \"format\"",
            ));
        }
        (Verify::Http(http), _) => http,
    };
    check_url_template(provider, "verify.url", &http.url, &[])?;
    let mut templates: Vec<&str> = vec![http.url.as_str()];
    templates.extend(http.headers.values().map(String::as_str));
    templates.extend(http.query.values().map(String::as_str));
    templates.extend(http.form.values().map(String::as_str));
    if let Some(basic) = &http.basic {
        templates.push(&basic.username);
        templates.push(&basic.password);
    }
    if let Some(body) = &http.body {
        templates.push(body);
        if !http.form.is_empty() {
            return Err(invalid(provider, "verify has both a JSON body and a form"));
        }
    }
    let mut uses_credential = false;
    for text in templates {
        for name in template::placeholders(text) {
            if !known_placeholder(provider, name) {
                return Err(invalid(
                    provider,
                    format!("verify uses unknown placeholder `{{{name}}}`"),
                ));
            }
            uses_credential |= name == ACCESS_TOKEN
                || provider.field(name).is_some_and(|f| f.secret)
                || (provider.level == Level::Platform && name.starts_with("env."));
        }
    }
    if !uses_credential {
        return Err(invalid(
            provider,
            "verify never sends the credentials, so it proves nothing",
        ));
    }
    if http.expect_status.is_empty() || http.expect_status.iter().any(|s| !(200..300).contains(s)) {
        return Err(invalid(provider, "expect_status must list 2xx codes"));
    }
    let pointers = [&http.account_name, &http.account_id, &http.error_message];
    let success_pointer = http.success.as_ref().map(|s| &s.pointer);
    for pointer in pointers.into_iter().flatten().chain(success_pointer) {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(invalid(
                provider,
                format!("`{pointer}` is not a JSON pointer"),
            ));
        }
    }
    Ok(())
}

/// The proxy's API: a base whose host the registry or a validated host field fixes, on the
/// pinned version, and a credential that is one of the connection's stored secrets.
fn check_api(provider: &Provider, literals: &LiteralVersions) -> Result<(), RegistryError> {
    let Some(api) = &provider.api else {
        return Ok(());
    };
    if provider.level == Level::Platform {
        return Err(invalid(
            provider,
            "a platform-level provider is not proxied: remove its api section",
        ));
    }
    if matches!(provider.auth, Auth::PublicId) {
        return Err(invalid(
            provider,
            "a public-id provider has no credential to send through the proxy",
        ));
    }
    for template in api.templates() {
        for name in template::placeholders(template) {
            if !known_placeholder(provider, name) {
                return Err(invalid(
                    provider,
                    format!("api uses unknown placeholder `{{{name}}}`"),
                ));
            }
        }
    }
    check_api_base(provider, &api.base)?;
    for name in api.headers.keys() {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid(
                provider,
                format!("api header `{name}` is not a header name"),
            ));
        }
    }
    if api.query.keys().any(|k| k.trim().is_empty()) {
        return Err(invalid(provider, "api query parameters need names"));
    }
    let sends_credential = api
        .headers
        .values()
        .chain(api.query.values())
        .map(String::as_str)
        .chain(
            api.basic
                .iter()
                .flat_map(|b| [b.username.as_str(), b.password.as_str()]),
        )
        .flat_map(template::placeholders)
        .any(|name| name == ACCESS_TOKEN || provider.field(name).is_some_and(|f| f.secret));
    if !sends_credential {
        return Err(invalid(
            provider,
            "api never sends a stored credential (the access token or a secret field)",
        ));
    }
    match &provider.api_version {
        None => {
            if let Some(segment) = literals.in_url(&api.base) {
                return Err(invalid(
                    provider,
                    format!(
                        "api.base names the API version `{segment}` literally: set api_version and write {{api_version}}"
                    ),
                ));
            }
            if let Some((name, _)) = api
                .headers
                .iter()
                .find(|(_, value)| literals.is_header_version(value))
            {
                return Err(invalid(
                    provider,
                    format!(
                        "api header `{name}` names an API version literally: set api_version and write {{api_version}}"
                    ),
                ));
            }
        }
        Some(version) => {
            let repeats = |text: &str| {
                text.split(['/', '?', '&', '=', '"', ' '])
                    .any(|piece| piece == version.as_str())
            };
            if let Some(template) = api.templates().find(|t| repeats(t)) {
                return Err(invalid(
                    provider,
                    format!(
                        "`{template}` repeats the version {version} literally: write {{api_version}}"
                    ),
                ));
            }
            let uses = api.templates().any(versions::uses_version);
            let excused = api
                .unversioned
                .as_deref()
                .is_some_and(|why| !why.trim().is_empty());
            if !uses && !excused {
                return Err(invalid(
                    provider,
                    "the provider pins api_version but api never writes {api_version} (or says why in api.unversioned)",
                ));
            }
        }
    }
    Ok(())
}

/// The base's host is fixed: literal, or one non-secret host, select or URL field (a URL
/// field only as the whole start of the base). After the host come literal segments and
/// `{api_version}` only; no query, no fragment, no credential.
/// Resources are listed and checked through the proxy's API base, so their paths follow the
/// proxy's rules; each fills a plain setting of the provider, and one that names another's
/// setting (its parent) names a resource of the same provider.
fn check_resources(provider: &Provider) -> Result<(), RegistryError> {
    let mut kinds = std::collections::BTreeSet::new();
    for resource in &provider.resources {
        let kind = resource.kind.as_str();
        let bad = |problem: String| invalid(provider, format!("resource `{kind}`: {problem}"));
        if !provider.is_proxied() {
            return Err(bad(
                "only a proxied provider (one with an api section) lists resources".to_owned(),
            ));
        }
        if !kinds.insert(resource.kind) {
            return Err(bad("is declared twice".to_owned()));
        }
        match provider.field(&resource.setting) {
            Some(field) if !field.secret => {}
            _ => {
                return Err(bad(format!(
                    "setting `{}` is not a non-secret field of the provider",
                    resource.setting
                )));
            }
        }
        let relative = |p: &str| {
            let (path, _) = p.split_once('?').unwrap_or((p, ""));
            !path.is_empty()
                && !path.starts_with('/')
                && !path.contains("..")
                && !path.contains("://")
        };
        let names_parent = |name: &str| {
            name.strip_prefix(super::CONFIG_PREFIX)
                .is_some_and(|setting| {
                    setting != resource.setting
                        && provider.resources.iter().any(|r| r.setting == setting)
                })
        };
        if !relative(&resource.list)
            || !template::placeholders(&resource.list)
                .into_iter()
                .all(names_parent)
        {
            return Err(bad(
                "list must be a path relative to the API base naming only another resource's {config.setting}".to_owned(),
            ));
        }
        if let Some(check) = &resource.check
            && (!relative(check)
                || !template::placeholders(check).contains(&"id")
                || !template::placeholders(check)
                    .into_iter()
                    .all(|name| name == "id" || names_parent(name)))
        {
            return Err(bad(
                "check must be a path relative to the API base naming {id} (and a parent's {config.setting})".to_owned(),
            ));
        }
        for (name, value) in &resource.query {
            let platform = template::placeholders(value).into_iter().all(|p| {
                p.strip_prefix("env.")
                    .is_some_and(|env| provider.platform_env.iter().any(|e| e == env))
            });
            if name.trim().is_empty() || !platform {
                return Err(bad(format!(
                    "query `{name}` may only carry the provider's platform variables ({{env.NAME}})"
                )));
            }
        }
        let mut pointers: Vec<&String> = [
            Some(&resource.items),
            resource.within.as_ref(),
            resource.name.as_ref(),
            resource.detail.as_ref(),
            resource.success.as_ref().map(|s| &s.pointer),
        ]
        .into_iter()
        .flatten()
        .collect();
        match &resource.paging {
            Some(Paging::Cursor(p)) => {
                pointers.push(&p.next);
                pointers.extend(p.more.as_ref());
            }
            Some(Paging::Numbered(p)) => pointers.extend([&p.page, &p.pages]),
            Some(Paging::Sliced(_)) | None => {}
        }
        if let Some(named) = &resource.named_by {
            pointers.push(&named.name);
            pointers.extend(named.detail.as_ref());
            if !relative(&named.path) || template::placeholders(&named.path) != ["id"] {
                return Err(bad(
                    "named_by.path must be a path relative to the API base naming only {id}"
                        .to_owned(),
                ));
            }
            if let Some(body) = &named.body
                && !template::placeholders(body).into_iter().all(|p| p == "id")
            {
                return Err(bad("named_by.body may name only {id}".to_owned()));
            }
        }
        for pointer in pointers {
            if !pointer.starts_with('/') {
                return Err(bad(format!("`{pointer}` is not a JSON pointer")));
            }
        }
        if !resource.check_item.is_empty() && !resource.check_item.starts_with('/') {
            return Err(bad(
                "check_item must be a JSON pointer, or empty for the whole answer".to_owned(),
            ));
        }
        if !resource.id.is_empty() && !resource.id.starts_with('/') {
            return Err(bad(
                "id must be a JSON pointer, or empty for an item that is the id".to_owned(),
            ));
        }
        let paging_ok = match &resource.paging {
            Some(Paging::Cursor(p)) => !p.param.trim().is_empty(),
            Some(Paging::Numbered(p)) => !p.param.trim().is_empty(),
            Some(Paging::Sliced(p)) => (1..=100).contains(&p.slice),
            None => true,
        };
        if !paging_ok {
            return Err(bad(
                "paging needs its query parameter, or a slice of 1 to 100".to_owned(),
            ));
        }
    }
    Ok(())
}

fn check_api_base(provider: &Provider, base: &str) -> Result<(), RegistryError> {
    check_url_template(provider, "api.base", base, &[])?;
    let rendered = template::render(base, |name| Some((sample(provider, name), Escape::Raw)))
        .map_err(|e| invalid(provider, format!("api.base: {e}")))?;
    let parsed = Url::parse(&rendered)
        .map_err(|e| invalid(provider, format!("api.base is not a URL: {e}")))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(provider, "api.base has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || base.ends_with('/') {
        return Err(invalid(
            provider,
            "api.base ends with its path: no query, fragment or trailing slash",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(provider, "api.base must not carry credentials"));
    }
    let authority = base
        .strip_prefix("https://")
        .map(|rest| rest.split('/').next().unwrap_or(rest))
        .unwrap_or_default();
    let names = template::placeholders(base);
    for (at, name) in names.iter().enumerate() {
        if *name == versions::PLACEHOLDER {
            continue;
        }
        let field = provider.field(name);
        let allowed = match field.map(|f| (f.kind, f.secret)) {
            Some((FieldKind::Url, false)) => at == 0 && base.starts_with(&format!("{{{name}}}")),
            // A host field is the whole host; a select's options are fixed, so it may be
            // part of one (Plaid's `{environment}.plaid.com`).
            Some((FieldKind::Host, false)) => authority == format!("{{{name}}}"),
            Some((FieldKind::Select, false)) => authority.contains(&format!("{{{name}}}")),
            _ => false,
        };
        if !allowed {
            return Err(invalid(
                provider,
                format!(
                    "api.base may use `{{{name}}}` only as its host (a host or select field) or its whole start (a URL field)"
                ),
            ));
        }
    }
    Ok(())
}
