import FoundationEssentials

/// One RSA public key in JWK form (RFC 7517), as published at /.well-known/jwks.json.
public struct JWK: Codable, Sendable, Hashable {
    public var kty: String
    public var use: String
    public var alg: String
    public var kid: String
    public var n: String
    public var e: String

    public init(kty: String = "RSA", use: String = "sig", alg: String = "RS256", kid: String, n: String, e: String) {
        self.kty = kty
        self.use = use
        self.alg = alg
        self.kid = kid
        self.n = n
        self.e = e
    }
}

/// A JWK set: `{"keys":[...]}`.
public struct JWKS: Codable, Sendable {
    public var keys: [JWK]

    public init(keys: [JWK]) { self.keys = keys }
}
