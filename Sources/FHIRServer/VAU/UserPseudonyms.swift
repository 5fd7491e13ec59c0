public import Crypto

/// The `{user-pseudonym}` of `POST /VAU/{up}` and the `Userpseudonym` answer header (A_20163
/// steps 7 and 10, A_20175; fd-messaging-transport §4.7). Clients start with `0` and then send the
/// last pseudonym they got; the production service uses it to prefer known users under load. erx
/// prefers no one, so it follows the reference implementation: a pseudonym is 16 random bytes and
/// their AES-CMAC under a key of this process, in hex, joined by `-`. One that verifies is
/// answered back unchanged; anything else (`0`, another instance's, garbage) is treated like `0`
/// and gets a fresh one, never an error.
public struct UserPseudonyms: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The pseudonym to answer with for the path segment `segment`.
    public func answer(for segment: String) -> String {
        if verifies(segment) { return segment }
        let random = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        return hex(random) + "-" + hex(mac(random))
    }

    func verifies(_ segment: String) -> Bool {
        let parts = segment.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 32, parts[1].utf8.count == 32, let random = bytes(parts[0]) else { return false }
        return hex(mac(random)) == parts[1].lowercased()
    }

    private func mac(_ bytes: [UInt8]) -> [UInt8] {
        TelematikPseudonyms.cmac(key: key, message: bytes)
    }

    private func hex(_ bytes: [UInt8]) -> String {
        Hex.encode(bytes)
    }

    private func bytes(_ text: Substring) -> [UInt8]? {
        Hex.decode(String(text))
    }
}
