import Crypto
import Dispensing
@testable import FHIRServer
import Foundation
import Testing

/// A_22365: `Subscription.id` is the AES-128-CMAC of the Telematik-ID, 32 lowercase hex characters.
/// The CMAC is checked against RFC 4493 §4's published examples.
struct SubscriptionPseudonymTests {
    static let rfcKey = "2b7e151628aed2a6abf7158809cf4f3c"
    /// RFC 4493's M, 64 bytes; the examples take its first 0, 16, 40 and 64.
    static let rfcMessage = "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51"
        + "30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710"
    static let examples: [(length: Int, mac: String)] = [
        (0, "bb1d6929e95937287fa37d129b756746"),
        (16, "070a16b46b4d4144f79bdd9dd04a287c"),
        (40, "dfa66747de9ae63030ca32611497c827"),
        (64, "51f0bebf7e3b9d92fc49741779363cfe"),
    ]

    @Test(arguments: examples.map(\.length))
    func A_22365_theCMACMatchesRFC4493(length: Int) throws {
        let key = SymmetricKey(data: try #require(Hex.decode(Self.rfcKey)))
        let message = try #require(Hex.decode(Self.rfcMessage))
        let mac = TelematikPseudonyms.cmac(key: key, message: Array(message.prefix(length)))
        #expect(Hex.encode(mac) == Self.examples.first { $0.length == length }?.mac)
    }

    @Test func A_22365_thePseudonymIs32LowercaseHexOfTheTelematikIDsCMAC() throws {
        let pseudonyms = try TelematikPseudonyms.parse(Self.rfcKey)
        let id = TelematikID("3-SMC-B-Testkarte-883110000095957")!
        let pseudonym = pseudonyms.pseudonym(of: id)
        #expect(pseudonym.utf8.count == 32)
        #expect(pseudonym == pseudonym.lowercased())
        #expect(pseudonym == Hex.encode(TelematikPseudonyms.cmac(key: SymmetricKey(data: Hex.decode(Self.rfcKey)!),
                                                                 message: Array(id.rawValue.utf8))))
        #expect(pseudonym != pseudonyms.pseudonym(of: TelematikID("3-SMC-B-Testkarte-883110000095958")!))
    }

    @Test func theKeyIsMadeOnceInTheDataDirectoryAndReadAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-pseudonym-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let id = TelematikID("3-SMC-B-Testkarte-883110000095957")!
        let first = try TelematikPseudonyms.loadOrCreate(in: directory).pseudonym(of: id)
        let second = try TelematikPseudonyms.loadOrCreate(in: directory).pseudonym(of: id)
        #expect(first == second)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(TelematikPseudonyms.fileName).path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: (any Error).self) { try TelematikPseudonyms.parse("00112233") }
    }
}
