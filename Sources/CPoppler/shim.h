// Poppler's GLib interface (Debian: libpoppler-glib-dev), the one ares reads PDFs through
// (Sources/Knowledge/Loading/PDFTextExtractor.swift). Only the document and page functions
// and GLib's memory and error helpers are used.
#include <poppler.h>
#include <glib.h>
#include <glib-object.h>
