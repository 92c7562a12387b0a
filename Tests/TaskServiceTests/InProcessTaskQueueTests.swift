import TaskService
import Testing

/// The in-process queue under the `TaskWorkQueue` contract the shared queue also keeps:
/// FIFO claims past owners at their quota, a task queued once however often it is enqueued,
/// withdrawing, and which tasks still wait.
@Suite struct InProcessTaskQueueTests {
    @Test func claimsInOrderPastExcludedOwnersAndQueuesATaskOnce() {
        let queue = InProcessTaskQueue()
        #expect(queue.enqueue("t1", owner: "alice"))
        #expect(queue.enqueue("t2", owner: "bob"))
        #expect(queue.enqueue("t3", owner: nil))
        #expect(!queue.enqueue("t1", owner: "alice"), "already waiting: not queued twice")
        #expect(queue.count == 3)
        #expect(queue.claim(excludingOwners: ["alice"])?.taskID == "t2")
        #expect(queue.claim(excludingOwners: ["alice", "bob"])?.taskID == "t3", "a task without an owner is never excluded")
        #expect(queue.claim(excludingOwners: ["alice"]) == nil)
        #expect(queue.waiting(among: ["t1", "t2", "t9"]) == ["t1"])
        #expect(queue.withdraw("t1") == TaskClaim(taskID: "t1", owner: "alice"))
        #expect(queue.withdraw("t1") == nil)
        #expect(queue.claim(excludingOwners: []) == nil)
        #expect(queue.enqueue("t1", owner: "alice"), "withdrawn, it may be queued again")
        #expect(queue.renew([TaskClaim(taskID: "t1", owner: "alice")]).isEmpty, "claims in one process are never lost")
        #expect(queue.leaseDuration == nil && queue.pollInterval == nil)
        queue.removeAll()
        #expect(queue.count == 0 && queue.waiting(among: ["t1"]).isEmpty)
    }

    @Test func claimsLookOnlyABoundedWayAhead() {
        let queue = InProcessTaskQueue()
        // `free` is the first task past the lookahead.
        for index in 0..<InProcessTaskQueue.lookahead { queue.enqueue("busy-\(index)", owner: "busy") }
        queue.enqueue("free", owner: "free")
        #expect(queue.claim(excludingOwners: ["busy"]) == nil, "past the lookahead: found once busy's tasks move")
        #expect(queue.claim(excludingOwners: [])?.taskID == "busy-0")
        #expect(queue.claim(excludingOwners: ["busy"])?.taskID == "free")
    }
}
