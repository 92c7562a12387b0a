/// Which event encodings a process writes (`--event-format`).
///
/// `compact` (the default) stores evidence as references to passages and each report once
/// (tags 14–16, issue 12: a finished task in a few kB). A release before it cannot read those
/// tags, so during a rolling upgrade from such a release the new replicas run `compatible`,
/// writing only the tags the previous release reads (3, 6, 7, 12), and switch to `compact`
/// once no replica of the old release is left (docs/operations.md, "Upgrades"). Both formats
/// are always read.
public enum TaskEventFormat: String, CaseIterable, Sendable {
    case compact
    case compatible
}
