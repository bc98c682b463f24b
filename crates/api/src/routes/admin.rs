//! `POST /v1/admin/reload`: the configuration's exception rules and the mapping tables read
//! again without a restart (what SIGHUP does for the rules).

use crate::auth::Caller;
use crate::dto::ReloadReport;
use crate::problem::{Problem, ProblemField};
use crate::{AppState, ReloadError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use waypost_store::Scope;

/// Reload the exception rules from the configuration file, the mapping tables from their
/// directory, and every tenant's order-intake settings (accounts, profiles) from their files. Rules are validated whole first: an invalid file changes nothing and the rules
/// in force stay. Open orders' deadlines are then recomputed under the new rules in the
/// background.
#[utoipa::path(post, path = "/v1/admin/reload", tag = "operations",
    responses(
        (status = 200, description = "Reloaded", body = ReloadReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the admin scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The server was started without a configuration file: there are no rules to reload", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The rules (or the mapping tables, or the order settings) do not load; every problem is listed and the old ones stay", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Shutting down", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn reload(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ReloadReport>, Problem> {
    caller.require(Scope::Admin, &state)?;
    let rules = state.reload_rules().await.map_err(|e| match e {
        ReloadError::NoConfig => Problem::new(
            StatusCode::CONFLICT,
            "no-config-file",
            "Nothing to reload",
            "this server was started without --config; its rules cannot change at run time",
        ),
        ReloadError::ShuttingDown => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "Shutting down",
            e.to_string(),
        )
        .retry_after(1),
        ReloadError::Invalid(message) => {
            tracing::warn!(error = %message, "rules not reloaded; the old ones stay");
            invalid(
                "rules-invalid",
                "The rules do not load",
                &message,
                "nothing was changed: the rules in force stay",
            )
        }
    })?;
    state.reload_mappings().map_err(|e| {
        invalid(
            "mappings-invalid",
            "Mapping tables do not load",
            &e,
            &format!(
                "the rules were reloaded ({rules} in force); the mapping tables in force stay"
            ),
        )
    })?;
    let order_tenants = state.reload_orders().await.map_err(|e| {
        invalid(
            "orders-invalid",
            "Order-intake settings do not load",
            &e,
            &format!(
                "the rules ({rules}) and mapping tables were reloaded; the order settings in force stay"
            ),
        )
    })?;
    tracing::info!(rules, order_tenants, tenant = %caller.tenant, key = %caller.key_id, "configuration reloaded");
    Ok(Json(ReloadReport {
        rules,
        order_tenants,
    }))
}

/// A 422 listing each line of a loader's message (one per problem) as its own entry: the
/// place it names before the first `": "` as the field.
fn invalid(slug: &str, title: &str, message: &str, outcome: &str) -> Problem {
    let mut p = Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        slug,
        title,
        format!("{message}\n{outcome}"),
    );
    p.errors = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.ends_with(':'))
        .map(|l| match l.split_once(": ") {
            Some((field, msg)) => ProblemField {
                field: field.to_owned(),
                message: msg.to_owned(),
            },
            None => ProblemField {
                field: String::new(),
                message: l.to_owned(),
            },
        })
        .collect();
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_problem_line_is_an_entry() {
        let p = super::invalid(
            "rules-invalid",
            "t",
            "exception rules:\nrules[0] \"x\": after: \"soon\" is not a duration\nfile: bad",
            "kept",
        );
        assert_eq!(p.status, 422);
        assert_eq!(p.errors.len(), 2);
        assert_eq!(p.errors[0].field, "rules[0] \"x\"");
        assert_eq!(p.errors[0].message, "after: \"soon\" is not a duration");
    }
}
