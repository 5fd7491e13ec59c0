import Crypto
import Dispensing
import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRServer
import FHIRValidation
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import HummingbirdTesting
import PostgreSQLStore
import SQLiteStore
import StoreTestSupport
import VAUProtocol

/// A server on a fresh store (SQLite in a temporary directory, or a fresh PostgreSQL database of
/// the test cluster), with an in-memory development key, as the tests drive it through
/// Hummingbird's router (or a real socket).
struct TestServer {
    static let doctorTelematikID = "1-HBA-Testkarte-883110000129068"
    static let pharmacyTelematikID = "3-SMC-B-Testkarte-883110000095957"
    static let otherPharmacyTelematikID = "3-SMC-B-Testkarte-883110000095958"
    static let kvnr = "X234567890"

    let directory: URL
    let store: any TestableStore
    /// Drops the PostgreSQL database (nothing for SQLite, whose file goes with the directory).
    private let dropDatabase: @Sendable () async -> Void
    let key: DevelopmentSigningKey
    let receipts: ReceiptIssuer
    var env: ServerEnvironment
    let verifier: AccessTokenVerifier

    /// The validator is built once: loading and compiling the profiles is the slow part.
    static let parameters: DispensationParameters = {
        let repository = try! ErxProfiles.repository()
        return DispensationParameters(
            validator: ProfileValidator(profiles: CompiledProfiles(repository: repository)), windows: try! ErxProfiles.workflowVersions()
        )
    }()

    init(directory: URL? = nil, key: DevelopmentSigningKey = .ephemeral(), acceptUnsigned: Bool = true, store kind: StoreKind = .sqlite) async throws {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("erx-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        switch kind {
        case .sqlite:
            store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
            dropDatabase = {}
        case .postgresql:
            let (configuration, drop) = try await TestPostgres.freshDatabase()
            store = try await PostgreSQLTaskStore.open(configuration, logger: TestPostgres.logger)
            dropDatabase = drop
        }
        self.key = key
        var issuer = try ReceiptIssuer.loadOrCreate(in: directory)
        issuer.baseURL = "http://erx.test"
        receipts = issuer
        let receipts = self.receipts
        let service = DispensingService(store: store, receiptIssuer: { try receipts.receipt(for: $0) })
        env = ServerEnvironment(service: service, dispensationParameters: Self.parameters, baseURL: "http://erx.test", acceptUnsigned: acceptUnsigned,
                                documentSigner: receipts)
        verifier = await AccessTokenVerifier.development(key)
    }

    var router: Router<ErxRequestContext> { ErxServer.router(env, verifier: verifier) }

    func token(_ profession: Profession, id: String?, organizationName: String? = nil) async throws -> String {
        try await key.token(profession: profession.rawValue, idNummer: id, name: organizationName)
    }

    func remove() async {
        if let store = store as? SQLiteTaskStore { try? await store.close() }
        if let store = store as? PostgreSQLTaskStore { await store.close() }
        await dropDatabase()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Requests as a pharmacy system sends them, in JSON or XML.
struct Client {
    let client: any TestClientProtocol
    let format: WireFormat
    let server: TestServer
    /// When set, every request goes through the VAU tunnel (issue 25) instead of plain.
    var tunnel: VAUTestTunnel? = nil

    var mediaType: String { format == .json ? "application/fhir+json" : "application/fhir+xml" }

    func send(_ method: HTTPRequest.Method, _ uri: String, token: String?, body: Element? = nil,
              headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        headers[.accept] = mediaType
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        if let body {
            headers[.contentType] = headers[.contentType] ?? mediaType + "; charset=utf-8"
            buffer = ByteBuffer(bytes: try format.fhirFormat.write(body))
        }
        if let tunnel {
            let inner = try await tunnel.send(method, uri, headers: headers, body: buffer.map { Array($0.readableBytesView) } ?? [], through: client)
            return Reply(status: inner.status, headers: inner.headerFields, bytes: inner.body, format: format)
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: buffer)
        return Reply(response: response, format: format)
    }
}

struct Reply {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let bytes: [UInt8]
    let format: WireFormat

    init(status: HTTPResponse.Status, headers: HTTPFields, bytes: [UInt8], format: WireFormat) {
        self.status = status
        self.headers = headers
        self.bytes = bytes
        self.format = format
    }

    init(response: TestResponse, format: WireFormat) {
        status = response.status
        headers = response.headers
        bytes = Array(response.body.readableBytesView)
        self.format = format
    }

    /// The body as a resource, read in the format the server declared.
    func resource() throws -> Element {
        let declared: FHIRFormat = headers[.contentType]?.contains("json") == true ? .json : .xml
        return try declared.read(bytes).resource
    }

    /// The first issue's code of an OperationOutcome body.
    func issueCode() throws -> String? {
        try resource().child("issue")?.value(of: "code")
    }

    func issueExpression() throws -> String? {
        try resource().child("issue")?.value(of: "expression")
    }
}
