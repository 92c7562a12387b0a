"""The fixed sentences of the golden-vector fixture (Tests/LocalModelsTests/Fixtures): everyday
English, PostgreSQL prose, accents, CJK, emoji, control characters, a special token written in
the text, an empty text and one longer than the model's 256-token limit."""

LONG = " ".join(
    f"Sentence {n} of a long passage about write-ahead logging, checkpoints and replication slots." for n in range(40)
)

SENTENCES = [
    "How do I restore a backup made with pg_dump?",
    "VACUUM FULL takes an ACCESS EXCLUSIVE lock on the table while it rewrites it.",
    "The maximum size of a table is 32 TB with the standard 8 kB block size.",
    "A cat sits on the mat.",
    "Streaming replication ships WAL records to standby servers as they are generated.",
    "Café crème brûlée à la carte — naïve résumé façade.",
    "Ελληνικά: Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.",
    "日本語のテキストと中文文本混合在一起。",
    "Emoji test 🚀🔥 with a rocket and fire 👍🏽.",
    "Tab\tseparated\tvalues and a\u0000NUL and \u200bzero-width space.",
    "What does [SEP] mean inside a sentence? And [CLS]?",
    "",
    "   ",
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active';",
    "pneumonoultramicroscopicsilicovolcanoconiosis is a very long word.",
    "Ünïcödé ÀÉÎÕÜ ß ﬁ ligature and Ⅻ roman numeral.",
    "The quick brown fox jumps over the lazy dog.",
    "Indexes: B-tree, Hash, GiST, SP-GiST, GIN and BRIN.",
    "한국어 문장도 포함합니다.",
    "Connection refused: is the server running on host \"localhost\" (127.0.0.1) and accepting TCP/IP connections on port 5432?",
    LONG,
]
