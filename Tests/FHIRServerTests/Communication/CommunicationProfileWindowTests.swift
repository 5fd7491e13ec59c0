import Dispensing
@testable import FHIRServer
import FHIRModel
import Testing

/// §1.2's validity windows, by `meta.profile` version: a version out of force is refused as the FD
/// refuses any profile it does not accept that day (`invalid profile … must be one of: …`, listing
/// those in force).
@Suite struct CommunicationProfileWindowTests {
    typealias S = CommunicationTestSupport

    /// A message that is valid for the profile it claims, so that only the window decides.
    static func message(_ profile: String) -> Element {
        let toPharmacy = profile.contains("DispReq")
        let recipient = toPharmacy
            ? Element(name: "identifier", children: [Element(name: "system", value: "https://gematik.de/fhir/sid/telematik-id"),
                                                     Element(name: "value", value: S.pharmacy)])
            : Element(name: "identifier", children: [Element(name: "system", value: "http://fhir.de/sid/gkv/kvid-10"),
                                                     Element(name: "value", value: S.insurant)])
        let flowType = Element(name: "extension", children: [
            Element(name: "url", value: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_PrescriptionType"),
            Element(name: "valueCoding", children: [Element(name: "system", value: "https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType"),
                                                    Element(name: "code", value: "160")]),
        ])
        return Element(name: "Communication", children: [
            Element(name: "meta", children: [Element(name: "profile", value: profile)]),
        ] + (toPharmacy ? [flowType] : []) + [
            Element(name: "basedOn", children: [Element(name: "reference", value: "Task/\(PrescriptionID(flowType: .gkvPharmacy, serial: 1).rawValue)")]),
            Element(name: "status", value: "unknown"),
            Element(name: "recipient", children: [recipient]),
            Element(name: "payload", children: [Element(name: "contentString", value: "Hallo")]),
        ])
    }

    private func claimed(_ profile: String, on day: String) -> Result<String, CommunicationError> {
        let validation = CommunicationValidation(validator: TestServer.parameters.validator)
        do {
            let (kind, version) = try validation.check(Self.message(profile), today: day)
            return .success("\(kind.rawValue)|\(version)")
        } catch {
            return .failure(error)
        }
    }

    @Test func versionsAreAcceptedInTheirWindowsOnly() {
        let reply15 = "\(S.workflow)Reply|1.5"
        #expect(claimed(reply15, on: "2026-09-30") == .success("Reply|1.5"))
        guard case .failure(.profileNotAccepted(let profile, let accepted)) = claimed(reply15, on: "2026-10-01") else {
            Issue.record("Reply 1.5 after 2026-09-30")
            return
        }
        #expect(profile == reply15)
        #expect(accepted.contains("\(S.workflow)Reply|1.6"))
        #expect(!accepted.contains(reply15))
        #expect(claimed("\(S.workflow)DispReq|1.5", on: "2027-01-14") == .success("DispReq|1.5"))
        #expect(claimed("\(S.workflow)DispReq|1.5", on: "2027-01-15") != .success("DispReq|1.5"))
        #expect(claimed("\(S.workflow)DispReq|1.6", on: "2026-06-30") != .success("DispReq|1.6"))
        #expect(claimed("\(S.workflow)DispReq|1.6", on: "2026-07-01") == .success("DispReq|1.6"))
        #expect(claimed("\(S.workflow)InfoReq|1.5", on: "2026-07-01") != .success("InfoReq|1.5"))
    }
}
