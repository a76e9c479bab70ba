import Foundation
import Synchronization
import Testing

@testable import GangwayAuth0
@testable import GangwayPlatform

#if canImport(Glibc)
    import Glibc
#endif

@Suite("SideThread")
struct SideThreadTests {
    @Test("runs its work on a thread of its own, at once, and hands back the result")
    func runsOnItsOwnThread() {
        let caller = UInt(pthread_self())
        // The side thread waits for the caller to reach its flag: it must have started before `join`.
        let flag = Mutex(false)
        let job = SideThread { () -> (UInt, Bool) in
            var seen = false
            for _ in 0..<2000 where !seen {
                seen = flag.withLock { $0 }
                if !seen { usleep(1000) }
            }
            return (UInt(pthread_self()), seen)
        }
        flag.withLock { $0 = true }
        let (thread, sawFlag) = job.join()
        #expect(thread != caller)
        #expect(sawFlag, "the work ran while the caller went on, not inside join()")
    }

    @Test("a result nobody joins is dropped without blocking the caller")
    func dropped() {
        for _ in 0..<50 { _ = SideThread { try? PasswordHash.make("x", cost: 4) } }
        #expect(SideThread { 6 * 7 }.join() == 42)
    }
}
