//! The OpenAPI 3.1 document, generated from the handlers and wire types so it cannot drift.

use crate::dto::*;
use crate::problem::{Problem, ProblemField};
use crate::routes::*;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Waypost",
        description = "The single source of truth for where every order stands.",
        license(name = "Apache-2.0")
    ),
    paths(
        post_events, post_webhook, get_order, list_orders, get_shipment, stream, list_unmapped,
        remap, accept, get_document, list_dead_letters, replay_dead_letter, list_sources, list_alerts,
        get_alert, ack_alert, assign_alert, snooze_alert, resolve_alert, reload, list_endpoints,
        create_endpoint, get_endpoint, put_endpoint, delete_endpoint, test_endpoint,
        list_subscriptions, create_subscription, delete_subscription, list_contacts, get_contact,
        put_contact, order_notifications, get_notification, list_dead, replay, healthz, readyz,
        metrics,
        dashboard_summary, map_orders, map_warehouses, carrier_scorecards, tracking_link, track,
        post_session, get_session, delete_session,
        post_orders, post_channel_orders, explain, list_queue, release, reject, fix, revalidate,
        gate_report, put_catalogue, get_catalogue, put_stock, get_stock
    ),
    components(schemas(
        crate::dto::orders::OrdersReceipt, crate::dto::orders::OrderResult,
        crate::dto::orders::OrderRefusal, crate::dto::orders::QueueItem,
        crate::dto::orders::ImpactPart, crate::dto::orders::QueuePage,
        crate::dto::orders::FindingDto, crate::dto::orders::DecisionDto,
        crate::dto::orders::VersionDto, crate::dto::orders::IntakeAuditDto,
        crate::dto::orders::IntakeExplain, crate::dto::orders::GateCountDto,
        crate::dto::orders::GateReport, crate::dto::orders::ReleaseRequest,
        crate::dto::orders::RejectRequest, crate::dto::orders::FixRequest,
        crate::dto::orders::RevalidateReport, crate::dto::orders::CatalogueItemDto,
        crate::dto::orders::StockLevelDto, crate::dto::orders::StockReport,
        crate::dto::orders::CatalogueReport, crate::dto::orders::CataloguePage,
        crate::dto::orders::StockPage,
        EventInput, IngestBody, IngestReceipt, StatusName, ReasonName, LocationDto, OrderSummary,
        OrderDetail, OrderPage, ShipmentDto, ShipmentDetail, TimelineItem, Problem, ProblemField, Health,
        crate::dto::DocumentReceipt, crate::routes::UnmappedItem, crate::routes::UnmappedPage,
        crate::routes::RemapRequest, crate::routes::RemapReport, crate::routes::AcceptRequest,
        crate::routes::AcceptReport, crate::routes::ProposalView, crate::routes::DocumentItem,
        crate::routes::DeadLetterPage, crate::routes::SourcesPage,
        crate::partners::SourceHealth, crate::partners::WindowDto, AlertDto, AlertPage,
        AlertDetail, AlertChange, AlertCommandAnswer, AuditItem, ResolutionDto, AlertStatusName, SeverityName, AckRequest,
        AssignRequest, SnoozeRequest, ResolveRequest, ReloadReport,
        notify::EndpointDto, notify::EndpointPage, notify::EndpointRequest,
        notify::SubscriptionDto, notify::SubscriptionPage, notify::SubscriptionRequest,
        notify::ContactDto, notify::ContactPage, notify::ContactRequest, notify::AttemptDto,
        notify::NotificationDto, notify::NotificationPage,
        dashboard::CountDto, dashboard::DashboardSummaryDto, dashboard::MapPointDto,
        dashboard::MapPage, dashboard::WarehouseDto, dashboard::WarehousePage,
        dashboard::TransitHours, dashboard::LaneScore, dashboard::CarrierScore,
        dashboard::DailyScore, dashboard::ScorecardsDto, dashboard::TrackingLinkDto,
        dashboard::Trouble, dashboard::PublicPlace, dashboard::PublicEventPlace,
        dashboard::PublicShipment, dashboard::PublicEvent, dashboard::BrandDto,
        dashboard::PublicTracking,
        notify::NotificationDto, notify::NotificationPage, LoginRequest, SessionInfo, SessionUser
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "ingest", description = "Events in"),
        (name = "query", description = "Current state and history out"),
        (name = "quarantine", description = "Unmapped codes and unreadable documents, for review and replay"),
        (name = "notifications", description = "Webhooks, email and SMS on state changes (docs/notifications.md)"),
        (name = "alerts", description = "Exceptions the rules caught, for people to review (docs/rules.md)"),
        (name = "operations", description = "Health, readiness, metrics, reload"),
        (name = "dashboard", description = "What the operations dashboard loads (docs/dashboard.md)"),
        (name = "tracking", description = "The customer's view of one order, by its link token"),
        (name = "session", description = "Dashboard login: users of a tenant, session cookie, CSRF token"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("An API key from `waypost keys create`"))
                        .build(),
                ),
            );
            // A browser's login (POST /v1/session); requests other than GET, HEAD and OPTIONS
            // also send the session's CSRF token as X-CSRF-Token.
            c.add_security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("waypost_session"))),
            );
            // `/metrics` from outside `[metrics] allow`: the operator's token, not an API key.
            c.add_security_scheme(
                "metrics_token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("The metrics token (`[metrics] token_file`)"))
                        .build(),
                ),
            );
        }
    }
}
