public import Dispensing
import FHIRValidation
import Foundation

/// What the handlers need besides the request.
public struct ServerEnvironment: Sendable {
    public var service: DispensingService
    public var dispensationParameters: DispensationParameters
    /// The public base URL (`http://127.0.0.1:8080`), for `fullUrl`s, `Location` and paging links.
    public var baseURL: String
    /// Accept an unsigned KBV bundle at `$activate` (development and conformance runs only).
    public var acceptUnsigned: Bool
    /// How `$activate` reads CMS-signed prescriptions (and whether it verifies them).
    public var signedPrescriptions: SignedPrescription
    /// Whether the database answers (`/health/ready`).
    public var databaseReady: @Sendable () async -> Bool
    /// Whether the registry answered its last request (`/health/ready` reports `degraded`, not down,
    /// when it did not: transfers wait in the outbox); `nil` when no registry is configured.
    public var registryReachable: (@Sendable () -> Bool)?
    /// Where `/metrics` reads from, and request metrics go; `nil`: no metrics.
    public var metrics: RequestMetrics?
    /// What one request may make the server do (body size, elements, repeats, the large-body lane).
    public var limits: RequestLimits
    /// Signs the insurant's copy of a prescription (`GET /Task/{id}`); `nil`: handed out unsigned.
    public var documentSigner: ReceiptIssuer?
    /// `$activate`'s validation of the KBV bundle; by default the `$dispense` validator with no
    /// version windows (every version judged by the profiles alone).
    public var prescriptionValidation: PrescriptionValidation
    /// What `$activate` does with a LANR/ZANR whose check digit is wrong (A_24031).
    public var practitionerNumbers: PractitionerNumberPolicy
    /// A discharge prescription's accept date, in working days from signing (A_19517-04).
    public var dischargeValidityWorkdays = RedemptionDates.defaultDischargeValidityWorkdays
    /// Told after a DispReq or ChargChangeReq is stored, so the recipient's websocket subscribers
    /// are pinged (A_22367-03).
    public var notifier: any RecipientNotifier = NoRecipientNotifications()
    /// Where messages (`/Communication`) are kept: by default the task store, when it keeps them
    /// (both of erx's stores do), so `$abort` deletes a task's messages in its own transaction.
    public var communications: (any CommunicationStore)?
    /// A pharmacy's worklist and dispensation history (ours, beyond the FD): by default the task
    /// store, when it answers them (both of erx's stores do); without one those requests get the
    /// production service's answers.
    public var pharmacyReads: (any PharmacyReadStore)?
    /// Step 1 of `POST /Communication`: profiles and their windows; by default the `$dispense` validator.
    public var communicationValidation: CommunicationValidation
    /// The payload rules (§1.4), with the configurable v3 start day.
    public var communicationPayload = CommunicationPayload()
    /// A pharmacy's `GET /Task` with the insurant's eGK (issue 24): VSDM keys, validity, PN3,
    /// daily lock. Without keys every check digit fails (fd-parity §1.2).
    public var egk = EGKRedemption()
    /// `POST /Subscription` and the websocket endpoint: their keys, hub, path and limits. Keys in
    /// memory by default; `erx serve` loads them from the data directory. ``ErxServer/application``
    /// makes the hub the ``notifier`` unless another one was set.
    public var subscriptions = SubscriptionSettings.ephemeral()
    /// The VAU tunnel (issue 25) and whether plain requests are answered too; `nil`: plain only.
    public var vau: VAUSettings?

    public init(service: DispensingService, dispensationParameters: DispensationParameters, baseURL: String,
                acceptUnsigned: Bool = false, signedPrescriptions: SignedPrescription = SignedPrescription(trustAnchors: nil),
                databaseReady: @escaping @Sendable () async -> Bool = { true }, registryReachable: (@Sendable () -> Bool)? = nil,
                metrics: RequestMetrics? = nil, limits: RequestLimits = RequestLimits(), documentSigner: ReceiptIssuer? = nil,
                prescriptionValidation: PrescriptionValidation? = nil, practitionerNumbers: PractitionerNumberPolicy = .warning) {
        self.prescriptionValidation = prescriptionValidation
            ?? PrescriptionValidation(validator: dispensationParameters.validator, windows: ProfileVersionWindows(windows: []))
        self.practitionerNumbers = practitionerNumbers
        self.communications = service.store as? any CommunicationStore
        self.pharmacyReads = service.store as? any PharmacyReadStore
        self.communicationValidation = CommunicationValidation(validator: dispensationParameters.validator)
        self.limits = limits
        self.documentSigner = documentSigner
        self.signedPrescriptions = signedPrescriptions
        self.service = service
        self.dispensationParameters = dispensationParameters
        self.baseURL = baseURL
        self.acceptUnsigned = acceptUnsigned
        self.databaseReady = databaseReady
        self.registryReachable = registryReachable
        self.metrics = metrics
    }

    /// The insurant's own objections, on the same store and clock as the workflow.
    public var objections: ObjectionService { ObjectionService(store: service.store, clock: service.clock) }
}
