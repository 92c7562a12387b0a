import Foundation
import ResearchCore

/// The most recent episodes in memory with an inverted index of their words, so that recall
/// looks at a few candidates instead of every episode ever recorded.
///
/// Why candidates suffice: Jaccard(A, B) ≥ t needs |A ∩ B| ≥ t·|A|, so B lacks at most
/// ⌊(1−t)·|A|⌋ of A's words and must contain at least one of any ⌊(1−t)·|A|⌋ + 1 of them.
/// Taking those from A's rarest words keeps the candidate set small.
struct EpisodeIndex {
    private struct Entry {
        var episode: Episode
        var words: Set<String>
    }

    let capacity: Int
    private var entries: [Entry?] = []
    private var postings: [String: [Int]] = [:]
    private var liveCount = 0

    init(capacity: Int) {
        self.capacity = max(4, capacity)
    }

    var count: Int { liveCount }

    mutating func add(_ episode: Episode) {
        if liveCount >= capacity { dropOldestQuarter() }
        let words = Episode.words(episode.question)
        let slot = entries.count
        entries.append(Entry(episode: episode, words: words))
        liveCount += 1
        for word in words { postings[word, default: []].append(slot) }
    }

    /// The most similar episode recorded at or after `notBefore`; among equals, the most recent.
    func best(similarTo question: String, threshold: Double, notBefore: Date) -> Episode? {
        let words = Episode.words(question)
        guard !words.isEmpty else { return nil }
        // A threshold outside 0...1 (or NaN) is configuration, not an invariant: converting its
        // product to Int must not trap. Needing more words than there are means all of them.
        let missing = ((1 - threshold) * Double(words.count)).rounded(.down)
        let needed = missing >= 0 && missing < Double(words.count) ? Int(missing) + 1 : words.count
        let rarest = words.sorted { (postings[$0]?.count ?? 0) < (postings[$1]?.count ?? 0) }.prefix(needed)
        var candidates = Set<Int>()
        for word in rarest { candidates.formUnion(postings[word] ?? []) }
        var best: (episode: Episode, similarity: Double)?
        for slot in candidates {
            guard let entry = entries[slot], entry.episode.recordedAt >= notBefore else { continue }
            let similarity = Episode.similarity(entry.words, words)
            guard similarity >= threshold else { continue }
            if let current = best, (current.similarity, current.episode.recordedAt) >= (similarity, entry.episode.recordedAt) { continue }
            best = (entry.episode, similarity)
        }
        return best?.episode
    }

    /// Forgets the oldest quarter and rebuilds the index (rare: once per capacity/4 additions).
    private mutating func dropOldestQuarter() {
        let kept = entries.compactMap { $0 }.dropFirst(capacity / 4)
        entries = []
        postings = [:]
        liveCount = 0
        for entry in kept {
            let slot = entries.count
            entries.append(entry)
            liveCount += 1
            for word in entry.words { postings[word, default: []].append(slot) }
        }
    }
}
