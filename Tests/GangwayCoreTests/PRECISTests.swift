import Testing

@testable import GangwayPlatform

/// RFC 8265 UsernameCaseMapped, one pair or one refusal per case the hardening issue names.
@Suite("PRECIS UsernameCaseMapped")
struct PRECISTests {
    func enforce(_ name: String) throws(PRECISError) -> String { try PRECIS.usernameCaseMapped(name) }

    @Test(
        "spellings of one name enforce to one string",
        arguments: [
            ("re\u{301}sume\u{301}@example.com", "r\u{E9}sum\u{E9}@example.com"),  // NFD and NFC
            ("\u{FF21}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}", "alice"),  // fullwidth
            ("\u{FF71}", "\u{30A2}"),  // halfwidth katakana
            ("Alice@Example.COM", "alice@example.com"),  // case
            ("STRA\u{1E9E}E", "stra\u{DF}e"),  // capital sharp s lowercases to ß
            ("\u{3A3}\u{391}\u{3A3}", "\u{3C3}\u{3B1}\u{3C2}"),  // Greek final sigma in context
            ("\u{212B}ngstr\u{F6}m", "\u{E5}ngstr\u{F6}m"),  // ANGSTROM SIGN is canonically Å
        ])
    func sameName(_ one: String, _ other: String) throws {
        #expect(try enforce(one) == enforce(other))
        #expect(try enforce(enforce(one)) == enforce(one))  // idempotent
    }

    @Test("ß and ss stay two names: toLowerCase, not case folding (RFC 8265 §3.4.2; two mailboxes, two IDNA2008 labels)")
    func sharpSIsNotSS() throws {
        #expect(try enforce("stra\u{DF}e@example.com") != enforce("strasse@example.com"))
        #expect(try enforce("stra\u{DF}e@example.com") == "stra\u{DF}e@example.com")
    }

    @Test(
        "look-alikes and invisible characters are refused, naming the code point",
        arguments: [
            ("\u{FB01}nn@example.com", 0xFB01),  // ligature fi (HasCompat)
            ("a\u{200B}b", 0x200B),  // ZERO WIDTH SPACE
            ("a\u{200C}b", 0x200C),  // ZERO WIDTH NON-JOINER (CONTEXTJ: always refused here)
            ("a\u{200D}b", 0x200D),  // ZERO WIDTH JOINER
            ("\u{FEFF}alice", 0xFEFF),  // BOM / ZERO WIDTH NO-BREAK SPACE
            ("al\u{AD}ice", 0xAD),  // SOFT HYPHEN (default ignorable)
            ("a\u{7}b", 0x7),  // BEL
            ("a\u{85}b", 0x85),  // NEXT LINE (C1 control)
            ("a b", 0x20),  // space
            ("snow\u{2603}", 0x2603),  // symbol
            ("\u{2460}", 0x2460),  // circled digit one (HasCompat)
            ("a\u{378}", 0x378),  // unassigned
            ("a\u{B7}b", 0xB7),  // MIDDLE DOT outside l·l
            ("\u{1100}", 0x1100),  // a lone conjoining (old) Hangul jamo (L+V would compose to a syllable)
        ] as [(String, UInt32)])
    func refused(_ name: String, _ codePoint: UInt32) {
        #expect(throws: PRECISError.disallowed(codePoint)) { try enforce(name) }
    }

    @Test("contextual code points pass in their context: Catalan l·l, Greek keraia, Hebrew geresh, one Arabic digit set")
    func contextRules() throws {
        #expect(try enforce("col\u{B7}lega") == "col\u{B7}lega")
        #expect(try enforce("\u{3B1}\u{375}\u{3B2}") == "\u{3B1}\u{375}\u{3B2}")
        #expect(try enforce("\u{5D0}\u{5F3}") == "\u{5D0}\u{5F3}")
        #expect(try enforce("\u{628}\u{661}\u{662}") == "\u{628}\u{661}\u{662}")
        #expect(throws: PRECISError.disallowed(0x661)) { try enforce("\u{628}\u{661}\u{6F2}") }
    }

    @Test("right-to-left names follow the Bidi Rule")
    func bidiRule() throws {
        #expect(try enforce("\u{5E9}\u{5DC}\u{5D5}\u{5DD}") == "\u{5E9}\u{5DC}\u{5D5}\u{5DD}")  // Hebrew
        #expect(try enforce("\u{5E9}\u{5DC}\u{5D5}\u{5DD}1") == "\u{5E9}\u{5DC}\u{5D5}\u{5DD}1")  // may end in a digit
        #expect(throws: PRECISError.bidiRule) { try enforce("a\u{5E9}") }  // left-to-right name with an R character
        #expect(throws: PRECISError.bidiRule) { try enforce("1\u{5E9}") }  // must not start with a digit
        #expect(throws: PRECISError.bidiRule) { try enforce("\u{5E9}a") }  // right-to-left name with an L character
    }

    @Test("nothing, or nothing left, is refused as empty")
    func empty() {
        #expect(throws: PRECISError.empty) { try enforce("") }
    }
}
