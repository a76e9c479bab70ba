import FoundationEssentials
import GangwayPlatform

/// Auth0's `custom_password_hash`: a password hash made by another system, carried by a user of a bulk import file
/// (`POST /api/v2/jobs/users-imports`) and checked at that user's first login. Auth0's layout, field for field:
///
/// ```json
/// {"algorithm": "sha256",
///  "hash": {"value": "…", "encoding": "hex", "digest": "sha1", "key": {"value": "…", "encoding": "utf8"}},
///  "salt": {"value": "…", "encoding": "utf8", "position": "prefix"},
///  "password": {"encoding": "utf8"},
///  "keylen": 64, "cost": 16384, "blockSize": 8, "parallelization": 1}
/// ```
///
/// `salt`, `password` and the scrypt numbers are siblings of `hash`; `hash.digest` and `hash.key` are HMAC's.
/// Every object is `additionalProperties: false`. What each algorithm reads:
///
/// | algorithm | hash.value | hash.encoding | salt |
/// |---|---|---|---|
/// | bcrypt | `$2a$`/`$2b$`/`$2y$`, cost ≤ 16 | utf8 | optional, joined to the password |
/// | argon2 | PHC `$argon2{i,d,id}$v=19$m=…,t=…,p=…$salt$hash` | utf8 | refused (in the string) |
/// | pbkdf2 | PHC `$pbkdf2-<digest>$i=…,l=…$salt$hash`, i=100000 l=64 by default | utf8 | refused (in the string) |
/// | ldap | RFC 2307 `{MD5}`, `{SMD5}`, `{SHA}`, `{SSHA}`, `{SHA256}`…`{SSHA512}` | utf8 | refused (in the value) |
/// | md4, md5, sha1, sha256, sha512 | digest of salt+password (or password+salt) | hex or base64 | optional |
/// | hmac | HMAC(key, salted password) with `hash.digest` | hex or base64 | optional |
/// | scrypt | the derived key, `keylen` bytes | hex or base64 | the KDF's salt |
///
/// Decisions where Auth0's documentation is silent (each also noted where it is applied):
/// - A missing `hash.encoding` means utf8 for the algorithms whose value is text (bcrypt, argon2, pbkdf2, ldap) and
///   is refused (`OBJECT_REQUIRED`) for those that need hex or base64: guessing between them would be a coin toss.
/// - A missing `salt.position` is `prefix`, Auth0's own example (`MD5('salt' + 'password')`).
/// - Fields that belong to another algorithm (`salt` on argon2/pbkdf2/ldap, `hash.digest`/`hash.key` off hmac, the
///   scrypt numbers off scrypt) are refused as `OBJECT_ADDITIONAL_PROPERTIES` at their own path.
/// - A hash value that cannot match (wrong length for its digest or `keylen`, undecodable text) is refused at import
///   (`FORMAT`), not left to fail every login.
/// - Resource caps (a hash in an import file must not be a denial of service): argon2 m ≤ 262144 KiB, t ≤ 16, p ≤ 16;
///   pbkdf2 i ≤ 10,000,000 and l ≤ 1024; scrypt 128·N·r·p ≤ 256 MiB and keylen ≤ 1024; bcrypt cost ≤ 16. `verify`
///   checks them again on the stored object and answers false beyond them.
public struct ImportedPasswordHash: Codable, Sendable, Equatable {
    public enum Algorithm: String, Codable, Sendable, CaseIterable {
        case argon2, bcrypt, hmac, ldap, md4, md5, sha1, sha256, sha512, pbkdf2, scrypt
    }

    /// How `hash.value`, `hash.key.value` and `salt.value` are written. Hex in either case; base64 standard or URL-safe,
    /// padded or not.
    public enum TextEncoding: String, Codable, Sendable, CaseIterable {
        case base64, hex, utf8
    }

    /// HMAC's digests (`hash.digest`). md4 and whirlpool need OpenSSL's legacy provider (see `MessageDigest`).
    public enum HMACDigest: String, Codable, Sendable, CaseIterable {
        case md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512, whirlpool
    }

    /// How the typed password becomes bytes before hashing (Node's `Buffer` encodings; `ucs2` is `utf16le`, `binary`
    /// is `latin1`). Decision: a password with a character the encoding cannot hold never verifies (Node would
    /// silently keep the low byte of each UTF-16 unit for ascii/latin1, so "Ł" would match "A"; we do not).
    public enum PasswordEncoding: String, Codable, Sendable, CaseIterable {
        case ascii, utf8, utf16le, ucs2, latin1, binary
    }

    public enum SaltPosition: String, Codable, Sendable, CaseIterable {
        case prefix, suffix
    }

    public struct Hash: Codable, Sendable, Equatable {
        public var value: String
        public var encoding: TextEncoding?
        /// HMAC only.
        public var digest: HMACDigest?
        /// HMAC only.
        public var key: Key?
    }

    public struct Key: Codable, Sendable, Equatable {
        public var value: String
        /// Default utf8.
        public var encoding: TextEncoding?
    }

    public struct Salt: Codable, Sendable, Equatable {
        public var value: String
        /// Default utf8.
        public var encoding: TextEncoding?
        /// Default prefix.
        public var position: SaltPosition?
    }

    public struct Password: Codable, Sendable, Equatable {
        /// Default utf8.
        public var encoding: PasswordEncoding?
    }

    public var algorithm: Algorithm
    public var hash: Hash
    public var salt: Salt?
    public var password: Password?
    /// scrypt only: the derived key's length in bytes (required).
    public var keylen: Int?
    /// scrypt only: N, a power of two (default 16384).
    public var cost: Int?
    /// scrypt only: r (default 8).
    public var blockSize: Int?
    /// scrypt only: p (default 1).
    public var parallelization: Int?

    // MARK: - Caps

    public static let maxArgon2MemoryKiB = 262_144
    public static let maxArgon2Iterations = 16
    public static let maxArgon2Parallelism = 16
    public static let maxPBKDF2Iterations = 10_000_000
    public static let maxScryptMemoryBytes = 256 << 20
    /// Derived-key length cap for pbkdf2 `l` and scrypt `keylen` (pbkdf2's work grows with it).
    public static let maxKeyLength = 1024
    /// Shared with `PasswordHash`: a cost above it would take minutes per login.
    public static var maxBcryptCost: Int { PasswordHash.maxVerifyCost }

    // MARK: - Validation

    /// Validates Auth0's object; `path` is where it sits in the user ("custom_password_hash").
    /// The first problem found is thrown with its dotted path: unknown properties first, then required ones, then each
    /// field's type and enumeration, then the algorithm's own rules.
    public static func parse(_ value: JSONValue, path: String = "custom_password_hash") throws(UserImportError) -> ImportedPasswordHash {
        let fields = try object(
            value, path, allowed: ["algorithm", "hash", "salt", "password", "keylen", "cost", "blockSize", "parallelization"])
        guard let algorithmValue = fields["algorithm"] else { throw .missing(path, "algorithm") }
        guard let hashValue = fields["hash"] else { throw .missing(path, "hash") }
        var result = ImportedPasswordHash(
            algorithm: try choice(algorithmValue, path + ".algorithm"), hash: try parseHash(hashValue, path + ".hash"))
        if let v = fields["salt"] { result.salt = try parseSalt(v, path + ".salt") }
        if let v = fields["password"] {
            let p = try object(v, path + ".password", allowed: ["encoding"])
            result.password = Password()
            if let e = p["encoding"] { result.password?.encoding = try choice(e, path + ".password.encoding") }
        }
        if let v = fields["keylen"] { result.keylen = try integer(v, path + ".keylen") }
        if let v = fields["cost"] { result.cost = try integer(v, path + ".cost") }
        if let v = fields["blockSize"] { result.blockSize = try integer(v, path + ".blockSize") }
        if let v = fields["parallelization"] { result.parallelization = try integer(v, path + ".parallelization") }
        _ = try result.plan(path)
        return result
    }

    /// A plain `password_hash` (bcrypt `$2a$`/`$2b$`/`$2y$` only) validated the same way; path "password_hash".
    public static func parseBcrypt(_ value: JSONValue, path: String = "password_hash") throws(UserImportError) -> String {
        guard case .string(let s) = value else { throw .type(path, expected: "string", found: value) }
        return try bcryptHash(s, path)
    }

    private static func parseHash(_ value: JSONValue, _ path: String) throws(UserImportError) -> Hash {
        let fields = try object(value, path, allowed: ["value", "encoding", "digest", "key"])
        guard let v = fields["value"] else { throw .missing(path, "value") }
        var hash = Hash(value: try string(v, path + ".value"))
        if let v = fields["encoding"] { hash.encoding = try choice(v, path + ".encoding") }
        if let v = fields["digest"] { hash.digest = try choice(v, path + ".digest") }
        if let v = fields["key"] {
            let key = try object(v, path + ".key", allowed: ["value", "encoding"])
            guard let kv = key["value"] else { throw .missing(path + ".key", "value") }
            hash.key = Key(value: try string(kv, path + ".key.value"))
            if let e = key["encoding"] { hash.key?.encoding = try choice(e, path + ".key.encoding") }
        }
        return hash
    }

    private static func parseSalt(_ value: JSONValue, _ path: String) throws(UserImportError) -> Salt {
        // Auth0's published schema lists `"required": ["value", "hash"]` here, a slip: a salt has no `hash`.
        let fields = try object(value, path, allowed: ["value", "encoding", "position"])
        guard let v = fields["value"] else { throw .missing(path, "value") }
        var salt = Salt(value: try string(v, path + ".value"))
        if let v = fields["encoding"] { salt.encoding = try choice(v, path + ".encoding") }
        if let v = fields["position"] { salt.position = try choice(v, path + ".position") }
        return salt
    }

    // MARK: - The algorithms' rules

    /// What `verify` computes, decoded and checked: built by `parse` (which throws its errors) and again by every
    /// `verify` (which answers false), so a stored object is never trusted.
    struct Plan {
        var recipe: Recipe
        /// The salt joined to the password (bcrypt, the digests, hmac); empty otherwise.
        var joinedSalt: [UInt8] = []
        var saltFirst = true
        var passwordEncoding: PasswordEncoding = .utf8
    }

    enum Recipe {
        case bcrypt(hash: String)
        case argon2(encoded: String, variant: PasswordKDF.Argon2Variant)
        case pbkdf2(digest: String, iterations: Int, salt: [UInt8], hash: [UInt8])
        case ldap(digest: String, salt: [UInt8], hash: [UInt8])
        case digest(name: String, hash: [UInt8])
        case hmac(digest: String, key: [UInt8], hash: [UInt8])
        case scrypt(n: Int, r: Int, p: Int, salt: [UInt8], hash: [UInt8])
    }

    func plan(_ path: String) throws(UserImportError) -> Plan {
        let hashPath = path + ".hash"
        let valuePath = hashPath + ".value"
        // Fields that belong to another algorithm.
        if algorithm != .scrypt {
            for (name, present) in [("keylen", keylen), ("cost", cost), ("blockSize", blockSize), ("parallelization", parallelization)]
            where present != nil {
                throw .notAllowed(path, name)
            }
        }
        if algorithm != .hmac {
            if hash.digest != nil { throw .notAllowed(hashPath, "digest") }
            if hash.key != nil { throw .notAllowed(hashPath, "key") }
        }
        if salt != nil, [.argon2, .pbkdf2, .ldap].contains(algorithm) { throw .notAllowed(path, "salt") }
        // hash.encoding: text for the self-describing formats, hex or base64 for raw digests.
        let textual: Set<Algorithm> = [.bcrypt, .argon2, .pbkdf2, .ldap]
        switch (textual.contains(algorithm), hash.encoding) {
        case (true, nil), (true, .utf8?), (false, .hex?), (false, .base64?): break
        case (false, nil): throw .missing(hashPath, "encoding")
        case (_, let e?): throw .notOneOf(hashPath + ".encoding", e.rawValue)
        }

        var plan = Plan(recipe: .bcrypt(hash: ""), passwordEncoding: password?.encoding ?? .utf8)
        var saltBytes: [UInt8] = []
        if let salt {
            guard let bytes = Self.decode(salt.value, salt.encoding ?? .utf8) else {
                throw .field("FORMAT", path + ".salt.value", "Not valid \((salt.encoding ?? .utf8).rawValue)")
            }
            saltBytes = bytes
            plan.saltFirst = (salt.position ?? .prefix) == .prefix
        }
        if algorithm != .scrypt { plan.joinedSalt = saltBytes }

        switch algorithm {
        case .bcrypt:
            plan.recipe = .bcrypt(hash: try Self.bcryptHash(hash.value, valuePath))
        case .argon2:
            plan.recipe = try Self.argon2(hash.value, valuePath)
        case .pbkdf2:
            plan.recipe = try Self.pbkdf2(hash.value, valuePath)
        case .ldap:
            plan.recipe = try Self.ldap(hash.value, valuePath)
        case .md4, .md5, .sha1, .sha256, .sha512:
            // The algorithm names are also HMAC digest names.
            guard let digest = HMACDigest(rawValue: algorithm.rawValue) else { throw .notOneOf(path + ".algorithm", algorithm.rawValue) }
            plan.recipe = .digest(name: digest.openSSLName, hash: try decodedHash(valuePath, length: digest.size))
        case .hmac:
            guard let digest = hash.digest else { throw .missing(hashPath, "digest") }
            guard let key = hash.key else { throw .missing(hashPath, "key") }
            guard let keyBytes = Self.decode(key.value, key.encoding ?? .utf8) else {
                throw .field("FORMAT", hashPath + ".key.value", "Not valid \((key.encoding ?? .utf8).rawValue)")
            }
            plan.recipe = .hmac(digest: digest.openSSLName, key: keyBytes, hash: try decodedHash(valuePath, length: digest.size))
        case .scrypt:
            plan.recipe = try scrypt(path, salt: saltBytes)
        }
        return plan
    }

    /// `hash.value` decoded with `hash.encoding` (hex or base64), `length` bytes long.
    private func decodedHash(_ path: String, length: Int) throws(UserImportError) -> [UInt8] {
        let encoding = hash.encoding ?? .utf8
        guard let bytes = Self.decode(hash.value, encoding) else { throw .field("FORMAT", path, "Not valid \(encoding.rawValue)") }
        guard bytes.count == length else {
            throw .field("FORMAT", path, "Expected \(length) bytes for \(algorithm.rawValue) but found \(bytes.count)")
        }
        return bytes
    }

    /// scrypt: N (`cost`) a power of two, r (`blockSize`), p (`parallelization`), `keylen` the hash's length. Decision:
    /// the salt is optional (an empty KDF salt), as Node's `crypto.scrypt` allows.
    private func scrypt(_ path: String, salt: [UInt8]) throws(UserImportError) -> Recipe {
        guard let keylen else { throw .missing(path, "keylen") }
        guard keylen >= 1 else { throw .field("MINIMUM", path + ".keylen", "Value \(keylen) is less than minimum 1") }
        guard keylen <= Self.maxKeyLength else {
            throw .field("MAXIMUM", path + ".keylen", "Value \(keylen) is greater than maximum \(Self.maxKeyLength)")
        }
        let n = cost ?? 16384
        let r = blockSize ?? 8
        let p = parallelization ?? 1
        guard n >= 2 else { throw .field("MINIMUM", path + ".cost", "Value \(n) is less than minimum 2") }
        guard n & (n - 1) == 0 else { throw .field("FORMAT", path + ".cost", "Value \(n) is not a power of 2") }
        guard r >= 1 else { throw .field("MINIMUM", path + ".blockSize", "Value \(r) is less than minimum 1") }
        guard p >= 1 else { throw .field("MINIMUM", path + ".parallelization", "Value \(p) is less than minimum 1") }
        // 128·N·r·p bytes, computed without overflow; reported at `cost`, the usual culprit.
        let limit = Self.maxScryptMemoryBytes / 128
        guard n <= limit, r <= limit / n, p <= limit / (n * r) else {
            throw .field("MAXIMUM", path + ".cost", "128 * cost * blockSize * parallelization exceeds \(Self.maxScryptMemoryBytes) bytes")
        }
        // RFC 7914 §2: N < 2^(128·r/8).
        guard r >= 4 || n < 1 << (16 * r) else {
            throw .field("MAXIMUM", path + ".cost", "Value \(n) must be below 2^(16 * blockSize)")
        }
        return .scrypt(n: n, r: r, p: p, salt: salt, hash: try decodedHash(path + ".hash.value", length: keylen))
    }

    /// bcrypt: `$2a$`, `$2b$` or `$2y$`, a two-digit cost in 4…16, `$`, then 53 characters of bcrypt's base64.
    /// (`$2$`, `$2x$` and `$sha1$` are refused, as Auth0 does.)
    static func bcryptHash(_ s: String, _ path: String) throws(UserImportError) -> String {
        let b = Array(s.utf8)
        guard b.count >= 4, b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"), Array("aby".utf8).contains(b[2]),
            b[3] == UInt8(ascii: "$")
        else { throw .field("PATTERN", path, "Expected a bcrypt hash starting with $2a$, $2b$ or $2y$") }
        guard b.count == 60, b[6] == UInt8(ascii: "$"), let cost = Int(String(decoding: b[4..<6], as: UTF8.self)),
            b[4] != UInt8(ascii: "+"),
            b[7...].allSatisfy(isBcryptDigit)
        else { throw .field("PATTERN", path, "Expected $2b$<2-digit cost>$<53 characters of bcrypt base64>") }
        guard cost >= 4 else { throw .field("MINIMUM", path, "bcrypt cost \(cost) is less than minimum 4") }
        guard cost <= maxBcryptCost else { throw .field("MAXIMUM", path, "bcrypt cost \(cost) is greater than maximum \(maxBcryptCost)") }
        return s
    }

    private static func isBcryptDigit(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    /// argon2: `$argon2{i,d,id}[$v=16|19]$m=<KiB>,t=<passes>,p=<lanes>$<B64 salt>$<B64 hash>`, as libargon2 (and
    /// Auth0's `magic`, on node-argon2) writes it: parameters in that order, no `keyid`/`data`, salt ≥ 8 bytes,
    /// hash ≥ 4 bytes. The numbers are checked against the caps here; libargon2 checks the rest when verifying.
    static func argon2(_ s: String, _ path: String) throws(UserImportError) -> Recipe {
        let malformed = UserImportError.field(
            "PATTERN", path, "Expected $argon2id$v=19$m=<memory>,t=<iterations>,p=<parallelism>$<salt>$<hash>")
        var parts = s.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5 || parts.count == 6, parts[0].isEmpty, let variant = PasswordKDF.Argon2Variant(rawValue: parts[1]) else {
            throw malformed
        }
        if parts.count == 6 {
            guard parts[2] == "v=16" || parts[2] == "v=19" else { throw malformed }
            parts.remove(at: 2)
        }
        let params = try keyValues(parts[2], keys: ["m", "t", "p"], ordered: true, malformed)
        guard let m = params["m"], let t = params["t"], let p = params["p"] else { throw malformed }
        guard (1...maxArgon2Parallelism).contains(p) else { throw range(path, "p", p, 1, maxArgon2Parallelism) }
        guard (1...maxArgon2Iterations).contains(t) else { throw range(path, "t", t, 1, maxArgon2Iterations) }
        guard (8 * p...maxArgon2MemoryKiB).contains(m) else { throw range(path, "m", m, 8 * p, maxArgon2MemoryKiB) }
        guard let salt = Base64.decode(parts[3], .phc), let hash = Base64.decode(parts[4], .phc) else {
            throw .field("FORMAT", path, "The salt and hash must be unpadded base64")
        }
        guard salt.count >= 8, hash.count >= 4 else {
            throw .field("FORMAT", path, "The salt must be 8 bytes or more and the hash 4 or more")
        }
        return .argon2(encoded: s, variant: variant)
    }

    /// pbkdf2: `$pbkdf2-<digest>[$i=<iterations>,l=<keylen>]$<B64 salt>$<B64 hash>`, i=100000 and l=64 when left out
    /// (in any order, each optional: the PHC format's rules). The digest is any of the 33 names Auth0 lists, or any
    /// other name OpenSSL resolves (Decision: Auth0's list is Node's `crypto.getHashes()`, i.e. OpenSSL's names).
    /// Decision: the hash must be `l` bytes long (a shorter one could never match).
    static func pbkdf2(_ s: String, _ path: String) throws(UserImportError) -> Recipe {
        let malformed = UserImportError.field("PATTERN", path, "Expected $pbkdf2-<digest>$i=<iterations>,l=<keylen>$<salt>$<hash>")
        let parts = s.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 || parts.count == 5, parts[0].isEmpty, parts[1].hasPrefix("pbkdf2-") else { throw malformed }
        let digest = String(parts[1].dropFirst("pbkdf2-".count))
        guard !digest.isEmpty, digest.utf8.count <= 40,
            digest.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        else { throw malformed }
        guard pbkdf2Digests.contains(digest.lowercased()) || MessageDigest.size(digest) != nil else {
            throw .field("FORMAT", path, "Unknown digest: \(digest)")
        }
        let params = parts.count == 5 ? try keyValues(parts[2], keys: ["i", "l"], ordered: false, malformed) : [:]
        let iterations = params["i"] ?? 100_000
        let length = params["l"] ?? 64
        guard (1...maxPBKDF2Iterations).contains(iterations) else { throw range(path, "i", iterations, 1, maxPBKDF2Iterations) }
        guard (1...maxKeyLength).contains(length) else { throw range(path, "l", length, 1, maxKeyLength) }
        guard let salt = Base64.decode(parts[parts.count - 2], .phc), let hash = Base64.decode(parts[parts.count - 1], .phc) else {
            throw .field("FORMAT", path, "The salt and hash must be base64 without padding")
        }
        guard !salt.isEmpty else { throw .field("FORMAT", path, "The salt is empty") }
        guard hash.count == length else { throw .field("FORMAT", path, "Expected \(length) bytes of hash (l) but found \(hash.count)") }
        return .pbkdf2(digest: digest, iterations: iterations, salt: salt, hash: hash)
    }

    /// The digest names Auth0 documents for pbkdf2 (lower-cased; OpenSSL resolves names without regard to case).
    static let pbkdf2Digests: Set<String> = [
        "rsa-md4", "rsa-md5", "rsa-mdc2", "rsa-ripemd160", "rsa-sha1", "rsa-sha1-2", "rsa-sha224", "rsa-sha256", "rsa-sha384",
        "rsa-sha512", "md4", "md4withrsaencryption", "md5", "md5withrsaencryption", "mdc2", "mdc2withrsa", "ripemd", "ripemd160",
        "ripemd160withrsa", "rmd160", "sha1", "sha1withrsaencryption", "sha224", "sha224withrsaencryption", "sha256",
        "sha256withrsaencryption", "sha384", "sha384withrsaencryption", "sha512", "sha512withrsaencryption", "ssl3-md5",
        "ssl3-sha1", "whirlpool",
    ]

    /// ldap: RFC 2307 `{SCHEME}<base64>`, the scheme in any case. Salted schemes (`{SMD5}`, `{SSHA…}`) hold
    /// base64(digest(password + salt) + salt); Decision: their salt must be at least one byte. `{CRYPT}` is refused
    /// (its meaning depends on the LDAP server's libc), as Auth0 does.
    static func ldap(_ s: String, _ path: String) throws(UserImportError) -> Recipe {
        guard s.hasPrefix("{"), let close = s.firstIndex(of: "}") else {
            throw .field("PATTERN", path, "Expected {SCHEME}<base64> (RFC 2307)")
        }
        let scheme = s[s.index(after: s.startIndex)..<close].uppercased()
        let schemes: [String: (digest: HMACDigest, salted: Bool)] = [
            "MD5": (.md5, false), "SMD5": (.md5, true), "SHA": (.sha1, false), "SSHA": (.sha1, true),
            "SHA256": (.sha256, false), "SSHA256": (.sha256, true), "SHA384": (.sha384, false), "SSHA384": (.sha384, true),
            "SHA512": (.sha512, false), "SSHA512": (.sha512, true),
        ]
        guard let (digest, salted) = schemes[scheme] else { throw .field("FORMAT", path, "Unsupported LDAP scheme: {\(scheme)}") }
        guard let bytes = Base64.decode(String(s[s.index(after: close)...])) else { throw .field("FORMAT", path, "Not valid base64") }
        guard salted ? bytes.count > digest.size : bytes.count == digest.size else {
            throw .field("FORMAT", path, "Wrong length for {\(scheme)}: \(bytes.count) bytes")
        }
        return .ldap(digest: digest.openSSLName, salt: Array(bytes[digest.size...]), hash: Array(bytes[..<digest.size]))
    }

    // MARK: - Verification

    /// True when `password` is the one this hash was made from. Constant-time compare of the derived bytes;
    /// false (never a crash or a hang) on any malformed field, over-cap parameter or library failure.
    public func verify(_ password: String) -> Bool {
        guard let plan = try? plan("custom_password_hash"), let typed = Self.bytes(of: password, plan.passwordEncoding) else {
            return false
        }
        let input = plan.saltFirst ? plan.joinedSalt + typed : typed + plan.joinedSalt
        switch plan.recipe {
        case .bcrypt(let hash):
            guard let computed = PasswordKDF.crypt(input, setting: hash) else { return false }
            return Digest.constantTimeEquals(Array(computed.utf8), Array(hash.utf8))
        case .argon2(let encoded, let variant):
            return PasswordKDF.argon2Verify(encoded, password: input, variant: variant)
        case .pbkdf2(let digest, let iterations, let salt, let hash):
            return matches(
                PasswordKDF.pbkdf2(password: input, salt: salt, iterations: iterations, digest: digest, length: hash.count), hash)
        case .ldap(let digest, let salt, let hash):
            return matches(MessageDigest.hash(digest, input + salt), hash)
        case .digest(let name, let hash):
            return matches(MessageDigest.hash(name, input), hash)
        case .hmac(let digest, let key, let hash):
            return matches(MessageDigest.hmac(digest, key: key, data: input), hash)
        case .scrypt(let n, let r, let p, let salt, let hash):
            return matches(PasswordKDF.scrypt(password: input, salt: salt, n: n, r: r, p: p, length: hash.count), hash)
        }
    }

    private func matches(_ computed: [UInt8]?, _ expected: [UInt8]) -> Bool {
        guard let computed else { return false }
        return Digest.constantTimeEquals(computed, expected)
    }

    /// The typed password in `encoding`, or nil when a character does not fit (ascii above U+007F, latin1 above U+00FF).
    static func bytes(of password: String, _ encoding: PasswordEncoding) -> [UInt8]? {
        switch encoding {
        case .utf8:
            return Array(password.utf8)
        case .utf16le, .ucs2:
            return password.utf16.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        case .ascii, .latin1, .binary:
            let limit: UInt32 = encoding == .ascii ? 0x7F : 0xFF
            var out = [UInt8]()
            for scalar in password.unicodeScalars {
                guard scalar.value <= limit else { return nil }
                out.append(UInt8(scalar.value))
            }
            return out
        }
    }

    // MARK: - Export

    /// Auth0's object again (for an export in Auth0's import schema): the fields as imported, defaults left out.
    public var json: JSONValue {
        var hashObject: [String: JSONValue] = ["value": .string(hash.value)]
        if let e = hash.encoding { hashObject["encoding"] = .string(e.rawValue) }
        if let d = hash.digest { hashObject["digest"] = .string(d.rawValue) }
        if let key = hash.key {
            var k: [String: JSONValue] = ["value": .string(key.value)]
            if let e = key.encoding { k["encoding"] = .string(e.rawValue) }
            hashObject["key"] = .object(k)
        }
        var o: [String: JSONValue] = ["algorithm": .string(algorithm.rawValue), "hash": .object(hashObject)]
        if let salt {
            var s: [String: JSONValue] = ["value": .string(salt.value)]
            if let e = salt.encoding { s["encoding"] = .string(e.rawValue) }
            if let p = salt.position { s["position"] = .string(p.rawValue) }
            o["salt"] = .object(s)
        }
        if let password { o["password"] = .object(password.encoding.map { ["encoding": .string($0.rawValue)] } ?? [:]) }
        if let keylen { o["keylen"] = .int(Int64(keylen)) }
        if let cost { o["cost"] = .int(Int64(cost)) }
        if let blockSize { o["blockSize"] = .int(Int64(blockSize)) }
        if let parallelization { o["parallelization"] = .int(Int64(parallelization)) }
        return .object(o)
    }

    // MARK: - JSON helpers

    private static func object(_ value: JSONValue, _ path: String, allowed: Set<String>) throws(UserImportError) -> [String: JSONValue] {
        guard case .object(let fields) = value else { throw .type(path, expected: "object", found: value) }
        if let extra = fields.keys.filter({ !allowed.contains($0) }).sorted().first { throw .notAllowed(path, extra) }
        return fields
    }

    private static func string(_ value: JSONValue, _ path: String) throws(UserImportError) -> String {
        guard case .string(let s) = value else { throw .type(path, expected: "string", found: value) }
        return s
    }

    private static func choice<E: RawRepresentable<String>>(_ value: JSONValue, _ path: String) throws(UserImportError) -> E {
        let s = try string(value, path)
        guard let e = E(rawValue: s) else { throw .notOneOf(path, s) }
        return e
    }

    /// A JSON integer (an integral number such as `8.0` counts, as in JSON Schema draft 6 and later).
    private static func integer(_ value: JSONValue, _ path: String) throws(UserImportError) -> Int {
        guard let i = value.intValue, let n = Int(exactly: i) else { throw .type(path, expected: "integer", found: value) }
        return n
    }

    /// `k=v,k=v` of decimal numbers with only `keys`, each at most once (in `keys`' order, all present, when `ordered`).
    private static func keyValues(_ s: String, keys: [String], ordered: Bool, _ malformed: UserImportError) throws(UserImportError)
        -> [String: Int]
    {
        var out: [String: Int] = [:]
        let pairs = s.split(separator: ",", omittingEmptySubsequences: false)
        if ordered, pairs.count != keys.count { throw malformed }
        for (i, pair) in pairs.enumerated() {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, keys.contains(String(kv[0])), out[String(kv[0])] == nil, !ordered || keys[i] == kv[0],
                !kv[1].isEmpty, kv[1].utf8.count <= 10, kv[1].utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let n = Int(kv[1])
            else { throw malformed }
            out[String(kv[0])] = n
        }
        return out
    }

    private static func range(_ path: String, _ name: String, _ value: Int, _ low: Int, _ high: Int) -> UserImportError {
        value < low
            ? .field("MINIMUM", path, "\(name)=\(value) is less than minimum \(low)")
            : .field("MAXIMUM", path, "\(name)=\(value) is greater than maximum \(high)")
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
    }

    static func decode(_ text: String, _ encoding: TextEncoding) -> [UInt8]? {
        switch encoding {
        case .utf8: Array(text.utf8)
        case .hex: Hex.decode(text)
        case .base64: Base64.decode(text)
        }
    }
}

extension ImportedPasswordHash.HMACDigest {
    /// OpenSSL's name for the digest.
    var openSSLName: String { rawValue.uppercased() }

    /// Output size in bytes (a published constant of each algorithm, used to refuse a hash of the wrong length).
    var size: Int {
        switch self {
        case .md4, .md5: 16
        case .ripemd160, .sha1: 20
        case .sha224: 28
        case .sha256: 32
        case .sha384: 48
        case .sha512, .whirlpool: 64
        }
    }
}
