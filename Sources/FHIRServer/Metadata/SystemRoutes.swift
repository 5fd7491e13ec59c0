public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

/// The routes around the workflow: `/metadata`, `/Device`, and the operational ones (`/`, health,
/// metrics), which need no token.
enum SystemRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [
            Route(.get, "/metadata", professions: nil) { request, context in
                try Routes.respond(CapabilityStatement.element(routes: ErxServer.routes(env), baseURL: env.baseURL,
                                                                  declaresLocked: env.service.objectionResponse == .locked), request, context)
            },
            // A_20744: the server's own Device, for every authenticated role, as a plain resource
            // (as the production service; not a searchset).
            Route(.get, "/Device", professions: Set(Profession.allCases), resource: "Device",
                  interaction: .custom("GET /Device answers the server's own Device (id 1, GEM_ERP_PR_Device) as a plain resource, not a searchset Bundle (A_20744)")) { request, context in
                try Routes.respond(ReceiptIssuer.device(version: ErxServer.version), request, context)
            },
            // The production service's "simple health check" (API erp_ps_probing.adoc): 200, no body.
            Route(.get, "/", professions: nil) { _, _ in Response(status: .ok) },
            Route(.get, "/health/live", professions: nil) { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"up"}"#)))
            },
            Route(.get, "/health/ready", professions: nil) { _, _ in
                // The database decides readiness; an unreachable registry only degrades it, because
                // requests still succeed and their transfers wait in the outbox.
                let database = await env.databaseReady()
                let registry = env.registryReachable.map { $0() ? "up" : "degraded" } ?? "not-configured"
                let status = !database ? "down" : registry == "degraded" ? "degraded" : "up"
                let body = #"{"status":"\#(status)","database":"\#(database ? "up" : "down")","registry":"\#(registry)"}"#
                return Response(status: database ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
            },
            Route(.get, "/metrics", professions: nil) { _, _ in
                guard let metrics = env.metrics else { throw RequestError.routeNotFound }
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
            },
        ]
    }

    /// erx's operational paths, outside the FD's namespace: what no route answers there is a 404
    /// without a token (``ErrorSeamMiddleware/unrouted(_:)``), as at the production service's outer
    /// server, which knows only its probes besides the VAU.
    static func isOperational(path: String) -> Bool {
        path == "/" || path == "/metrics" || path == "/health" || path.hasPrefix("/health/")
    }
}
