/// A gateway-side failure (a bad route table, a function that cannot start), said in one sentence.
struct GatewayError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
