public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$activate` (prescribers): the signed prescription makes a draft task ready.
    ///
    /// The production service's order (fd-parity.md §8.2): the task (404, 410 cancelled, 403
    /// AccessCode, 403 not draft) before the body is even read, so a bad prescription for a
    /// cancelled task answers 410; then the signature, the profile validation, and the content checks
    /// (``PrescriptionChecks``, in the transaction, which also repeats the task's checks).
    static func activate(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$activate", professions: Profession.prescribers, resource: "Task", interaction: .operation("activate")) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            let accessCode = Routes.accessCode(request)
            try await env.service.admit(id, for: .activate(accessCode: accessCode), caller: caller)
            let body = try await RequestBodyReader.requiredResource(of: request, limits: env.limits, expected: "Parameters")
            let input = try await PrescriptionInput.bundle(in: body, flowType: id.flowType, acceptUnsigned: env.acceptUnsigned,
                                                          signed: env.signedPrescriptions)
            try env.prescriptionValidation.validate(input.bundle, flowType: id.flowType, admittingUnprofiled: env.acceptUnsigned)
            let prescription = try PrescriptionBundle(input.bundle, signedData: input.signedData, signedAt: input.signedAt)
            let task = try await env.service.activate(id, accessCode: accessCode, prescription: prescription, caller: caller,
                                                      practitionerNumbers: env.practitionerNumbers,
                                                      dischargeValidityWorkdays: env.dischargeValidityWorkdays)
            var headers = WorkflowProfileHeader.fields(for: body)
            var status = HTTPResponse.Status.ok
            let view = KBVPrescriptionView(prescription.bundle)
            if let claimed = view.claimedBundleProfile, let bar = claimed.firstIndex(of: "|") {
                // A_23090-07's raw-data header: the KBV version the prescription came in (fd-parity §7.5).
                headers[kbvVersionHeader] = String(claimed[claimed.index(after: bar)...])
            }
            if view.claimedBundleProfile != nil, !PrescriptionChecks.practitionerNumbersValid(view) {
                // A_24033: the FD's production answer to a LANR/ZANR with a wrong check digit (fd-parity §7.5).
                status = invalidPractitionerNumber
                headers[HTTPField.Name("Warning")!] = "252 erp-server \"\(PrescriptionChecks.Texts.invalidPractitionerNumber)\""
            }
            return try Routes.respond(TaskResource.element(task, visible: [.accessCode]), request, context, status: status, headers: headers)
        }
    }

    static let kbvVersionHeader = HTTPField.Name("KBV-Verordnungsdaten")!

    /// IBM's `OkWarnInvalidAnr`: a success with status 252 (api-erp `erp_statuscodes.adoc`).
    static let invalidPractitionerNumber = HTTPResponse.Status(code: 252, reasonPhrase: "OK, invalid ANR")
}
