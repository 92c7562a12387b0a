import Foundation

/// What continuous backup shipping has not taken yet, as the one number bounded RPO needs:
/// when the oldest committed write the backup may not hold was committed.
///
/// Why this and not the shipping lag (time since the last round that caught up): the lag grows
/// between rounds even when nothing was written, and says nothing about a write made just
/// after a round began. The backlog starts at the first commit no round has taken and ends
/// when a round that began after it catches up, so "its age is at most the limit" is exactly
/// "no acknowledged write older than the limit is missing from the backup".
///
/// Conservative by construction: a commit recorded while a round runs may or may not be read
/// by that round, so it stays in the backlog until the next one.
struct UnshippedBacklog: Sendable, Equatable {
    /// The oldest commit not known to be shipped; nil: the backup holds every commit.
    private(set) var oldestUnshipped: Date?
    /// When the round in progress began (nil: none runs).
    private var roundStartedAt: Date?
    /// The first commit recorded after the round in progress began.
    private var oldestDuringRound: Date?

    /// A write was committed at `now` (the store calls this after its commit returns).
    mutating func recordCommit(now: Date) {
        if oldestUnshipped == nil { oldestUnshipped = now }
        if roundStartedAt != nil, oldestDuringRound == nil { oldestDuringRound = now }
    }

    /// A round begins reading at `now`: every commit recorded before is in what it reads.
    mutating func roundStarting(now: Date) {
        roundStartedAt = now
        oldestDuringRound = nil
    }

    /// The round ended; `caughtUp`: it shipped everything committed before it began. A failed
    /// round, or one that left a burst for the next, ships nothing for certain.
    mutating func roundFinished(caughtUp: Bool) {
        if caughtUp, roundStartedAt != nil { oldestUnshipped = oldestDuringRound }
        roundStartedAt = nil
        oldestDuringRound = nil
    }

    /// Seconds since the oldest unshipped commit (0 when the backup holds everything).
    func age(now: Date) -> Double {
        oldestUnshipped.map { max(0, now.timeIntervalSince($0)) } ?? 0
    }
}
