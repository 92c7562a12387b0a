/// Why a local model directory cannot be used, or a text cannot be embedded with it: one line
/// that names the file and what is wrong with it, for the person who pointed ares at the folder.
public struct LocalModelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file (or folder) at fault, as the user named it or as found inside the model folder.
    public let file: String
    public let problem: String

    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
