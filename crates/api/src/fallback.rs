//! What answers when no route matched: 405 when the path exists with other methods, the SPA's
//! index for browser paths, and a 404 problem for everything else.

use std::path::Path;

use actix_files::{Files, NamedFile};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, guard, web};

use crate::error::ApiError;

/// Every documented path with its methods, built once from the OpenAPI document.
pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> RouteTable {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let value = serde_json::to_value(item).unwrap_or_default();
                let methods = ["get", "put", "post", "delete", "patch"]
                    .into_iter()
                    .filter(|m| value.get(m).is_some())
                    .map(str::to_uppercase)
                    .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect::<Vec<_>>();
        // Served outside the documented API, but paths all the same.
        let extra = ["/api/openapi.json", "/api/docs", "/api/docs/{_:.*}"]
            .into_iter()
            .map(|path| (ResourceDef::new(path), vec!["GET".to_owned()]));
        RouteTable {
            routes: routes.into_iter().chain(extra).collect(),
        }
    }

    /// The methods a path accepts, if it is a known path.
    fn allowed(&self, path: &str) -> Option<String> {
        self.routes
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.join(", "))
    }
}

fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
        || path == "/api"
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if let Some(allow) = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|t| t.allowed(path))
    {
        return Err(ApiError::method_not_allowed(allow));
    }
    Err(ApiError::not_found(format!("Nothing exists at {path}.")))
}

/// Serves the built SPA with history fallback: unknown non-API GETs get `index.html`.
pub fn spa(dir: &Path) -> Files {
    let index = dir.join("index.html");
    Files::new("/", dir)
        // Other methods fall through to `not_found`, which answers 405 with `Allow` where the
        // path exists, instead of the file service's own plain-text 405.
        .guard(guard::Any(guard::Get()).or(guard::Head()))
        .index_file("index.html")
        .default_handler(fn_service(move |req: ServiceRequest| {
            let index = index.clone();
            async move {
                let (req, _) = req.into_parts();
                let wants_page =
                    req.method() == Method::GET && !is_api_path(req.path()) && index.exists();
                let response = if wants_page {
                    NamedFile::open(&index)?.into_response(&req)
                } else {
                    match not_found(req.clone()).await {
                        Ok(response) => response,
                        Err(err) => actix_web::ResponseError::error_response(&err),
                    }
                };
                Ok::<_, actix_web::Error>(ServiceResponse::new(req, response))
            }
        }))
}
