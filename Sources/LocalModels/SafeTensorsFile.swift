import BinaryCoding
import Foundation

/// A `.safetensors` file (Hugging Face's weight format): an 8-byte little-endian header length,
/// a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
///
/// Everything the header says is checked before it is used: the header must fit in the file,
/// every tensor's byte range must lie inside the data and hold exactly `shape` elements of
/// its dtype (with overflow-checked arithmetic), so a truncated or damaged file ends in a
/// `LocalModelError` that says what is wrong, never a trap or an out-of-bounds read.
public struct SafeTensorsFile: Sendable {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32"

        var byteSize: Int {
            switch self {
            case .f32, .i32: 4
            case .f16, .bf16: 2
            case .i64: 8
            }
        }

        /// Whether `floats(_:)` can read it.
        var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 }
    }

    public struct TensorInfo: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        /// The tensor's bytes, relative to the start of the file.
        public let byteRange: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }  // checked not to overflow at parse time
    }

    /// A header larger than this is not a model's: refuse it before reading it.
    static let maximumHeaderBytes = 100 << 20

    public let path: String
    public let tensors: [String: TensorInfo]
    /// The whole file.
    private let contents: Data

    public init(contentsOf url: URL) throws(LocalModelError) {
        let path = url.path
        let data: Data
        do {
            // Read, not mapped: a mapped file that someone truncates while it is open would
            // fault on access (SIGBUS) instead of failing with an error.
            data = try Data(contentsOf: url)
        } catch {
            throw LocalModelError(file: path, "cannot read the weights file (\(ModelFiles.describe(error)))")
        }
        try self.init(data: data, path: path)
    }

    /// Parses `data` (a whole safetensors file); `path` names it in errors.
    public init(data: Data, path: String) throws(LocalModelError) {
        self.path = path
        self.contents = data
        // Data.withUnsafeBytes rethrows untyped errors: the closure returns a Result instead.
        let parsed = try data.withUnsafeBytes { buffer in Self.parseHeader(buffer, path: path) }.get()
        let dataStart = parsed.headerEnd
        let dataBytes = data.count - dataStart
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in parsed.header where name != "__metadata__" {
            tensors[name] = try Self.tensorInfo(name: name, value, dataStart: dataStart, dataBytes: dataBytes, path: path)
        }
        self.tensors = tensors
    }

    /// The header length, checked against the file, and the header's entries.
    private static func parseHeader(_ buffer: UnsafeRawBufferPointer, path: String) -> Result<(headerEnd: Int, header: [String: HeaderEntry]), LocalModelError> {
        var reader = BinaryReader(buffer)
        guard let headerLength = try? reader.read(UInt64.self) else {
            return .failure(LocalModelError(file: path, "truncated safetensors file: \(buffer.count) bytes, shorter than the 8-byte header length"))
        }
        guard headerLength <= UInt64(maximumHeaderBytes) else {
            return .failure(LocalModelError(file: path, "not a safetensors file: its header length \(headerLength) exceeds \(maximumHeaderBytes) bytes"))
        }
        guard let headerBytes = try? reader.readBytes(Int(headerLength)) else {
            return .failure(LocalModelError(file: path, "truncated safetensors file: the header needs \(headerLength) bytes, \(reader.remaining) remain"))
        }
        do {
            return .success((reader.offset, try JSONDecoder().decode([String: HeaderEntry].self, from: Data(headerBytes))))
        } catch {
            return .failure(LocalModelError(file: path, "the safetensors header is not a JSON object of tensor entries (\(ModelFiles.describe(error)))"))
        }
    }

    /// One entry of the header: a tensor, or `__metadata__` (whose fields are all absent here).
    struct HeaderEntry: Decodable {
        let dtype: String?
        let shape: [Int]?
        let dataOffsets: [Int]?

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }

        init(from decoder: any Decoder) throws {
            // __metadata__ maps names to strings; a tensor entry has dtype, shape and offsets.
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dtype = try? container.decodeIfPresent(String.self, forKey: .dtype)
            shape = try container.decodeIfPresent([Int].self, forKey: .shape)
            dataOffsets = try container.decodeIfPresent([Int].self, forKey: .dataOffsets)
        }
    }

    private static func tensorInfo(name: String, _ entry: HeaderEntry, dataStart: Int, dataBytes: Int, path: String) throws(LocalModelError) -> TensorInfo {
        guard let dtypeName = entry.dtype, let shapeValues = entry.shape, let offsets = entry.dataOffsets, offsets.count == 2 else {
            throw LocalModelError(file: path, "tensor \(name): the header entry needs dtype, shape and two data_offsets")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw LocalModelError(file: path, "tensor \(name): unsupported dtype \(dtypeName) (F32, F16 and BF16 weights are read)")
        }
        var elements = 1
        for size in shapeValues {
            guard size >= 0 else {
                throw LocalModelError(file: path, "tensor \(name): shape \(shapeValues) has a negative dimension")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else { throw LocalModelError(file: path, "tensor \(name): shape \(shapeValues) is too large") }
            elements = product
        }
        let begin = offsets[0], end = offsets[1]
        guard begin >= 0, begin <= end else {
            throw LocalModelError(file: path, "tensor \(name): data_offsets \(offsets) are not an ordered pair of non-negative integers")
        }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, end - begin == byteCount else {
            throw LocalModelError(file: path, "tensor \(name): data_offsets \(begin)..<\(end) hold \(end - begin) bytes, shape \(shapeValues) of \(dtype.rawValue) needs \(overflow ? "more than Int.max" : String(byteCount))")
        }
        guard end <= dataBytes else {
            throw LocalModelError(file: path, "truncated safetensors file: tensor \(name) ends at data byte \(end), the file holds \(dataBytes) bytes of data")
        }
        return TensorInfo(dtype: dtype, shape: shapeValues, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    /// The tensor `name` as 32-bit floats (F16 and BF16 are widened), after checking that it
    /// exists and has `shape`.
    public func floats(_ name: String, shape expected: [Int]) throws(LocalModelError) -> [Float] {
        guard let info = tensors[name] else {
            throw LocalModelError(file: path, "missing tensor \(name)")
        }
        guard info.shape == expected else {
            throw LocalModelError(file: path, "tensor \(name) has shape \(info.shape), the model's config.json needs \(expected)")
        }
        guard info.dtype.isFloatingPoint else {
            throw LocalModelError(file: path, "tensor \(name) is \(info.dtype.rawValue), a floating-point tensor is needed")
        }
        let count = info.elementCount
        return contents.withUnsafeBytes { buffer in
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[info.byteRange])
            return [Float](unsafeUninitializedCapacity: count) { floats, initialized in
                for index in 0..<count {
                    switch info.dtype {
                    case .f32:
                        floats[index] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self)))
                    case .f16:
                        floats[index] = Self.widen(half: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: index &* 2, as: UInt16.self)))
                    case .bf16:
                        floats[index] = Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: index &* 2, as: UInt16.self))) << 16)
                    case .i64, .i32:
                        floats[index] = 0  // excluded by the guard above
                    }
                }
                initialized = count
            }
        }
    }

    /// IEEE 754 half precision to single precision (exact: every half is a float), written out
    /// because `Float16` is not available on every platform Swift runs on.
    static func widen(half bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }
}
