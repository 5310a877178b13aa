"""`--config FILE.yaml`: settings from a file, as defaults that flags on the command line override.

bittensor's own loader (bt.Config._load_config_file) passes the file's top-level keys to
`parser.set_defaults`, so only flat dotted keys (`axon.port: 8091`) work there: the nested layout
that `print(config)` writes (`axon: {port: 8091}`) replaces the whole `axon` section with the
file's part of it, and a misspelt key is silently ignored. Here both layouts work, every key must
be a known flag and every value is converted and checked like the flag's own text, so a bad file
ends in one line naming the key.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1024 * 1024
NOT_FROM_FILE = {"help", "config"}  # a config file cannot name another one


class ConfigFileError(Exception):
    """The config file cannot be used; str() is the one-line reason."""


def parse_bool(text: str) -> bool:
    """The type of the miner's true/false flags (`--blacklist.force_validator_permit false`)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def load_config_file(parser: argparse.ArgumentParser, path: str) -> None:
    """Make the file's settings the parser's defaults; ConfigFileError with a one-line reason."""
    where = f"--config {path}"
    try:
        raw = Path(path).expanduser().read_bytes()[: MAX_CONFIG_BYTES + 1]
    except OSError as err:
        raise ConfigFileError(f"{where}: cannot read it: {err.strerror or err}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigFileError(f"{where}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigFileError(f"{where}: not UTF-8 text") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigFileError(f"{where}: not valid YAML{line}") from None
    if data is None:
        return
    if not isinstance(data, dict):
        raise ConfigFileError(f"{where}: must hold settings as `name: value` lines")
    actions = {action.dest: action for action in parser._actions if action.dest not in NOT_FROM_FILE}
    defaults: dict[str, Any] = {}
    for key, value in _flatten(data, actions).items():
        action = actions.get(key) or actions.get(key.replace("-", "_"))
        if action is None:
            raise ConfigFileError(f"{where}: unknown setting {key!r}")
        try:
            defaults[action.dest] = _converted(action, value)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as err:
            raise ConfigFileError(f"{where}: {key}: {err}") from None
    parser.set_defaults(**defaults)


def _flatten(data: dict[Any, Any], actions: dict[str, argparse.Action], prefix: str = "") -> dict[str, Any]:
    """`{axon: {port: 1}}` and `{axon.port: 1}` both as `{"axon.port": 1}`."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in actions:
            flat.update(_flatten(value, actions, f"{name}."))
        else:
            flat[name] = value
    return flat


def _converted(action: argparse.Action, value: Any) -> Any:
    """The value as the flag would give it (argparse converts only string defaults, and bool("false")
    is True, so a file's `false` or `8091` must be converted here)."""
    if value is None:
        return None
    if action.nargs == 0:  # store_true / store_false
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if isinstance(value, (dict, list)):
        raise TypeError(f"expected a single value, got {type(value).__name__}")
    convert = action.type
    if convert in (bool, parse_bool):  # bittensor's `subtensor._mock` has type=bool
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return parse_bool(value)
        raise TypeError(f"expected true or false, got {value!r}")
    if not callable(convert):
        return str(value)
    if isinstance(value, bool) and convert in (int, float):
        raise TypeError(f"expected a number, got {value!r}")
    try:
        converted = convert(str(value))
    except (TypeError, ValueError):
        raise ValueError(f"expected {getattr(convert, '__name__', 'a valid value')}, got {value!r}") from None
    if action.choices is not None and converted not in action.choices:
        raise ValueError(f"expected one of {', '.join(map(str, action.choices))}, got {value!r}")
    return converted
