import FoundationEssentials

/// Why PRECIS refused a string. Compare with the static members (`error == .bidiRule`), never by message.
public struct PRECISError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case empty
        case disallowed(UInt32)
        case bidiRule
    }

    private let code: Code

    /// Nothing is left once the string is mapped (or nothing was given).
    public static let empty = PRECISError(code: .empty)
    /// A code point that the IdentifierClass does not allow here (a control, a zero-width or compatibility
    /// character, a symbol, an unassigned code point, or a contextual one out of its context).
    public static func disallowed(_ codePoint: UInt32) -> PRECISError { PRECISError(code: .disallowed(codePoint)) }
    /// Right-to-left text that breaks RFC 5893's Bidi Rule.
    public static let bidiRule = PRECISError(code: .bidiRule)

    /// The refused code point, when one is to blame.
    public var codePoint: UInt32? {
        if case .disallowed(let codePoint) = code { return codePoint }
        return nil
    }

    public var description: String {
        switch code {
        case .empty: "the name is empty"
        case .disallowed(let codePoint): "\(Self.notation(codePoint)) is not allowed in a name"
        case .bidiRule: "the name mixes left-to-right and right-to-left text in a way RFC 5893 refuses"
        }
    }

    /// `U+200B`: the standard's notation, at least four hex digits.
    static func notation(_ codePoint: UInt32) -> String {
        let hex = String(codePoint, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
