import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The bytes of request bodies the gateway holds at once, across all connections.
///
/// A body under the per-request limit is still held whole, and several copies of it while it becomes an event and
/// waits for its function: fifty concurrent 6 MiB uploads took the gateway to 1 GB. So a request takes its body's
/// bytes out of this budget once, before reading them (its `Content-Length`; a chunked body the whole per-request
/// limit, the unused part given back once it is read), keeps them until its answer is ready, and waits in line
/// (first come, first served) when the budget is spent; one that
/// waited too long is answered 503. When the last large body is done, the freed heap goes back to the system.
final class BodyBudget: Sendable {
    let capacity: Int

    private struct Waiter {
        let id: UInt64
        let bytes: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var held = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Bytes released since the heap was last trimmed.
        var releasedSinceTrim = 0
    }

    private let state = Mutex(State())

    /// Released bytes worth giving back to the system once nothing is held (glibc keeps freed heap otherwise).
    static let trimAfter = 1 << 20

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Bytes held right now.
    var held: Int { state.withLock { $0.held } }

    /// Takes `bytes` out of the budget, waiting up to `patience` behind earlier requests; false when no room came
    /// (or the task was cancelled). More than the whole budget is never granted.
    func reserve(_ bytes: Int, patience: Duration) async -> Bool {
        guard bytes > 0 else { return true }
        guard bytes <= capacity else { return false }
        let id: UInt64? = state.withLock { state in
            if state.waiters.isEmpty && state.held + bytes <= capacity {
                state.held += bytes
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return true }
        // A timer that fires before the waiter joins the line finds nothing to remove; the deadline check on
        // joining covers that case (the timer cannot fire before the deadline).
        let deadline = ContinuousClock.now + patience
        let timer = Task {
            try? await Task.sleep(for: patience)
            if !Task.isCancelled { self.giveUp(id) }
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let enqueued = state.withLock { state in
                    guard !Task.isCancelled, ContinuousClock.now < deadline else { return false }
                    state.waiters.append(Waiter(id: id, bytes: bytes, continuation: continuation))
                    return true
                }
                if !enqueued { continuation.resume(returning: false) }
                // Room may have come between the first look and joining the line.
                admit()
            }
        } onCancel: {
            giveUp(id)
        }
    }

    /// Returns bytes taken with `reserve`, letting waiters in.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let trim = state.withLock { state in
            state.held -= bytes
            state.releasedSinceTrim += bytes
            guard state.held == 0, state.releasedSinceTrim >= Self.trimAfter else { return false }
            state.releasedSinceTrim = 0
            return true
        }
        admit()
        if trim { Heap.trim() }
    }

    /// Grants the waiters at the head of the line while they fit.
    private func admit() {
        let admitted: [Waiter] = state.withLock { state in
            var admitted: [Waiter] = []
            while let first = state.waiters.first, state.held + first.bytes <= capacity {
                state.held += first.bytes
                admitted.append(state.waiters.removeFirst())
            }
            return admitted
        }
        for waiter in admitted { waiter.continuation.resume(returning: true) }
    }

    /// A waiter whose patience ran out or whose task was cancelled leaves the line (if it is still in it).
    private func giveUp(_ id: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.continuation.resume(returning: false)
        // The line's head may have been what blocked smaller requests behind it.
        admit()
    }
}

/// The C heap.
enum Heap {
    /// glibc's malloc_trim(3), found at run time (Swift's Glibc module leaves out malloc.h); nil on other C libraries.
    private static let trimFunction: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()

    /// Gives the heap's free pages back to the system, in every arena.
    static func trim() { _ = trimFunction?(0) }
}
