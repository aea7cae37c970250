//! The HTTP surface: every route with its OpenAPI description (utoipa-axum collects the docs
//! from the same handlers that are mounted, so `/openapi.json` describes exactly what is served).

pub mod account;
pub mod anonymous;
pub mod api_keys;
pub mod assets;
pub mod billing;
pub mod clerk;
pub mod credits;
pub mod events;
pub mod files;
pub mod generations;
pub mod health;
pub mod images;
pub mod leads;
pub mod projects;
pub mod share_page;
pub mod shares;
pub mod sync;
pub mod webhooks;

use crate::state::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Iskra sync server", description = "HTTP API v1 of the Iskra sync server."),
    modifiers(&Security),
    components(schemas(iskra_protocol::ErrorBody, iskra_protocol::Change, iskra_protocol::Element))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
    }
}

/// Routes answered within the request timeout, with the JSON body limit.
pub fn json_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health, health::health_head))
        .routes(routes!(health::metrics))
        .routes(routes!(account::me))
        .routes(routes!(account::get_quota))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::get, projects::rename, projects::delete))
        .routes(routes!(sync::sync))
        .routes(routes!(sync::changes))
        .routes(routes!(assets::list))
        .routes(routes!(generations::models))
        .routes(routes!(credits::get_credits))
        .routes(routes!(credits::history))
        .routes(routes!(credits::estimate))
        .routes(routes!(generations::submit, generations::list))
        .routes(routes!(generations::get, generations::cancel))
        .routes(routes!(anonymous::get))
        .routes(routes!(leads::capture_email))
        .routes(routes!(webhooks::fal))
        .routes(routes!(billing::checkout))
        .routes(routes!(billing::portal))
        .routes(routes!(billing::stripe_webhook))
        .routes(routes!(clerk::clerk))
        .routes(routes!(shares::create, shares::revoke))
        .routes(routes!(shares::list))
        .routes(routes!(shares::gallery))
        .routes(routes!(share_page::page))
        .routes(routes!(share_page::image))
        .routes(routes!(share_page::robots))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(images::generate))
        .routes(routes!(images::job))
        .routes(routes!(images::usage))
}

/// Long-running routes: uploads, downloads and the event stream (no request timeout).
pub fn stream_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            assets::head,
            assets::put,
            assets::get,
            assets::delete
        ))
        .routes(routes!(assets::content))
        .routes(routes!(files::file))
        .routes(routes!(share_page::og_image))
        .routes(routes!(events::events))
        .routes(routes!(images::edit))
}
