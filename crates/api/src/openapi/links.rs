//! Links from what an answer made to the operations that use it (the create → get flows).

use utoipa::openapi::RefOr;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;

/// Where an answer leads: the operation `to` (also the link's name), with each parameter taken
/// from the answer (`$response.body#/id`) or from the request that made it.
struct LinkSpec {
    from: &'static str,
    status: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
}

/// The create → get flows (and a connection's history from the connection).
const LINKS: &[LinkSpec] = &[
    LinkSpec {
        from: "createOrganization",
        status: "201",
        to: "getOrganization",
        parameters: &[("org_id", "$response.body#/id")],
    },
    LinkSpec {
        from: "createOrganization",
        status: "201",
        to: "listIntegrations",
        parameters: &[("org_id", "$response.body#/id")],
    },
    LinkSpec {
        from: "createOrganization",
        status: "201",
        to: "createApiKey",
        parameters: &[("org_id", "$response.body#/id")],
    },
    LinkSpec {
        from: "createApiKey",
        status: "201",
        to: "listApiKeys",
        parameters: &[("org_id", "$request.path.org_id")],
    },
    LinkSpec {
        from: "createApiKey",
        status: "201",
        to: "revokeApiKey",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("key_id", "$response.body#/id"),
        ],
    },
    LinkSpec {
        from: "createInvitation",
        status: "201",
        to: "listInvitations",
        parameters: &[("org_id", "$request.path.org_id")],
    },
    LinkSpec {
        from: "createInvitation",
        status: "201",
        to: "revokeInvitation",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("invitation_id", "$response.body#/id"),
        ],
    },
    LinkSpec {
        from: "createInvitation",
        status: "201",
        to: "acceptInvitation",
        parameters: &[("token", "$response.body#/token")],
    },
    LinkSpec {
        from: "addMember",
        status: "201",
        to: "listInvitations",
        parameters: &[("org_id", "$request.path.org_id")],
    },
    LinkSpec {
        from: "addMember",
        status: "201",
        to: "revokeInvitation",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("invitation_id", "$response.body#/id"),
        ],
    },
    LinkSpec {
        from: "addMember",
        status: "201",
        to: "acceptInvitation",
        parameters: &[("token", "$response.body#/token")],
    },
    LinkSpec {
        from: "updateIntegration",
        status: "200",
        to: "getIntegration",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
    LinkSpec {
        from: "updateIntegration",
        status: "200",
        to: "testIntegration",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
    LinkSpec {
        from: "updateIntegration",
        status: "200",
        to: "listIntegrationEvents",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
    LinkSpec {
        from: "getIntegration",
        status: "200",
        to: "listIntegrationEvents",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
];

pub(super) fn links(operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    for spec in LINKS.iter().filter(|s| s.from == id) {
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(spec.status) else {
            continue;
        };
        let link = spec.parameters.iter().fold(
            LinkBuilder::new().operation_id(spec.to),
            |link, (parameter, value)| link.parameter(*parameter, *value),
        );
        response
            .links
            .insert(spec.to.to_owned(), RefOr::T(link.build()));
    }
}
