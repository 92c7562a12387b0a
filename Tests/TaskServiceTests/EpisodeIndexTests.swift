import Foundation
import ResearchCore
import Testing
@testable import TaskService

@Suite struct EpisodeIndexTests {
    private func episode(_ id: Int, _ question: String, at date: Date) -> Episode {
        Episode(taskID: "task-\(id)", question: question, plan: ResearchPlan(subQuestions: []), sources: [], coverage: 1,
                supportedSentences: 1, recordedAt: date)
    }

    /// What recall must return: a scan of every episode.
    private func bruteForce(_ episodes: [Episode], _ question: String, threshold: Double) -> Episode? {
        episodes.map { ($0, Episode.similarity($0.question, question)) }
            .filter { $0.1 >= threshold }
            .max { ($0.1, $0.0.recordedAt) < ($1.1, $1.0.recordedAt) }?.0
    }

    @Test func theIndexFindsWhatAFullScanFinds() {
        var generator = SplitMix(seed: 42)
        let vocabulary = (0..<60).map { "w\($0)" }
        func question() -> String {
            (0..<Int.random(in: 3...9, using: &generator)).map { _ in vocabulary[Int.random(in: 0..<vocabulary.count, using: &generator)] }
                .joined(separator: " ")
        }
        let start = Date(timeIntervalSince1970: 1_000_000)
        var index = EpisodeIndex(capacity: 100_000)
        var all: [Episode] = []
        for id in 0..<800 {
            let recorded = episode(id, question(), at: start.addingTimeInterval(Double(id)))
            index.add(recorded)
            all.append(recorded)
        }
        var matched = 0
        for _ in 0..<200 {
            // Half the probes are near-copies of a recorded question, half are random.
            let probe = Bool.random(using: &generator) ? all[Int.random(in: 0..<all.count, using: &generator)].question : question()
            for threshold in [0.5, 0.8] {
                let expected = bruteForce(all, probe, threshold: threshold)
                #expect(index.best(similarTo: probe, threshold: threshold, notBefore: .distantPast)?.taskID == expected?.taskID)
                if expected != nil { matched += 1 }
            }
        }
        #expect(matched > 100, "the probes must exercise matches, not only misses")
    }

    @Test func capacityKeepsTheMostRecentEpisodes() {
        var index = EpisodeIndex(capacity: 100)
        let start = Date(timeIntervalSince1970: 0)
        for id in 0..<250 { index.add(episode(id, "question number \(id) about storage", at: start.addingTimeInterval(Double(id)))) }
        #expect(index.count <= 100)
        #expect(index.best(similarTo: "question number 249 about storage", threshold: 0.99, notBefore: .distantPast)?.taskID == "task-249")
        #expect(index.best(similarTo: "question number 3 about storage", threshold: 0.99, notBefore: .distantPast) == nil)
    }

    @Test func aQuestionAskedAgainIsOneEntryThatRecallsTheNewest() {
        var index = EpisodeIndex(capacity: 100)
        let start = Date(timeIntervalSince1970: 0)
        let questions = ["how do I restore a dump", "what does vacuum full lock", "how are tasks resumed"]
        for id in 0..<900 { index.add(episode(id, questions[id % 3], at: start.addingTimeInterval(Double(id)))) }
        #expect(index.count == 3)
        #expect(index.best(similarTo: "how do I restore a dump", threshold: 0.8, notBefore: .distantPast)?.taskID == "task-897")
        #expect(index.best(similarTo: "how are tasks resumed", threshold: 0.8, notBefore: start.addingTimeInterval(900)) == nil,
                "the newest episode is too old, so every older one is")
        // A question asked again is recent again: other questions are evicted first.
        for id in 900..<960 { index.add(episode(id, "another question number \(id)", at: start.addingTimeInterval(Double(id)))) }
        index.add(episode(2000, questions[0], at: start.addingTimeInterval(2000)))
        for id in 960..<1020 { index.add(episode(id, "another question number \(id)", at: start.addingTimeInterval(Double(id)))) }
        #expect(index.count <= 100)
        #expect(index.best(similarTo: questions[0], threshold: 0.8, notBefore: .distantPast)?.taskID == "task-2000")
        #expect(index.best(similarTo: questions[1], threshold: 0.8, notBefore: .distantPast) == nil)
    }

    @Test func aThresholdOutsideZeroToOneIsHandledNotTrapped() {
        var index = EpisodeIndex(capacity: 10)
        index.add(episode(1, "how do I restore a dump", at: Date(timeIntervalSince1970: 0)))
        // Above 1 (a negative count of words to look up), NaN and huge values used to trap in Int(_:)/prefix(_:).
        for threshold: Double in [1.5, .nan, .infinity, 1e300] {
            #expect(index.best(similarTo: "how do I restore a dump", threshold: threshold, notBefore: .distantPast) == nil, "\(threshold)")
        }
        for threshold: Double in [-1e300, -.infinity, 0] {
            #expect(index.best(similarTo: "restore dump", threshold: threshold, notBefore: .distantPast)?.taskID == "task-1", "\(threshold)")
        }
    }
}

/// A small deterministic generator, so that a failure can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
