import Dispensing
import Hummingbird

/// The `/Communication` routes (fd-messaging-transport §1), one file per operation. Callers:
/// insurants, public and hospital pharmacies, insurers (A_19446-02); others get the router's 403.
/// PUT, PATCH have no route, so the router answers 405; HEAD, which the router derives from every
/// GET, is refused by the GETs themselves (A_19401), before a read could set `received`.
enum CommunicationRoutes {
    static let professions: Set<Profession> = Profession.pharmacies.union([.insurant, .insurer])

    static func routes(_ env: ServerEnvironment) -> [Route] {
        [post(env), search(env), read(env), delete(env)]
    }

    /// The service over the environment's stores; a store without messages is a 500 (a deployment
    /// error: both of erx's stores have them).
    static func service(_ env: ServerEnvironment) throws -> CommunicationService {
        guard let store = env.communications else { throw CommunicationStoreMissing() }
        return CommunicationService(tasks: env.service.store, store: store, clock: env.service.clock, ids: env.service.ids,
                                    payload: env.communicationPayload)
    }

    struct CommunicationStoreMissing: Error {}

    /// A_19401: HEAD on `/Communication` is refused as an unrouted method (405 `no matching handler
    /// found.`): a recipient's HEAD would otherwise run the read and mark messages received unseen.
    static func refuseHead(_ request: Request) throws(RequestError) {
        if request.method == .head { throw .noMatchingHandler }
    }

    /// The path's id, which must be a UUID.
    static func id(_ context: ErxRequestContext) throws(CommunicationError) -> String {
        guard let id = context.parameters.get("id"), UUIDText.isUUID(id) else { throw .malformedID }
        return id.lowercased()
    }
}

enum UUIDText {
    /// 8-4-4-4-12 hex digits.
    static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70) else { return false }
            }
        }
        return true
    }
}
