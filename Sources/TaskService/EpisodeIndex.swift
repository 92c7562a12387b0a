import Foundation
import ResearchCore

/// The episodes of the most recently asked questions in memory with an inverted index of their
/// words, so that recall looks at a few candidates instead of every episode ever recorded.
///
/// Why candidates suffice: Jaccard(A, B) ≥ t needs |A ∩ B| ≥ t·|A|, so B lacks at most
/// ⌊(1−t)·|A|⌋ of A's words and must contain at least one of any ⌊(1−t)·|A|⌋ + 1 of them.
/// Taking those from A's rarest words keeps the candidate set small.
///
/// Episodes with the same words are one entry holding the newest: recall returns the most
/// similar and, among equals, the most recent, so an older one with the same words can never
/// be the answer. Without this a question asked again and again (an orchestrator's routine
/// question, the validation workload's few) made every recall compare it with each of its
/// repeats: 15 % of a task's CPU after a few thousand tasks (BENCHMARKS.md).
struct EpisodeIndex {
    private struct Entry {
        var episode: Episode
        var words: Set<String>
        /// When its words were last added: eviction drops the least recently asked.
        var sequence: Int
    }

    /// Distinct questions (word sets) kept at most.
    let capacity: Int
    private var entries: [Entry?] = []
    private var postings: [String: [Int]] = [:]
    private var slots: [Set<String>: Int] = [:]
    private var liveCount = 0
    private var added = 0

    init(capacity: Int) {
        self.capacity = max(4, capacity)
    }

    var count: Int { liveCount }

    mutating func add(_ episode: Episode) {
        let words = Episode.words(episode.question)
        added &+= 1
        if let slot = slots[words], entries.indices.contains(slot), var entry = entries[slot] {
            if episode.recordedAt >= entry.episode.recordedAt { entry.episode = episode }
            entry.sequence = added
            entries[slot] = entry
            return
        }
        if liveCount >= capacity { dropOldestQuarter() }
        let slot = entries.count
        entries.append(Entry(episode: episode, words: words, sequence: added))
        slots[words] = slot
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

    /// Forgets the least recently asked quarter and rebuilds the index (rare: at most once per
    /// capacity/4 new questions).
    private mutating func dropOldestQuarter() {
        let kept = entries.compactMap { $0 }.sorted { $0.sequence < $1.sequence }.dropFirst(capacity / 4)
        entries = []
        postings = [:]
        slots = [:]
        liveCount = 0
        for entry in kept {
            let slot = entries.count
            entries.append(entry)
            slots[entry.words] = slot
            liveCount += 1
            for word in entry.words { postings[word, default: []].append(slot) }
        }
    }
}
