import BinaryCoding
import Foundation

/// The tuning of BM25: term-frequency saturation `k1` and length normalization `b`.
public struct BM25Parameters: Sendable, Equatable {
    public var k1: Float
    public var b: Float
    public init(k1: Float = 1.2, b: Float = 0.75) {
        self.k1 = k1
        self.b = b
    }
}

/// One scored document of a keyword search.
public struct KeywordHit: Sendable, Equatable {
    public var id: UInt64
    public var score: Float
}

/// An in-memory BM25 inverted index over analyzed documents (chunks).
///
/// Scoring is Okapi BM25 with Lucene's non-negative idf:
///   idf(t)   = ln(1 + (N − df + 0.5) / (df + 0.5))
///   score(d) = Σ over distinct query terms t of idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))
/// where N counts live documents and avgdl is their mean length in terms.
///
/// Postings are two flat arrays per term (document ordinals ascending, term frequencies), so a
/// query walks contiguous memory and allocates only its score accumulator. Removal rewrites
/// the affected posting lists at once, keeping every statistic exact.
public struct BM25Index: Sendable {
    public let parameters: BM25Parameters
    private var termIDs: [String: Int32] = [:]
    private var terms: [String] = []
    private var postingOrdinals: [[UInt32]] = []
    private var postingFrequencies: [[UInt32]] = []
    /// External id and length (0 once removed) of each document ordinal.
    private var documentIDs: [UInt64] = []
    private var documentLengths: [UInt32] = []
    private var ordinalByID: [UInt64: UInt32] = [:]
    private var totalLength: Int = 0

    public init(parameters: BM25Parameters = BM25Parameters()) {
        self.parameters = parameters
    }

    /// Live documents.
    public var count: Int { ordinalByID.count }
    public var vocabularySize: Int { terms.count }
    public var averageDocumentLength: Float { count == 0 ? 0 : Float(totalLength) / Float(count) }

    public func contains(id: UInt64) -> Bool { ordinalByID[id] != nil }

    /// The document frequency of an (already analyzed) term.
    public func documentFrequency(of term: String) -> Int {
        guard let termID = termIDs[term] else { return 0 }
        return postingOrdinals[Int(termID)].count
    }

    /// Adds a document given its analyzed terms; an id already present is replaced.
    public mutating func add(id: UInt64, terms documentTerms: [String]) {
        if ordinalByID[id] != nil { remove(ids: [id]) }
        let ordinal = UInt32(documentIDs.count)
        documentIDs.append(id)
        documentLengths.append(UInt32(documentTerms.count))
        ordinalByID[id] = ordinal
        totalLength += documentTerms.count

        var frequencies: [Int32: UInt32] = [:]
        frequencies.reserveCapacity(documentTerms.count)
        for term in documentTerms {
            frequencies[termID(for: term), default: 0] += 1
        }
        // Ordinals grow monotonically, so appending keeps every posting list sorted.
        for (termID, frequency) in frequencies {
            postingOrdinals[Int(termID)].append(ordinal)
            postingFrequencies[Int(termID)].append(frequency)
        }
    }

    private mutating func termID(for term: String) -> Int32 {
        if let existing = termIDs[term] { return existing }
        let newID = Int32(terms.count)
        termIDs[term] = newID
        terms.append(term)
        postingOrdinals.append([])
        postingFrequencies.append([])
        return newID
    }

    /// Removes documents; unknown ids are ignored. One pass over the postings for the batch.
    public mutating func remove(ids: some Collection<UInt64>) {
        var removed = Set<UInt32>()
        for id in ids {
            guard let ordinal = ordinalByID.removeValue(forKey: id) else { continue }
            removed.insert(ordinal)
            totalLength -= Int(documentLengths[Int(ordinal)])
            documentLengths[Int(ordinal)] = 0
        }
        guard !removed.isEmpty else { return }
        for termIndex in postingOrdinals.indices {
            let ordinals = postingOrdinals[termIndex]
            guard ordinals.contains(where: removed.contains) else { continue }
            var keptOrdinals: [UInt32] = []
            var keptFrequencies: [UInt32] = []
            keptOrdinals.reserveCapacity(ordinals.count)
            keptFrequencies.reserveCapacity(ordinals.count)
            for (position, ordinal) in ordinals.enumerated() where !removed.contains(ordinal) {
                keptOrdinals.append(ordinal)
                keptFrequencies.append(postingFrequencies[termIndex][position])
            }
            postingOrdinals[termIndex] = keptOrdinals
            postingFrequencies[termIndex] = keptFrequencies
        }
    }

    /// The `limit` best documents for the analyzed query terms (duplicates count once).
    public func search(terms queryTerms: [String], limit: Int) -> [KeywordHit] {
        guard limit > 0, count > 0 else { return [] }
        var seen = Set<Int32>()
        var queryTermIDs: [Int32] = []
        for term in queryTerms {
            if let termID = termIDs[term], seen.insert(termID).inserted { queryTermIDs.append(termID) }
        }
        guard !queryTermIDs.isEmpty else { return [] }

        let k1 = parameters.k1
        let b = parameters.b
        let documentCount = Float(count)
        let averageLength = max(averageDocumentLength, 1)
        var scores = [Float](repeating: 0, count: documentIDs.count)
        var touched: [UInt32] = []
        touched.reserveCapacity(1024)

        documentLengths.withUnsafeBufferPointer { lengths in
            scores.withUnsafeMutableBufferPointer { scores in
                for termID in queryTermIDs {
                    let ordinals = postingOrdinals[Int(termID)]
                    let frequencies = postingFrequencies[Int(termID)]
                    let df = Float(ordinals.count)
                    guard df > 0 else { continue }
                    let idf = log(1 + (documentCount - df + 0.5) / (df + 0.5))
                    let idfTimesK1Plus1 = idf * (k1 + 1)
                    ordinals.withUnsafeBufferPointer { ordinals in
                        frequencies.withUnsafeBufferPointer { frequencies in
                            for position in 0..<ordinals.count {
                                let ordinal = Int(ordinals[position])
                                let tf = Float(frequencies[position])
                                let norm = k1 * (1 - b + b * Float(lengths[ordinal]) / averageLength)
                                if scores[ordinal] == 0 { touched.append(UInt32(ordinal)) }
                                scores[ordinal] += idfTimesK1Plus1 * tf / (tf + norm)
                            }
                        }
                    }
                }
            }
        }
        return TopK.select(limit, from: touched) { scores[Int($0)] }
            .map { KeywordHit(id: documentIDs[Int($0)], score: scores[Int($0)]) }
    }
}

// MARK: - Persistence

extension BM25Index {
    static let formatVersion: UInt32 = 1

    /// A compact binary form: live documents renumbered densely, then the vocabulary with
    /// each term's postings. Layout (little-endian): version UInt32, k1 and b as Float32, the
    /// live ids and lengths (each a UInt64 count and the values), the term count (UInt64), then
    /// per term its UTF-8 (UInt32 length), its postings and its frequencies (UInt64 counts).
    func serialized() -> [UInt8] {
        var ordinalRemap = [UInt32](repeating: UInt32.max, count: documentIDs.count)
        var liveIDs: [UInt64] = []
        var liveLengths: [UInt32] = []
        for ordinal in documentIDs.indices where ordinalByID[documentIDs[ordinal]] == UInt32(ordinal) {
            ordinalRemap[ordinal] = UInt32(liveIDs.count)
            liveIDs.append(documentIDs[ordinal])
            liveLengths.append(documentLengths[ordinal])
        }
        var writer = BinaryWriter(reservingCapacity: 1 << 20)
        writer.write(Self.formatVersion)
        writer.write(parameters.k1)
        writer.write(parameters.b)
        writer.write(array: liveIDs, countPrefix: UInt64.self)
        writer.write(array: liveLengths, countPrefix: UInt64.self)
        let liveTerms = terms.indices.filter { !postingOrdinals[$0].isEmpty }
        writer.write(UInt64(liveTerms.count))
        for termIndex in liveTerms {
            writer.write(terms[termIndex], lengthPrefix: UInt32.self)
            writer.write(array: postingOrdinals[termIndex].map { ordinalRemap[Int($0)] }, countPrefix: UInt64.self)
            writer.write(array: postingFrequencies[termIndex], countPrefix: UInt64.self)
        }
        return writer.bytes
    }

    /// Reads `serialized()` bytes; throws `SnapshotFormatError` when they are damaged.
    init(serialized bytes: [UInt8]) throws {
        do {
            self = try bytes.withUnsafeBytes { raw in
                var reader = BinaryReader(raw)
                return try BM25Index(reading: &reader)
            }
        } catch let error as BinaryReadError {
            throw SnapshotFormatError(error, reading: "the BM25 index")
        }
    }

    private init(reading reader: inout BinaryReader) throws {
        let version = try reader.read(UInt32.self)
        guard version == Self.formatVersion else {
            throw SnapshotFormatError("BM25 index format version \(version) is not supported (expected \(Self.formatVersion))")
        }
        let k1 = try reader.read(Float.self)
        let b = try reader.read(Float.self)
        self.init(parameters: BM25Parameters(k1: k1, b: b))
        documentIDs = try reader.readArray(of: UInt64.self, countPrefix: UInt64.self)
        documentLengths = try reader.readArray(of: UInt32.self, countPrefix: UInt64.self)
        guard documentIDs.count == documentLengths.count else {
            throw SnapshotFormatError("BM25 index has \(documentIDs.count) document ids but \(documentLengths.count) lengths")
        }
        ordinalByID.reserveCapacity(documentIDs.count)
        for (ordinal, id) in documentIDs.enumerated() { ordinalByID[id] = UInt32(ordinal) }
        guard ordinalByID.count == documentIDs.count else { throw SnapshotFormatError("BM25 index repeats a document id") }
        totalLength = documentLengths.reduce(0) { $0 + Int($1) }
        let termCount = try reader.read(UInt64.self)
        // A term takes at least 20 bytes (its length and two array counts): checked against
        // that, a damaged count cannot reserve a dictionary many times the file's size.
        guard termCount <= UInt64(reader.remaining / 20) else { throw SnapshotFormatError("BM25 vocabulary size \(termCount) exceeds the file") }
        termIDs.reserveCapacity(Int(termCount))
        for _ in 0..<termCount {
            let term = try reader.readString(lengthPrefix: UInt32.self)
            let ordinals = try reader.readArray(of: UInt32.self, countPrefix: UInt64.self)
            let frequencies = try reader.readArray(of: UInt32.self, countPrefix: UInt64.self)
            guard ordinals.count == frequencies.count, ordinals.allSatisfy({ Int($0) < documentIDs.count }) else {
                throw SnapshotFormatError("BM25 postings of '\(term)' are inconsistent")
            }
            guard termIDs[term] == nil else { throw SnapshotFormatError("BM25 vocabulary repeats '\(term)'") }
            termIDs[term] = Int32(terms.count)
            terms.append(term)
            postingOrdinals.append(ordinals)
            postingFrequencies.append(frequencies)
        }
        guard reader.isAtEnd else { throw SnapshotFormatError("BM25 index has \(reader.remaining) unexpected trailing bytes") }
    }
}
