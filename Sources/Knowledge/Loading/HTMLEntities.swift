/// Character references (`&amp;`, `&#233;`, `&#x1F600;`) as HTML defines them, shared by the
/// HTML and Markdown extractors.
enum HTMLEntities {
    /// Decodes the reference starting at `bytes[index]`, which must be "&". Returns the scalar
    /// value (U+FFFD for a number that is not a Unicode scalar) and the index just past the
    /// reference, or nil when this "&" starts no reference and is literal text.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> (value: UInt32, next: Int)? {
        var cursor = index + 1
        guard cursor < end else { return nil }
        if bytes[cursor] == UInt8(ascii: "#") {
            return decodeNumeric(bytes, from: cursor + 1, end: end)
        }
        let nameStart = cursor
        // The longest name in the table is 8 letters; stop looking well past that.
        while cursor < end, cursor - nameStart < 32, isAlphanumeric(bytes[cursor]) {
            cursor += 1
        }
        guard cursor > nameStart else { return nil }
        let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[nameStart..<cursor]), as: UTF8.self)
        guard let value = named[name] else { return nil }
        if cursor < end, bytes[cursor] == UInt8(ascii: ";") {
            return (value, cursor + 1)
        }
        // Browsers accept a few legacy references without the semicolon ("&amp" "&lt").
        if legacyWithoutSemicolon.contains(name) {
            return (value, cursor)
        }
        return nil
    }

    private static func decodeNumeric(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, end: Int) -> (value: UInt32, next: Int)? {
        var cursor = start
        var hexadecimal = false
        if cursor < end, bytes[cursor] | 0x20 == UInt8(ascii: "x") {
            hexadecimal = true
            cursor += 1
        }
        let digitsStart = cursor
        var value: UInt32 = 0
        var overflowed = false
        while cursor < end {
            let byte = bytes[cursor]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where hexadecimal: digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where hexadecimal: digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: digit = 99
            }
            if digit == 99 { break }
            if value > 0x10FFFF { overflowed = true } else { value = value * (hexadecimal ? 16 : 10) + digit }
            cursor += 1
        }
        guard cursor > digitsStart else { return nil }
        if cursor < end, bytes[cursor] == UInt8(ascii: ";") { cursor += 1 }
        if overflowed || value == 0 || value > 0x10FFFF || (0xD800...0xDFFF).contains(value) {
            return (0xFFFD, cursor)
        }
        // Pages written in Windows-1252 put its punctuation at 128...159; HTML maps them back.
        if (0x80...0x9F).contains(value) {
            return (windows1252[Int(value - 0x80)], cursor)
        }
        return (value, cursor)
    }

    @inline(__always)
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: false
        }
    }

    private static let legacyWithoutSemicolon: Set<String> = ["amp", "lt", "gt", "quot", "nbsp", "copy", "reg"]

    /// Code points 0x80...0x9F as Windows-1252 characters.
    private static let windows1252: [UInt32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ]

    /// The HTML 4 entity set (Latin-1, symbols, Greek, special characters) plus `&apos;`:
    /// what real documentation pages use. The rarer HTML5-only names stay literal text.
    static let named: [String: UInt32] = {
        var table: [String: UInt32] = [
            "quot": 34, "amp": 38, "apos": 39, "lt": 60, "gt": 62,
            "OElig": 338, "oelig": 339, "Scaron": 352, "scaron": 353, "Yuml": 376, "fnof": 402, "circ": 710, "tilde": 732,
            "thetasym": 977, "upsih": 978, "piv": 982,
            "ensp": 8194, "emsp": 8195, "thinsp": 8201, "zwnj": 8204, "zwj": 8205, "lrm": 8206, "rlm": 8207,
            "ndash": 8211, "mdash": 8212, "lsquo": 8216, "rsquo": 8217, "sbquo": 8218, "ldquo": 8220, "rdquo": 8221,
            "bdquo": 8222, "dagger": 8224, "Dagger": 8225, "bull": 8226, "hellip": 8230, "permil": 8240, "prime": 8242,
            "Prime": 8243, "lsaquo": 8249, "rsaquo": 8250, "oline": 8254, "frasl": 8260, "euro": 8364, "image": 8465,
            "weierp": 8472, "real": 8476, "trade": 8482, "alefsym": 8501, "larr": 8592, "uarr": 8593, "rarr": 8594,
            "darr": 8595, "harr": 8596, "crarr": 8629, "lArr": 8656, "uArr": 8657, "rArr": 8658, "dArr": 8659, "hArr": 8660,
            "forall": 8704, "part": 8706, "exist": 8707, "empty": 8709, "nabla": 8711, "isin": 8712, "notin": 8713,
            "ni": 8715, "prod": 8719, "sum": 8721, "minus": 8722, "lowast": 8727, "radic": 8730, "prop": 8733,
            "infin": 8734, "ang": 8736, "and": 8743, "or": 8744, "cap": 8745, "cup": 8746, "int": 8747, "there4": 8756,
            "sim": 8764, "cong": 8773, "asymp": 8776, "ne": 8800, "equiv": 8801, "le": 8804, "ge": 8805, "sub": 8834,
            "sup": 8835, "nsub": 8836, "sube": 8838, "supe": 8839, "oplus": 8853, "otimes": 8855, "perp": 8869,
            "sdot": 8901, "lceil": 8968, "rceil": 8969, "lfloor": 8970, "rfloor": 8971, "lang": 10216, "rang": 10217,
            "loz": 9674, "spades": 9824, "clubs": 9827, "hearts": 9829, "diams": 9830,
        ]
        let latin1 = """
            nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 \
            acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml \
            Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde \
            Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig \
            ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide \
            oslash ugrave uacute ucirc uuml yacute thorn yuml
            """
        for (offset, name) in latin1.split(separator: " ").enumerated() {
            table[String(name)] = 160 + UInt32(offset)
        }
        let greekUpper = "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho"
        for (offset, name) in greekUpper.split(separator: " ").enumerated() {
            table[String(name)] = 913 + UInt32(offset)
        }
        for (offset, name) in "Sigma Tau Upsilon Phi Chi Psi Omega".split(separator: " ").enumerated() {
            table[String(name)] = 931 + UInt32(offset)
        }
        let greekLower = """
            alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigmaf sigma \
            tau upsilon phi chi psi omega
            """
        for (offset, name) in greekLower.split(separator: " ").enumerated() {
            table[String(name)] = 945 + UInt32(offset)
        }
        return table
    }()
}
