"""Operator's self-test: send each synapse to a miner and print the answers.

    # against a --mock miner (its data dir holds the validator and miner wallets, and its port):
    content-miner-query --data-dir ~/.content-miner [--port 8091] [--username sample_creator]

    # against a live miner, as a validator wallet:
    content-miner-query --wallet.name V --wallet.hotkey H --miner-hotkey SS58 --ip IP --port PORT

Sends StageStatus, then ContentPlan for --username (following it until done with --wait), then
the image of the plan's first recommendation. Exit 0 when every answer came back with status 200.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import time
from pathlib import Path
from typing import Any

from content_miner.common import layout
from content_miner.common.endpoints import read_endpoint

PROG = "content-miner-query"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir",
                        help="a --mock miner's data directory (default: $MINER_DATA_DIR or ~/.content-miner)")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="the axon's port (default: the --mock miner's, from its data dir)")
    parser.add_argument("--miner-hotkey", help="the miner's hotkey (live miners; --mock reads it from the data dir)")
    parser.add_argument("--wallet.name", dest="wallet_name", help="the validator wallet to sign with (live miners)")
    parser.add_argument("--wallet.hotkey", dest="wallet_hotkey", default="default")
    parser.add_argument("--wallet.path", dest="wallet_path", default="~/.bittensor/wallets")
    parser.add_argument("--username", default="sample_creator")
    parser.add_argument("--platform", default="twitter")
    parser.add_argument("--force-fresh", action="store_true", help="queue a fresh run even if a plan exists")
    parser.add_argument("--wait", type=float, default=0.0, help="follow the account up to this many seconds until done")
    parser.add_argument("--out", help="save the image here (PNG)")
    return parser.parse_args(argv)


def show(name: str, synapse: Any, **fields: object) -> bool:
    code = synapse.dendrite.status_code if synapse.dendrite else None
    ok = code == 200
    mark = "✅" if ok else "❌"
    line = f"{mark} {name}: HTTP {code}"
    if not ok:
        line += f" ({synapse.dendrite.status_message if synapse.dendrite else ''})"
    print(line + "".join(f" | {key}: {value}" for key, value in fields.items() if value not in (None, "")))
    return ok


async def run(args: argparse.Namespace) -> int:
    import bittensor as bt

    from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys

    if args.wallet_name:
        if not args.miner_hotkey:
            print(f"{PROG}: error: --miner-hotkey is needed with --wallet.name", file=sys.stderr)
            return 2
        wallet = bt.Wallet(name=args.wallet_name, hotkey=args.wallet_hotkey, path=args.wallet_path)
        target = axon_info(args.miner_hotkey, "", args.ip, args.port or 8091)
        client = MinerClient(wallet, target, offline=False)
    else:
        paths = layout.DataLayout.from_settings(args.data_dir)
        keys = mock_keys(paths.root)
        port = args.port or _running_port(paths)
        client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, args.ip, port))
    all_ok = True
    try:
        status = await client.status(username="", events_limit=5)
        all_ok &= show("StageStatus", status, mode=status.mode, modules=status.modules,
                       accounts=len(status.current or []))
        for entry in status.current or []:
            who = entry.username or "-"
            print(f"     {entry.source:8} {who:16} Stage {entry.stage_number} {entry.stage_name}"
                  f" - {entry.state or entry.status}: {entry.message}")  # idle, stalled... as the miner judges
        deadline = time.monotonic() + args.wait
        force = args.force_fresh
        while True:
            plan = await client.plan(args.username, platform=args.platform, force_fresh=force)
            force = False  # only the first call asks for a fresh run
            stage = (f"Stage {plan.stage.stage_number} {plan.stage.stage_name} - {plan.stage.status}"
                     if plan.stage else None)
            ok = show("ContentPlan", plan, state=plan.state, message=plan.message, stage=stage)
            ok &= plan.state not in ("failed", "rejected")  # answered, but no plan: the check did not pass
            if not ok or plan.state == "done" or time.monotonic() >= deadline:
                all_ok &= ok
                break
            await asyncio.sleep(2.0)
        if plan.state == "done" and plan.plan:
            recommendations = plan.plan.get("recommendations", [])
            for rec in recommendations[:3]:
                text = str(rec.get("title") or rec.get("draft") or "")
                print(f"     #{rec.get('rank')} {rec.get('id')}: {text[:80]}")
            if recommendations:
                rec_id = recommendations[0]["id"]
                image = await client.image(args.username, rec_id, platform=args.platform)
                size = len(base64.b64decode(image.image_png_b64)) if image.image_png_b64 else None
                all_ok &= show("RecommendationImage", image, state=image.state, id=rec_id, png_bytes=size)
                if args.out and image.image_png_b64:
                    Path(args.out).write_bytes(base64.b64decode(image.image_png_b64))
                    print(f"     saved {args.out}")
    finally:
        await client.close()
    return 0 if all_ok else 1


def _running_port(paths: layout.DataLayout) -> int:
    info = read_endpoint(paths.endpoint_file("miner"))
    if info is None or not isinstance(info.get("axon_port"), int):
        raise ValueError(f"no running miner found in {paths.root} (give --port)")
    return int(info["axon_port"])


def main(argv: list[str] | None = None) -> int:
    sys.dont_write_bytecode = True
    os.environ.setdefault("READ_ONLY", "1")  # bittensor must not create ~/.bittensor
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (FileNotFoundError, OSError, ValueError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
