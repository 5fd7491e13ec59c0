/// The check-digit rules of the German identifiers in a KBV prescription, as the production service
/// applies them at `$activate` (fd-parity.md §8.2 rows 4, 6, 13, 14). Each answers `false` for a
/// value of the wrong form, so a caller needs no separate format check.
public enum CheckDigits {
    /// PZN (A_23892, A_24034): eight digits; the first seven weighted 1…7, summed, modulo 11 is the
    /// eighth (a remainder of 10 makes no valid PZN).
    public static func isValidPZN(_ text: String) -> Bool {
        guard let digits = digits(text, count: 8) else { return false }
        let sum = digits.prefix(7).enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
        return sum % 11 == digits[7]
    }

    /// IKNR (A_23888, A_24030): nine digits; after the two classification digits, six digits weighted
    /// 2, 1, 2, … (products' digit sums) give modulo 10 the ninth.
    public static func isValidIKNR(_ text: String) -> Bool {
        guard let digits = digits(text, count: 9) else { return false }
        return luhnSum(digits[2..<8], weights: [2, 1]) % 10 == digits[8]
    }

    /// KVNR (A_23890-01): a letter and nine digits; the letter becomes its two-digit alphabet number
    /// (A = 01), and with the next eight digits, weighted 1, 2, 1, … (products' digit sums), gives
    /// modulo 10 the last digit.
    public static func isValidKVNR(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(bytes[0]),
              let rest = digits(String(decoding: bytes[1...], as: UTF8.self), count: 9)
        else { return false }
        let letter = Int(bytes[0] - UInt8(ascii: "A")) + 1
        let numbers = [letter / 10, letter % 10] + rest.prefix(8)
        return luhnSum(numbers[...], weights: [1, 2]) % 10 == rest[8]
    }

    /// LANR and ZANR (A_23891): nine digits; the first six weighted 4, 9, 4, … (plain products), and
    /// the seventh digit completes the sum to a multiple of 10. Numbers starting `555555` are the
    /// pseudo numbers the KBV hands out for hospital doctors without a LANR: always valid.
    public static func isValidANR(_ text: String) -> Bool {
        guard let digits = digits(text, count: 9) else { return false }
        if text.hasPrefix("555555") { return true }
        let sum = digits.prefix(6).enumerated().reduce(0) { $0 + $1.element * ($1.offset % 2 == 0 ? 4 : 9) }
        return (sum + digits[6]) % 10 == 0
    }

    private static func digits(_ text: String, count: Int) -> [Int]? {
        let bytes = Array(text.utf8)
        guard bytes.count == count, bytes.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return bytes.map { Int($0 - UInt8(ascii: "0")) }
    }

    /// Weighted sum where a two-digit product counts as its digit sum (9 subtracted).
    private static func luhnSum(_ digits: ArraySlice<Int>, weights: [Int]) -> Int {
        digits.enumerated().reduce(0) { sum, item in
            let product = item.element * weights[item.offset % weights.count]
            return sum + (product > 9 ? product - 9 : product)
        }
    }
}
