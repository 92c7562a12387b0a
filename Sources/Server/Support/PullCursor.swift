/// The state of a stream made with `AsyncStream(unfolding:)`: the iterator it pulls from, and
/// the outputs the last element expanded into that are not read yet. The unfolding closure is
/// called by the stream's one consumer, one call at a time, so this state is never touched
/// concurrently — which is why it may be unchecked. Pulling on demand needs no task of its own.
final class PullCursor<Iterator: AsyncIteratorProtocol, Output>: @unchecked Sendable {
    var iterator: Iterator?
    var pending: [Output] = []
    var started = false
    var finished = false

    init(_ iterator: Iterator?) {
        self.iterator = iterator
    }
}
