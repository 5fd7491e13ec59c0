import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RegistrySimulator
import Testing

/// The application over a real socket, as the relay meets it.
@Suite struct LiveServerTests {
    @Test func servesOverHTTP() async throws {
        let state = SimulatorState()
        let app = RegistrySimulator.application(state: state, host: "127.0.0.1", port: 0, logger: quietLogger)
        try await app.test(.live) { client in
            #expect(client.port != nil)
            let response = try await client.transfer("provide-dispensation-erp", try Payload.json(Payload.provideDispensation("160.000.000.000.001.05")))
            #expect(response.status == .ok)
            #expect(try await client.consent(kvnr: kvnr).status == .ok)
            #expect(await state.received().count == 1)
        }
    }
}
