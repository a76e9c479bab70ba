import FoundationEssentials

/// infra/routes.json: which function serves which METHOD + path. The gateway routes by it and the
/// deployment template is checked against it.
public struct RouteTable: Codable, Sendable {
    public struct FunctionSpec: Codable, Sendable {
        public var timeoutSeconds: Int
        public var memoryMB: Int
        public var description: String?
        /// A function with no HTTP route that runs on a timer (the jobs worker): every so many seconds. On AWS an
        /// EventBridge schedule invokes it asynchronously; locally the gateway does (`gangway serve --schedule-every`).
        public var scheduleSeconds: Int?
    }
    public struct Route: Codable, Sendable {
        public var method: String
        /// Literal segments and `{name}` parameters, each matching one path segment.
        public var path: String
        public var function: String
        /// `"GET /.well-known/jwks.json"`, as API Gateway names routes.
        public var routeKey: String { "\(method) \(path)" }
    }
    public var functions: [String: FunctionSpec]
    public var routes: [Route]

    /// A route table that contradicts itself (a route naming a function the table does not list).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func load(path: String) throws -> RouteTable {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let table = try JSON.decode(RouteTable.self, from: data)
        for route in table.routes where table.functions[route.function] == nil {
            throw Failure(description: "Route \(route.routeKey) names unknown function \(route.function).")
        }
        return table
    }

    public struct Match: Sendable {
        public var route: Route
        /// Percent-decoded, as API Gateway hands them to a function.
        public var parameters: [String: String]
    }

    public enum Outcome: Sendable {
        case matched(Match)
        /// The path exists, the method does not; `allowed` is what the path answers (for the `Allow` header).
        case methodNotAllowed(allowed: [String])
        case notFound
        /// A path segment with a broken percent escape.
        case badPath
    }

    public func match(method: String, path rawPath: String) -> Outcome {
        let segments = rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        // `Allow` names the methods of the most specific paths only (fewest parameters), as a
        // client reading the API description expects: `POST /jobs/users-imports` does not
        // advertise `GET` just because `GET /jobs/{id}` would also take the request.
        var allowed: [String] = []
        var allowedParameters = Int.max
        for route in routes {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard pattern.count == segments.count else { continue }
            var parameters: [String: String] = [:]
            var matched = true
            for (p, s) in zip(pattern, segments) {
                if p.hasPrefix("{") && p.hasSuffix("}") {
                    guard !s.isEmpty else {
                        matched = false
                        break
                    }
                    guard let value = String(s).percentDecoded() else { return .badPath }
                    parameters[String(p.dropFirst().dropLast())] = value
                } else if p != s {
                    matched = false
                    break
                }
            }
            guard matched else { continue }
            if route.method == method.uppercased() { return .matched(Match(route: route, parameters: parameters)) }
            if parameters.count < allowedParameters {
                allowed = []
                allowedParameters = parameters.count
            }
            if parameters.count == allowedParameters, !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }
}
