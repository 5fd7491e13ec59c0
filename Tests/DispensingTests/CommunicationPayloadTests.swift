@testable import Dispensing
import FHIRModel
import Foundation
import Testing

/// The payload rules of `POST /Communication` (fd-messaging-transport §1.4), without a server.
@Suite struct CommunicationPayloadTests {
    let rules = CommunicationPayload(v3ValidFrom: "2026-10-01")

    private func payload(_ text: String) -> [Element] {
        [Element(name: "payload", children: [Element(name: "contentString", value: text)])]
    }

    private func refusal(_ text: String, kind: Communication.Kind = .dispReq, flow: FlowType = .gkvPharmacy, today: String = "2026-12-01")
        -> CommunicationPayload.Refusal?
    {
        do {
            try rules.check(payload(text), kind: kind, flowType: flow, today: today)
            return nil
        } catch {
            if case .payload(let refusal) = error { return refusal }
            return CommunicationPayload.Refusal(text: "other: \(error)", diagnostics: nil)
        }
    }

    @Test func v1ShapesPassAndFail_A_23878_A_23879() {
        #expect(refusal(#"{"version":1,"supplyOptionsType":"delivery","name":"Erika","address":["Weg 1","12345 Berlin"],"phone":"030"}"#) == nil)
        #expect(refusal(#"{"version":1,"supplyOptionsType":"delivery","extra":1}"#)?.text == CommunicationPayload.schemaFailed)
        #expect(refusal(#"{"version":1}"#)?.text == CommunicationPayload.schemaFailed)
        #expect(refusal(#"{"version":1,"supplyOptionsType":"shipment","name":"\#(String(repeating: "a", count: 101))"}"#)?.text
            == CommunicationPayload.schemaFailed)
        #expect(refusal(#"{"version":1,"supplyOptionsType":"onPremise","pickUpCodeHR":"12341234","url":"https://apo.de/x"}"#, kind: .reply) == nil)
        // E2E ERP_COMMUNICATION_SEND_06/8: a pick-up code only on premise; a url needs scheme and host.
        #expect(refusal(#"{"version":1,"supplyOptionsType":"delivery","pickUpCodeHR":"1234"}"#, kind: .reply) != nil)
        #expect(refusal(#"{"version":1,"supplyOptionsType":"onPremise","url":"apo.de"}"#, kind: .reply) != nil)
    }

    @Test func versionMustBeTheInteger1Or3() {
        #expect(refusal(#"{"version":"1","supplyOptionsType":"onPremise"}"#)?.text == "version must be 'integer'")
        #expect(refusal(#"{"version":1.0,"supplyOptionsType":"onPremise"}"#)?.text == "version must be 'integer'")
        #expect(refusal(#"{"version":true,"supplyOptionsType":"onPremise"}"#)?.text == "version must be 'integer'")
        #expect(refusal(#"{"version":2,"supplyOptionsType":"onPremise"}"#)?.text == "Invalid payload version: 2")
        #expect(refusal("not json")?.text == CommunicationPayload.schemaFailed)
    }

    /// v3 from the configured German day on.
    @Test func v3IsValidFromItsDay() {
        let order = #"{"version":3,"communicationType":"order","transactionID":"t","supplyOptionsType":"onPremise","phone":"+49301"}"#
        #expect(refusal(order, today: "2026-09-30")?.text == "Communication payload version 3 will be valid from 01.10.2026")
        #expect(refusal(order, today: "2026-10-01") == nil)
        #expect(CommunicationPayload(v3ValidFrom: "2027-01-01").checkPasses(order, today: "2026-12-01") == false)
    }

    @Test func v3Shapes() {
        let delivery = #"{"version":3,"communicationType":"order","transactionID":"t","supplyOptionsType":"delivery","firstname":"E","lastname":"M","address":"Weg 1","postcode":"12345","city":"Berlin","country":"DE","phone":"0049301"}"#
        #expect(refusal(delivery) == nil)
        #expect(refusal(delivery.replacingOccurrences(of: #","city":"Berlin""#, with: "")) != nil)
        #expect(refusal(#"{"version":3,"communicationType":"order","transactionID":"t","supplyOptionsType":"onPremise","phone":"030"}"#) != nil)
        #expect(refusal(#"{"version":3,"communicationType":"text","transactionID":"t","text":"Hallo"}"#) == nil)
        #expect(refusal(#"{"version":3,"communicationType":"text","text":"Hallo"}"#) != nil)  // transactionID required
        #expect(refusal(#"{"version":3,"communicationType":"link","transactionID":"t","text":"x","url":"https://apo.de/a"}"#, kind: .reply) == nil)
        #expect(refusal(#"{"version":3,"communicationType":"link","transactionID":"t","text":"x","url":"http://apo.de/a"}"#, kind: .reply) != nil)
        #expect(refusal(#"{"version":3,"communicationType":"reservationStatus","transactionID":"t","readyForCollection":"sameDay"}"#, kind: .reply) == nil)
        #expect(refusal(#"{"version":3,"communicationType":"reservationStatus","transactionID":"t","readyForCollection":"later"}"#, kind: .reply) != nil)
        #expect(refusal(#"{"version":3,"communicationType":"pickupCodeHR","transactionID":"t","pickupCodeHR":"AB12"}"#, kind: .reply) == nil)
        #expect(refusal(#"{"version":3,"communicationType":"deliveryStatus","transactionID":"t","deliveryStatus":"inTransport","inTransportETA":{"from":1,"to":2}}"#, kind: .reply) == nil)
        #expect(refusal(#"{"version":3,"communicationType":"paymentInfo","transactionID":"t","totalAmount":1250,"paymentMethods":[{"method":"cash"}]}"#, kind: .reply) == nil)
        #expect(refusal(#"{"version":3,"communicationType":"paymentInfo","transactionID":"t","totalAmount":12.5,"paymentMethods":[{"method":"cash"}]}"#, kind: .reply) != nil)
    }

    /// A_23878-01: T-Rezept only on premise or delivery, in any version.
    @Test func flow166AllowsOnlyOnPremiseAndDelivery_A_23878_01() {
        let text = "for flowType 166 only onPremise and delivery are allowed"
        #expect(refusal(#"{"version":1,"supplyOptionsType":"shipment"}"#, flow: .tPrescription)?.text == text)
        #expect(refusal(#"{"version":1,"supplyOptionsType":"delivery"}"#, flow: .tPrescription) == nil)
        #expect(refusal(#"{"version":3,"communicationType":"text","transactionID":"t","text":"Hallo"}"#, flow: .tPrescription)?.text == text)
    }

    /// A_19450-01: 10 KB, one contentString; free text for the other types.
    @Test func sizeAndFreeText_A_19450() {
        #expect(refusal(String(repeating: "x", count: 10241), kind: .representative)?.text == "Payload must not exceed 10 KB.")
        #expect(refusal("Hallo, bitte einlösen", kind: .representative) == nil)
        #expect(refusal("Freitext", kind: .diga) == nil)
        #expect(throws: CommunicationError.self) {
            try rules.check(payload("a") + payload("b"), kind: .representative, flowType: .gkvPharmacy, today: "2026-12-01")
        }
    }

    /// basedOn forms (IBM `retrievePrescriptionIdFromReference`).
    @Test func basedOnForms() throws {
        let id = PrescriptionID(flowType: .gkvPharmacy, serial: 123).rawValue
        func view(_ reference: String) -> CommunicationView.BasedOn? {
            CommunicationView(unchecked: Element(name: "Communication", children: [
                Element(name: "basedOn", children: [Element(name: "reference", value: reference)]),
            ])).basedOn
        }
        #expect(view("Task/\(id)/$accept?ac=abc")?.accessCode == "abc")
        #expect(view("https://erp.zentral.erp.splitdns.ti-dienste.de/Task/\(id)")?.prescriptionID.rawValue == id)
        #expect(view("ChargeItem/\(id)")?.isChargeItem == true)
        #expect(view("ChargeItem/\(id)/$accept?ac=abc") == nil)
        #expect(view("Task/160.000.000.000.000.00") == nil)
    }
}

extension CommunicationPayload {
    func checkPasses(_ text: String, today: String) -> Bool {
        (try? check([Element(name: "payload", children: [Element(name: "contentString", value: text)])], kind: .dispReq, flowType: .gkvPharmacy,
                    today: today)) != nil
    }
}
