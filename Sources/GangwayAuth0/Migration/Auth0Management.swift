import FoundationEssentials
import GangwayPlatform
import Glibc

/// The old tenant's Management API, as `gangway migrate from-auth0` reads it: with a machine-to-machine
/// application's client credentials (`read:clients read:client_keys read:resource_servers read:client_grants
/// read:connections read:users`). It pages as Auth0 pages (`page`, `per_page` ≤ 100, `include_totals`), waits out
/// a 429 (`retry-after`, at most 10 s at a time) and retries a 5xx or a dropped connection a few times, so one
/// bad answer does not stop a migration. Synchronous, like the libcurl client under it.
public final class Auth0Management: @unchecked Sendable {
    /// `https://<domain>` (or a loopback `http://` URL for a local fake).
    public let baseURL: String
    let clientId: String
    let clientSecret: String
    let http: UpstreamClient
    private var accessToken: String?

    /// Why reading the old tenant failed; `description` never holds a secret or a token.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Requests sent (retries included): the migration's summary reports them.
    public private(set) var requestsSent = 0

    static let pageSize = 100
    static let attempts = 4

    public init(domain: String, clientId: String, clientSecret: String) throws(Failure) {
        guard let normalized = MigrationSource.normalizedDomain(domain) else {
            throw Failure(description: "--domain must be a host, an https:// URL or a loopback http:// URL: \(domain)")
        }
        baseURL = MigrationSource.baseURL(normalized)
        self.clientId = clientId
        self.clientSecret = clientSecret
        http = UpstreamClient(connectTimeout: .seconds(5), totalTimeout: .seconds(60), maxResponseBytes: 512 << 20)
    }

    /// The audience of the old tenant's Management API.
    public var managementAudience: String { baseURL + "/api/v2/" }

    // MARK: Reading

    /// Every item of a paged list (`/api/v2/clients`, `resource-servers`, `client-grants`, `connections`), in
    /// Auth0's order. `key` names the array in the `include_totals` answer.
    public func list(_ path: String, key: String, query: [(String, String)] = []) throws(Failure) -> [JSONValue] {
        var items: [JSONValue] = []
        var page = 0
        while true {
            let fields = query + [("page", String(page)), ("per_page", String(Self.pageSize)), ("include_totals", "true")]
            let answer = try get(path + "?" + FormURLEncoding.encode(fields))
            let batch = answer[key]?.arrayValue ?? answer.arrayValue ?? []
            items += batch
            let total = answer["total"]?.intValue.map(Int.init)
            if batch.count < Self.pageSize || (total.map { items.count >= $0 } ?? false) { return items }
            page += 1
        }
    }

    /// Starts a users-export job of one connection in NDJSON; returns the job's id.
    public func startUsersExport(connectionId: String) throws(Failure) -> String {
        let body: JSONValue = ["connection_id": .string(connectionId), "format": "json"]
        let job = try send("POST", "/api/v2/jobs/users-exports", body: body)
        guard let id = job["id"]?.stringValue, !id.isEmpty else { throw Failure(description: "the users-export job has no id") }
        return id
    }

    /// A job as Auth0 answers `GET /api/v2/jobs/{id}`.
    public func job(_ id: String) throws(Failure) -> JSONValue {
        try get("/api/v2/jobs/" + FormURLEncoding.encodeComponent(id))
    }

    /// Waits until the job completes (polling every `every`, at most `timeout`); returns its `location`.
    public func awaitExport(_ id: String, every: Duration = .seconds(1), timeout: Duration = .seconds(3600)) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let job = try job(id)
            switch job["status"]?.stringValue {
            case "completed":
                guard let location = job["location"]?.stringValue else {
                    throw Failure(description: "export job \(id) completed without a location")
                }
                return location
            case "failed":
                throw Failure(description: "export job \(id) failed upstream")
            default:
                guard clock.now < deadline else { throw Failure(description: "export job \(id) did not complete in time") }
                try await Task.sleep(for: every)
            }
        }
    }

    /// Downloads a file the old tenant handed out (a pre-signed URL: no token is sent with it).
    public func download(_ url: String) throws(Failure) -> [UInt8] {
        try withRetries(url) { () throws(UpstreamError) in try http.get(url: url) }.body
    }

    // MARK: Requests

    func get(_ pathAndQuery: String) throws(Failure) -> JSONValue {
        try send("GET", pathAndQuery, body: nil)
    }

    /// One Management API call with the access token (fetched on first use, fetched again once on a 401).
    func send(_ method: String, _ pathAndQuery: String, body: JSONValue?) throws(Failure) -> JSONValue {
        let url = baseURL + pathAndQuery
        let encoded: [UInt8]?
        do {
            encoded = try body.map { Array(try JSON.encode($0)) }
        } catch {
            throw Failure(description: "cannot encode the request to \(pathAndQuery)")
        }
        var renewed = false
        while true {
            let token = try token()
            var headers = [("Authorization", "Bearer " + token), ("Accept", "application/json")]
            if encoded != nil { headers.append(("Content-Type", "application/json")) }
            let response = try withRetries(pathAndQuery) { () throws(UpstreamError) in
                try http.send(UpstreamRequest(method: method, url: url, headers: headers, body: encoded))
            }
            if response.status == 401 && !renewed {
                accessToken = nil
                renewed = true
                continue
            }
            guard (200..<300).contains(response.status) else {
                throw Failure(description: "\(method) \(pathAndQuery) answered \(response.status)\(Self.reason(response))")
            }
            guard let value = try? JSON.decode(JSONValue.self, from: Data(response.body)) else {
                throw Failure(description: "\(method) \(pathAndQuery) answered something that is not JSON")
            }
            return value
        }
    }

    /// The client-credentials token for the Management API.
    func token() throws(Failure) -> String {
        if let accessToken { return accessToken }
        let response = try withRetries("/oauth/token") { () throws(UpstreamError) in
            try http.postForm(
                url: baseURL + "/oauth/token",
                fields: [
                    ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", clientSecret),
                    ("audience", managementAudience),
                ])
        }
        guard response.status == 200, let answer = try? JSON.decode(JSONValue.self, from: Data(response.body)),
            let token = answer["access_token"]?.stringValue
        else {
            throw Failure(
                description:
                    "the old tenant refused a Management API token for client \(clientId): \(response.status)\(Self.reason(response))")
        }
        accessToken = token
        return token
    }

    /// Sends `request` until it gets an answer that is neither a 429 nor a 5xx, or the attempts run out.
    func withRetries(_ label: String, _ request: () throws(UpstreamError) -> UpstreamResponse) throws(Failure) -> UpstreamResponse {
        var last = ""
        for attempt in 1...Self.attempts {
            requestsSent += 1
            do {
                let response = try request()
                if response.status == 429 || response.status >= 500 {
                    last = "\(response.status)\(Self.reason(response))"
                    if attempt < Self.attempts { Self.pause(response, attempt: attempt) }
                    continue
                }
                return response
            } catch {
                last = error.message
                if attempt < Self.attempts { Self.pause(nil, attempt: attempt) }
            }
        }
        throw Failure(description: "\(label): \(last) (after \(Self.attempts) attempts)")
    }

    /// Auth0's `retry-after` (seconds) or `x-ratelimit-reset` (epoch seconds), at most 10 s; else a short backoff.
    static func pause(_ response: UpstreamResponse?, attempt: Int) {
        var seconds = 0.2 * Double(1 << (attempt - 1))
        if let retry = response?.headers["retry-after"].flatMap(Double.init) {
            seconds = retry
        } else if let reset = response?.headers["x-ratelimit-reset"].flatMap(Double.init) {
            seconds = reset - Date.now.timeIntervalSince1970
        }
        let wait = min(max(seconds, 0.05), 10)
        usleep(UInt32(wait * 1_000_000))
    }

    /// `: <message>` from an Auth0 error body, if it has one.
    static func reason(_ response: UpstreamResponse) -> String {
        guard let body = try? JSON.decode(JSONValue.self, from: Data(response.body)) else { return "" }
        let message = body["message"]?.stringValue ?? body["error_description"]?.stringValue ?? body["error"]?.stringValue
        return message.map { ": " + String($0.prefix(200)) } ?? ""
    }
}
