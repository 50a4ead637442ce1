"""deploy/ without a container runtime: compose, Kubernetes, Dockerfile and systemd name only real
``hub`` commands, ports and ``HUB_*`` settings, and hold together (selectors, probes, references).

The images are not built here (no Docker engine on CI); ``kubectl kustomize`` renders the
manifests when ``kubectl`` is on PATH, else the kustomization's files are read directly.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from entrypoints.cli.main import build_parser
from hub.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
#: The long-running processes every deployment must run (subcommand paths).
PROCESSES = {("serve",), ("relay",), ("projections", "run"), ("notifications", "run"), ("mllp",)}


# -- what the hub knows ------------------------------------------------------------------------
def known_variables() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def parse_hub(argv: list[str]) -> argparse.Namespace:
    """The parsed ``hub`` command line, or a test failure naming what argparse refused."""
    assert argv and Path(argv[0]).name == "hub", f"not a hub command: {argv}"
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"`{shlex.join(argv)}` is not a valid hub command line")


def subcommand(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(v for v in (args.command, getattr(args, "action", None)) if v)


def check_variables(env: dict[str, str], where: str) -> None:
    """Every HUB_ name is a setting, and the values pass the settings' own validation."""
    unknown = sorted(k for k in env if k.startswith("HUB_") and k not in known_variables())
    assert not unknown, f"{where}: unknown settings {unknown} (known: hub/settings.py)"
    mp = pytest.MonkeyPatch()
    try:
        for key, value in env.items():
            if key.startswith("HUB_"):
                mp.setenv(key, value)
        Settings()  # raises a ValidationError naming the bad variable
    finally:
        mp.undo()


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


# -- compose -----------------------------------------------------------------------------------
def interpolate(value: Any) -> Any:
    """Compose's ``${VAR:-default}`` with the defaults (no variable set)."""
    if isinstance(value, str):
        return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def hub_services(compose: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in compose["services"].items():
        if "build" in service:
            yield name, service


def service_env(service: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in service.get("env_file", []):
        path = DEPLOY / (entry["path"] if isinstance(entry, dict) else entry)
        required = entry.get("required", True) if isinstance(entry, dict) else True
        if required:
            assert path.is_file(), f"env_file {path} is missing"
        if path.is_file():
            env |= read_env_file(path)
    env |= {k: str(interpolate(v)) for k, v in service.get("environment", {}).items()}
    return env


def test_compose_runs_every_process_from_the_image_with_real_commands(compose):
    seen = set()
    for name, service in hub_services(compose):
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        args = parse_hub(service["command"])
        seen.add(subcommand(args))
        check_variables(service_env(service), f"compose service {name}")
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"
    assert seen >= PROCESSES, f"compose misses {PROCESSES - seen}"


def test_compose_engines_are_postgresql_and_kraft_kafka(compose):
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft: no ZooKeeper
    assert not any("zookeeper" in (s.get("image") or "") for s in services.values())
    api_env = service_env(services["api"])
    database = urlsplit(api_env["HUB_DATABASE_URL"])
    assert (database.scheme, database.hostname, database.path) == ("postgresql", "postgres", "/hub")
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "hub"
    kafka_host = api_env["HUB_KAFKA_BOOTSTRAP"]
    assert f"PLAINTEXT://{kafka_host}" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    declared = set(compose.get("volumes", {}))
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(".") or source in declared, f"undeclared volume {source}"
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{source} is missing"


def test_compose_api_is_scaled_out_behind_the_proxy(compose):
    services = compose["services"]
    api = services["api"]
    assert api["deploy"]["replicas"] >= 2
    port = parse_hub(api["command"]).port
    assert f"127.0.0.1:{port}/health" in " ".join(api["healthcheck"]["test"])
    # The API servers leave the read models to the one projections service.
    assert service_env(api)["HUB_PROJECTIONS_IN_SERVER"] == "false"
    nginx = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream \w+ \{[^}]*server ([\w.-]+):(\d+)", nginx)
    assert upstream, "nginx.conf has no upstream server"
    assert (upstream[1], int(upstream[2])) == ("api", port)
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["proxy"]["volumes"]


def test_compose_published_ports_are_the_ones_the_processes_listen_on(compose):
    mllp = compose["services"]["mllp"]
    port = parse_hub(mllp["command"]).port
    assert any(p.split(":")[-1] == str(port) for p in mllp["ports"])
    assert str(port) in " ".join(mllp["healthcheck"]["test"])


# -- Dockerfile, env example, systemd ----------------------------------------------------------
def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_runs_the_api_as_a_non_root_user_with_a_health_check():
    instructions = dockerfile_instructions()
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    cmd = yaml.safe_load([arg for op, arg in instructions if op == "CMD"][-1])
    args = parse_hub(cmd)
    assert subcommand(args) == ("serve",) and args.host == "0.0.0.0"
    health = [arg for op, arg in instructions if op == "HEALTHCHECK"]
    assert health and f"127.0.0.1:{args.port}/health" in health[0]
    exposed = " ".join(arg for op, arg in instructions if op == "EXPOSE").split()
    assert str(args.port) in exposed
    env = dict(re.findall(r"(HUB_\w+)=(\S+)", " ".join(a for op, a in instructions if op == "ENV")))
    check_variables(env, "Dockerfile ENV")


def test_env_example_names_only_known_settings():
    check_variables(read_env_file(DEPLOY / "hub.env.example"), "deploy/hub.env.example")


def test_systemd_units_start_real_commands():
    seen = set()
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        exec_start = re.search(r"^ExecStart=(.+)$", unit.read_text(), re.MULTILINE)
        assert exec_start, f"{unit.name} has no ExecStart"
        seen.add(subcommand(parse_hub(shlex.split(exec_start[1]))))
    assert seen >= PROCESSES


# -- Kubernetes --------------------------------------------------------------------------------
def render_kustomization() -> list[dict[str, Any]]:
    """``kubectl kustomize`` when present; else the listed files and generated ConfigMaps."""
    root = DEPLOY / "k8s"
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, f"kubectl kustomize failed: {out.stderr}"
        return [d for d in yaml.safe_load_all(out.stdout) if d]
    kustomization = yaml.safe_load((root / "kustomization.yaml").read_text())
    docs = [d for f in kustomization["resources"]
            for d in yaml.safe_load_all((root / f).read_text()) if d]
    for generator in kustomization.get("configMapGenerator", []):
        data: dict[str, str] = {}
        for env_file in generator.get("envs", []):
            data |= read_env_file(root / env_file)
        docs.append({"kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    return docs


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return render_kustomization()


def named(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests if d["kind"] == kind}


def references(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The object a pod refers to by name (kustomize appends a hash to generated ConfigMaps)."""
    matches = [d for n, d in named(manifests, kind).items() if n == name or n.startswith(f"{name}-")]
    assert len(matches) == 1, f"{kind} {name} is not in the kustomization"
    return matches[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_k8s_deployments_run_real_commands_with_known_settings(manifests):
    seen = set()
    for name, deployment in named(manifests, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert selects(deployment["spec"]["selector"]["matchLabels"],
                       deployment["spec"]["template"]["metadata"]["labels"]), name
        for container in pod["containers"]:
            assert container["image"].split(":")[0].split("/")[-1] == "hub"
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            seen.add(subcommand(parse_hub(container["command"] + container.get("args", []))))
            env: dict[str, str] = {}
            for source in container["envFrom"]:
                if "configMapRef" in source:
                    env |= references(manifests, "ConfigMap", source["configMapRef"]["name"])["data"]
                if "secretRef" in source:
                    env |= references(manifests, "Secret", source["secretRef"]["name"])["stringData"]
            env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
            check_variables(env, f"Deployment {name}")
            assert urlsplit(env["HUB_DATABASE_URL"]).scheme == "postgresql"
            assert env.get("HUB_KAFKA_BOOTSTRAP")
    assert seen >= PROCESSES, f"k8s misses {PROCESSES - seen}"


def test_k8s_secrets_are_in_secret_objects_not_config_maps(manifests):
    secret_like = {"HUB_DATABASE_URL", "HUB_LINK_SECRET", "HUB_GATEWAY_TOKEN", "HUB_SMTP_PASSWORD"}
    for name, config in named(manifests, "ConfigMap").items():
        assert not secret_like & set(config["data"]), f"ConfigMap {name} holds a secret"
    secret = references(manifests, "Secret", "hub-secrets")["stringData"]
    assert secret_like <= set(secret)


def container_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def test_k8s_api_probes_health_on_the_port_it_serves_and_scales(manifests):
    deployments = named(manifests, "Deployment")
    api = deployments["hub-api"]
    container = api["spec"]["template"]["spec"]["containers"][0]
    port = parse_hub(container["command"]).port
    for probe in ("readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] == "/health"
        assert container_port(container, check["port"]) == port
    assert container["envFrom"]  # and HUB_PROJECTIONS_IN_SERVER is false there:
    config = references(manifests, "ConfigMap", "hub-config")["data"]
    assert config["HUB_PROJECTIONS_IN_SERVER"] == "false"
    hpa = named(manifests, "HorizontalPodAutoscaler")["hub-api"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "hub-api"
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


def test_k8s_services_and_budgets_select_existing_pods_and_ports(manifests):
    pods = [d["spec"]["template"] for d in named(manifests, "Deployment").values()]
    for name, service in named(manifests, "Service").items():
        targets = [p for p in pods if selects(service["spec"]["selector"], p["metadata"]["labels"])]
        assert targets, f"Service {name} selects no pod"
        for port in service["spec"]["ports"]:
            for pod in targets:
                container_port(pod["spec"]["containers"][0], port["targetPort"])  # StopIteration
    budgets = named(manifests, "PodDisruptionBudget")
    assert "hub-api" in budgets
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(selects(selector, p["metadata"]["labels"]) for p in pods), f"PDB {name}"


def test_k8s_mllp_listens_where_its_service_and_probes_point(manifests):
    container = named(manifests, "Deployment")["hub-mllp"]["spec"]["template"]["spec"]["containers"][0]
    port = parse_hub(container["command"]).port
    assert container_port(container, container["readinessProbe"]["tcpSocket"]["port"]) == port
