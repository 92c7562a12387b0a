#!/usr/bin/env python3
"""Writes a CycloneDX 1.6 SBOM (JSON) of ares: the Swift packages it is built from (from
Package.resolved) and, given the built binary, the shared libraries it links with the Debian
packages that provide them (ldd, then dpkg -S and dpkg-query).

    python3 scripts/sbom.py --binary .build/release/ares --output ares.cdx.json

Package.resolved is not committed: it is written by `swift package resolve` (or any build). When
it is missing this script runs `swift package resolve` first. Given --binary, the application's
version and commit come from `BINARY version --json` (what the binary says it was built from), and
the script fails if the binary's dependency versions differ from Package.resolved's: an SBOM for
a binary built from other versions would be wrong. Libraries that no Debian package owns (the
Swift runtime of a build without --static-swift-stdlib) are listed as files with their SHA-256.

Standard library only, so that it also runs in the image's build stage. Validated in CI with
cyclonedx-python-lib (deploy/checks/check_sbom.py).
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.parse
import uuid

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(message):
    print(f"sbom: {message}", file=sys.stderr)
    sys.exit(1)


def read_pins(resolved_path):
    if not os.path.exists(resolved_path):
        print(f"sbom: {resolved_path} is missing: running `swift package resolve`", file=sys.stderr)
        result = subprocess.run(["swift", "package", "resolve"], cwd=os.path.dirname(resolved_path), capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(resolved_path):
            fail(f"swift package resolve failed: {result.stderr.strip()}")
    with open(resolved_path) as file:
        resolved = json.load(file)
    if resolved.get("version") not in (2, 3):
        fail(f"{resolved_path}: format version {resolved.get('version')} is not 2 or 3")
    return sorted(resolved["pins"], key=lambda pin: pin["identity"])


def swift_component(pin):
    location = pin["location"]
    state = pin.get("state", {})
    version = state.get("version") or state.get("branch") or state.get("revision", "unknown")
    parsed = urllib.parse.urlsplit(location)
    path = re.sub(r"\.git$", "", parsed.path.strip("/"))
    # purl type "swift": namespace is the host and path up to the name (github.com/owner).
    namespace, _, name = f"{parsed.netloc}/{path}".rpartition("/")
    component = {
        "type": "library",
        "bom-ref": f"swift:{pin['identity']}",
        "name": name,
        "version": version,
        "purl": f"pkg:swift/{namespace}/{name}@{version}",
        "externalReferences": [{"type": "vcs", "url": location}],
        "properties": [{"name": "swift:identity", "value": pin["identity"]}],
    }
    if state.get("revision"):
        component["hashes"] = [{"alg": "SHA-1", "content": state["revision"]}]  # the git commit
    return component


def linked_libraries(binary):
    result = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"ldd {binary}: {result.stderr.strip() or result.stdout.strip()}")
    if "not found" in result.stdout:
        fail(f"{binary} links libraries this machine does not have:\n{result.stdout}")
    libraries = []
    for line in result.stdout.splitlines():
        match = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if match:
            libraries.append(match.group(1))
    return sorted(set(libraries))


def debian_package(library):
    """The Debian package that owns `library` (trying the path as linked, resolved, and with
    /lib and /usr/lib swapped: Debian 12 merges /lib into /usr/lib but dpkg records one of them)."""
    candidates = [library, os.path.realpath(library)]
    for path in list(candidates):
        if path.startswith("/lib"):
            candidates.append("/usr" + path)
        elif path.startswith("/usr/lib"):
            candidates.append(path[len("/usr"):])
    for path in candidates:
        result = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].strip()
    return None


def debian_component(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}\t${Architecture}\t${Source}", package],
                            capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"dpkg-query {package}: {result.stderr.strip()}")
    version, architecture, source = (result.stdout.split("\t") + ["", "", ""])[:3]
    distribution = "debian"
    try:
        with open("/etc/os-release") as file:
            release = dict(line.rstrip("\n").split("=", 1) for line in file if "=" in line)
        distribution = f"{release.get('ID', 'debian').strip(chr(34))}-{release.get('VERSION_ID', '').strip(chr(34))}"
    except OSError:
        pass
    qualifiers = f"arch={architecture}&distro={distribution}"
    component = {
        "type": "library",
        "bom-ref": f"deb:{package}",
        "name": package,
        "version": version,
        # purl percent-encodes everything but letters, digits and ".-_~" (libstdc++6 -> libstdc%2B%2B6).
        "purl": f"pkg:deb/debian/{urllib.parse.quote(package, safe='.-_~')}@{urllib.parse.quote(version, safe='.-_~')}?{qualifiers}",
    }
    if source:
        component["properties"] = [{"name": "debian:source", "value": source.split(" ")[0]}]
    return component


def file_component(path):
    digest = hashlib.sha256()
    with open(os.path.realpath(path), "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return {"type": "file", "bom-ref": f"file:{path}", "name": os.path.basename(path),
            "hashes": [{"alg": "SHA-256", "content": digest.hexdigest()}],
            "properties": [{"name": "path", "value": os.path.realpath(path)}]}


def binary_report(binary):
    result = subprocess.run([binary, "version", "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{binary} version --json failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def source_version():
    with open(os.path.join(REPOSITORY, "Sources/ares/AresCommand.swift")) as file:
        match = re.search(r'static let current = "([^"]+)"', file.read())
    return match.group(1) if match else "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package-resolved", default=os.path.join(REPOSITORY, "Package.resolved"))
    parser.add_argument("--binary", help="the built ares binary: adds its linked libraries, version and commit")
    parser.add_argument("--output", help="file to write (default: standard output)")
    arguments = parser.parse_args()

    pins = read_pins(arguments.package_resolved)
    swift = [swift_component(pin) for pin in pins]
    application = {"type": "application", "bom-ref": "ares", "name": "ares", "version": source_version()}
    system = []
    if arguments.binary:
        report = binary_report(arguments.binary)
        application["version"] = report["version"]
        properties = [{"name": f"ares:build:{key}", "value": str(value)} for key, value in sorted(report.get("build", {}).items())]
        if report.get("commit"):
            properties.insert(0, {"name": "ares:commit", "value": report["commit"]})
        application["properties"] = properties
        built = {dependency["name"]: dependency["version"] for dependency in report.get("dependencies", [])}
        resolved = {pin["identity"]: pin.get("state", {}).get("version") for pin in pins}
        differing = {name: (built.get(name), version) for name, version in resolved.items() if built.get(name) != version}
        if differing:
            fail(f"the binary was built from other dependency versions than {arguments.package_resolved} says "
                 f"(binary, resolved): {differing}; rebuild, or pass the Package.resolved it was built from")
        seen = {}
        for library in linked_libraries(arguments.binary):
            package = debian_package(library)
            if package:
                seen.setdefault(package, debian_component(package))
            else:
                component = file_component(library)
                seen.setdefault(component["bom-ref"], component)
        system = sorted(seen.values(), key=lambda component: component["bom-ref"])

    components = swift + system
    bom = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "tools": {"components": [{"type": "application", "name": "scripts/sbom.py", "version": application["version"]}]},
            "component": application,
        },
        "components": components,
        # Only the application's own edges: Package.resolved does not say which package needs
        # which, and an empty dependsOn would claim "none" where the truth is "not recorded".
        "dependencies": [{"ref": "ares", "dependsOn": [component["bom-ref"] for component in components]}],
    }
    text = json.dumps(bom, indent=2) + "\n"
    if arguments.output:
        with open(arguments.output, "w") as file:
            file.write(text)
        print(f"sbom: {len(swift)} Swift packages, {len(system)} system libraries -> {arguments.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
