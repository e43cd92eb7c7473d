//! Binding a flow that leaves for a provider (connecting by OAuth, signing in) to the browser
//! that started it: a random nonce in an httpOnly cookie, SameSite=Lax so it comes back on the
//! provider's top-level redirect. One nonce per browser, kept across flows, so two started side
//! by side both finish. Browsers take the `__Host-` prefix only on a Secure cookie, so
//! plain-HTTP development uses the bare name.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};

use crate::auth::random_token;
use crate::error::ApiResult;
use crate::state::AppState;

/// A flow's cookie, by its name over HTTPS and over plain HTTP.
pub struct BrowserBinding {
    secure_name: &'static str,
    plain_name: &'static str,
}

/// Connecting a provider by OAuth.
pub const OAUTH: BrowserBinding = BrowserBinding {
    secure_name: "__Host-pb_oauth",
    plain_name: "pb_oauth",
};

/// Signing in with Microsoft or Google.
pub const SSO: BrowserBinding = BrowserBinding {
    secure_name: "__Host-pb_sso",
    plain_name: "pb_sso",
};

impl BrowserBinding {
    /// The cookie's name here, and whether it is Secure.
    fn name(&self, state: &AppState) -> (&'static str, bool) {
        let https = state.settings.public_url.scheme() == "https";
        let name = if https {
            self.secure_name
        } else {
            self.plain_name
        };
        (name, https)
    }

    /// The browser's nonce, when its cookie holds one of ours (43 URL-safe characters).
    pub fn nonce(&self, req: &HttpRequest, state: &AppState) -> Option<String> {
        let (name, _) = self.name(state);
        req.cookie(name).map(|c| c.value().to_owned()).filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }

    /// The browser's nonce (a new one when it has none) and the cookie that carries it.
    pub fn bind(
        &self,
        req: &HttpRequest,
        state: &AppState,
    ) -> ApiResult<(String, Cookie<'static>)> {
        let nonce = match self.nonce(req, state) {
            Some(nonce) => nonce,
            None => random_token(32)?,
        };
        let (name, secure) = self.name(state);
        let cookie = Cookie::build(name, nonce.clone())
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::minutes(domain::oauth::STATE_TTL_MINUTES))
            .finish();
        Ok((nonce, cookie))
    }
}
