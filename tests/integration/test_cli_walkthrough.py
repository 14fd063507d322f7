"""The newcomer's walkthrough of issue 2's "Done when", through the real ``goflex`` command and stock Mosquitto tools;
and the README's first command, ``goflex demo``, run to its end.

Each step is a shell command exactly as written in ``docs/walkthrough.md`` (a test checks that the document holds
them, in this order), run with ``bash`` in a fresh directory with ``MQTT_PORT``/``API_PORT`` set to free ports:
two endpoint certificates, a rendered Mosquitto, ``goflex serve`` in the background, ``mosquitto_pub`` publishing
as goflex-dc-001 like a plain cloud.iO endpoint, ``goflex history query`` showing the value, goflex-dc-002
failing to publish into goflex-dc-001's topic, and three twin houses (``goflex twin run``) whose gateways' meter
readings reach the history.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import mosquitto_binary, service_missing
from tests.integration.mosquitto import free_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"
TOPIC = "@update/goflex-dc-001/nodes/boilerSensor-1/objects/temperature/attributes/datapoint"
TLS_001 = "--cafile pki/ca.crt --cert pki/goflex-dc-001.crt --key pki/goflex-dc-001.key -i goflex-dc-001"
TLS_002 = "--cafile pki/ca.crt --cert pki/goflex-dc-002.crt --key pki/goflex-dc-002.key -i goflex-dc-002"
PUB = "mosquitto_pub -h localhost -p $MQTT_PORT"


def _update(value: str) -> str:
    return (
        f'"{{\\"constraint\\":\\"Measure\\",\\"type\\":\\"Number\\",\\"timestamp\\":$(date +%s),\\"value\\":{value}}}"'
    )


# -- the walkthrough, step by step (docs/walkthrough.md) --------------------------------------------------------
CERTIFICATES = (
    "goflex pki init --dir pki",
    "goflex pki issue goflex-dc-001 --dir pki",
    "goflex pki issue goflex-dc-002 --dir pki",
    "goflex pki issue broker --kind server --dir pki",
)
RENDER = "goflex broker render --pki pki --out broker --port $MQTT_PORT --run-as-current-user"
MOSQUITTO = "mosquitto -c broker/mosquitto.conf"  # background: "... > mosquitto.log 2>&1 &"
SERVE = (
    "goflex serve --db sqlite:///$PWD/goflex.db --broker mqtts://localhost:$MQTT_PORT --pki pki --api-port $API_PORT"
)
MODEL = (
    """MODEL='{"version":"v0.2","messageFormatVersion":2,"supportedFormats":["JSON"],"nodes":{"boilerSensor-1":"""
    """{"implements":[],"objects":{"temperature":{"objects":{},"attributes":{"datapoint":"""
    """{"constraint":"Measure","type":"Number"}}}}}}}'"""
)
ONLINE = f"""{PUB} {TLS_001} -q 1 -r -t '@online/goflex-dc-001' -m "$MODEL\""""
UPDATE = f"{PUB} {TLS_001} -q 1 -t '{TOPIC}' -m {_update('21.5')}"
QUERY = "goflex history query goflex-dc-001/boilerSensor-1/temperature/datapoint --db sqlite:///$PWD/goflex.db --json"
CURL = (
    "curl -s -u admin:$(cat admin-password.txt) "
    "http://127.0.0.1:$API_PORT/api/v1/history/goflex-dc-001/boilerSensor-1/temperature/datapoint"
)
FORGED = f"{PUB} {TLS_002} -q 1 -t '{TOPIC}' -m {_update('99.9')}"
SECOND = f"{PUB} {TLS_001} -q 1 -t '{TOPIC}' -m {_update('22.0')}"

TWIN = "goflex twin run --houses 3 --speed 30 --hours 0.1 --pki pki --broker mqtts://localhost:$MQTT_PORT --dir twin"
TWIN_QUERY = (
    "goflex history query goflex-dc-003/SmartMeterTechnical/obis_1_0_1_7_0_255_2/datapoint "
    "--db sqlite:///$PWD/goflex.db --json"
)

IN_ORDER = (
    *CERTIFICATES,
    RENDER,
    MOSQUITTO,
    SERVE,
    MODEL,
    ONLINE,
    UPDATE,
    QUERY,
    CURL,
    FORGED,
    SECOND,
    QUERY,
    TWIN,
    TWIN_QUERY,
)


def test_the_document_holds_the_tested_commands_in_order() -> None:
    text = DOC.read_text(encoding="utf-8")
    position = 0
    for command in IN_ORDER:
        found = text.find(command, position)
        assert found >= 0, f"docs/walkthrough.md lacks (after offset {position}): {command}"
        position = found + len(command)
    assert f"{MOSQUITTO} > mosquitto.log 2>&1 &" in text
    assert f"{SERVE} > serve.log 2>&1 &" in text


# -- running it -------------------------------------------------------------------------------------------------
class Shell:
    """Runs walkthrough lines with bash in one directory and environment; owns the background processes."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.background: list[tuple[subprocess.Popen[bytes], Path]] = []

    def run(self, command: str, *, prelude: str = "", timeout_s: float = 30.0) -> str:
        """Run ``command`` (after ``prelude``, e.g. a variable assignment); fail with its stderr on exit != 0."""
        script = f"set -euo pipefail\n{prelude}\n{command}\n"
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, command: str, log_name: str) -> subprocess.Popen[bytes]:
        """``command > log_name 2>&1 &``, with ``exec`` so that the process is the program itself."""
        log = (self.directory / log_name).open("wb")
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=self.directory, env=self.env, stdout=log, stderr=log
        )
        log.close()
        self.background.append((process, self.directory / log_name))
        return process

    def log(self, name: str) -> str:
        path = self.directory / name
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> list[int | None]:
        """SIGTERM in reverse start order (serve before the broker); return the exit codes."""
        codes: list[int | None] = []
        for process, _ in reversed(self.background):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            codes.append(process.returncode)
        self.background.clear()
        return codes


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    broker_binary = mosquitto_binary()
    for tool in ("mosquitto_pub", "curl"):
        if shutil.which(tool) is None:
            service_missing("Mosquitto", f"the walkthrough needs '{tool}' on PATH")
    goflex_bin = Path(sys.executable).parent
    assert (goflex_bin / "goflex").is_file(), f"no 'goflex' entry point next to {sys.executable}"
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(goflex_bin), str(Path(broker_binary).parent), os.environ.get("PATH", "")]),
        "MQTT_PORT": str(free_port()),
        "API_PORT": str(free_port()),
    }
    for key in [k for k in env if k.startswith("GOFLEX_")]:
        del env[key]  # the walkthrough passes everything on the command line
    env["PWD"] = str(tmp_path)
    shell = Shell(tmp_path, env)
    try:
        yield shell
    finally:
        shell.stop_all()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{what} exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port} within {timeout_s} s: {log[-3000:]}")


def _values(shell: Shell, until: list[float], timeout_s: float = 15.0) -> list[float]:
    """Re-run the walkthrough's query until it prints ``until`` (ingest stores asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        points = json.loads(shell.run(QUERY))
        # Sorted: `date +%s` has whole seconds, so two steps may share a timestamp (and then either order).
        values = sorted(point["value"] for point in points)
        if values == until or time.monotonic() > deadline:
            return values
        time.sleep(0.3)


@pytest.mark.mosquitto
def test_newcomer_walkthrough_publish_as_one_endpoint_and_not_as_the_other(shell: Shell) -> None:
    for command in (*CERTIFICATES, RENDER):
        shell.run(command)
    assert oct((shell.directory / "pki" / "goflex-dc-001.key").stat().st_mode & 0o777) == "0o600"

    mosquitto = shell.start(MOSQUITTO, "mosquitto.log")
    _wait_for_port(int(shell.env["MQTT_PORT"]), mosquitto, "mosquitto", shell.log("mosquitto.log"))
    serve = shell.start(SERVE, "serve.log")
    _wait_for_port(int(shell.env["API_PORT"]), serve, "goflex serve", shell.log("serve.log"), timeout_s=30)

    shell.run(ONLINE, prelude=MODEL)
    shell.run(UPDATE)
    assert _values(shell, [21.5]) == [21.5], shell.log("serve.log")[-3000:]
    assert [p["value"] for p in json.loads(shell.run(CURL))] == [21.5]

    # goflex-dc-002 holds a valid certificate of the same CA: the broker lets it in but drops the forged value;
    # goflex-dc-001's next value shows that the pipeline kept working meanwhile.
    shell.run(FORGED)
    shell.run(SECOND)
    values = _values(shell, [21.5, 22.0])
    assert values == [21.5, 22.0], f"99.9 must never be stored: {values}"
    assert "goflex-dc-002" in shell.log("mosquitto.log")  # it did connect: refused by the ACL, not by TLS

    # Three twin houses with their gateways: 6 simulated minutes at 30x, +P every 5 simulated seconds.
    shell.run(TWIN, timeout_s=90)
    points = json.loads(shell.run(TWIN_QUERY))
    assert len(points) >= 40, shell.log("serve.log")[-3000:]
    assert all(isinstance(p["value"], float) and p["value"] >= 0 for p in points)

    assert shell.stop_all() == [0, 0]  # serve, then Mosquitto: both stop cleanly on SIGTERM


@pytest.mark.slow
def test_demo_runs_to_its_end_and_its_hint_shows_stored_values(tmp_path: Path) -> None:
    goflex = str(Path(sys.executable).parent / "goflex")
    demo = [goflex, "demo", "--houses", "3", "--speed", "120", "--hours", "0.2", "--port", "0", "--dir", "demo"]
    done = subprocess.run(demo, cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    # The demo ends with a ready-to-paste query; it must show what was stored (the simulated clock runs ahead of
    # real time, so the hint carries the simulated window).
    (hint,) = [line for line in done.stderr.splitlines() if line.startswith("try: goflex history query ")]
    query = hint.removeprefix("try: goflex ").split()
    assert "--since" in query
    assert "--until" in query
    shown = subprocess.run([goflex, *query], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    points = json.loads(shown.stdout)
    assert len(points) >= 10  # +P every few simulated seconds for 12 simulated minutes
    assert all(isinstance(p["value"], float) and p["value"] >= 0 for p in points)
    for house in ("goflex-dc-001", "goflex-dc-002", "goflex-dc-003"):
        path = f"{house}/powerMeter-1/wattsTotal/datapoint"
        window = query[query.index("--db") :]  # --db URL --since T --until T --json
        values = subprocess.run(
            [goflex, "history", "query", path, *window],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert json.loads(values.stdout), f"nothing stored for {house}"
