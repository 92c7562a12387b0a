/// Where a stored task's evidence finds its passages' text again. Task events keep evidence
/// as references (a passage's chunk id, span and content digest) rather than copies of the
/// text, so that a finished task stores a few kB (issue 12); reading or resuming a task
/// looks the text up here. The knowledge base is the one implementation.
public protocol PassageTextSource: Sendable {
    /// The current text of each stored passage among `chunkIds`, by chunk id; a passage no
    /// longer stored (its document removed or re-ingested into other passages) is absent.
    func passageTexts(chunkIds: Set<String>) async throws -> [String: String]
}

extension Passage {
    /// What evidence shows in place of a passage's text when the passage is no longer in the
    /// knowledge base, or its text changed since the evidence was found: said explicitly,
    /// never replaced by whatever text the chunk id names now.
    public static let noLongerInKnowledgeBase =
        "[passage no longer in the knowledge base: its document was removed or re-ingested since this evidence was found]"
}
