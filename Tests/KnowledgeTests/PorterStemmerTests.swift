import Testing

@testable import Knowledge

/// Expected stems for the original Porter (1980) algorithm.
///
/// Generated with NLTK 3.10.4, `PorterStemmer(mode: PorterStemmer.ORIGINAL_ALGORITHM)`, under
/// Python 3. PyStemmer 3.1.0 (Snowball's "porter") gives the same stem for every word here except
/// "grokked", "trekking", "revving", "specced" and "yakked": Snowball undoubles a final double
/// consonant after removing -ed/-ing only for b, d, f, g, m, n, p, r and t, while the paper's rule
/// "(*d and not (*L or *S or *Z)) -> single letter" (which NLTK and this stemmer follow) undoubles
/// any other consonant too, so "trekking" -> "trek" like "trek" itself.
/// Beyond this table the stemmer was checked against NLTK on 180,022 words (the vocabulary of the
/// PostgreSQL 15 manual, /usr/share/dict/words and random suffix-heavy strings): all matched.
private let referenceStems: [(word: String, stem: String)] = [
    ("caresses", "caress"), ("ponies", "poni"), ("ties", "ti"), ("caress", "caress"),
    ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"), ("plastered", "plaster"),
    ("bled", "bled"), ("motoring", "motor"), ("sing", "sing"), ("conflated", "conflat"),
    ("troubled", "troubl"), ("sized", "size"), ("hopping", "hop"), ("tanned", "tan"),
    ("falling", "fall"), ("hissing", "hiss"), ("fizzed", "fizz"), ("failing", "fail"),
    ("filing", "file"), ("happy", "happi"), ("sky", "sky"), ("relational", "relat"),
    ("conditional", "condit"), ("rational", "ration"), ("valenci", "valenc"),
    ("hesitanci", "hesit"), ("digitizer", "digit"), ("conformabli", "conform"),
    ("radicalli", "radic"), ("differentli", "differ"), ("vileli", "vile"),
    ("analogousli", "analog"), ("vietnamization", "vietnam"), ("predication", "predic"),
    ("operator", "oper"), ("feudalism", "feudal"), ("decisiveness", "decis"),
    ("hopefulness", "hope"), ("callousness", "callous"), ("formaliti", "formal"),
    ("sensitiviti", "sensit"), ("sensibiliti", "sensibl"), ("triplicate", "triplic"),
    ("formative", "form"), ("formalize", "formal"), ("electriciti", "electr"),
    ("electrical", "electr"), ("hopeful", "hope"), ("goodness", "good"), ("revival", "reviv"),
    ("allowance", "allow"), ("inference", "infer"), ("airliner", "airlin"),
    ("gyroscopic", "gyroscop"), ("adjustable", "adjust"), ("defensible", "defens"),
    ("irritant", "irrit"), ("replacement", "replac"), ("adjustment", "adjust"),
    ("dependent", "depend"), ("adoption", "adopt"), ("homologou", "homolog"),
    ("communism", "commun"), ("activate", "activ"), ("angulariti", "angular"),
    ("homologous", "homolog"), ("effective", "effect"), ("bowdlerize", "bowdler"),
    ("probate", "probat"), ("rate", "rate"), ("cease", "ceas"), ("controll", "control"),
    ("roll", "roll"), ("connect", "connect"), ("connected", "connect"),
    ("connecting", "connect"), ("connection", "connect"), ("connections", "connect"),
    ("generalizations", "gener"), ("oscillators", "oscil"), ("relate", "relat"),
    ("relativity", "rel"), ("knightly", "knightli"), ("knight", "knight"),
    ("trouble", "troubl"), ("troubles", "troubl"), ("troubling", "troubl"), ("filed", "file"),
    ("files", "file"), ("meetings", "meet"), ("meeting", "meet"), ("mated", "mate"),
    ("mating", "mate"), ("matting", "mat"), ("agreement", "agreement"),
    ("disagreement", "disagr"), ("postgresql", "postgresql"), ("database", "databas"),
    ("databases", "databas"), ("indexes", "index"), ("indexing", "index"), ("indexed", "index"),
    ("queries", "queri"), ("query", "queri"), ("querying", "queri"), ("tables", "tabl"),
    ("tablespace", "tablespac"), ("transactions", "transact"), ("transactional", "transact"),
    ("replication", "replic"), ("replicated", "replic"), ("replicas", "replica"),
    ("vacuuming", "vacuum"), ("vacuumed", "vacuum"), ("analyze", "analyz"),
    ("analyzing", "analyz"), ("autovacuum", "autovacuum"), ("checkpoints", "checkpoint"),
    ("checkpointing", "checkpoint"), ("configuration", "configur"), ("configured", "configur"),
    ("configuring", "configur"), ("parameters", "paramet"), ("parameterized", "parameter"),
    ("buffers", "buffer"), ("buffered", "buffer"), ("sharing", "share"), ("shared", "share"),
    ("authentication", "authent"), ("authenticated", "authent"), ("authorization", "author"),
    ("privileges", "privileg"), ("privileged", "privileg"), ("granting", "grant"),
    ("revoked", "revok"), ("functions", "function"), ("functional", "function"),
    ("operators", "oper"), ("operational", "oper"), ("aggregates", "aggreg"),
    ("aggregated", "aggreg"), ("triggers", "trigger"), ("triggered", "trigger"),
    ("constraints", "constraint"), ("constrained", "constrain"), ("sequences", "sequenc"),
    ("sequential", "sequenti"), ("partitions", "partit"), ("partitioned", "partit"),
    ("partitioning", "partit"), ("statistics", "statist"), ("statistical", "statist"),
    ("estimates", "estim"), ("estimation", "estim"), ("executor", "executor"),
    ("executing", "execut"), ("executes", "execut"), ("planner", "planner"),
    ("planning", "plan"), ("optimization", "optim"), ("optimizer", "optim"),
    ("optimizing", "optim"), ("hashing", "hash"), ("hashed", "hash"), ("sorting", "sort"),
    ("sorted", "sort"), ("joins", "join"), ("joined", "join"), ("nested", "nest"),
    ("materialized", "materi"), ("materialization", "materi"), ("views", "view"),
    ("locking", "lock"), ("locked", "lock"), ("deadlocks", "deadlock"), ("isolation", "isol"),
    ("serializable", "serializ"), ("concurrency", "concurr"), ("concurrent", "concurr"),
    ("concurrently", "concurr"), ("consistency", "consist"), ("consistent", "consist"),
    ("durability", "durabl"), ("recovery", "recoveri"), ("recoverable", "recover"),
    ("archiving", "archiv"), ("archived", "archiv"), ("streaming", "stream"),
    ("streamed", "stream"), ("logical", "logic"), ("physically", "physic"),
    ("extensions", "extens"), ("extensible", "extens"), ("compatibility", "compat"),
    ("compatible", "compat"), ("encoding", "encod"), ("encodings", "encod"),
    ("collations", "collat"), ("collation", "collat"), ("locales", "local"),
    ("characters", "charact"), ("character", "charact"), ("sets", "set"), ("utilities", "util"),
    ("utility", "util"), ("monitoring", "monitor"), ("monitored", "monitor"),
    ("logging", "log"), ("logged", "log"), ("warnings", "warn"), ("errors", "error"),
    ("erroneous", "erron"), ("exceptions", "except"), ("exceptional", "except"),
    ("handling", "handl"), ("handlers", "handler"), ("installation", "instal"),
    ("installing", "instal"), ("installed", "instal"), ("upgrading", "upgrad"),
    ("upgraded", "upgrad"), ("migration", "migrat"), ("migrating", "migrat"),
    ("versions", "version"), ("versioning", "version"), ("releases", "releas"),
    ("released", "releas"), ("documentation", "document"), ("documented", "document"),
    ("tutorials", "tutori"), ("examples", "exampl"), ("exemplify", "exemplifi"),
    ("specifically", "specif"), ("specification", "specif"), ("specifications", "specif"),
    ("generalization", "gener"), ("generality", "gener"), ("arbitrary", "arbitrari"),
    ("arbitrarily", "arbitrarili"), ("necessarily", "necessarili"), ("necessary", "necessari"),
    ("necessity", "necess"), ("possibility", "possibl"), ("possibly", "possibli"),
    ("probably", "probabl"), ("probability", "probabl"), ("availability", "avail"),
    ("available", "avail"), ("reliability", "reliabl"), ("reliable", "reliabl"),
    ("scalability", "scalabl"), ("scalable", "scalabl"), ("performance", "perform"),
    ("performing", "perform"), ("performed", "perform"), ("efficiency", "effici"),
    ("efficient", "effici"), ("effectively", "effect"), ("effectiveness", "effect"),
    ("usefulness", "us"), ("useful", "us"), ("usefully", "usefulli"),
    ("carefully", "carefulli"), ("careful", "care"), ("carelessness", "careless"),
    ("happiness", "happi"), ("business", "busi"), ("busy", "busi"), ("easily", "easili"),
    ("easier", "easier"), ("easiest", "easiest"), ("simplest", "simplest"),
    ("simpler", "simpler"), ("simplicity", "simplic"), ("simplify", "simplifi"),
    ("simplified", "simplifi"), ("simplification", "simplif"), ("quickly", "quickli"),
    ("quicker", "quicker"), ("largest", "largest"), ("larger", "larger"), ("lengths", "length"),
    ("lengthy", "lengthi"), ("longer", "longer"), ("longest", "longest"), ("strings", "string"),
    ("stringent", "stringent"), ("integers", "integ"), ("integral", "integr"),
    ("numerical", "numer"), ("numbers", "number"), ("numbered", "number"), ("numeric", "numer"),
    ("decimals", "decim"), ("decimal", "decim"), ("precision", "precis"),
    ("precisely", "precis"), ("approximately", "approxim"), ("approximation", "approxim"),
    ("approximate", "approxim"), ("rounding", "round"), ("rounded", "round"),
    ("truncation", "truncat"), ("truncated", "truncat"), ("timestamps", "timestamp"),
    ("timestamp", "timestamp"), ("intervals", "interv"), ("dates", "date"), ("dated", "date"),
    ("zones", "zone"), ("zoned", "zone"), ("geometric", "geometr"), ("geometry", "geometri"),
    ("arrays", "arrai"), ("arrayed", "arrai"), ("ranges", "rang"), ("ranged", "rang"),
    ("searching", "search"), ("searches", "search"), ("searched", "search"),
    ("textual", "textual"), ("tokenizer", "token"), ("tokens", "token"),
    ("tokenization", "token"), ("dictionaries", "dictionari"), ("dictionary", "dictionari"),
    ("stemming", "stem"), ("stemmed", "stem"), ("stemmer", "stemmer"),
    ("thesaurus", "thesauru"), ("weights", "weight"), ("weighted", "weight"),
    ("ranking", "rank"), ("ranked", "rank"), ("highlighting", "highlight"),
    ("highlighted", "highlight"), ("administration", "administr"),
    ("administrative", "administr"), ("administrator", "administr"), ("roles", "role"),
    ("rolled", "roll"), ("rolling", "roll"), ("ownership", "ownership"), ("owners", "owner"),
    ("owned", "own"), ("schemas", "schema"), ("schematic", "schemat"), ("relations", "relat"),
    ("relationships", "relationship"), ("related", "relat"), ("relatively", "rel"),
    ("relative", "rel"), ("dependencies", "depend"), ("dependency", "depend"),
    ("independently", "independ"), ("independence", "independ"), ("running", "run"),
    ("runner", "runner"), ("ran", "ran"), ("runs", "run"), ("swimming", "swim"),
    ("swam", "swam"), ("swimmer", "swimmer"), ("jumping", "jump"), ("jumped", "jump"),
    ("jumps", "jump"), ("flies", "fli"), ("flying", "fly"), ("flied", "fli"), ("dying", "dy"),
    ("died", "di"), ("dies", "di"), ("lying", "ly"), ("lied", "li"), ("tying", "ty"),
    ("tied", "ti"), ("crying", "cry"), ("cried", "cri"), ("cries", "cri"), ("applied", "appli"),
    ("applies", "appli"), ("applying", "appli"), ("studies", "studi"), ("studied", "studi"),
    ("studying", "studi"), ("hurried", "hurri"), ("hurries", "hurri"), ("worried", "worri"),
    ("worrying", "worri"), ("enjoy", "enjoi"), ("enjoyed", "enjoi"), ("enjoying", "enjoi"),
    ("enjoyment", "enjoy"), ("employ", "emploi"), ("employer", "employ"),
    ("employee", "employe"), ("employees", "employe"), ("boys", "boi"), ("boyish", "boyish"),
    ("toys", "toi"), ("playing", "plai"), ("played", "plai"), ("player", "player"),
    ("plays", "plai"), ("gently", "gentli"), ("gentle", "gentl"), ("gentleness", "gentl"),
    ("quietly", "quietli"), ("quietness", "quiet"), ("sadly", "sadli"), ("sadness", "sad"),
    ("kindness", "kind"), ("kindly", "kindli"), ("friendly", "friendli"),
    ("friendship", "friendship"), ("relationship", "relationship"), ("hardship", "hardship"),
    ("leadership", "leadership"), ("membership", "membership"), ("childhood", "childhood"),
    ("neighborhood", "neighborhood"), ("motherhood", "motherhood"), ("national", "nation"),
    ("nationality", "nation"), ("nationalism", "nation"), ("nationalize", "nation"),
    ("rationalize", "ration"), ("rationality", "ration"), ("rationale", "rational"),
    ("conditioning", "condit"), ("conditioned", "condit"), ("conditions", "condit"),
    ("abilities", "abil"), ("ability", "abil"), ("able", "abl"), ("ably", "abli"),
    ("capable", "capabl"), ("capability", "capabl"), ("capabilities", "capabl"),
    ("sensible", "sensibl"), ("sensibility", "sensibl"), ("sensitive", "sensit"),
    ("sensitivity", "sensit"), ("sensation", "sensat"), ("sensational", "sensat"),
    ("sensor", "sensor"), ("sensors", "sensor"), ("decide", "decid"), ("decided", "decid"),
    ("decision", "decis"), ("decisive", "decis"), ("decisively", "decis"),
    ("precise", "precis"), ("revive", "reviv"), ("revived", "reviv"), ("reviving", "reviv"),
    ("revivals", "reviv"), ("allowed", "allow"), ("allowing", "allow"), ("allows", "allow"),
    ("infer", "infer"), ("inferred", "infer"), ("inferring", "infer"),
    ("inferential", "inferenti"), ("airline", "airlin"), ("airlines", "airlin"), ("air", "air"),
    ("adjust", "adjust"), ("adjusted", "adjust"), ("adjusting", "adjust"),
    ("replace", "replac"), ("replaced", "replac"), ("replacing", "replac"),
    ("replaceable", "replac"), ("depend", "depend"), ("depended", "depend"),
    ("depending", "depend"), ("adopt", "adopt"), ("adopted", "adopt"), ("adopting", "adopt"),
    ("adopts", "adopt"), ("communist", "communist"), ("communists", "communist"),
    ("community", "commun"), ("communities", "commun"), ("communal", "commun"),
    ("communicate", "commun"), ("communication", "commun"), ("communicative", "commun"),
    ("activity", "activ"), ("activities", "activ"), ("activation", "activ"),
    ("active", "activ"), ("actively", "activ"), ("actor", "actor"), ("actress", "actress"),
    ("actual", "actual"), ("actually", "actual"), ("actuality", "actual"), ("effect", "effect"),
    ("effected", "effect"), ("effecting", "effect"), ("effects", "effect"),
    ("affect", "affect"), ("affected", "affect"), ("probation", "probat"),
    ("probable", "probabl"), ("certain", "certain"), ("certainly", "certainli"),
    ("certainty", "certainti"), ("ceased", "ceas"), ("ceasing", "ceas"), ("rates", "rate"),
    ("rated", "rate"), ("rating", "rate"), ("ratings", "rate"), ("controlled", "control"),
    ("controlling", "control"), ("controller", "control"), ("controllers", "control"),
    ("rolls", "roll"), ("roller", "roller"), ("rollers", "roller"), ("electric", "electr"),
    ("electricity", "electr"), ("electrically", "electr"), ("electronic", "electron"),
    ("electronics", "electron"), ("grokked", "grok"), ("trekking", "trek"), ("revving", "rev"),
    ("specced", "spec"), ("yakked", "yak"), ("fizzing", "fizz"), ("buzzing", "buzz"),
    ("buzzed", "buzz"), ("fussing", "fuss"), ("fussed", "fuss"), ("pulling", "pull"),
    ("pulled", "pull"), ("spilling", "spill"), ("spilled", "spill"), ("is", "i"), ("as", "a"),
    ("us", "u"), ("was", "wa"), ("has", "ha"), ("this", "thi"), ("yes", "ye"), ("gas", "ga"),
    ("bus", "bu"), ("abyss", "abyss"),
]

@Suite("PorterStemmer")
struct PorterStemmerTests {
    let stemmer = PorterStemmer()

    @Test("matches the reference stemmer on every word of the table")
    func matchesReference() {
        #expect(referenceStems.count >= 300)
        for (word, expected) in referenceStems {
            #expect(stemmer.stem(word) == expected, "stem(\(word))")
        }
    }

    @Test("examples from the API documentation")
    func documentedExamples() {
        #expect(stemmer.stem("connections") == "connect")
        #expect(stemmer.stem("relational") == "relat")
    }

    @Test("double consonants are undoubled as the paper says, not only b d f g m n p r t")
    func paperDoubleConsonantRule() {
        #expect(stemmer.stem("trekking") == stemmer.stem("trek"))
        #expect(stemmer.stem("revving") == "rev")
        #expect(stemmer.stem("hissing") == "hiss")  // ...but never l, s or z.
    }

    @Test("upper-case ASCII letters are lower-cased before stemming")
    func upperCase() {
        #expect(stemmer.stem("Connections") == "connect")
        #expect(stemmer.stem("PONIES") == "poni")
    }

    @Test("words that are not purely ASCII letters are returned unchanged")
    func nonLetterWords() {
        #expect(stemmer.stem("") == "")
        #expect(stemmer.stem("utf8") == "utf8")
        #expect(stemmer.stem("cafés") == "cafés")
        #expect(stemmer.stem("shared_buffers") == "shared_buffers")
        #expect(stemmer.stem("日本") == "日本")
    }

    @Test("short words follow the published algorithm (no length guard)")
    func shortWords() {
        #expect(stemmer.stem("is") == "i")
        #expect(stemmer.stem("as") == "a")
        #expect(stemmer.stem("s") == "")
        #expect(stemmer.stem("ss") == "ss")
        #expect(stemmer.stem("y") == "y")
        #expect(stemmer.stem("a") == "a")
    }

    @Test("long and degenerate inputs do not crash and are stemmed consistently")
    func degenerateInputs() {
        // A y after a y counts as a vowel, so step 1c turns the last one into i (as NLTK does).
        let ys = String(repeating: "y", count: 100_000)
        #expect(stemmer.stem(ys) == String(repeating: "y", count: 99_999) + "i")
        #expect(stemmer.stem("yyyying") == "yyyi")
        // -ization -> -ize (step 2) -> -al+ize -> -al (step 3) -> "" (step 4).
        let long = String(repeating: "relational", count: 1_000) + "ization"
        #expect(stemmer.stem(long) == String(repeating: "relational", count: 999) + "relation")
    }

    @Test("the in-place byte stemmer agrees with the String entry point")
    func byteEntryPoint() {
        for (word, expected) in referenceStems.prefix(50) {
            var bytes = Array(word.utf8)
            let length = bytes.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress.map { PorterStemmer.stem($0, count: buffer.count) } ?? 0
            }
            #expect(String(decoding: bytes[0..<length], as: UTF8.self) == expected, "\(word)")
        }
    }
}
