/// The parsed form of a FHIRPath expression (the subset the gematik and KBV dispensing invariants use).
public indirect enum FHIRPathExpression: Sendable, Hashable {
    case empty                                   // {}
    case string(String)
    case number(String)                          // integer or decimal literal, as written
    case boolean(Bool)
    case date(String)                            // @2024-01-01, @2024-01-01T10:00:00Z
    case this                                    // $this
    case variable(String)                        // %resource, %context, %ucum, …
    case member(FHIRPathExpression?, String)     // [base.]name
    case call(FHIRPathExpression?, FHIRPathFunction, [FHIRPathExpression])  // [base.]function(arguments)
    case index(FHIRPathExpression, FHIRPathExpression)
    case unary(String, FHIRPathExpression)       // -x
    case binary(FHIRPathOperator, FHIRPathExpression, FHIRPathExpression)
    case type(String, FHIRPathExpression, String) // x is T, x as T
}

/// An expression that cannot be parsed or evaluated, with the reason.
public struct FHIRPathError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parses FHIRPath text into ``FHIRPathExpression`` by precedence climbing, following the grammar's
/// operator table (FHIRPath N1, §6): implies < or/xor < and < in/contains < =,~,!=,!~ < <,>,<=,>=
/// < | < is/as < +,-,& < *,/,div,mod < unary < . and [].
public struct FHIRPathParser {
    enum Token: Equatable {
        case identifier(String), string(String), number(String), date(String), variable(String), this
        case symbol(String), end
    }

    private var tokens: [Token] = []
    private var position = 0

    public static func parse(_ text: String) throws(FHIRPathError) -> FHIRPathExpression {
        var parser = FHIRPathParser()
        parser.tokens = try tokenize(text)
        let expression = try parser.expression(minimumPrecedence: 0)
        guard parser.tokens[parser.position] == .end else {
            throw FHIRPathError("unexpected '\(parser.tokens[parser.position])' in \(text)")
        }
        return expression
    }

    static let precedence: [String: Int] = [
        "implies": 1, "or": 2, "xor": 2, "and": 3, "in": 4, "contains": 4,
        "=": 5, "~": 5, "!=": 5, "!~": 5, "<": 6, ">": 6, "<=": 6, ">=": 6, "|": 7,
        "is": 8, "as": 8, "+": 9, "-": 9, "&": 9, "*": 10, "/": 10, "div": 10, "mod": 10,
    ]

    private func operatorName(_ token: Token) -> String? {
        switch token {
        case .symbol(let symbol) where Self.precedence[symbol] != nil: symbol
        case .identifier(let word) where Self.precedence[word] != nil: word
        default: nil
        }
    }

    private mutating func expression(minimumPrecedence: Int) throws(FHIRPathError) -> FHIRPathExpression {
        var left = try unary()
        while let name = operatorName(tokens[position]), let level = Self.precedence[name], level >= minimumPrecedence {
            position += 1
            if name == "is" || name == "as" {
                guard case .identifier(var typeName) = tokens[position] else { throw FHIRPathError("type name expected after \(name)") }
                position += 1
                while tokens[position] == .symbol("."), case .identifier(let part) = tokens[position + 1] {
                    typeName += "." + part  // FHIR.Quantity, System.String
                    position += 2
                }
                left = .type(name, left, typeName)
                continue
            }
            let right = try expression(minimumPrecedence: level + 1)
            left = .binary(FHIRPathOperator(name), left, right)
        }
        return left
    }

    private mutating func unary() throws(FHIRPathError) -> FHIRPathExpression {
        if tokens[position] == .symbol("-") || tokens[position] == .symbol("+") {
            guard case .symbol(let sign) = tokens[position] else { throw FHIRPathError("sign expected") }
            position += 1
            return .unary(sign, try unary())
        }
        return try postfix(try term())
    }

    private mutating func postfix(_ base: FHIRPathExpression) throws(FHIRPathError) -> FHIRPathExpression {
        var result = base
        while true {
            if tokens[position] == .symbol(".") {
                position += 1
                guard case .identifier(let name) = tokens[position] else { throw FHIRPathError("name expected after '.'") }
                position += 1
                result = try invocation(name, on: result)
            } else if tokens[position] == .symbol("[") {
                position += 1
                let index = try expression(minimumPrecedence: 0)
                try expect("]")
                result = .index(result, index)
            } else {
                return result
            }
        }
    }

    private mutating func invocation(_ name: String, on base: FHIRPathExpression?) throws(FHIRPathError) -> FHIRPathExpression {
        guard tokens[position] == .symbol("(") else { return .member(base, name) }
        position += 1
        var arguments: [FHIRPathExpression] = []
        if tokens[position] != .symbol(")") {
            while true {
                arguments.append(try expression(minimumPrecedence: 0))
                if tokens[position] == .symbol(",") {
                    position += 1
                    continue
                }
                break
            }
        }
        try expect(")")
        return .call(base, FHIRPathFunction(name), arguments)
    }

    private mutating func term() throws(FHIRPathError) -> FHIRPathExpression {
        let token = tokens[position]
        position += 1
        switch token {
        case .string(let text): return .string(text)
        case .number(let text): return .number(text)
        case .date(let text): return .date(text)
        case .this: return .this
        case .variable(let name): return .variable(name)
        case .identifier("true"): return .boolean(true)
        case .identifier("false"): return .boolean(false)
        case .identifier(let name): return try invocation(name, on: nil)
        case .symbol("("):
            let inner = try expression(minimumPrecedence: 0)
            try expect(")")
            return inner
        case .symbol("{"):
            try expect("}")
            return .empty
        default:
            throw FHIRPathError("unexpected \(token)")
        }
    }

    private mutating func expect(_ symbol: String) throws(FHIRPathError) {
        guard tokens[position] == .symbol(symbol) else { throw FHIRPathError("'\(symbol)' expected") }
        position += 1
    }

    static func tokenize(_ text: String) throws(FHIRPathError) -> [Token] {
        let characters = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        func isIdentifierPart(_ c: Unicode.Scalar) -> Bool { isIdentifierStart(c) || ("0"..."9").contains(c) }
        while index < characters.count {
            let c = characters[index]
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                index += 1
            } else if c == "/" && index + 1 < characters.count && characters[index + 1] == "/" {
                while index < characters.count && characters[index] != "\n" { index += 1 }
            } else if c == "/" && index + 1 < characters.count && characters[index + 1] == "*" {
                index += 2
                while index + 1 < characters.count && !(characters[index] == "*" && characters[index + 1] == "/") { index += 1 }
                guard index + 1 < characters.count else { throw FHIRPathError("unterminated comment in \(text)") }
                index += 2
            } else if c == "'" || c == "`" {
                var value = String.UnicodeScalarView()
                index += 1
                while true {
                    guard index < characters.count else { throw FHIRPathError("unterminated string in \(text)") }
                    let d = characters[index]
                    if d == c { break }
                    if d == "\\", index + 1 < characters.count {
                        index += 1
                        switch characters[index] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "f": value.append("\u{0C}")
                        case "u":
                            guard index + 4 < characters.count,
                                let code = UInt32(String(String.UnicodeScalarView(characters[(index + 1)...(index + 4)])), radix: 16),
                                let scalar = Unicode.Scalar(code)
                            else { throw FHIRPathError("bad \\u escape in \(text)") }
                            value.append(scalar)
                            index += 4
                        default: value.append(characters[index])
                        }
                    } else {
                        value.append(d)
                    }
                    index += 1
                }
                index += 1
                tokens.append(c == "'" ? .string(String(value)) : .identifier(String(value)))
            } else if ("0"..."9").contains(c) {
                let start = index
                while index < characters.count && ("0"..."9").contains(characters[index]) { index += 1 }
                if index + 1 < characters.count && characters[index] == "." && ("0"..."9").contains(characters[index + 1]) {
                    index += 1
                    while index < characters.count && ("0"..."9").contains(characters[index]) { index += 1 }
                }
                tokens.append(.number(String(String.UnicodeScalarView(characters[start..<index]))))
            } else if c == "@" {
                let start = index + 1
                index += 1
                while index < characters.count, isIdentifierPart(characters[index]) || "-:.+".unicodeScalars.contains(characters[index]) {
                    index += 1
                }
                tokens.append(.date(String(String.UnicodeScalarView(characters[start..<index]))))
            } else if c == "%" || c == "$" {
                let start = index + 1
                index += 1
                if index < characters.count && characters[index] == "`" {
                    // Only the quoted name is tokenized again: tokenizing the whole rest of the text
                    // made every later `%`name`` do the same, exponential in their number (found by
                    // fuzzing). Ending after the closing backtick also counts escapes right.
                    var end = index + 1
                    while end < characters.count && characters[end] != "`" { end += characters[end] == "\\" ? 2 : 1 }
                    guard end < characters.count,
                        case .identifier(let quoted)? = try tokenize(String(String.UnicodeScalarView(characters[index...end]))).first
                    else { throw FHIRPathError("bad variable in \(text)") }
                    index = end + 1
                    tokens.append(.variable(quoted))
                    continue
                }
                while index < characters.count && (isIdentifierPart(characters[index]) || characters[index] == "-") { index += 1 }
                let name = String(String.UnicodeScalarView(characters[start..<index]))
                if c == "$" {
                    guard name == "this" else { throw FHIRPathError("unsupported $\(name)") }
                    tokens.append(.this)
                } else {
                    tokens.append(.variable(name))
                }
            } else if isIdentifierStart(c) {
                let start = index
                while index < characters.count && isIdentifierPart(characters[index]) { index += 1 }
                tokens.append(.identifier(String(String.UnicodeScalarView(characters[start..<index]))))
            } else {
                let two = index + 1 < characters.count ? String(String.UnicodeScalarView([c, characters[index + 1]])) : ""
                if ["<=", ">=", "!=", "!~"].contains(two) {
                    tokens.append(.symbol(two))
                    index += 2
                } else if "().,[]{}=~<>|+-*/&".unicodeScalars.contains(c) {
                    tokens.append(.symbol(String(c)))
                    index += 1
                } else {
                    throw FHIRPathError("unexpected character '\(c)' in \(text)")
                }
            }
        }
        tokens.append(.end)
        return tokens
    }
}
