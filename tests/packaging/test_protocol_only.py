"""A validator installs the protocol alone and imports the synapses without the miner's stack."""

from __future__ import annotations

import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

from support.packaging import REPO, build_wheel, fresh_venv

CHECK = """
import sys
import content_miner_protocol as protocol
from content_miner_protocol import ContentPlanSynapse, RecommendationImageSynapse, StageStatusSynapse
heavy = sorted(name for name in ("chromadb", "onnxruntime", "sklearn", "matplotlib", "scipy", "PIL", "tokenizers",
                                  "content_miner") if name in sys.modules)
assert not heavy, heavy
synapse = ContentPlanSynapse(platform="x", username="@NASA", force_fresh=True)
assert synapse.to_headers()["name"] == "ContentPlanSynapse"
assert set(ContentPlanSynapse.required_hash_fields) == {"platform", "username", "force_fresh", "max_posts"}
StageStatusSynapse(limit=10, cursor="module1/a"); RecommendationImageSynapse(recommendation_id="rec-01")
print(protocol.__file__)
"""


def test_the_protocol_wheel_holds_only_the_synapses_and_needs_only_bittensor_and_pydantic(tmp_path: Path) -> None:
    wheel = build_wheel(REPO / "protocol", tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        packages = {name.split("/")[0] for name in archive.namelist()}
        metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        requires = Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
    name, version = wheel.name.split("-")[:2]
    assert packages == {"content_miner_protocol", f"{name}-{version}.dist-info"}
    assert sorted(requirement.split(">")[0].split("<")[0] for requirement in requires) == ["bittensor", "pydantic"]

    bin_dir = fresh_venv(tmp_path / "venv", wheel)
    done = subprocess.run([str(bin_dir / "python"), "-c", CHECK], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "READ_ONLY": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert Path(done.stdout.strip()).is_relative_to(tmp_path / "venv"), "imported from the wheel, not the checkout"
