import Hummingbird
import Logging

/// The outermost middleware: every error becomes an ePA JSON answer (unknown routes 404
/// `notFound`), and each request gets one log line with method, path and status. The KVNR travels in
/// a header and is never logged.
struct AnswerMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as SimulatorError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            response = try SimulatorError.notFound.response(from: request, context: context)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            response = try SimulatorError.tooLarge.response(from: request, context: context)
        } catch {
            context.logger.error("unhandled error", metadata: ["error_type": .string(String(describing: type(of: error)))])
            response = try SimulatorError.internalError.response(from: request, context: context)
        }
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path), "status": .stringConvertible(response.status.code),
        ])
        return response
    }
}

/// Plays the faults that concern the whole registry: the latency before every answer and the
/// outage. The control API under `/_sim` is exempt, so a test can always switch faults off again.
struct FaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: SimulatorState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The webhook receiver (`/hook/…`) and the BfArM stand-in (`/ords/…`) have faults of their own.
        guard !request.uri.path.hasPrefix("/_sim/"), !request.uri.path.hasPrefix("/hook/"), !request.uri.path.hasPrefix("/ords/")
        else { return try await next(request, context) }
        let faults = await state.faults()
        if faults.latencyMs > 0 { try await Task.sleep(for: .milliseconds(faults.latencyMs)) }
        if faults.down { throw SimulatorError.serviceUnavailable }
        return try await next(request, context)
    }
}
