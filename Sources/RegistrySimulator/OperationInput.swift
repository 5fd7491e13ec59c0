import FHIRFormats
import FHIRModel
import Foundation

/// What the ePA medication service accepts as the input of one `*-erp` operation: the official
/// profile's canonical URL and, for when that profile is not at hand, its parts as fd-parity §9.1
/// lists them (EPA 1.3.2: `parameter` 1..*, `part` slicing open, by `name`).
///
/// The official `epa-op-*-erp-input-parameters` profiles are not in every package set (the
/// fixture subsets of `de.gematik.epa.medication` hold only the profiles the workflow packages
/// build on). Without them the simulator checks against a stand-in written from that table, whose
/// resource parts name the official ePA profiles (`epa-medication-dispense`, `epa-medication`, …)
/// so that those are enforced wherever the loaded packages have them.
struct OperationInput: Sendable {
    static let profileBase = "https://gematik.de/fhir/epa-medication/StructureDefinition/"

    /// One `part` slice.
    struct Part: Sendable {
        enum Content: Sendable {
            /// `value[x]` of this type (and profile), no resource.
            case value(type: String, profile: String?)
            /// `resource` of this type, conforming to this profile, no value.
            case resource(type: String, profile: String)
        }

        var name: String
        var min: Int
        /// `nil`: unbounded.
        var max: Int?
        var content: Content
    }

    var operation: TransferOperation
    var parts: [Part]
    /// How many parts a parameter has in all (the table's "6..6", "≥ 5", "exactly 2").
    var partCount: (min: Int, max: Int?)

    /// The canonical URL of the official input profile.
    var profileURL: String { Self.profileBase + "epa-op-\(operation.rawValue)-input-parameters" }

    static func of(_ operation: TransferOperation) -> OperationInput {
        let header = [
            Part(name: "prescriptionId", min: 1, max: 1,
                 content: .value(type: "Identifier", profile: "https://gematik.de/fhir/ti/StructureDefinition/e-prescription-id")),
            Part(name: "authoredOn", min: 1, max: 1, content: .value(type: "date", profile: nil)),
        ]
        func resource(_ name: String, _ type: String, _ profile: String, max: Int? = 1) -> Part {
            Part(name: name, min: 1, max: max, content: .resource(type: type, profile: profile))
        }
        let organization = resource("organization", "Organization", "https://gematik.de/fhir/directory/StructureDefinition/OrganizationDirectory")
        switch operation {
        case .providePrescription:
            return OperationInput(operation: operation, parts: header + [
                resource("medicationRequest", "MedicationRequest", profileBase + "epa-medication-request"),
                resource("medication", "Medication", profileBase + "epa-medication"),
                organization,
                resource("practitioner", "Practitioner", "https://gematik.de/fhir/directory/StructureDefinition/PractitionerDirectory"),
            ], partCount: (6, 6))
        case .provideDispensation:
            return OperationInput(operation: operation, parts: header + [
                resource("medicationDispense", "MedicationDispense", profileBase + "epa-medication-dispense", max: nil),
                resource("medication", "Medication", profileBase + "epa-medication", max: nil),
                organization,
            ], partCount: (5, nil))
        case .cancelPrescription, .cancelDispensation:
            return OperationInput(operation: operation, parts: header, partCount: (2, 2))
        }
    }

    /// The profiles the parts name (type profiles of values and resources).
    var partProfiles: [String] {
        parts.compactMap { part in
            switch part.content {
            case .value(_, let profile): profile
            case .resource(_, let profile): profile
            }
        }
    }

    /// The stand-in StructureDefinition (differential, on R4 `Parameters`) under the official URL.
    /// A part profile for which `available` says no is left out: the part is checked against its
    /// base type only (a profile that cannot be resolved would fail every payload).
    func standIn(available: (String) -> Bool) throws -> Element {
        // The shape of the 1.3 profiles: parameters sliced by name (closed), one slice of 1..*
        // parameters; its parts sliced by name (open: further parts, such as `status`, are allowed).
        let parameter = "Parameters.parameter:\(operation.parameterName)"
        var elements: [[String: Any]] = [
            Self.element("Parameters.parameter", [
                "slicing": ["discriminator": [["type": "value", "path": "name"]], "rules": "closed"], "min": 1,
            ]),
            Self.element(parameter, ["sliceName": operation.parameterName, "min": 1, "max": "*"]),
            Self.element("\(parameter).name", ["fixedString": operation.parameterName]),
            Self.element("\(parameter).value[x]", ["max": "0"]),
            Self.element("\(parameter).resource", ["max": "0"]),
            Self.element("\(parameter).part", [
                "slicing": ["discriminator": [["type": "value", "path": "name"]], "rules": "open"],
                "min": partCount.min, "max": partCount.max.map(String.init) ?? "*",
            ]),
        ]
        for part in parts {
            let slice = "\(parameter).part:\(part.name)"
            elements.append(Self.element(slice, ["sliceName": part.name, "min": part.min, "max": part.max.map(String.init) ?? "*"]))
            elements.append(Self.element("\(slice).name", ["fixedString": part.name]))
            switch part.content {
            case .value(let type, let profile):
                var typeEntry: [String: Any] = ["code": type]
                if let profile, available(profile) { typeEntry["profile"] = [profile] }
                elements.append(Self.element("\(slice).value[x]", ["min": 1, "type": [typeEntry]]))
                elements.append(Self.element("\(slice).resource", ["max": "0"]))
            case .resource(let type, let profile):
                var typeEntry: [String: Any] = ["code": type]
                if available(profile) { typeEntry["profile"] = [profile] }
                elements.append(Self.element("\(slice).value[x]", ["max": "0"]))
                elements.append(Self.element("\(slice).resource", ["min": 1, "type": [typeEntry]]))
            }
            elements.append(Self.element("\(slice).part", ["max": "0"]))
        }
        let definition: [String: Any] = [
            "resourceType": "StructureDefinition",
            "id": "erx-stand-in-epa-op-\(operation.rawValue)-input-parameters",
            "url": profileURL,
            "name": "ErxStandIn" + operation.rawValue.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(),
            "status": "draft",
            "description": "erx registry simulator: stand-in for the official input profile of $\(operation.rawValue), "
                + "written from the parts table of fd-parity §9.1; used only when the loaded packages lack the official one.",
            "fhirVersion": "4.0.1", "kind": "resource", "abstract": false, "type": "Parameters",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Parameters", "derivation": "constraint",
            "differential": ["element": elements],
        ]
        let json = try JSONSerialization.data(withJSONObject: definition, options: [.sortedKeys])
        return try FHIRFormat.json.read(Array(json)).resource
    }

    /// One differential element; the path is the id without slice names.
    private static func element(_ id: String, _ constraints: [String: Any]) -> [String: Any] {
        let path = id.split(separator: ".").map { $0.split(separator: ":")[0] }.joined(separator: ".")
        return constraints.merging(["id": id, "path": path]) { $1 }
    }
}
