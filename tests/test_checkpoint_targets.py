"""A checkpoint is data: no stored `_target_`, special key or interpolation makes gan-cli call code.

Each payload below is live: Hydra's own `_locate` resolves it to the function it names (so the old
prefix check on the string let it through); the tests assert that gan-cli refuses it by the key that
names it, exits 2, and that the file the payload would create does not exist.
"""

from __future__ import annotations

import importlib
import types
import warnings

import pytest
import torch
from conftest import TINY_COMMAND, run_cli
from hydra._internal.utils import _locate

from gan_cli import registry
from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.config import stored_config

# Allowed-looking starting points: each registered package, and a family's own module.
STARTS = ["gan_cli.models.dcgan", "gan_cli.models.stylegan2", "gan_cli.data.folder", "gan_cli.data.paired",
          "gan_cli.training.objectives.adversarial", "gan_cli.training.objectives.cyclegan",
          "gan_cli.training.objectives.losses"]
# What each payload calls once it reaches a module, with arguments that create `marker`.
CALLS = {
    "torch": ("save", lambda m: {"obj": 1, "f": str(m)}),
    "os": ("mkdir", lambda m: {"path": str(m)}),
    "subprocess": ("run", lambda m: {"args": ["touch", str(m)]}),
    "builtins": ("open", lambda m: {"file": str(m), "mode": "w"}),
    "pathlib": ("os.mkdir", lambda m: {"path": str(m)}),
    "shutil": ("os.mkdir", lambda m: {"path": str(m)}),
    "pickle": ("io.open", lambda m: {"file": str(m), "mode": "w"}),
}


def _route(start: str, target: str, depth: int = 4) -> str | None:
    """The shortest dotted path of module attributes from module `start` to module `target`, the
    walk Hydra's _locate would make (None when no loaded module leads there)."""
    frontier, seen = [(importlib.import_module(start), "")], set()
    warnings.simplefilter("ignore", FutureWarning)  # torch's deprecated module aliases
    for _ in range(depth):
        following = []
        for module, path in frontier:
            for name, value in sorted(vars(module).items()):
                if not isinstance(value, types.ModuleType) or name.startswith("__") or id(value) in seen:
                    continue
                seen.add(id(value))
                step = f"{path}.{name}" if path else name
                if value.__name__ == target:
                    return step
                following.append((value, step))
        frontier = following
    return None


def payload(start: str, reached: str, marker) -> dict:
    """A config node whose target walks from `start` into module `reached` and creates `marker`."""
    route = _route(start, reached)
    assert route is not None, f"no loaded module leads from {start} to {reached}"
    name, arguments = CALLS[reached]
    return {"_target_": f"{start}.{route}.{name}", **arguments(marker)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    run = root / "run"
    run_cli("gan-train", *TINY_COMMAND, "trainer.steps=2", f"hydra.run.dir={run}", cwd=root, check=True)
    return load_checkpoint(run / "checkpoints" / "last.pt")


def _crafted(checkpoint: dict, change) -> dict:
    crafted = {**checkpoint, "config": _copy(checkpoint["config"]), "config_source": _copy(checkpoint["config_source"])}
    for key in ("config", "config_source"):
        change(crafted[key])
    return crafted


def _copy(value):
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else list(map(_copy, value)) \
        if isinstance(value, list) else value


def _set(config: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        config = config.setdefault(part, {})
    config[last] = value


# Every (start, module) pair for which a walk exists (gan_cli.data.folder imports no torch, so
# nothing leads from it to torch, subprocess, pathlib or shutil: there is no payload to refuse).
LIVE_ROUTES = [(start, reached) for start in STARTS for reached in CALLS if _route(start, reached)]


def test_the_payloads_cover_every_module_and_every_start():
    assert {reached for _, reached in LIVE_ROUTES} == set(CALLS)
    assert {start for start, _ in LIVE_ROUTES} == set(STARTS)
    assert len(LIVE_ROUTES) >= 40


@pytest.mark.parametrize("start, reached", LIVE_ROUTES)
def test_targets_that_walk_out_of_gan_cli_are_refused(start, reached, trained, tmp_path):
    marker = tmp_path / "marker"
    node = payload(start, reached, marker)
    assert callable(_locate(node["_target_"])), node  # live: Hydra would have called it
    for site in ("model.generator", "data.dataset", "loss", "optim.generator", "model.objective"):
        crafted = _crafted(trained, lambda c: _set(c, site, node))
        for source in (False, True):
            with pytest.raises(UserError, match=f"{site}._target_") as error:
                stored_config(crafted, "crafted.pt", source=source)
            assert node["_target_"] in str(error.value) and "crafted.pt" in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("change, message", [
    (lambda c: c["model"]["generator"].update(_args_=["x"]), "model.generator._args_"),
    (lambda c: c["model"]["generator"].update(_recursive_=True), "model.generator._recursive_"),
    (lambda c: c["model"]["generator"].update(_convert_="all"), "model.generator._convert_"),
    (lambda c: c["model"]["generator"].update(_partial_=True), "model.generator._partial_"),
    (lambda c: c["model"]["objective"].update(_partial_=False), "model.objective._partial_"),
    (lambda c: c["model"]["generator"].update(base_width={"_target_": "gan_cli.models.dcgan.DCGANGenerator"}),
     "model.generator.base_width._target_"),
    (lambda c: c["model"].update(generator={"_target_": "gan_cli.data.folder.folder", "root": "/"}),
     "not one of gan-cli's networks"),
    (lambda c: c["trainer"].update(hook={"_target_": "gan_cli.models.dcgan.DCGANGenerator"}), "trainer.hook._target_"),
    (lambda c: c.update(_target_="gan_cli.models.dcgan.DCGANGenerator"), "<root>._target_"),
    (lambda c: c["trainer"].update(seed="${oc.decode:'{_target_: os.system}'}"), "trainer.seed"),
    (lambda c: c["trainer"].update(seed="${oc.create:{a: 1}}"), "trainer.seed"),
    (lambda c: c["data"].update(root="${oc.env:HOME}"), "data.root"),
    (lambda c: c["data"].update(root="${oc.env:${x}}"), "data.root"),
    (lambda c: c["model"].update(name="${run_stamp:%Y}"), "model.name"),
    (lambda c: c["model"]["generator"].update(_target_=["gan_cli.models.dcgan.DCGANGenerator"]), "model.generator._target_"),
])
def test_special_keys_nested_targets_and_resolvers_in_a_stored_config_are_refused(change, message, trained):
    crafted = _crafted(trained, change)
    for source in (False, True):
        with pytest.raises(UserError, match=r"crafted\.pt") as error:
            stored_config(crafted, "crafted.pt", source=source)
        assert message in str(error.value)


def test_settings_are_checked_against_the_signature_before_the_call(trained):
    config = stored_config(_crafted(trained, lambda c: c["model"]["generator"].update(evil=1)), "crafted.pt")
    with pytest.raises(UserError, match="model.generator: .*DCGANGenerator does not take these settings"):
        registry.build(config.model.generator, "model.generator")
    del config.model.generator.evil, config.model.generator.latent_dim
    with pytest.raises(UserError, match="needs model.generator.latent_dim"):
        registry.build(config.model.generator, "model.generator")


def test_the_references_gan_train_writes_are_accepted(trained):
    config = stored_config(trained, "ok.pt", source=True)
    assert config.optim.schedule_steps == config.trainer.steps  # ${trainer.steps} still resolves
    crafted = _crafted(trained, lambda c: c["data"].update(root="${oc.env:GAN_CLI_DATA,data}"))
    assert stored_config(crafted, "ok.pt", source=True).data.root in ("data", __import__("os").environ.get("GAN_CLI_DATA"))


def test_every_target_in_the_packaged_configs_is_registered_and_only_those():
    from importlib import resources

    named = set()
    for path in resources.files("gan_cli.conf").rglob("*.yaml"):
        named |= {line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                  if line.strip().startswith("_target_:")}
    gan_cli_targets = {t for t in named if not t.startswith(("hydra_plugins.", "gan_cli.runs.sweep."))}
    assert gan_cli_targets <= set(registry.REGISTRY)
    for name, (kind, home) in registry.REGISTRY.items():
        module, _, attribute = name.rpartition(".")
        found = vars(importlib.import_module(module))[attribute]
        assert f"{found.__module__}.{found.__qualname__}" == home, name


def test_a_rebound_registry_name_is_refused(monkeypatch):
    """The object found must be the class the registry names, not whatever the module binds there."""
    import gan_cli.models.dcgan as dcgan

    monkeypatch.setattr(dcgan, "DCGANGenerator", torch.save)
    with pytest.raises(UserError, match="resolves to torch.serialization.save"):
        registry.build({"_target_": "gan_cli.models.dcgan.DCGANGenerator"}, "model.generator")


COMMANDS = {
    "gan-train": lambda ckpt, tmp: ["gan-train", f"resume={ckpt}", f"hydra.run.dir={tmp / 'resumed'}"],
    "gan-sample": lambda ckpt, tmp: ["gan-sample", f"ckpt={ckpt}", "n=4"],
    "gan-interp": lambda ckpt, tmp: ["gan-interp", f"ckpt={ckpt}", "steps=3"],
    "gan-eval": lambda ckpt, tmp: ["gan-eval", f"ckpt={ckpt}", "num_samples=16"],
}


# Each command with a payload at another place of the config (the matrix above covers the routes).
@pytest.mark.parametrize("command, site, start, reached", [
    ("gan-train", "optim.discriminator", "gan_cli.training.objectives.cyclegan", "builtins"),
    ("gan-train", "model.generator", "gan_cli.models.dcgan", "torch"),
    ("gan-sample", "model.generator", "gan_cli.models.dcgan", "torch"),
    ("gan-interp", "data.dataset", "gan_cli.data.folder", "os"),
    ("gan-eval", "data.dataset", "gan_cli.data.paired", "torch"),
    ("gan-eval", "model.generator", "gan_cli.training.objectives.losses", "builtins"),
])
def test_every_command_refuses_a_crafted_checkpoint_before_it_runs(command, site, start, reached, trained, tmp_path):
    marker = tmp_path / "marker"
    crafted = tmp_path / "crafted.pt"
    torch.save(_crafted(trained, lambda c: _set(c, site, payload(start, reached, marker))), crafted)
    result = run_cli(*COMMANDS[command](crafted, tmp_path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{site}._target_" in result.stderr and str(crafted) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_gan_sample_input_refuses_a_crafted_translation_checkpoint(tmp_path):
    from test_translation import STEPS, TINY

    run = tmp_path / "run"
    run_cli("gan-train", *TINY["pix2pix"], *STEPS, "trainer.steps=1", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    image = tmp_path / "edges.png"
    __import__("PIL.Image").Image.new("L", (16, 16), 128).save(image)
    for site in ("model.generator", "model.discriminator", "data.dataset"):
        marker = tmp_path / f"marker-{site}"
        crafted = tmp_path / f"crafted-{site}.pt"
        torch.save(_crafted(checkpoint, lambda c: _set(c, site, payload("gan_cli.models.unet", "torch", marker))), crafted)
        for args in ([f"input={image}", f"out={tmp_path / 'out'}"], ["n=2"]):
            result = run_cli("gan-sample", f"ckpt={crafted}", *args, cwd=tmp_path)
            assert result.returncode == 2 and f"{site}._target_" in result.stderr, result.stderr
            assert "Traceback" not in result.stderr and not marker.exists()


def test_a_damaged_training_state_is_named_on_resume(trained, tmp_path):
    crafted = tmp_path / "damaged.pt"
    torch.save({**trained, "ranks": [{"torch": "not a generator state", "cuda": None, "data": {}}]}, crafted)
    result = run_cli("gan-train", f"resume={crafted}", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2 and "'ranks' is damaged" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("setting", [{"latent_dim": 10**20}, {"base_width": -4}, {"latent_dim": "wide"}])
def test_settings_a_network_cannot_be_built_from_are_named(setting, trained):
    config = stored_config(_crafted(trained, lambda c: c["model"]["generator"].update(setting)), "crafted.pt")
    with pytest.raises(UserError, match=r"model.generator: gan_cli.models.dcgan.DCGANGenerator cannot be built"):
        registry.build(config.model.generator, "model.generator")
