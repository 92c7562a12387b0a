import ArgumentParser
import Knowledge
@main struct BenchCommand: AsyncParsableCommand {
    func run() async throws {}
}
