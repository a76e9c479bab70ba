import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Blocking work (a bcrypt hash) started on a thread of its own, so that it overlaps the caller's own blocking
/// work (an upstream call on libcurl). A thread rather than a task: Swift's cooperative pool has a single thread
/// on a one-vCPU Lambda, where a task would only start once the caller blocks on its result.
/// FoundationEssentials has no `Thread`, hence pthreads.
public final class SideThread<Value: Sendable>: Sendable {
    private let result: ResultBox<Value>
    private let body: @Sendable () -> Value
    private let thread: Mutex<pthread_t?>

    /// Starts `body` at once; if no thread can be started, `join` runs it on the caller's thread.
    public init(_ body: @escaping @Sendable () -> Value) {
        let result = ResultBox<Value>()
        self.result = result
        self.body = body
        let job = SideThreadJob { result.value.withLock { $0 = body() } }
        let context = Unmanaged.passRetained(job).toOpaque()
        var id = pthread_t()
        if pthread_create(&id, nil, sideThreadEntry, context) == 0 {
            thread = Mutex(id)
        } else {
            Unmanaged<SideThreadJob>.fromOpaque(context).release()
            thread = Mutex(nil)
        }
    }

    /// Not joined: the thread is left to finish on its own and free itself.
    deinit {
        if let id = thread.withLock({ $0 }) { pthread_detach(id) }
    }

    /// Waits for the result. Call at most once; a result nobody waits for is dropped with the object.
    public func join() -> Value {
        if let id = thread.withLock({ t -> pthread_t? in
            defer { t = nil }
            return t
        }) {
            pthread_join(id, nil)
            if let value = result.value.withLock({ $0 }) { return value }
        }
        return body()
    }
}

private final class ResultBox<Value: Sendable>: Sendable {
    let value = Mutex<Value?>(nil)
}

private final class SideThreadJob: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

private func sideThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<SideThreadJob>.fromOpaque(context!).takeRetainedValue().run()
    return nil
}
