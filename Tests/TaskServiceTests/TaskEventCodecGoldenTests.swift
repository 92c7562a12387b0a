import Foundation
import ResearchCore
import Testing
@testable import TaskService

/// The stored payloads of `tasks.sqlite` must read the same after the codec moved onto the shared
/// BinaryCoding reader and writer: these are `TaskEventCodecTests.everyKind` as the codec wrote
/// them before (its own ByteWriter, issue 9), base64, one per event in that order.
@Suite struct TaskEventCodecGoldenTests {
    static let payloadsWrittenBefore: [String] = [
        "oQASAAAAAAAAAEhvdyBkb2VzIFdBTCB3b3JrPwA=",
        "oQABAAAAAAAAAHEBBQAAAAAAAABhbGljZQ==",
        "oQsBAAAAAAAAAHEBBQAAAAAAAABhbGljZQUAAAAAAAAAY3R4LTE=",
        "oQEBAAAAAAAAAAMAAAAAAAAAc3ExFAAAAAAAAAB3aGVuIGlzIFdBTCBmbHVzaGVkPwIAAAAAAAAACwAAAAAAAABXQUwgZmx1c2hlZAMAAAAAAAAAd2FsAQYAAAAAAAAAdGFzay0x",
        "oQEAAAAAAAAAAAA=",
        "oQIDAAAAAAAAAHNxMQIAAAAAAAAA",
        "oQMDAAAAAAAAAHNxMQEAAAAAAAAAAQAAAAAAAAADAAAAAAAAAHNxMR4AAAAAAAAAV0FMIHJlY29yZHMgYXJlIGZsdXNoZWQgZmlyc3QuAgAAAAAAAABjMQ0AAAAAAAAAZG9jcy93YWwuaHRtbA8AAAAAAAAAV0FMIOKAlCDCq2xvZ8K7AgAAAAAAAAABAAAAAAAAAEEBAAAAAAAAAEIjAAAAAAAAAFdBTCByZWNvcmRzIGFyZSBmbHVzaGVkIGZpcnN0LiDwn5iAAwAAAAAAAAAkAAAAAAAAAAMAAAAAAAAAIQAAAAAAAAAAAAAAAADsPw==",
        "oQQBAAAAAAAAAAAAAAAAAOA/AQAAAAAAAAADAAAAAAAAAHNxMRQAAAAAAAAAd2hlbiBpcyBXQUwgZmx1c2hlZD8CAAAAAAAAAAsAAAAAAAAAV0FMIGZsdXNoZWQDAAAAAAAAAHdhbAEAAAAAAAAAAQAAAAAAAABu",
        "oQwDAAAAAAAAAHNxMQEAAAAAAAAAAAAAAAAAAAABAAAAAAAAACAAAAAAAAAAdGhlIGJ1aWx0LWluIHJlc2VhcmNoZXIgc3Rvb2QgaW4=",
        "oQwDAAAAAAAAAHNxMQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
        "oQ0BAAAAAAAAAAAAAAAAAPA/AAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAwAAAAAAAABzcTEIAAAAAAAAAEEgbG9ja3MuBgAAAAAAAABhLmh0bWwCAAAAAAAAAGMxAwAAAAAAAABzcTIQAAAAAAAAAEEgZG9lcyBub3QgbG9jay4GAAAAAAAAAGIuaHRtbAIAAAAAAAAAYzIIAAAAAAAAAG5lZ2F0aW9uAAAAAAAA4D8BAAAAAAAAABAAAAAAAAAAc291cmNlcyBkaXNhZ3JlZQ==",
        "oQ0CAAAAAAAAAAAAAAAAAPA/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAoAAAAAAAAAbW9kZWwgZG93bg==",
        "oQUCAAAAAAAAAAEAAAAAAAAAAwAAAAAAAABzcTEUAAAAAAAAAHdoZW4gaXMgV0FMIGZsdXNoZWQ/AgAAAAAAAAALAAAAAAAAAFdBTCBmbHVzaGVkAwAAAAAAAAB3YWw=",
        "oQYKAAAAAAAAAEZpcnN0IFsxXS4BAAAAAAAAAAEAAAAAAAAAdAoAAAAAAAAARmlyc3QgWzFdLgEAAAAAAAAAAQAAAAAAAAABAAAAAAAAAAEAAAAAAAAAAgAAAAAAAABjMQ0AAAAAAAAAZG9jcy93YWwuaHRtbA8AAAAAAAAAV0FMIOKAlCDCq2xvZ8K7AgAAAAAAAAABAAAAAAAAAEEBAAAAAAAAAEIjAAAAAAAAAFdBTCByZWNvcmRzIGFyZSBmbHVzaGVkIGZpcnN0LiDwn5iAAwAAAAAAAAAkAAAAAAAAAA8AAAAAAAAAIyBxCgpGaXJzdCBbMV0uAQAAAAAAAAAGAAAAAAAAAGEgbm90ZQ==",
        "oQcDAAAAAAAAAAEAAAAAAAAAAQAAAAAAAAABAAAAAAAAAHgKAAAAAAAAAEZpcnN0IFsxXS4BAAAAAAAAAAEAAAAAAAAAdAoAAAAAAAAARmlyc3QgWzFdLgEAAAAAAAAAAQAAAAAAAAABAAAAAAAAAAEAAAAAAAAAAgAAAAAAAABjMQ0AAAAAAAAAZG9jcy93YWwuaHRtbA8AAAAAAAAAV0FMIOKAlCDCq2xvZ8K7AgAAAAAAAAABAAAAAAAAAEEBAAAAAAAAAEIjAAAAAAAAAFdBTCByZWNvcmRzIGFyZSBmbHVzaGVkIGZpcnN0LiDwn5iAAwAAAAAAAAAkAAAAAAAAAA8AAAAAAAAAIyBxCgpGaXJzdCBbMV0uAQAAAAAAAAAGAAAAAAAAAGEgbm90ZQ==",
        "oQg=",
        "oQkEAAAAAAAAAGJvb20=",
        "oQoEAAAAAAAAAHVzZXI=",
    ]

    @Test func payloadsWrittenByTheEarlierCodecDecodeAndAreWrittenIdentically() throws {
        #expect(Self.payloadsWrittenBefore.count == TaskEventCodecTests.everyKind.count)
        for (event, base64) in zip(TaskEventCodecTests.everyKind, Self.payloadsWrittenBefore) {
            let stored = try #require(Data(base64Encoded: base64))
            #expect(try TaskEventCodec.decode(stored) == event)
            // Evidence is written as references since issue 12 (tag 14; the old tags still
            // decode, above); every other event byte for byte as before.
            guard event.typeName != "EvidenceFound" else { continue }
            #expect(TaskEventCodec.encode(event) == stored, "\(event.typeName) is written byte for byte as before")
        }
    }

    @Test func everyCutOfEveryStoredPayloadThrows() throws {
        for base64 in Self.payloadsWrittenBefore {
            let stored = try #require(Data(base64Encoded: base64))
            for cut in 1..<stored.count {
                #expect(throws: (any Error).self) { try TaskEventCodec.decode(stored.prefix(cut)) }
            }
        }
    }
}
