public import HTTPTypes
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The HTTP/1.1 messages inside the tunnel (A_20161-01 step 1: complete, CRLF line ends). The
/// server parses requests with NIO's HTTP/1.1 parser (llhttp), the same one the plain listener
/// uses, so a request means the same inside and outside; both sides write messages by hand,
/// always with `Content-Length`.
public struct InnerHTTPRequest: Sendable {
    public var head: HTTPRequest
    public var body: [UInt8]

    public init(head: HTTPRequest, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    /// Why an inner request is not one HTTP/1.1 request. Answered *inside* the tunnel (400): the
    /// response key is known by then.
    public enum ParseError: Error, Sendable, Hashable {
        case malformed
        case incomplete
        case upgradeRequested
    }

    /// Parses exactly one complete request; bytes after it are refused as malformed.
    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .fireError)))
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        var ended = false
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let value) where head == nil: head = value
                case .body(var buffer) where head != nil && !ended: body += buffer.readBytes(length: buffer.readableBytes) ?? []
                case .end where head != nil && !ended: ended = true
                default: throw ParseError.malformed
                }
            }
        } catch let error as ParseError {
            throw error
        } catch {
            throw .malformed
        }
        guard let head, ended else { throw .incomplete }
        if head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" }) { throw .upgradeRequested }
        guard let request = Self.convert(head) else { throw .malformed }
        self.head = request
        self.body = body
    }

    private static func convert(_ head: HTTPRequestHead) -> HTTPRequest? {
        var fields = HTTPFields()
        for (name, value) in head.headers where name.lowercased() != "host" {
            guard let field = HTTPField.Name(name) else { return nil }
            fields.append(HTTPField(name: field, value: value))
        }
        return HTTPRequest(method: HTTPRequest.Method(head.method.rawValue) ?? .get, scheme: "https",
                           authority: head.headers.first(name: "host"), path: head.uri, headerFields: fields)
    }

    /// The request as bytes (the client's step 1): request line, `Host`, the fields, and
    /// `Content-Length` when there is a body or the method carries one.
    public func serialized() -> [UInt8] {
        // HTTP types keep the `Host` field as the request's authority.
        var text = "\(head.method.rawValue) \(head.path ?? "/") HTTP/1.1\r\nHost: \(head.authority ?? "erx")\r\n"
        // The body is written whole: a `Transfer-Encoding` it arrived with no longer applies.
        for field in head.headerFields where field.name != .contentLength && field.name != .transferEncoding {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        if !body.isEmpty || [.post, .put, .patch].contains(head.method) { text += "Content-Length: \(body.count)\r\n" }
        return Array((text + "\r\n").utf8) + body
    }
}

/// An inner answer: the server writes it, the client reads it back.
public struct InnerHTTPResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status, headerFields: HTTPFields, body: [UInt8]) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// Status line, the fields, `Content-Length` (IBM `InnerTeeResponse` writes it always), body.
    public func serialized() -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for field in headerFields where field.name != .contentLength && field.name != .transferEncoding {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        text += "Content-Length: \(body.count)\r\n\r\n"
        return Array(text.utf8) + body
    }

    /// Reads an answer written with `Content-Length` (the client's side; IBM and erx always send
    /// it inside the tunnel).
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = bytes.firstRange(of: separator) else { throw .malformed }
        let lines = String(decoding: bytes[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines[0].split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let code = Int(statusLine[1]) else { throw .malformed }
        var fields = HTTPFields()
        var length: Int?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])) else { throw .malformed }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == .contentLength { length = Int(value) } else { fields.append(HTTPField(name: name, value: value)) }
        }
        let body = Array(bytes[split.upperBound...])
        guard let length, length == body.count else { throw .malformed }
        status = HTTPResponse.Status(code: code, reasonPhrase: statusLine.count > 2 ? String(statusLine[2]) : "")
        headerFields = fields
        self.body = body
    }

    public enum ParseError: Error, Sendable {
        case malformed
    }
}
