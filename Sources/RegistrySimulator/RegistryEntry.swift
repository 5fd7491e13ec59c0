/// What the simulated medication service holds for one prescription, keyed by its PrescriptionID.
public struct RegistryEntry: Sendable, Equatable {
    public enum PrescriptionStatus: String, Sendable, Equatable {
        case active, cancelled
    }

    /// The dispensation currently stored: the last provide-dispensation overwrote any earlier one.
    public struct Dispensation: Sendable, Equatable {
        /// `in-progress` or `completed`.
        public var status: String
        public var dispenseCount: Int

        public init(status: String, dispenseCount: Int) {
            self.status = status
            self.dispenseCount = dispenseCount
        }
    }

    /// `nil` while no provide-prescription arrived: out-of-order transfers are still applied, as the
    /// real service answers them with a warning rather than refusing them.
    public var prescription: PrescriptionStatus?
    public var dispensation: Dispensation?

    public init(prescription: PrescriptionStatus? = nil, dispensation: Dispensation? = nil) {
        self.prescription = prescription
        self.dispensation = dispensation
    }

    /// The ePA semantics of one transfer (dispense-spec §5.2), without the MS's per-resource bookkeeping.
    mutating func apply(_ transfer: Transfer) {
        switch transfer.operation {
        case .providePrescription:
            prescription = .active
        case .cancelPrescription:
            prescription = .cancelled
        case .provideDispensation:
            dispensation = Dispensation(status: transfer.status ?? "completed", dispenseCount: transfer.dispenseCount)
        case .cancelDispensation:
            dispensation = nil
        }
    }
}
