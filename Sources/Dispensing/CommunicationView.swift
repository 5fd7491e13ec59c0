public import FHIRModel

/// What `POST /Communication` reads from the posted resource, in one place (no child names
/// scattered through the rules).
public struct CommunicationView: ResourceView {
    public static let resourceType = "Communication"
    public let element: Element
    public init(unchecked element: Element) { self.element = element }

    /// `basedOn[0].reference`: `Task/<id>`, `Task/<id>/$accept?ac=<AccessCode>` or `ChargeItem/<id>`.
    public var basedOnReference: String? { element.descendant("basedOn", "reference")?.value }
    public var recipientIdentifier: IdentifierValue? {
        element.descendant("recipient", "identifier").map { IdentifierValue(system: $0.value(of: "system"), value: $0.value(of: "value")) }
    }
    public var payloads: [Element] { element.children(named: "payload") }
    /// The flow type code of a DispReq (`GEM_ERP_EX_PrescriptionType`).
    public var flowTypeCode: String? {
        element.extensions("https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_PrescriptionType").first?
            .descendant("valueCoding", "code")?.value
    }

    /// What `basedOn` names (IBM `retrievePrescriptionIdFromReference`): the path must end in
    /// `Task/{id}`, `Task/{id}/$accept` or `ChargeItem/{id}`, so a base URL in front is accepted;
    /// `ac` comes from the query.
    public struct BasedOn: Sendable, Hashable {
        public var prescriptionID: PrescriptionID
        public var isChargeItem: Bool
        public var isAccept: Bool
        public var accessCode: String?
    }

    public var basedOn: BasedOn? {
        guard let reference = basedOnReference else { return nil }
        let parts = reference.split(separator: "?", maxSplits: 1)
        var accessCode: String?
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") where pair.hasPrefix("ac=") { accessCode = String(pair.dropFirst(3)) }
        }
        var segments = parts.first.map { $0.split(separator: "/", omittingEmptySubsequences: false).map(String.init) } ?? []
        var isAccept = false
        if segments.last == "$accept" { isAccept = true; segments.removeLast() }
        guard segments.count >= 2, let id = PrescriptionID(segments[segments.count - 1]) else { return nil }
        let type = segments[segments.count - 2]
        guard type == "Task" || (type == "ChargeItem" && !isAccept) else { return nil }
        return BasedOn(prescriptionID: id, isChargeItem: type == "ChargeItem", isAccept: isAccept, accessCode: accessCode)
    }
}
