import Dispensing
import FHIRModel
import Foundation

/// A stored message as the FD hands it out: the accepted resource with the server's `id`, `sent`,
/// `sender` (system by who sent it) and, once the recipient read it, `received` (A_19448-04, A_19521).
enum CommunicationResource {
    static func element(_ message: Communication) -> Element {
        var resource = message.resource
        resource.children.removeAll { ["id", "sent", "received", "sender"].contains($0.name) }
        let senderSystem = KVNR(message.sender) != nil ? Systems.kvnr : Systems.telematikID
        resource.children.append(.primitive("id", message.id))
        resource.children.append(.primitive("sent", FHIRInstant.format(message.sent)))
        if let received = message.received { resource.children.append(.primitive("received", FHIRInstant.format(received))) }
        resource.children.append(.complex("sender", [.identifier(system: senderSystem, value: message.sender)]))
        return resource
    }
}
