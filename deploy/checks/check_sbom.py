#!/usr/bin/env python3
"""Checks scripts/sbom.py's SBOM with cyclonedx-python-lib: it must be valid CycloneDX 1.6 JSON
(the strict schema validator), load into the library's Bom model, list every Swift package of
Package.resolved at its resolved version and commit, every Debian package that provides a library
the binary links, and the binary's own version and commit.

    check_sbom.py --binary .build/debug/ares

Prints PASS/FAIL lines and `SUMMARY pass=N fail=M`; exits non-zero on any failure.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    from cyclonedx.model.bom import Bom
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError as error:
    print(f"FAIL cyclonedx-python-lib is missing ({error}): run `bash scripts/install-interop-clients.sh`")
    sys.exit(1)

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    arguments = parser.parse_args()
    passed, failed = 0, 0

    def report(ok, name, detail=""):
        nonlocal passed, failed
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
        print(f"{'PASS' if ok else 'FAIL'} {name} {detail}".rstrip())

    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "ares.cdx.json")
        result = subprocess.run([sys.executable, os.path.join(REPOSITORY, "scripts/sbom.py"), "--binary", arguments.binary,
                                 "--output", output], capture_output=True, text=True, timeout=300)
        report(result.returncode == 0, "scripts/sbom.py wrote an SBOM", result.stderr.strip())
        if result.returncode != 0:
            print(f"SUMMARY pass={passed} fail={failed}")
            return 1
        with open(output) as file:
            text = file.read()

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    report(errors is None, "valid CycloneDX 1.6 JSON (strict schema)", str(errors).splitlines()[0] if errors else "")
    document = json.loads(text)
    try:
        bom = Bom.from_json(document)  # the library's deserializer: types, enums, purls
        components = {component.bom_ref.value: component for component in bom.components}
        report(True, f"loads as a cyclonedx Bom ({len(components)} components)")
    except Exception as error:  # any deserialization failure is the finding
        report(False, "loads as a cyclonedx Bom", repr(error)[:300])
        components = {}

    with open(os.path.join(REPOSITORY, "Package.resolved")) as file:
        pins = json.load(file)["pins"]
    for pin in pins:
        component = components.get(f"swift:{pin['identity']}")
        expected = pin["state"].get("version")
        ok = component is not None and component.version == expected and component.purl is not None \
            and str(component.purl).startswith("pkg:swift/") \
            and any(h.content == pin["state"].get("revision") for h in component.hashes)
        report(ok, f"Swift package {pin['identity']} {expected}", "" if ok else f"got {component and component.version}")

    version = json.loads(subprocess.run([arguments.binary, "version", "--json"], capture_output=True, text=True, check=True).stdout)
    application = bom.metadata.component if components else None
    properties = {p.name: p.value for p in application.properties} if application else {}
    report(application is not None and application.version == version["version"], f"application ares {version['version']}")
    report(version.get("commit") is None or properties.get("ares:commit") == version["commit"],
           f"application commit {version.get('commit')}", str(properties.get("ares:commit")))

    ldd = subprocess.run(["ldd", arguments.binary], capture_output=True, text=True, check=True).stdout
    for package in ("libc6", "libsqlite3-0", "zlib1g", "libstdc++6", "libgcc-s1"):
        linked = {"libc6": "libc.so", "libsqlite3-0": "libsqlite3", "zlib1g": "libz.so", "libstdc++6": "libstdc++", "libgcc-s1": "libgcc_s"}[package]
        if linked not in ldd:
            continue
        component = components.get(f"deb:{package}")
        ok = component is not None and component.purl is not None and component.purl.type == "deb" \
            and component.purl.name == package and bool(component.purl.version)
        report(ok, f"Debian package {package} (provides {linked})", "" if ok else "missing")
    print(f"SUMMARY pass={passed} fail={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
