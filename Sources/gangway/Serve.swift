import ArgumentParser
import Foundation
import GangwayAuth0
import GangwayGateway

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the local gateway in front of the function executables.")

    @Option var host = "127.0.0.1"
    @Option var port = 3000
    @Option(help: "cgi: a process per request; warm: Lambda Runtime API workers.") var mode = "warm"
    @Option(help: "Warm workers per function.") var workers = 2
    @Option(help: "The issuer to initialise on first start; default http://HOST:PORT/.") var issuer: String?
    @Option(help: "Route table; default infra/routes.json.") var routes: String?
    @Option(help: "Directory holding the function executables; default beside this binary.") var functionsDir: String?
    @Option(
        help: "Seconds between runs of each scheduled function (the jobs worker), instead of the route table's interval (AWS's schedule).")
    var scheduleEvery: Double = 1
    @OptionGroup var limits: GatewayLimitOptions
    @OptionGroup var store: StoreOptions

    func run() async throws {
        if !Gateway.adoptEventLoopsAsGlobalExecutor() {
            Log.logger("gateway").notice("Swift's global executor stays in place (static Swift runtime?): the gateway runs slower")
        }
        guard let mode = Gateway.Mode(rawValue: mode) else { throw ValidationError("--mode must be cgi or warm") }
        guard let routes = routes ?? Paths.routes() else { throw ValidationError("infra/routes.json not found; pass --routes") }
        let storeURL = store.resolved

        // First start: make the tenant and tell the user what they need to log in.
        let issuer = issuer ?? "http://\(host):\(port)/"
        let provisioning = Provisioning(store: try store.open(), secrets: try store.secrets())
        let result = try await provisioning.initialize(issuer: issuer, aliases: Self.aliases(host: host, port: port))
        if result.created {
            print("Initialised a new tenant in \(storeURL)")
            try printJSON(result)
            print("Client secrets are shown once; only their hashes are stored.")
            fflush(nil)
        }

        var environment = ProcessInfo.processInfo.environment
        environment["GANGWAY_STORE"] = storeURL
        environment["GANGWAY_SECRET_KEY"] = try store.secretKey()
        var options = Gateway.Options(routesPath: routes, binDirectory: functionsDir ?? Paths.binDirectory, environment: environment)
        options.host = host
        options.port = port
        options.mode = mode
        options.workersPerFunction = max(1, workers)
        options.limits = try limits.resolved
        options.scheduleEvery = .milliseconds(Int(max(0.05, scheduleEvery) * 1000))
        let gateway = try Gateway(options: options)
        try await gateway.run { port in
            // Scripts and tests wait for this line, so it goes out unbuffered.
            FileHandle.standardOutput.write(
                Data("gangway listening on http://\(host):\(port)/ (mode \(mode.rawValue), issuer \(result.issuer))\n".utf8))
        }
    }

    /// Loopback names for one another, so `localhost:3000` and `127.0.0.1:3000` reach the same tenant.
    static func aliases(host: String, port: Int) -> [String] {
        ["127.0.0.1", "localhost"].contains(host) ? ["127.0.0.1:\(port)", "localhost:\(port)"] : []
    }
}

/// `gangway serve`'s bounds on clients (GatewayLimits); each default is GatewayLimits' own.
struct GatewayLimitOptions: ParsableArguments {
    static let defaults = GatewayLimits()

    @Option(help: "Open client connections at most; more are answered 503.")
    var maxConnections = defaults.maxConnections
    @Option(help: "Seconds from accepting a connection to a request's complete head.")
    var headerTimeout = defaults.headerTimeout.seconds
    @Option(help: "Seconds from a request's head to the end of its body.")
    var bodyTimeout = defaults.bodyTimeout.seconds
    @Option(help: "Seconds a keep-alive connection may stay idle.")
    var idleTimeout = defaults.idleTimeout.seconds
    @Option(help: "Seconds a request may wait for a free warm worker (then 503); the function's timeout starts after.")
    var queueTimeout = defaults.queueTimeout.seconds
    @Option(help: "The largest request body in bytes (larger: 413).")
    var maxRequestBytes = defaults.maxRequestBytes
    @Option(
        help:
            "Bytes of request bodies held at once across all connections (default: 4 × --max-request-bytes); past it requests wait, then 503."
    )
    var maxBufferedBodyBytes: Int?

    var resolved: GatewayLimits {
        get throws {
            let timeouts = [headerTimeout, bodyTimeout, idleTimeout, queueTimeout]
            guard maxConnections > 0, maxRequestBytes >= 0, (maxBufferedBodyBytes ?? 0) >= 0, timeouts.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("limits and timeouts must be positive")
            }
            var limits = GatewayLimits()
            limits.maxConnections = maxConnections
            limits.headerTimeout = .seconds(headerTimeout)
            limits.bodyTimeout = .seconds(bodyTimeout)
            limits.idleTimeout = .seconds(idleTimeout)
            limits.queueTimeout = .seconds(queueTimeout)
            limits.maxRequestBytes = maxRequestBytes
            limits.bodyBudgetBytes = maxBufferedBodyBytes
            return limits
        }
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
