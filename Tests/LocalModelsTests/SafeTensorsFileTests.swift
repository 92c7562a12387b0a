import Foundation
import Testing
@testable import LocalModels

/// The safetensors reader on files built here byte by byte: good ones read back exactly (F32,
/// F16, BF16), and every kind of damage ends in a LocalModelError that says what is wrong.
@Suite struct SafeTensorsFileTests {
    /// A safetensors file: the header JSON (spaces appended as the format allows), then `data`.
    static func file(header: String, data: [UInt8]) -> Data {
        var bytes = Data()
        let headerBytes = Array(header.utf8)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: headerBytes)
        bytes.append(contentsOf: data)
        return bytes
    }

    static func littleEndianBytes(_ floats: [Float]) -> [UInt8] {
        floats.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    static func problem(_ data: Data) -> String? {
        do {
            _ = try SafeTensorsFile(data: data, path: "test.safetensors")
            return nil
        } catch {
            return error.problem
        }
    }

    @Test func readsFloat32Float16AndBFloat16Tensors() throws {
        let f32: [Float] = [1.5, -2.25, 0, 1e-8, 3.4e38, -0.0]
        // Half: 1.0 (0x3C00), -2.0 (0xC000), 65504 (0x7BFF), smallest subnormal (0x0001), infinity (0x7C00).
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000]
        // bfloat16 is the upper half of a float: 1.0 and -3.0.
        let bf16: [UInt16] = [0x3F80, 0xC040]
        var data = Self.littleEndianBytes(f32)
        data += f16.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        data += bf16.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let header = """
        {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},\
        "h":{"dtype":"F16","shape":[6],"data_offsets":[24,36]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[36,40]}}
        """ + "    "
        let file = try SafeTensorsFile(data: Self.file(header: header, data: data), path: "x")
        #expect(file.tensors.count == 3)
        #expect(try file.floats("a", shape: [2, 3]) == f32)
        let halves = try file.floats("h", shape: [6])
        #expect(halves[0] == 1 && halves[1] == -2 && halves[2] == 65504)
        #expect(halves[3] == Float(sign: .plus, exponent: -24, significand: 1) && halves[4] == .infinity)
        #expect(halves[5] == 0 && halves[5].sign == .minus)
        #expect(try file.floats("b", shape: [2]) == [1, -3])
    }

    @Test func aTensorMustHaveTheShapeTheModelNeedsAndExist() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"i":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}"#
        let file = try SafeTensorsFile(data: Self.file(header: header, data: Array(repeating: 0, count: 24)), path: "m.safetensors")
        #expect(throws: LocalModelError(file: "m.safetensors", "tensor w has shape [2, 2], the model's config.json needs [4]")) {
            try file.floats("w", shape: [4])
        }
        #expect(throws: LocalModelError(file: "m.safetensors", "missing tensor v")) { try file.floats("v", shape: [4]) }
        #expect(throws: LocalModelError(file: "m.safetensors", "tensor i is I64, a floating-point tensor is needed")) {
            try file.floats("i", shape: [1])
        }
    }

    @Test func damagedFilesSayWhatIsWrong() {
        let good = #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
        let complete = Self.file(header: good, data: Array(repeating: 0, count: 16))
        #expect(Self.problem(complete) == nil)

        #expect(Self.problem(Data([1, 2, 3])) == "truncated safetensors file: 3 bytes, shorter than the 8-byte header length")
        #expect(Self.problem(complete.prefix(20)) == "truncated safetensors file: the header needs \(good.utf8.count) bytes, 12 remain")
        #expect(Self.problem(complete.prefix(complete.count - 1))
                == "truncated safetensors file: tensor w ends at data byte 16, the file holds 15 bytes of data")
        var huge = Data()
        withUnsafeBytes(of: UInt64.max.littleEndian) { huge.append(contentsOf: $0) }
        #expect(Self.problem(huge) == "not a safetensors file: its header length 18446744073709551615 exceeds 104857600 bytes")

        let cases: [(header: String, problem: String)] = [
            ("not json", "the safetensors header is not a JSON object of tensor entries (not valid JSON)"),
            (#"[1,2]"#, "the safetensors header is not a JSON object of tensor entries (the document is not Dictionary<String, Any>)"),
            (#"{"w":{"dtype":"F32","shape":[2,2]}}"#, "tensor w: the header entry needs dtype, shape and two data_offsets"),
            (#"{"w":{"dtype":"Q4","shape":[2,2],"data_offsets":[0,16]}}"#, "tensor w: unsupported dtype Q4 (F32, F16 and BF16 weights are read)"),
            (#"{"w":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}}"#, "tensor w: shape [-2, 2] has a negative dimension"),
            (#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, "tensor w: shape [4611686018427387904, 4] is too large"),
            (#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,0]}}"#, "tensor w: data_offsets [16, 0] are not an ordered pair of non-negative integers"),
            (#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#, "tensor w: data_offsets 0..<16 hold 16 bytes, shape [2, 3] of F32 needs 24"),
            // Foundation's decoder reports a fraction where an integer belongs as invalid JSON.
            (#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0.5,16]}}"#, "the safetensors header is not a JSON object of tensor entries (not valid JSON)"),
        ]
        for (header, problem) in cases {
            #expect(Self.problem(Self.file(header: header, data: Array(repeating: 0, count: 16))) == problem, "\(header)")
        }
    }

    @Test func noPrefixOfARealModelFileTraps() throws {
        // Every cut of the real model's header region, and a few inside the weights: an error, never a crash.
        let directory = try LocalModelFixture.modelDirectory()
        let data = try Data(contentsOf: directory.appendingPathComponent("model.safetensors"))
        let headerEnd = 8 + Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for length in stride(from: 0, through: headerEnd + 64, by: 97) + [data.count / 2, data.count - 1] {
            #expect(Self.problem(data.prefix(length)) != nil, "cut at \(length) bytes")
        }
        #expect(Self.problem(data) == nil)
    }
}
