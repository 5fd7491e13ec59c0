import Dispensing
import ErxProfiles
import FHIRModel
import FHIRServer
import FHIRValidation

/// The `$dispense`/`$close` validation set-up as the server builds it, once for the validator and
/// request targets: compiling the profiles is the slow part.
enum ServerParameters {
    static let validator: ProfileValidator = {
        do {
            return ProfileValidator(profiles: CompiledProfiles(repository: try ErxProfiles.repository()))
        } catch {
            fatalError("the bundled profiles do not load: \(error)")
        }
    }()

    static let dispensation: DispensationParameters = {
        do {
            return DispensationParameters(validator: validator, windows: try ErxProfiles.workflowVersions())
        } catch {
            fatalError("the bundled workflow versions do not load: \(error)")
        }
    }()
}

/// The set-up bodies of the request harness (as Tests/FHIRServerTests/Support/Bodies.swift builds them).
enum RequestBodies {
    static let createParameters = Element(name: "Parameters", children: [
        .init(name: "parameter", children: [
            .init(name: "name", value: "workflowType"),
            .init(name: "valueCoding", children: [.init(name: "system", value: Systems.flowType), .init(name: "code", value: "160")]),
        ]),
    ])

    /// A minimal prescription bundle for `$activate` (the harness accepts unsigned ones).
    static func prescription(id: String, kvnr: String) -> Element {
        .init(name: "Bundle", children: [
            .init(name: "identifier", children: [.init(name: "system", value: Systems.prescriptionID), .init(name: "value", value: id)]),
            .init(name: "type", value: "document"),
            .init(name: "entry", children: [
                .init(name: "fullUrl", value: "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01"),
                .init(name: "resource", children: [.init(name: "Patient", children: [
                    .init(name: "identifier", children: [.init(name: "system", value: Systems.kvnr), .init(name: "value", value: kvnr)]),
                ])]),
            ]),
            .init(name: "entry", children: [
                .init(name: "fullUrl", value: "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b02"),
                .init(name: "resource", children: [.init(name: "MedicationRequest", children: [
                    .init(name: "status", value: "active"), .init(name: "intent", value: "order"),
                    .init(name: "subject", children: [.init(name: "reference", value: "urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01")]),
                    .init(name: "authoredOn", value: "2026-10-01"),
                ])]),
            ]),
        ])
    }

    /// An objection to the pharmacies' charge items, as an insurant posts it.
    static func consent(kvnr: String) -> Element {
        .init(name: "Consent", children: [
            .init(name: "status", value: "active"),
            .init(name: "scope", children: [.init(name: "coding", children: [
                .init(name: "system", value: "http://terminology.hl7.org/CodeSystem/consentscope"), .init(name: "code", value: "patient-privacy"),
            ])]),
            .init(name: "category", children: [.init(name: "coding", children: [
                .init(name: "system", value: "https://erx.invalid/fhir/CodeSystem/objection-category"), .init(name: "code", value: "medication"),
            ])]),
            .init(name: "patient", children: [.init(name: "identifier", children: [
                .init(name: "system", value: Systems.kvnr), .init(name: "value", value: kvnr),
            ])]),
        ])
    }
}
