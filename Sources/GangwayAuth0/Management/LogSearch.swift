import FoundationEssentials
import GangwayPlatform

extension ManagementCall {
    /// Auth0 pages through at most 1,000 log search results; so does Gangway.
    public static let maxLogResults = 1000

    /// One page of log events, newest first, and how many can be paged through (at most 1,000).
    public func logPage(_ paging: Paging) async throws -> (events: [LogEntry], total: Int) {
        let start = paging.page * paging.perPage
        guard start < Self.maxLogResults else {
            throw Paging.queryError(
                "Query validation error: 'You can only page through the first \(Self.maxLogResults) records' on property page.")
        }
        // Keys are time-ordered, so the store lists oldest first: keep a window of the newest 1,000.
        var window: [StoreEntry] = []
        var after: String?
        let prefix = StoreKeys.logs(tenant.id)
        while true {
            let batch = try await store.list(prefix: prefix, after: after, limit: 1000)
            window.append(contentsOf: batch)
            if window.count > Self.maxLogResults { window.removeFirst(window.count - Self.maxLogResults) }
            guard batch.count == 1000, let last = batch.last else { break }
            after = last.key
        }
        let newestFirst = window.reversed()
        let page = try newestFirst.dropFirst(start).prefix(paging.perPage).map { try $0.decoded(LogEntry.self) }
        return (Array(page), newestFirst.count)
    }
}
