import FHIRModel

extension FHIRPathEvaluator {
    func binary(_ op: FHIRPathOperator, _ left: FHIRPathExpression, _ right: FHIRPathExpression, focus: [FHIRPathItem],
                context: Context) throws(FHIRPathError) -> [FHIRPathItem]
    {
        guard let kind = op.kind else { throw FHIRPathError("unsupported operator \(op.text)") }
        let lhs = try evaluate(left, focus: focus, context: context)
        switch kind {
        case .and, .or, .xor, .implies:
            let a = try Self.boolean(lhs)
            // Short cuts that do not need the right side (and so tolerate errors there, as engines do).
            if kind == .and && a == false { return Self.result(false) }
            if kind == .or && a == true { return Self.result(true) }
            if kind == .implies && a == false { return Self.result(true) }
            let b = try Self.boolean(try evaluate(right, focus: focus, context: context))
            switch kind {
            case .and:
                if a == true && b == true { return Self.result(true) }
                return b == false ? Self.result(false) : []
            case .or:
                if a == false && b == false { return Self.result(false) }
                return b == true ? Self.result(true) : []
            case .xor:
                guard let a, let b else { return [] }
                return Self.result(a != b)
            default:  // implies, with a true or empty
                if b == true { return Self.result(true) }
                return a == true && b == false ? Self.result(false) : []
            }
        default: break
        }
        let rhs = try evaluate(right, focus: focus, context: context)
        switch kind {
        case .and, .or, .xor, .implies:
            preconditionFailure("handled above")
        case .union: return distinct(lhs + rhs)
        case .equal, .notEqual:
            guard !lhs.isEmpty, !rhs.isEmpty else { return [] }
            guard lhs.count == rhs.count else { return Self.result(kind == .notEqual) }
            var result: Bool? = true
            for (a, b) in zip(lhs, rhs) {
                guard let same = equal(a, b) else {
                    result = nil
                    break
                }
                if !same { result = false }
            }
            guard let result else { return [] }
            return Self.result(kind == .equal ? result : !result)
        case .equivalent, .notEquivalent:
            let same = lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { a, b in
                guard let x = string(a), let y = string(b) else { return equal(a, b) == true }
                return x.lowercased().split(whereSeparator: \.isWhitespace) == y.lowercased().split(whereSeparator: \.isWhitespace)
            }
            return Self.result(kind == .equivalent ? same : !same)
        case .less, .greater, .lessOrEqual, .greaterOrEqual:
            guard let a = lhs.first, let b = rhs.first else { return [] }
            guard lhs.count == 1, rhs.count == 1 else { throw FHIRPathError("'\(op.text)' needs single items") }
            guard let order = compare(a, b) else { return [] }
            switch kind {
            case .less: return Self.result(order < 0)
            case .greater: return Self.result(order > 0)
            case .lessOrEqual: return Self.result(order <= 0)
            default: return Self.result(order >= 0)
            }
        case .in, .contains:
            // Every item of the element side must be in the collection; with no item that holds, as the HL7
            // engine evaluates it (the specification says empty). Core invariants such as ref-1 rely on it:
            // `reference.substring(1) in %rootResource.contained.id` for a reference without `reference`.
            let (elements, collection) = kind == .in ? (lhs, rhs) : (rhs, lhs)
            return Self.result(elements.allSatisfy { item in collection.contains { equal($0, item) == true } })
        case .concatenate:
            return [.string((lhs.first.flatMap(string) ?? "") + (rhs.first.flatMap(string) ?? ""))]
        case .plus, .minus, .times, .divide, .div, .mod:
            guard let a = lhs.first.flatMap(systemValue), let b = rhs.first.flatMap(systemValue) else { return [] }
            return try arithmetic(kind, a, b)
        }
    }

    func arithmetic(_ op: FHIRPathOperatorKind, _ a: FHIRPathItem, _ b: FHIRPathItem) throws(FHIRPathError) -> [FHIRPathItem] {
        if op == .plus, case .string(let x) = a, case .string(let y) = b { return [.string(x + y)] }
        if case .integer(let x) = a, case .integer(let y) = b, op != .divide {
            switch op {
            case .plus: return [.integer(x &+ y)]
            case .minus: return [.integer(x &- y)]
            case .times: return [.integer(x &* y)]
            // `Int.min div -1` and `Int.min mod -1` overflow: empty, as FHIRPath answers arithmetic
            // it cannot represent (found by fuzzing; `/` and `%` would trap).
            case .div:
                let (quotient, overflow) = x.dividedReportingOverflow(by: y)
                return y == 0 || overflow ? [] : [.integer(quotient)]
            default:
                let (remainder, overflow) = x.remainderReportingOverflow(dividingBy: y)
                return y == 0 || overflow ? [] : [.integer(remainder)]
            }
        }
        guard let x = number(a), let y = number(b) else { throw FHIRPathError("'\(op.rawValue)' needs numbers") }
        switch op {
        case .plus: return [.decimal(x + y)]
        case .minus: return [.decimal(x - y)]
        case .times: return [.decimal(x * y)]
        case .divide: return y == 0 ? [] : [.decimal(x / y)]
        case .div:
            // A quotient beyond the integers (or NaN) has no integer answer: empty, never a trap.
            guard y != 0, let quotient = Int(exactly: (x / y).rounded(.towardZero)) else { return [] }
            return [.integer(quotient)]
        default: return y == 0 ? [] : [.decimal(x.truncatingRemainder(dividingBy: y))]
        }
    }

    func number(_ item: FHIRPathItem) -> Double? {
        switch systemValue(item) {
        case .integer(let value)?: Double(value)
        case .decimal(let value)?: value
        default: nil
        }
    }

    /// Equality of two items; `nil` when it cannot be decided (dates of different precision).
    func equal(_ a: FHIRPathItem, _ b: FHIRPathItem) -> Bool? {
        if case .node(let x, .type) = a, case .node(let y, .type) = b { return x == y }
        guard let x = systemValue(a), let y = systemValue(b) else { return false }
        switch (x, y) {
        case (.boolean(let p), .boolean(let q)): return p == q
        case (.string(let p), .string(let q)): return p == q
        case (.date, .date): return compare(x, y).map { $0 == 0 }
        default:
            if let p = number(x), let q = number(y) { return p == q }
            return string(x) == string(y)
        }
    }

    /// How two date/time texts order: -1, 0, 1; `nil` when it cannot be decided. Same precision compares
    /// as text; a date against a dateTime compares on the date part only when that decides it.
    public static func compareDates(_ p: String, _ q: String) -> Int? {
        let shared = min(p.count, q.count)
        let left = p.prefix(shared), right = q.prefix(shared)
        if left != right { return left < right ? -1 : 1 }
        return p.count == q.count ? 0 : nil
    }

    /// -1, 0, 1; `nil` when the items cannot be ordered (FHIRPath returns empty then).
    func compare(_ a: FHIRPathItem, _ b: FHIRPathItem) -> Int? {
        guard let x = systemValue(a), let y = systemValue(b) else { return nil }
        switch (x, y) {
        case (.string(let p), .string(let q)): return p < q ? -1 : p == q ? 0 : 1
        case (.date(let p), .date(let q)): return Self.compareDates(p, q)
        default:
            guard let p = number(x), let q = number(y) else { return nil }
            return p < q ? -1 : p == q ? 0 : 1
        }
    }
}
