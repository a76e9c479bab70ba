import CUnistring
import FoundationEssentials
import Glibc

/// PRECIS (RFC 8264) as RFC 8265 profiles it for usernames: the one way a login name becomes the string it is
/// compared and indexed by, so that one name spelled two ways (NFC or NFD, fullwidth or not, upper or lower case)
/// is one account, and names that only look alike (zero-width characters, ligatures, controls) are refused
/// rather than becoming a second account.
///
/// The profile is **UsernameCaseMapped** (RFC 8265 §3.4) of the **IdentifierClass**, with one narrowing: the
/// zero-width joiners (CONTEXTJ) are always refused, even after a virama where RFC 5892 would allow them.
/// Case mapping is Unicode `toLowerCase`, not case folding, as RFC 8265 says: `ß` stays `ß` (and `ẞ` becomes `ß`),
/// so `straße` and `strasse` are two names, as they are two mailboxes and two IDNA2008 labels.
///
/// The Unicode data is libunistring's (hand-writing tables would be a second, staler copy of the standard); what
/// is written here is only RFC 8264's derivation order, RFC 5892's exceptions and contextual rules, and RFC 5893's
/// Bidi Rule, which no library here implements.
public enum PRECIS {
    /// Enforces UsernameCaseMapped: width mapping, `toLowerCase`, NFC, the Bidi Rule, then every code point must be
    /// allowed by IdentifierClass. Idempotent: enforcing the result again gives the result.
    public static func usernameCaseMapped(_ input: String) throws(PRECISError) -> String {
        let scalars = input.unicodeScalars.map(\.value)
        guard !scalars.isEmpty else { throw .empty }
        let mapped = nfc(lowercased(scalars.flatMap(widthMapped)))
        guard !mapped.isEmpty else { throw .empty }
        for (index, codePoint) in mapped.enumerated() {
            switch IdentifierClass.property(of: codePoint) {
            case .valid: continue
            case .contextO where ContextRule.holds(at: index, in: mapped): continue
            case .contextO, .contextJ, .disallowed: throw .disallowed(codePoint)
            }
        }
        guard BidiRule.holds(mapped) else { throw .bidiRule }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: mapped.compactMap(Unicode.Scalar.init))
        return String(result)
    }

    /// Width Mapping Rule: fullwidth and halfwidth code points become their decomposition mappings.
    static func widthMapped(_ codePoint: UInt32) -> [UInt32] {
        var tag: Int32 = 0
        var decomposition = [UInt32](repeating: 0, count: Int(UC_DECOMPOSITION_MAX_LENGTH))
        let count = uc_decomposition(codePoint, &tag, &decomposition)
        guard count > 0, tag == Int32(UC_DECOMP_WIDE) || tag == Int32(UC_DECOMP_NARROW) else { return [codePoint] }
        return Array(decomposition.prefix(Int(count)))
    }

    /// Case Mapping Rule: Unicode `toLowerCase` (full mappings, final sigma in context).
    static func lowercased(_ codePoints: [UInt32]) -> [UInt32] {
        transformed(codePoints) { input, count, length in u32_tolower(input, count, nil, nil, nil, length) }
    }

    static func nfc(_ codePoints: [UInt32]) -> [UInt32] {
        transformed(codePoints) { input, count, length in u32_normalize(gangway_uninorm_nfc(), input, count, nil, length) }
    }

    static func nfkc(_ codePoints: [UInt32]) -> [UInt32] {
        transformed(codePoints) { input, count, length in u32_normalize(gangway_uninorm_nfkc(), input, count, nil, length) }
    }

    /// Runs a libunistring transformation that returns a malloc'ed buffer (nil only when memory runs out, which
    /// leaves the input as it was: the checks after it still refuse what they must).
    private static func transformed(
        _ codePoints: [UInt32],
        _ transform: (UnsafePointer<UInt32>, Int, UnsafeMutablePointer<Int>) -> UnsafeMutablePointer<UInt32>?
    ) -> [UInt32] {
        guard !codePoints.isEmpty else { return [] }
        var length = 0
        let output = codePoints.withUnsafeBufferPointer { transform($0.baseAddress!, $0.count, &length) }
        guard let output else { return codePoints }
        defer { free(output) }
        return Array(UnsafeBufferPointer(start: output, count: length))
    }
}

/// RFC 8264 §8's derivation of a code point's property in the IdentifierClass, in the RFC's order.
enum IdentifierClass {
    enum Property { case valid, contextJ, contextO, disallowed }

    static func property(of codePoint: UInt32) -> Property {
        if let exception = exceptions[codePoint] { return exception }
        if isCategory(codePoint, UC_CATEGORY_MASK_Cn) && !uc_is_property_not_a_character(codePoint) { return .disallowed }  // Unassigned
        if (0x21...0x7E).contains(codePoint) { return .valid }  // ASCII7
        if codePoint == 0x200C || codePoint == 0x200D { return .contextJ }  // JoinControl
        if isOldHangulJamo(codePoint) { return .disallowed }
        if uc_is_property_default_ignorable_code_point(codePoint) || uc_is_property_not_a_character(codePoint) { return .disallowed }
        if isCategory(codePoint, UC_CATEGORY_MASK_Cc) { return .disallowed }  // Controls
        if PRECIS.nfkc([codePoint]) != [codePoint] { return .disallowed }  // HasCompat
        let letterDigits =
            [UC_CATEGORY_MASK_Ll, UC_CATEGORY_MASK_Lu, UC_CATEGORY_MASK_Lo, UC_CATEGORY_MASK_Nd]
            + [UC_CATEGORY_MASK_Lm, UC_CATEGORY_MASK_Mn, UC_CATEGORY_MASK_Mc]
        if letterDigits.contains(where: { isCategory(codePoint, $0) }) { return .valid }
        // OtherLetterDigits, Spaces, Symbols, Punctuation and everything else: not in an identifier.
        return .disallowed
    }

    /// RFC 5892 §2.6, which PRECIS reuses.
    static let exceptions: [UInt32: Property] = {
        var table: [UInt32: Property] = [:]
        for codePoint: UInt32 in [0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007] { table[codePoint] = .valid }
        for codePoint: UInt32 in [0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB] { table[codePoint] = .contextO }
        for codePoint: UInt32 in Array(0x0660...0x0669) + Array(0x06F0...0x06F9) { table[codePoint] = .contextO }
        for codePoint: UInt32 in [0x0640, 0x07FA, 0x302E, 0x302F, 0x303B] + Array(0x3031...0x3035) { table[codePoint] = .disallowed }
        return table
    }()

    /// Hangul_Syllable_Type L, V or T (the conjoining jamo blocks).
    static func isOldHangulJamo(_ codePoint: UInt32) -> Bool {
        (0x1100...0x11FF).contains(codePoint) || (0xA960...0xA97F).contains(codePoint) || (0xD7B0...0xD7FF).contains(codePoint)
    }

    static func isCategory(_ codePoint: UInt32, _ mask: Int) -> Bool {
        uc_is_general_category_withtable(codePoint, UInt32(mask))
    }
}

/// RFC 5892 Appendix A's rules for the CONTEXTO code points.
enum ContextRule {
    static func holds(at index: Int, in codePoints: [UInt32]) -> Bool {
        let before = index > 0 ? codePoints[index - 1] : nil
        let after = index + 1 < codePoints.count ? codePoints[index + 1] : nil
        switch codePoints[index] {
        case 0x00B7: return before == 0x006C && after == 0x006C  // MIDDLE DOT between two l (Catalan)
        case 0x0375: return after.map { script($0) == "Greek" } ?? false  // GREEK LOWER NUMERAL SIGN
        case 0x05F3, 0x05F4: return before.map { script($0) == "Hebrew" } ?? false  // GERESH, GERSHAYIM
        case 0x30FB: return codePoints.contains { ["Hiragana", "Katakana", "Han"].contains(script($0)) }  // KATAKANA MIDDLE DOT
        case 0x0660...0x0669: return !codePoints.contains { (0x06F0...0x06F9).contains($0) }  // one digit set only
        case 0x06F0...0x06F9: return !codePoints.contains { (0x0660...0x0669).contains($0) }
        default: return false
        }
    }

    static func script(_ codePoint: UInt32) -> String? {
        uc_script(codePoint).flatMap { $0.pointee.name.map { String(cString: $0) } }
    }
}

/// RFC 5893 §2's Bidi Rule, which RFC 8265 applies to names that contain right-to-left code points.
enum BidiRule {
    static func holds(_ codePoints: [UInt32]) -> Bool {
        let classes = codePoints.map { Int(uc_bidi_category($0)) }
        guard classes.contains(where: kinds(UC_BIDI_R, UC_BIDI_AL, UC_BIDI_AN).contains) else { return true }
        let last = classes.last(where: { $0 != Int(UC_BIDI_NSM) }) ?? -1
        switch classes.first {
        case Int(UC_BIDI_L):  // a left-to-right name: rules 5 and 6
            let allowed = kinds(UC_BIDI_L, UC_BIDI_EN, UC_BIDI_ES, UC_BIDI_CS, UC_BIDI_ET, UC_BIDI_ON, UC_BIDI_BN, UC_BIDI_NSM)
            return classes.allSatisfy(allowed.contains) && kinds(UC_BIDI_L, UC_BIDI_EN).contains(last)
        case Int(UC_BIDI_R), Int(UC_BIDI_AL):  // a right-to-left name: rules 2, 3 and 4
            let allowed = kinds(UC_BIDI_R, UC_BIDI_AL, UC_BIDI_AN, UC_BIDI_EN, UC_BIDI_ES, UC_BIDI_CS, UC_BIDI_ET, UC_BIDI_ON)
                .union(kinds(UC_BIDI_BN, UC_BIDI_NSM))
            let bothDigitKinds = classes.contains(Int(UC_BIDI_EN)) && classes.contains(Int(UC_BIDI_AN))
            return classes.allSatisfy(allowed.contains) && !bothDigitKinds
                && kinds(UC_BIDI_R, UC_BIDI_AL, UC_BIDI_EN, UC_BIDI_AN).contains(last)
        default:  // rule 1: the first character must be L, R or AL
            return false
        }
    }

    private static func kinds<Kind: BinaryInteger>(_ kinds: Kind...) -> Set<Int> { Set(kinds.map { Int($0) }) }
}
