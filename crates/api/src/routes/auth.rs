//! Sign-up, log-in, token refresh by httpOnly cookie, log-out, and who am I.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::Utc;
use domain::UserId;
use domain::model::User;
use persistence::{StoreError, orgs, sessions, users};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{
    ACCESS_TOKEN_TTL_SECS, AuthUser, Passwords, Throttled, Throttles, hash_token, password,
    random_token,
};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem};
use crate::state::AppState;
use crate::validation::field_errors;

const REFRESH_COOKIE: &str = "pb_refresh";
const REFRESH_TTL_DAYS: i64 = 30;

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "ann@acme.example",
    "password": "correct horse battery",
    "name": "Ann Lee"
})))]
pub struct SignupIn {
    #[validate(
        email(message = "Enter a valid e-mail address."),
        length(max = 254, message = "That e-mail address is too long.")
    )]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 10 to 200 characters; checked beside the derived rules (a secret is never handed to them).
    #[schema(value_type = String, format = Password, min_length = 10, max_length = 200)]
    pub password: SecretString,
    #[validate(length(min = 1, max = 100, message = "Enter a name of 1 to 100 characters."))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// The problem with a new password in `field`, if it has one.
fn password_problem(field: &str, password: &SecretString) -> Option<FieldError> {
    (!password::acceptable(password))
        .then(|| FieldError::new(field, "Use a password of 10 to 200 characters."))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "email": "ann@acme.example",
    "password": "correct horse battery"
})))]
pub struct LoginIn {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "current_password": "correct horse battery",
    "new_password": "a longer horse battery staple"
})))]
pub struct PasswordChangeIn {
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    /// 10 to 200 characters.
    #[schema(value_type = String, format = Password, min_length = 10, max_length = 200)]
    pub new_password: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: uuid::Uuid,
    pub email: String,
    pub name: String,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<User> for UserOut {
    fn from(user: User) -> Self {
        UserOut {
            id: user.id.0,
            email: user.email,
            name: user.name,
            created_at: user.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.…",
    "token_type": "Bearer",
    "expires_in": 900
})))]
pub struct TokenOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "user": {
        "id": "0b8e6f52-3c1d-4e2a-9f57-6a4d2c8e1b93",
        "email": "ann@acme.example",
        "name": "Ann Lee",
        "created_at": "2026-11-24T09:30:00Z"
    },
    "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.…",
    "token_type": "Bearer",
    "expires_in": 900
})))]
pub struct SignupOut {
    pub user: UserOut,
    #[serde(flatten)]
    pub token: TokenOut,
}

#[derive(Serialize, ToSchema)]
pub struct MembershipOut {
    pub org_id: uuid::Uuid,
    pub org_name: String,
    pub role: crate::contract::Role,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "user": {
        "id": "0b8e6f52-3c1d-4e2a-9f57-6a4d2c8e1b93",
        "email": "ann@acme.example",
        "name": "Ann Lee",
        "created_at": "2026-11-24T09:30:00Z"
    },
    "has_password": true,
    "memberships": [
        {
            "org_id": "5f0c2a9e-8d3b-4b71-9a64-2f1e7c3d9b10",
            "org_name": "Acme",
            "role": "owner"
        }
    ],
    "platform_admin": false
})))]
pub struct MeOut {
    pub user: UserOut,
    /// Whether the account has a password (one made by signing in with Microsoft or Google
    /// may not).
    pub has_password: bool,
    pub memberships: Vec<MembershipOut>,
    /// Whether this user may see platform readiness.
    pub platform_admin: bool,
}

/// Issues an access token and a fresh refresh cookie.
pub(crate) async fn session(
    state: &AppState,
    user: UserId,
) -> ApiResult<(TokenOut, Cookie<'static>)> {
    let access_token = state.jwt.issue(user).map_err(ApiError::internal)?;
    let refresh_token = random_token(32)?;
    sessions::create(
        &state.db,
        user,
        &hash_token(&refresh_token),
        Utc::now() + chrono::Duration::days(REFRESH_TTL_DAYS),
    )
    .await?;
    let cookie = Cookie::build(REFRESH_COOKIE, refresh_token)
        .path("/api/v1/auth")
        .http_only(true)
        .secure(state.settings.public_url.scheme() == "https")
        .same_site(SameSite::Strict)
        .max_age(time::Duration::days(REFRESH_TTL_DAYS))
        .finish();
    Ok((
        TokenOut {
            access_token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_TTL_SECS,
        },
        cookie,
    ))
}

fn signup_refused(throttled: Throttled) -> ApiError {
    match throttled {
        Throttled::Wait(secs) => ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyAttempts,
            format!("Too many sign-ups at once. Wait {secs} seconds, then try again."),
        )
        .retry_after(secs),
        Throttled::Store(err) => err.into(),
    }
}

fn login_refused(throttled: Throttled) -> ApiError {
    match throttled {
        Throttled::Wait(secs) => ApiError::too_many_attempts(secs),
        Throttled::Store(err) => err.into(),
    }
}

/// Creates an account and signs it in.
#[utoipa::path(
    operation_id = "signUp",
    tag = "auth",
    request_body = SignupIn,
    responses(
        (status = 201, body = SignupOut, description = "Signed up; a refresh cookie is set."),
        (status = 409, body = Problem, description = "The e-mail is taken."),
        (status = 422, body = Problem),
        (status = 429, body = Problem, description = "Too many sign-ups from this address, or from everyone at once; `Retry-After` says how many seconds to wait.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, body = Problem, description = "The server is busy hashing other passwords (`busy`) or its database is unavailable; `Retry-After` says when to try again.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/signup")]
pub async fn signup(
    state: web::Data<AppState>,
    throttles: web::Data<Throttles>,
    passwords: web::Data<Passwords>,
    req: HttpRequest,
    body: web::Json<SignupIn>,
) -> ApiResult<HttpResponse> {
    let input = body.into_inner();
    let mut problems = field_errors(&input);
    problems.extend(password_problem("password", &input.password));
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    // The TCP peer, not a forwarded header a client could set to dodge the limit. The cheap
    // refusals come first: this process's counts, then a place to hash, then the shared counts.
    let attempt = throttles.signup(req.peer_addr().map(|addr| addr.ip()));
    throttles.check_here(&attempt).map_err(signup_refused)?;
    let slot = passwords.reserve()?;
    throttles
        .check_shared(&state.db, &attempt)
        .await
        .map_err(signup_refused)?;
    let hash = slot.hash(input.password).await?;
    let user = users::create(&state.db, input.email.trim(), input.name.trim(), &hash)
        .await
        .map_err(|err| match err {
            StoreError::Duplicate(_) => ApiError::conflict(
                ErrorCode::EmailTaken,
                "An account with that e-mail already exists. Log in instead.",
            ),
            other => other.into(),
        })?;
    let (token, cookie) = session(&state, user.id).await?;
    Ok(HttpResponse::Created()
        .cookie(cookie)
        .insert_header((header::LOCATION, "/api/v1/me"))
        .json(SignupOut {
            user: user.into(),
            token,
        }))
}

/// Counts a password guess for `email` and holds a place to check it in. As for sign-ups, the
/// cheap refusals come first: this process's counts, then a place to hash, then the shared
/// counts.
async fn login_attempt<'p>(
    state: &AppState,
    throttles: &Throttles,
    passwords: &'p Passwords,
    req: &HttpRequest,
    email: &str,
) -> ApiResult<password::Slot<'p>> {
    let attempt = throttles.login(email, req.peer_addr().map(|addr| addr.ip()));
    throttles.check_here(&attempt).map_err(login_refused)?;
    let slot = passwords.reserve()?;
    throttles
        .check_shared(&state.db, &attempt)
        .await
        .map_err(login_refused)?;
    Ok(slot)
}

/// Signs in with e-mail and password.
#[utoipa::path(
    operation_id = "logIn",
    tag = "auth",
    request_body = LoginIn,
    responses(
        (status = 200, body = TokenOut, description = "Signed in; a refresh cookie is set."),
        (status = 401, body = Problem),
        (status = 422, body = Problem),
        (status = 429, body = Problem, description = "Too many attempts for this account or from this address; `Retry-After` says how many seconds to wait.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, body = Problem, description = "The server is busy hashing other passwords (`busy`) or its database is unavailable; `Retry-After` says when to try again.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    throttles: web::Data<Throttles>,
    passwords: web::Data<Passwords>,
    req: HttpRequest,
    body: web::Json<LoginIn>,
) -> ApiResult<HttpResponse> {
    let input = body.into_inner();
    let slot = login_attempt(&state, &throttles, &passwords, &req, &input.email).await?;
    let found = users::find_login(&state.db, input.email.trim()).await?;
    let (user, hash) = match found {
        Some(login) => (Some(login.user), login.password_hash),
        None => (None, None),
    };
    let user = match (slot.verify(input.password, hash).await?, user) {
        (true, Some(user)) => user,
        _ => return Err(ApiError::unauthorized("The e-mail or password is wrong.")),
    };
    let (token, cookie) = session(&state, user.id).await?;
    Ok(HttpResponse::Ok().cookie(cookie).json(token))
}

/// Trades the refresh cookie for a new access token (and a new cookie; each is good once).
#[utoipa::path(
    operation_id = "refreshSession",tag = "auth", responses((status = 200, body = TokenOut), (status = 401, body = Problem)))]
#[post("/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let cookie = req
        .cookie(REFRESH_COOKIE)
        .ok_or_else(|| ApiError::unauthorized("No session to refresh: log in again."))?;
    let user = sessions::spend(&state.db, &hash_token(cookie.value()))
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("The session has expired or was used already: log in again.")
        })?;
    let (token, cookie) = session(&state, user).await?;
    Ok(HttpResponse::Ok().cookie(cookie).json(token))
}

/// Ends the cookie session.
#[utoipa::path(
    operation_id = "logOut",tag = "auth", responses((status = 204, description = "Logged out.")))]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if let Some(cookie) = req.cookie(REFRESH_COOKIE) {
        sessions::spend(&state.db, &hash_token(cookie.value())).await?;
    }
    let mut gone = Cookie::build(REFRESH_COOKIE, "")
        .path("/api/v1/auth")
        .http_only(true)
        .finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// The signed-in user and the organizations they belong to.
#[utoipa::path(
    operation_id = "getMe",tag = "auth", responses((status = 200, body = MeOut), (status = 401, body = Problem)), security(("bearer" = [])))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<web::Json<MeOut>> {
    let user = caller.0;
    let memberships = orgs::memberships_of(&state.db, &user)
        .await?
        .into_iter()
        .map(|m| MembershipOut {
            org_id: m.org_id.0,
            org_name: m.org_name,
            role: m.role.into(),
        })
        .collect();
    let platform_admin = state.settings.is_platform_admin(&user.email);
    let has_password = password_hash_of(&state, &user).await?.is_some();
    Ok(web::Json(MeOut {
        user: user.into(),
        has_password,
        memberships,
        platform_admin,
    }))
}

/// The account's password hash; `None` when it signs in only with Microsoft or Google.
async fn password_hash_of(state: &AppState, user: &User) -> ApiResult<Option<String>> {
    Ok(users::find_login(&state.db, &user.email)
        .await?
        .and_then(|found| found.password_hash))
}

fn wrong_password(message: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new("current_password", message)])
}

/// Changes the password. Every session of the account ends (other browsers sign in again); this
/// one goes on with new tokens. Attempts count as log-ins: guessing the current password here
/// is throttled like guessing it at the log-in.
#[utoipa::path(
    operation_id = "changePassword",
    tag = "auth",
    request_body = PasswordChangeIn,
    responses(
        (status = 200, body = TokenOut, description = "Changed; every other session ended, and a new refresh cookie is set."),
        (status = 401, body = Problem),
        (status = 409, body = Problem, description = "The password was changed meanwhile, from another session."),
        (status = 422, body = Problem, description = "The current password is wrong, the account has none, or the new one is too short or long."),
        (status = 429, body = Problem, description = "Too many attempts for this account or from this address; `Retry-After` says how many seconds to wait.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, body = Problem, description = "The server is busy hashing other passwords (`busy`) or its database is unavailable; `Retry-After` says when to try again.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(("bearer" = []))
)]
#[put("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    throttles: web::Data<Throttles>,
    passwords: web::Data<Passwords>,
    req: HttpRequest,
    caller: AuthUser,
    body: web::Json<PasswordChangeIn>,
) -> ApiResult<HttpResponse> {
    let input = body.into_inner();
    let user = caller.0;
    if let Some(problem) = password_problem("new_password", &input.new_password) {
        return Err(ApiError::validation(vec![problem]));
    }
    let slot = login_attempt(&state, &throttles, &passwords, &req, &user.email).await?;
    let Some(stored) = password_hash_of(&state, &user).await? else {
        return Err(wrong_password(
            "This account has no password: it signs in with Microsoft or Google.",
        ));
    };
    if !slot
        .verify(input.current_password, Some(stored.clone()))
        .await?
    {
        return Err(wrong_password("That is not your current password."));
    }
    let hash = passwords.hash(input.new_password).await?;
    if !users::change_password(&state.db, user.id, &stored, &hash).await? {
        return Err(ApiError::conflict(
            ErrorCode::Conflict,
            "Your password was changed from another session meanwhile. Use the new one, or log in again.",
        ));
    }
    let (token, cookie) = session(&state, user.id).await?;
    Ok(HttpResponse::Ok().cookie(cookie).json(token))
}
