import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The AWS Lambda Runtime API loop (as in swift-aws-lambda-runtime): GET the next invocation,
/// run the handler, POST its response. `gangway serve --mode warm` speaks the same API to its workers.
struct RuntimeAPIDriver {
    let api: String
    let function: Function

    /// The largest event the driver reads: above Lambda's 6 MB synchronous payload and the local gateway's
    /// 6 MiB body limit (a binary body arrives base64-encoded, a third larger).
    static let maxPlatformEventBytes = 16 << 20

    func run() async -> Never {
        let base = "/2018-06-01/runtime"
        // The event is read whole whatever its size (the platform caps it: 6 MB on Lambda), so that
        // `handle` can answer an event over GANGWAY_MAX_EVENT_BYTES with 413: a cap here would make the
        // read fail with no request id to answer, and the worker would exit (the caller gets a 502).
        let connection: RuntimeAPIConnection
        do {
            connection = try RuntimeAPIConnection(
                endpoint: api, maxResponseBytes: max(function.configuration.maxEventBytes + 1, Self.maxPlatformEventBytes)
            )
        } catch {
            function.logger.error("bad runtime API address", metadata: ["error": .string(error.description)])
            exit(1)
        }
        while true {
            let next: RuntimeAPIConnection.Response
            do {
                // The long poll for the next invocation has no timeout; posting answers has a short one.
                next = try connection.send(method: "GET", path: "\(base)/invocation/next")
            } catch {
                // The runtime API is gone (the gateway stopped): a worker has nothing left to do.
                function.logger.notice("runtime API unreachable; exiting", metadata: ["error": .string(error.description)])
                exit(0)
            }
            guard next.status == 200, let id = next.headers["lambda-runtime-aws-request-id"], !id.isEmpty else {
                function.logger.error("runtime API gave no invocation", metadata: ["status": .stringConvertible(next.status)])
                exit(1)
            }
            let handled = await function.handle(eventBytes: next.body, requestId: id)
            defer { handled.afterDelivery() }
            do {
                let body = handled.response.contractJSON()
                _ = try connection.send(method: "POST", path: "\(base)/invocation/\(id)/response", body: body, timeout: .seconds(10))
            } catch {
                let report = #"{"errorType":"Runtime.ResponseFailed","errorMessage":"could not deliver the response"}"#
                _ = try? connection.send(
                    method: "POST", path: "\(base)/invocation/\(id)/error", body: Array(report.utf8), timeout: .seconds(10))
            }
        }
    }
}
