/// The elements the scanner treats specially; every other tag is inline and ignored.
enum HTMLElement: UInt8 {
    case inline
    // Dropped with their content, which is raw text up to the matching end tag.
    case script, style, noscript, textarea, xmp, iframe, noembed, noframes
    /// Raw text too, but kept as the document title.
    case title
    // Dropped with their content, which is ordinary markup.
    case template, svg, math, nav, object, canvas, video, audio, select, button, datalist
    // Navigation when at page level, content inside article/main/section.
    case header, footer
    // Block containers: they separate blocks but give them no kind of their own.
    case address, article, aside, center, details, dialog, dir, div, dl, fieldset, figure, form
    case hgroup, legend, main, menu, ol, section, summary, table, tbody, tfoot, thead, ul
    // Elements whose text becomes a block of a particular kind.
    case h1, h2, h3, h4, h5, h6, p, li, dt, dd, pre, blockquote, caption, figcaption, tr, td, th
    // Void elements with an effect on the text.
    case br, hr
    /// Void elements without one (img, input, meta...): only matters for nesting counts.
    case void
    case body, html

    static func named(_ name: String) -> HTMLElement {
        byName[name] ?? .inline
    }

    private static let byName: [String: HTMLElement] = [
        "script": .script, "style": .style, "noscript": .noscript, "textarea": .textarea, "xmp": .xmp,
        "iframe": .iframe, "noembed": .noembed, "noframes": .noframes, "title": .title,
        "template": .template, "svg": .svg, "math": .math, "nav": .nav, "object": .object, "canvas": .canvas,
        "video": .video, "audio": .audio, "select": .select, "button": .button, "datalist": .datalist,
        "header": .header, "footer": .footer,
        "address": .address, "article": .article, "aside": .aside, "center": .center, "details": .details,
        "dialog": .dialog, "dir": .dir, "div": .div, "dl": .dl, "fieldset": .fieldset, "figure": .figure,
        "form": .form, "hgroup": .hgroup, "legend": .legend, "main": .main, "menu": .menu, "ol": .ol,
        "section": .section, "summary": .summary, "table": .table, "tbody": .tbody, "tfoot": .tfoot,
        "thead": .thead, "ul": .ul,
        "h1": .h1, "h2": .h2, "h3": .h3, "h4": .h4, "h5": .h5, "h6": .h6, "p": .p, "li": .li, "dt": .dt,
        "dd": .dd, "pre": .pre, "blockquote": .blockquote, "caption": .caption, "figcaption": .figcaption,
        "tr": .tr, "td": .td, "th": .th, "br": .br, "hr": .hr,
        "img": .void, "input": .void, "meta": .void, "link": .void, "wbr": .void, "area": .void, "base": .void,
        "col": .void, "embed": .void, "param": .void, "source": .void, "track": .void, "keygen": .void,
        "body": .body, "html": .html,
    ]

    /// Content up to the matching end tag is raw text, not markup.
    var hasRawTextContent: Bool {
        switch self {
        case .script, .style, .noscript, .textarea, .xmp, .iframe, .noembed, .noframes, .title: true
        default: false
        }
    }

    /// Dropped with all its content wherever it appears.
    var isAlwaysDropped: Bool {
        switch self {
        case .template, .svg, .math, .nav, .object, .canvas, .video, .audio, .select, .button, .datalist: true
        default: false
        }
    }

    /// Opens a block context: pushed on the scanner's stack and separating blocks.
    var isBlock: Bool {
        rawValue >= HTMLElement.header.rawValue && rawValue <= HTMLElement.th.rawValue
    }

    var isVoid: Bool { self == .br || self == .hr || self == .void }

    var headingLevel: Int? {
        switch self {
        case .h1: 1
        case .h2: 2
        case .h3: 3
        case .h4: 4
        case .h5: 5
        case .h6: 6
        default: nil
        }
    }

    /// Opening this element closes an open `<p>`, as in the HTML parsing algorithm.
    var closesParagraph: Bool {
        isBlock && self != .td && self != .th && self != .tr && self != .caption && self != .tbody
            && self != .thead && self != .tfoot && self != .dt && self != .dd
    }
}
