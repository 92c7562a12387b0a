#!/usr/bin/env python3
"""Checks the Kubernetes manifests in deploy/k8s with the real tools and a security policy.

For every overlay in deploy/k8s/overlays:
  1. renders it with `kubectl kustomize` (Debian's kubectl, offline);
  2. validates every object against the Kubernetes 1.28 schemas with kubernetes-validate
     (strict: unknown fields are errors);
  3. applies the policy below, and the overlay's own shape (embedded: one replica, Recreate, a
     PersistentVolumeClaim, no autoscaler; postgres: several replicas, a rolling update that never
     drops below the desired count, an autoscaler, a budget that keeps replicas up).

Policy, for every pod template: not root (runAsNonRoot, a non-zero uid), the RuntimeDefault
seccomp profile, no service account token, no host namespaces or host paths; every container with
a read-only root filesystem, no privilege escalation, not privileged, ALL capabilities dropped and
none added, CPU and memory requests and limits, startup/readiness/liveness probes on
/health/ready and /health/live; secrets only as read-only files (no secretKeyRef in env, no
variable that carries a key, password or token other than a *_FILE path); writable mounts only
for the data directory and /tmp. NetworkPolicies: a default deny for both directions; ingress only
from the gateway and Prometheus on the server port; egress only to DNS, the model endpoints
(labelled pods, or HTTPS to public addresses with private ranges excluded) and PostgreSQL.

With --ares-binary, `ares config show` must accept each overlay's ConfigMap and environment, and
every ARES_* variable must set a setting.

A self-test first breaks a copy of a rendered Deployment and NetworkPolicy in each way the policy
looks for, and fails unless the policy reports each break: the policy cannot pass by checking nothing.

Prints PASS/FAIL lines and `SUMMARY pass=N fail=M`; exits non-zero on any failure.
Needs PyYAML and kubernetes-validate (scripts/install-interop-clients.sh) and kubectl.
"""
import copy
import glob
import os
import shutil
import subprocess
import sys

try:
    import kubernetes_validate
    import yaml
except ImportError as error:  # a missing tool fails, saying how to install it
    print(f"FAIL missing Python package ({error}): run `bash scripts/install-interop-clients.sh`")
    sys.exit(1)

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVERLAYS = os.path.join(REPOSITORY, "deploy/k8s/overlays")
KUBERNETES_VERSION = "1.28"
SERVER_PORT = 8080
WRITABLE_MOUNTS = {"/var/lib/ares", "/tmp"}
SECRET_WORDS = ("KEY", "PASSWORD", "TOKEN", "SECRET", "CREDENTIAL")
ALLOWED_INGRESS_PEERS = {"gateway", "prometheus"}
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}


def render(overlay):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        raise SystemExit("FAIL kubectl is not installed (Debian: apt-get install kubectl)")
    result = subprocess.run([kubectl, "kustomize", overlay], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"FAIL kubectl kustomize {overlay}: {result.stderr}")
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def pod_templates(objects):
    for item in objects:
        if item["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield item, item["spec"]["template"]


def policy_violations(objects):
    """Every way the rendered objects break the security policy, as sentences."""
    problems = []
    for workload, template in pod_templates(objects):
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        spec = template["spec"]
        pod_security = spec.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{name}: pod securityContext.runAsNonRoot is not true")
        if pod_security.get("runAsUser", 0) == 0:
            problems.append(f"{name}: pod runs as uid 0 (set securityContext.runAsUser)")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: pod seccompProfile is not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: the service account token is mounted")
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(field):
                problems.append(f"{name}: {field} is set")
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        for volume in volumes.values():
            if "hostPath" in volume:
                problems.append(f"{name}: volume {volume['name']} is a hostPath")
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name} container {container['name']}"
            security = container.get("securityContext", {})
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: the root filesystem is not read-only")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if security.get("privileged"):
                problems.append(f"{where}: privileged")
            capabilities = security.get("capabilities", {})
            if "ALL" not in capabilities.get("drop", []):
                problems.append(f"{where}: capabilities are not all dropped")
            if capabilities.get("add"):
                problems.append(f"{where}: adds capabilities {capabilities['add']}")
            if security.get("runAsUser") == 0 or security.get("runAsNonRoot") is False:
                problems.append(f"{where}: runs as root")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(kind, {}):
                        problems.append(f"{where}: no {resource} {kind[:-1]}")
            if spec["containers"] and container in spec["containers"]:
                for probe, path in (("startupProbe", "/health/ready"), ("readinessProbe", "/health/ready"),
                                    ("livenessProbe", "/health/live")):
                    if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                        problems.append(f"{where}: {probe} is not an HTTP check of {path}")
            for variable in container.get("env", []):
                upper = variable["name"].upper()
                if "secretKeyRef" in variable.get("valueFrom", {}):
                    problems.append(f"{where}: {variable['name']} takes a secret into the environment (mount it as a file)")
                if any(word in upper for word in SECRET_WORDS) and not upper.endswith("_FILE") \
                        and not str(variable.get("value", "")).startswith("/"):
                    problems.append(f"{where}: {variable['name']} looks like a secret in the environment (use a *_FILE path)")
            if container.get("envFrom"):
                problems.append(f"{where}: envFrom copies a whole ConfigMap/Secret into the environment")
            for mount in container.get("volumeMounts", []):
                volume = volumes.get(mount["name"], {})
                if "secret" in volume and not mount.get("readOnly"):
                    problems.append(f"{where}: secret volume {mount['name']} is mounted writable")
                if not mount.get("readOnly") and mount["mountPath"] not in WRITABLE_MOUNTS:
                    problems.append(f"{where}: {mount['mountPath']} is writable (only {sorted(WRITABLE_MOUNTS)} may be)")
            if ":" not in container["image"].rsplit("/", 1)[-1] and "@" not in container["image"]:
                problems.append(f"{where}: image {container['image']} has no tag or digest")
            elif container["image"].endswith(":latest"):
                problems.append(f"{where}: image uses the :latest tag")
    problems += network_policy_violations(objects)
    return problems


def selects_ares(selector):
    labels = selector.get("matchLabels", {})
    return labels.get("app.kubernetes.io/name") == "ares"


def network_policy_violations(objects):
    problems = []
    policies = [item for item in objects if item["kind"] == "NetworkPolicy"]
    ares_policies = [policy for policy in policies if selects_ares(policy["spec"].get("podSelector", {}))]
    default_deny = [policy for policy in ares_policies
                    if set(policy["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                    and not policy["spec"].get("ingress") and not policy["spec"].get("egress")]
    if not default_deny:
        problems.append("NetworkPolicy: no default deny (Ingress and Egress, no rules) selects the ares pods")
    for policy in ares_policies:
        name = f"NetworkPolicy/{policy['metadata']['name']}"
        for rule in policy["spec"].get("ingress", []):
            if not rule.get("from"):
                problems.append(f"{name}: an ingress rule allows every source")
            for peer in rule.get("from", []):
                peer_name = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                if "ipBlock" in peer or peer_name not in ALLOWED_INGRESS_PEERS:
                    problems.append(f"{name}: ingress from {peer} (only {sorted(ALLOWED_INGRESS_PEERS)} may call ares)")
                if "namespaceSelector" not in peer:
                    problems.append(f"{name}: ingress peer {peer} is not pinned to a namespace")
            ports = [port.get("port") for port in rule.get("ports", [])]
            if ports != [SERVER_PORT]:
                problems.append(f"{name}: ingress on ports {ports} (only {SERVER_PORT})")
        for rule in policy["spec"].get("egress", []):
            if not rule.get("to"):
                problems.append(f"{name}: an egress rule allows every destination")
            if not rule.get("ports"):
                problems.append(f"{name}: an egress rule allows every port")
            ports = {port.get("port") for port in rule.get("ports", [])}
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    missing = PRIVATE_RANGES - set(peer["ipBlock"].get("except", []))
                    if missing or ports - {443}:
                        problems.append(f"{name}: egress to {peer['ipBlock']['cidr']} on {sorted(ports)} "
                                        f"(only HTTPS, and never to {sorted(missing) or 'private ranges'})")
                else:
                    labels = peer.get("podSelector", {}).get("matchLabels", {})
                    allowed = (labels.get("k8s-app") == "kube-dns" and ports <= {53}) \
                        or labels.get("ares.dev/model-endpoint") == "true" \
                        or (labels.get("app.kubernetes.io/name") == "ares-postgres" and ports <= {5432})
                    if not allowed:
                        problems.append(f"{name}: egress to {peer} on {sorted(ports)} is not DNS, a model endpoint or PostgreSQL")
    return problems


def shape_violations(overlay, objects):
    """What each overlay promises about replicas, upgrades and storage."""
    problems = []
    kinds = {}
    for item in objects:
        kinds.setdefault(item["kind"], []).append(item)
    deployments = kinds.get("Deployment", [])
    if len(deployments) != 1:
        return [f"{overlay}: expected one Deployment, found {len(deployments)}"]
    deployment = deployments[0]
    spec = deployment["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    for service in kinds.get("Service", []):
        if not set(service["spec"]["selector"].items()) <= set(pod_labels.items()):
            problems.append(f"{overlay}: Service {service['metadata']['name']} does not select the pods")
    budgets = kinds.get("PodDisruptionBudget", [])
    if not budgets:
        problems.append(f"{overlay}: no PodDisruptionBudget")
    for budget in budgets:
        if not set(budget["spec"]["selector"]["matchLabels"].items()) <= set(pod_labels.items()):
            problems.append(f"{overlay}: the PodDisruptionBudget does not select the pods")
    volumes = {volume["name"]: volume for volume in spec["template"]["spec"].get("volumes", [])}
    autoscalers = kinds.get("HorizontalPodAutoscaler", [])
    if overlay == "embedded":
        if spec.get("replicas") != 1:
            problems.append("embedded: replicas is not 1 (SQLite has one writer)")
        if spec.get("strategy", {}).get("type") != "Recreate":
            problems.append("embedded: the strategy is not Recreate (two pods would share one data directory)")
        claim = volumes.get("data", {}).get("persistentVolumeClaim", {}).get("claimName")
        if not claim or claim not in [item["metadata"]["name"] for item in kinds.get("PersistentVolumeClaim", [])]:
            problems.append("embedded: the data volume is not a PersistentVolumeClaim of the overlay")
        if "emptyDir" in volumes.get("data", {}):
            problems.append("embedded: the data volume is still an emptyDir")
        if autoscalers:
            problems.append("embedded: a HorizontalPodAutoscaler would start a second writer")
    elif overlay == "postgres":
        replicas = spec.get("replicas", 1)
        if replicas < 2:
            problems.append("postgres: fewer than 2 replicas")
        rolling = spec.get("strategy", {}).get("rollingUpdate", {})
        if spec.get("strategy", {}).get("type") != "RollingUpdate" or rolling.get("maxUnavailable") != 0:
            problems.append("postgres: upgrades may drop below the desired replicas (RollingUpdate, maxUnavailable 0)")
        if len(autoscalers) != 1 or autoscalers[0]["spec"]["scaleTargetRef"]["name"] != deployment["metadata"]["name"] \
                or autoscalers[0]["spec"]["minReplicas"] < 2:
            problems.append("postgres: no HorizontalPodAutoscaler of the Deployment with at least 2 replicas")
        for budget in budgets:
            minimum = budget["spec"].get("minAvailable")
            if not isinstance(minimum, int) or not 1 <= minimum < replicas:
                problems.append(f"postgres: PodDisruptionBudget minAvailable {minimum} should keep replicas up yet allow drains")
    return problems


def configuration_problems(overlay, objects, binary):
    """Runs `ares config show` with the overlay's ConfigMap and the container's environment (file
    paths moved into a temporary directory holding a real certificate and key): ares must accept
    the configuration, and every ARES_* variable must set a setting (a misspelt name would be
    silently ignored by the pod)."""
    import json
    import tempfile
    deployment = next(item for item in objects if item["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    config_maps = {item["metadata"]["name"]: item for item in objects if item["kind"] == "ConfigMap"}
    problems = []
    with tempfile.TemporaryDirectory() as directory:
        def local(path):
            return os.path.join(directory, path.lstrip("/"))
        for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume["name"])
                for key, text in config_maps[volume["configMap"]["name"]]["data"].items():
                    os.makedirs(local(mount), exist_ok=True)
                    with open(os.path.join(local(mount), key), "w") as file:
                        file.write(text)
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for variable in container.get("env", []):
            value = str(variable.get("value", ""))
            environment[variable["name"]] = local(value) if value.startswith("/") else value
        if "ARES_TLS_CERT" in environment:
            os.makedirs(os.path.dirname(environment["ARES_TLS_CERT"]), exist_ok=True)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", environment["ARES_TLS_KEY_FILE"], "-out", environment["ARES_TLS_CERT"], "-days", "1",
                            "-subj", "/CN=ares"], check=True, capture_output=True)
        # Secret files the pod would get from a Secret (the database password): a value made
        # now, never one written down.
        import secrets as secret_values
        for name, path in environment.items():
            if name.startswith("ARES_") and name.endswith("_FILE") and path.startswith(directory) and not os.path.exists(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as file:
                    file.write(secret_values.token_urlsafe(24))
        os.makedirs(local("/var/lib/ares"), exist_ok=True)
        result = subprocess.run([binary, "config", "show", "--format", "json"], env=environment, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            return [f"{overlay}: ares refuses the configuration: {result.stderr.strip()}"]
        report = json.loads(result.stdout)
        from_environment = [name for name, setting in report["settings"].items() if setting["source"] == "env"]
        if report["configFile"]["source"] != "env":
            problems.append(f"{overlay}: ARES_CONFIG did not name the configuration file")
        from_file = [name for name, setting in report["settings"].items() if setting["source"] == "file"]
        if not from_file:
            problems.append(f"{overlay}: no setting came from the ConfigMap's config.json")
        variables = [name for name in environment if name.startswith("ARES_") and name != "ARES_CONFIG"]
        if len(from_environment) != len(variables):
            problems.append(f"{overlay}: {len(variables)} ARES_* variables set but {len(from_environment)} "
                            f"settings came from the environment ({sorted(from_environment)} from {sorted(variables)})")
    return problems


def self_test(objects):
    """Each mutation must be reported by the policy; returns the mutations it missed."""
    def deployment(copy_):
        return next(item for item in copy_ if item["kind"] == "Deployment")

    def container(copy_):
        return deployment(copy_)["spec"]["template"]["spec"]["containers"][0]

    mutations = {
        "writable root filesystem": lambda o: container(o)["securityContext"].update(readOnlyRootFilesystem=False),
        "privilege escalation": lambda o: container(o)["securityContext"].pop("allowPrivilegeEscalation"),
        "capabilities kept": lambda o: container(o)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        "runs as root": lambda o: deployment(o)["spec"]["template"]["spec"]["securityContext"].update(runAsNonRoot=False, runAsUser=0),
        "no memory limit": lambda o: container(o)["resources"]["limits"].pop("memory"),
        "no liveness probe": lambda o: container(o).pop("livenessProbe"),
        "secret in env": lambda o: container(o)["env"].append({"name": "ARES_MODEL_API_KEY", "value": "sk-123"}),
        "secretKeyRef": lambda o: container(o)["env"].append({"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}),
        "writable config mount": lambda o: container(o)["volumeMounts"].append({"name": "config", "mountPath": "/etc/other"}),
        "ingress from anywhere": lambda o: next(p for p in o if p["kind"] == "NetworkPolicy" and p["spec"].get("ingress"))
            ["spec"]["ingress"].append({"ports": [{"port": 8080}]}),
        "egress to private ranges": lambda o: next(p for p in o if p["kind"] == "NetworkPolicy" and p["spec"].get("egress"))
            ["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}),
        "no default deny": lambda o: o.remove(next(p for p in o if p["metadata"]["name"] == "ares-default-deny")),
    }
    missed = []
    baseline = len(policy_violations(objects))
    for name, mutate in mutations.items():
        broken = copy.deepcopy(objects)
        mutate(broken)
        if len(policy_violations(broken)) <= baseline:
            missed.append(name)
    return missed


def main():
    import argparse
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ares-binary", help="also check the overlay's configuration with this ares (`ares config show`)")
    binary = parser.parse_args().ares_binary
    passed, failed = 0, 0

    def report(ok, name, detail=""):
        nonlocal passed, failed
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
        print(f"{'PASS' if ok else 'FAIL'} {name} {detail}".rstrip())

    overlays = sorted(glob.glob(os.path.join(OVERLAYS, "*")))
    report({"embedded", "postgres"} <= {os.path.basename(path) for path in overlays}, "overlays embedded and postgres exist")
    for path in overlays:
        overlay = os.path.basename(path)
        objects = render(path)
        report(bool(objects), f"{overlay}: kubectl kustomize rendered {len(objects)} objects")
        for item in objects:
            label = f"{overlay}: {item['kind']}/{item['metadata']['name']} is valid Kubernetes {KUBERNETES_VERSION}"
            try:
                kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
                report(True, label)
            except kubernetes_validate.ValidationError as error:
                report(False, label, getattr(error, "message", str(error)).splitlines()[0])
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
                report(False, label, str(error))
        problems = policy_violations(objects)
        report(not problems, f"{overlay}: security policy", "; ".join(problems))
        problems = shape_violations(overlay, objects)
        report(not problems, f"{overlay}: replicas, upgrade strategy, storage, budget and autoscaler", "; ".join(problems))
        if binary:
            problems = configuration_problems(overlay, objects, binary)
            report(not problems, f"{overlay}: ares accepts the ConfigMap and every ARES_* variable", "; ".join(problems))
        missed = self_test(objects)
        report(not missed, f"{overlay}: the policy reports every deliberate break", f"missed: {missed}" if missed else "")
    print(f"SUMMARY pass={passed} fail={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
