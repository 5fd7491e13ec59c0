import FHIRModel

/// The four `*-erp` operations of the ePA medication service that the simulator answers.
enum TransferOperation: String, CaseIterable, Sendable {
    case provideDispensation = "provide-dispensation-erp"
    case cancelDispensation = "cancel-dispensation-erp"
    case providePrescription = "provide-prescription-erp"
    case cancelPrescription = "cancel-prescription-erp"

    var path: String { "/epa/medication/api/v1/fhir/$\(rawValue)" }

    /// The name of the `parameter`s the body carries (and the answer echoes), one per transfer.
    var parameterName: String {
        switch self {
        case .provideDispensation, .cancelDispensation: "rxDispensation"
        case .providePrescription, .cancelPrescription: "rxPrescription"
        }
    }
}

/// What the simulator keeps of one transfer body: enough to apply it and to record it.
struct Transfer: Sendable, Equatable {
    static let prescriptionIdSystem = "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId"
    /// The value set `epa-provide-dispensation-status-vs`.
    static let dispensationStatuses: Set<String> = ["in-progress", "completed"]

    var operation: TransferOperation
    var prescriptionId: String
    var authoredOn: String
    /// The `status` part of a provide-dispensation; `nil` for the other operations.
    var status: String?
    /// How many `medicationDispense` parts a provide-dispensation carries.
    var dispenseCount: Int

    /// A body the operation cannot use, with the FHIRPath of the offending element.
    struct ShapeError: Error, Equatable {
        var text: String
        var expression: String
    }

    /// The transfers of one call, in order: the ePA input takes its parameter 1..*, so a caller may
    /// send several of one insurant's transfers at once (A_25956). Only the shape is checked, not
    /// the ePA profiles of the embedded resources: the simulator tests the relay's plumbing, not its
    /// mapping.
    static func all(in resource: Element, as operation: TransferOperation) throws(ShapeError) -> [Transfer] {
        guard resource.name == "Parameters" else {
            throw ShapeError(text: "Expected a Parameters resource, found \(resource.name)", expression: resource.name)
        }
        let parameters = resource.children(named: "parameter")
        guard !parameters.isEmpty, parameters.allSatisfy({ $0.value(of: "name") == operation.parameterName }) else {
            throw ShapeError(text: "Expected one or more parameters, each named \(operation.parameterName)", expression: "Parameters.parameter")
        }
        var transfers: [Transfer] = []
        for (index, parameter) in parameters.enumerated() {
            transfers.append(try Transfer(parameter, at: "Parameters.parameter[\(index)]", as: operation))
        }
        return transfers
    }

    /// Reads the parts the medication service keys its work by, from one parameter at `path`.
    init(_ parameter: Element, at path: String, as operation: TransferOperation) throws(ShapeError) {
        let allParts = parameter.children(named: "part")
        func parts(_ name: String) -> [Element] { allParts.filter { $0.value(of: "name") == name } }

        guard let identifier = parts("prescriptionId").first?.child("valueIdentifier"),
              identifier.value(of: "system") == Self.prescriptionIdSystem,
              let prescriptionId = identifier.value(of: "value"), !prescriptionId.isEmpty
        else {
            throw ShapeError(text: "Missing part prescriptionId (an Identifier of system \(Self.prescriptionIdSystem))", expression: "\(path).part")
        }
        guard let authoredOn = parts("authoredOn").first?.value(of: "valueDate") else {
            throw ShapeError(text: "Missing part authoredOn (a date)", expression: "\(path).part")
        }
        self.operation = operation
        self.prescriptionId = prescriptionId
        self.authoredOn = authoredOn
        self.status = nil
        self.dispenseCount = 0
        guard operation == .provideDispensation else { return }

        guard let status = parts("status").first?.value(of: "valueCode"), Self.dispensationStatuses.contains(status) else {
            throw ShapeError(text: "Part status must be a code, in-progress or completed", expression: "\(path).part")
        }
        let dispenses = parts("medicationDispense")
        guard !dispenses.isEmpty, dispenses.allSatisfy({ $0.child("resource")?.wrappedResource?.name == "MedicationDispense" }) else {
            throw ShapeError(text: "Expected one or more parts medicationDispense, each holding a MedicationDispense", expression: "\(path).part")
        }
        self.status = status
        self.dispenseCount = dispenses.count
    }
}
