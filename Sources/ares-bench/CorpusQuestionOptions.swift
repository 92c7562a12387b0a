import ArgumentParser
import Foundation

/// The corpus and question set the retrieval benchmarks (`corpus`, `embeddings`) run over, by
/// default the PostgreSQL 15 HTML documentation and bench/pgdocs/questions.json: one
/// declaration and one reader, so both read the same files the same way.
struct CorpusQuestionOptions: ParsableArguments {
    @Option(help: "The corpus folder.")
    var corpus = "/usr/share/doc/postgresql-doc-15/html"

    @Option(help: "The question set (bench/pgdocs/questions.json): each question with the pages that answer it.")
    var questions = "bench/pgdocs/questions.json"

    /// A question set's file: each question with the corpus pages (file names) that answer it.
    struct QuestionSet: Decodable {
        struct Question: Decodable {
            var id: String
            var question: String
            var relevant: [String]
        }
        var questions: [Question]
    }

    /// Reads `--questions`, saying which file could not be read or decoded.
    func questionSet() throws -> QuestionSet {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: questions)) } catch {
            throw ValidationError("cannot read the question set \(questions): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(QuestionSet.self, from: data) } catch {
            throw ValidationError("\(questions) is not a question set ({\"questions\": [{\"id\", \"question\", \"relevant\"}]}): \(error)")
        }
    }
}
