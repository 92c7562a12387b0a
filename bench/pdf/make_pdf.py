#!/usr/bin/env python3
"""Writes a PDF of known text for the PDF ingest benchmark: PAGES pages of PostScript text
(deterministic sentences, about 450 words a page, a numbered heading on each), turned into a
PDF by Ghostscript's ps2pdf. Usage: make_pdf.py PAGES OUT.pdf"""
import random
import subprocess
import sys
import tempfile

WORDS = ("checkpoint replication standby primary vacuum index tuple page buffer relation "
         "transaction snapshot isolation lock wal segment archive restore backup planner "
         "statistics histogram partition trigger function operator catalog schema role "
         "privilege tablespace cluster autovacuum freeze horizon visibility heap toast").split()


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def main():
    pages, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(17)
    lines = ["%!PS-Adobe-3.0", "[ /Title (PDF ingest benchmark) /DOCINFO pdfmark"]
    for page in range(1, pages + 1):
        lines.append("/Helvetica-Bold findfont 14 scalefont setfont")
        lines.append(f"60 750 moveto (Section {page}) show")
        lines.append("/Helvetica findfont 10 scalefont setfont")
        y = 725
        text = ""
        while y > 60:
            # Lines of about 95 characters, as a page of prose.
            while len(text) < 95:
                text += sentence(rng) + " "
            cut = text.rfind(" ", 0, 95)
            lines.append(f"60 {y} moveto ({text[:cut]}) show")
            text = text[cut + 1:]
            y -= 12
        lines.append("showpage")
    with tempfile.NamedTemporaryFile("w", suffix=".ps", delete=False) as ps:
        ps.write("\n".join(lines) + "\n")
    subprocess.run(["ps2pdf", ps.name, out], check=True)


if __name__ == "__main__":
    main()
