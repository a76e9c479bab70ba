// The store purge: removes the records whose time-to-live has passed (refresh tokens, log events, sessions,
// codes, finished jobs), which every read already treats as absent. It answers no HTTP route: the local gateway
// invokes it on a timer, and on AWS an EventBridge schedule invokes it every hour (infra/template.yaml), as
// `gangway store purge` does from a shell. Its event is ignored; its answer is how many records it removed.
import FoundationEssentials
import GangwayAuth0

struct StorePurgeFunction: FunctionHandler {
    let name = "store-purge"
    let errors = ErrorShape.management

    struct Report: Encodable { var purged: Int }

    func handle(_ request: FunctionRequest, _ context: FunctionContext) async throws -> GatewayResponse {
        let purged = try await context.store().purgeExpired()
        context.logger.info("purged expired records", metadata: ["purged": .stringConvertible(purged)])
        return try .json(200, Report(purged: purged))
    }
}

await Function.run(StorePurgeFunction())
