import Foundation
import Hummingbird

/// The control API under `/_sim`: set and read the faults, read and clear what was received.
/// Faults never touch these routes.
struct ControlRoutes {
    let state: SimulatorState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/_sim/faults") { request, _ in try await setFaults(request) }
        router.get("/_sim/faults") { _, _ in try SimulatorAnswer.json(await state.faults()) }
        router.get("/_sim/received") { _, _ in try SimulatorAnswer.json(await state.received()) }
        router.get("/_sim/replays") { _, _ in try SimulatorAnswer.json(["replays": await state.replays()]) }
        router.delete("/_sim/received") { _, _ in
            await state.reset()
            return Response(status: .noContent)
        }
    }

    /// Replaces the settings as a whole: keys left out fall back to "no fault".
    private func setFaults(_ request: Request) async throws -> Response {
        let body = try await RegistrySimulator.collectBody(of: request)
        let faults: Faults
        do {
            faults = try JSONDecoder().decode(Faults.self, from: Data(body.readableBytesView))
        } catch {
            throw SimulatorError.malformed("The body must be a JSON object of fault settings (deny, locked, conflict, errorRate, latencyMs, down)")
        }
        if let problem = faults.problem { throw SimulatorError.malformed(problem) }
        await state.setFaults(faults)
        return try SimulatorAnswer.json(faults)
    }
}
