public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

/// The open routes: `/metadata`, health and metrics (no token).
enum SystemRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [
            Route(.get, "/metadata", professions: nil) { request, context in
                try Routes.respond(CapabilityStatement.element(routes: ErxServer.routes(env), baseURL: env.baseURL,
                                                                  declaresLocked: env.service.objectionResponse == .locked), request, context)
            },
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
}
