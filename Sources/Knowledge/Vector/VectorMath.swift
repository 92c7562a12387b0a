/// The arithmetic kernels of the vector index: dot products and normalization over raw float
/// buffers.
///
/// Distance computations are nearly all of the time an HNSW search or build spends, so these
/// work on unsafe pointers with explicit SIMD: 16-lane loads (one AVX-512 register, two AVX or
/// four SSE registers, whatever the target has) into two independent accumulators, so that
/// consecutive multiply-adds don't wait on each other. Unaligned loads are used: the index keeps
/// its vectors 64-byte aligned, but callers' buffers need not be.
enum VectorMath {
    /// Σ a[i]·b[i] over `count` floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let left = UnsafeRawPointer(a)
        let right = UnsafeRawPointer(b)
        let byteCount = count &* MemoryLayout<Float>.stride
        var sum0 = SIMD16<Float>()
        var sum1 = SIMD16<Float>()
        var offset = 0
        while offset &+ 128 <= byteCount {
            sum0 += left.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                * right.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sum1 += left.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
                * right.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
            offset &+= 128
        }
        if offset &+ 64 <= byteCount {
            sum0 += left.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                * right.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            offset &+= 64
        }
        // Pairwise halving keeps the reduction in vector registers instead of 15 scalar adds.
        var total = horizontalSum(sum0 + sum1)
        var index = offset / MemoryLayout<Float>.stride
        while index < count {
            total += a[index] * b[index]
            index &+= 1
        }
        return total
    }

    /// Dot products of one vector with four others, in one pass.
    ///
    /// Search is bound by memory latency, not arithmetic: each neighbour's vector is a fresh
    /// cache miss. Walking four vectors side by side keeps four streams of misses in flight at
    /// once (and loads the query once for all four), which is how this index gets the
    /// memory-level parallelism that hnswlib gets from prefetch instructions.
    @inline(__always)
    static func dot4(_ query: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                     _ c: UnsafePointer<Float>, _ d: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        let q = UnsafeRawPointer(query)
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), rc = UnsafeRawPointer(c), rd = UnsafeRawPointer(d)
        let byteCount = count &* MemoryLayout<Float>.stride
        var sumA = SIMD16<Float>(), sumB = SIMD16<Float>(), sumC = SIMD16<Float>(), sumD = SIMD16<Float>()
        var offset = 0
        while offset &+ 64 <= byteCount {
            let x = q.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sumA += x * ra.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sumB += x * rb.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sumC += x * rc.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sumD += x * rd.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            offset &+= 64
        }
        var result = SIMD4<Float>(horizontalSum(sumA), horizontalSum(sumB), horizontalSum(sumC), horizontalSum(sumD))
        var index = offset / MemoryLayout<Float>.stride
        while index < count {
            let x = query[index]
            result += SIMD4(x * a[index], x * b[index], x * c[index], x * d[index])
            index &+= 1
        }
        return result
    }

    @inline(__always)
    private static func horizontalSum(_ vector: SIMD16<Float>) -> Float {
        let sum8 = vector.lowHalf + vector.highHalf
        let sum4 = sum8.lowHalf + sum8.highHalf
        return sum4[0] + sum4[1] + sum4[2] + sum4[3]
    }

    /// Cosine distance of two unit vectors: 1 − a·b, in [0, 2] up to rounding.
    @inline(__always)
    static func cosineDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        1 - dot(a, b, count: count)
    }

    /// Copies `source` into `destination` scaled to unit length; a zero vector is copied as zero
    /// (embedders produce those for text without content; its cosine distance to anything is 1).
    ///
    /// Returns false, leaving `destination` unspecified, when the vector has a NaN or infinity.
    static func normalize(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        var largest: Float = 0
        var index = 0
        while index < count {
            let magnitude = source[index].magnitude
            guard magnitude.isFinite else { return false }
            largest = max(largest, magnitude)
            index &+= 1
        }
        guard largest > 0 else {
            destination.update(repeating: 0, count: count)
            return true
        }
        var squaredNorm = dot(source, source, count: count)
        if squaredNorm.isFinite && squaredNorm >= 1e-30 {
            destination.update(from: source, count: count)
        } else {
            // Squares that overflow or lose precision: bring the values into [-1, 1] first.
            index = 0
            while index < count {
                destination[index] = source[index] / largest
                index &+= 1
            }
            squaredNorm = dot(destination, destination, count: count)
        }
        let scale = 1 / squaredNorm.squareRoot()
        index = 0
        while index < count {
            destination[index] *= scale
            index &+= 1
        }
        return true
    }

    /// Whether every value is zero (a normalized vector is either unit length or zero).
    static func isZero(_ vector: UnsafePointer<Float>, count: Int) -> Bool {
        var index = 0
        while index < count {
            if vector[index] != 0 { return false }
            index &+= 1
        }
        return true
    }
}
