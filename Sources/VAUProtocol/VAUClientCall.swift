public import Crypto

/// One request through the VAU, from the client's side (A_20161-01, A_20174): what tests,
/// `erx vau-request` and any other client send and how they read the answer. The HTTP transport
/// of the outer request is the caller's.
public struct VAUClientCall: Sendable {
    /// The outer body for `POST /VAU/{user-pseudonym}`.
    public let body: [UInt8]
    let requestID: String
    let responseKey: SymmetricKey

    /// Seals `request` (which must carry `Authorization: Bearer <accessToken>`) for the VAU whose
    /// certificate holds `serverPoint`, with a fresh request id, response key and ephemeral key.
    public init(_ request: InnerHTTPRequest, accessToken: String, serverPoint: [UInt8],
                ephemeral: some VAUEphemeralKeyAgreement) throws {
        let id = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let key = SymmetricKey(size: .bits128)
        requestID = VAUPlaintext.hexString(id)
        responseKey = key
        let p = VAUPlaintext.assemble(accessToken: accessToken, requestID: requestID,
                                      responseKey: key.withUnsafeBytes { Array($0) }, innerRequest: request.serialized())
        body = try VAURequestBody.seal(p, serverPoint: serverPoint, ephemeral: ephemeral)
    }

    /// The inner answer from the outer 200's body; throws if it is not the answer to this call.
    public func open(_ outerBody: [UInt8]) throws -> InnerHTTPResponse {
        try InnerHTTPResponse(parsing: VAUResponseBody.open(outerBody, requestID: requestID, key: responseKey))
    }
}
