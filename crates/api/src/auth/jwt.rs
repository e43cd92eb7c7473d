use chrono::Utc;
use domain::UserId;
use domain::crypto::PurposeKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "plugboard";
const AUDIENCE: &str = "plugboard-api";
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: uuid::Uuid,
    exp: i64,
    iat: i64,
    iss: String,
    aud: String,
}

/// Signs and checks user access tokens (HS256).
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    /// Signs with the access-token key derived from the server secret.
    pub fn new(key: &PurposeKey) -> JwtKeys {
        let bytes = key.expose();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        JwtKeys {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
        }
    }

    pub fn issue(&self, user_id: UserId) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.0,
            iat: now,
            exp: now + ACCESS_TOKEN_TTL_SECS,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The user a token names, if it is ours, unexpired and well formed.
    pub fn check(&self, token: &str) -> Option<UserId> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| UserId(data.claims.sub))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::crypto::Purpose;
    use secrecy::SecretString;

    fn key(fill: &str) -> PurposeKey {
        PurposeKey::derive(&SecretString::from(fill.repeat(48)), Purpose::AccessTokens)
    }

    #[test]
    fn round_trips_and_refuses_other_secrets() {
        let keys = JwtKeys::new(&key("a"));
        let user = UserId::new();
        let token = keys.issue(user).unwrap();
        assert_eq!(keys.check(&token), Some(user));
        let other = JwtKeys::new(&key("b"));
        assert_eq!(other.check(&token), None);
        assert_eq!(keys.check("not.a.token"), None);
    }
}
