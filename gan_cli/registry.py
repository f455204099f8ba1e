"""What a config may build, and the one way it is built: gan-cli's own classes and factories by name.

A config is data. `build(node, site)` turns a node with `_target_` into an object without
hydra.utils.instantiate, for the configs a user types and the ones read back from a checkpoint alike:

- the target is looked up in REGISTRY, an explicit table of dotted names, by the kind of object its
  place in the config holds (`model.generator` holds a network, `data.dataset` a dataset factory, ...);
  a name that is not in the table is refused, however it starts (`gan_cli.models.dcgan.torch.save`
  walks from a gan-cli module into torch, and is not gan-cli's);
- the name is then imported and the object found is checked to be what the table says: defined in
  that module under that name (its own `__module__` and `__qualname__`, never the string), or, for
  torch's optimizers, the optimizer class itself;
- every other key must be a parameter of that class or function (checked against its signature),
  and its value plain data: numbers, strings, booleans, null, lists and mappings of them. Hydra's
  other special keys (`_args_`, `_recursive_`, `_convert_`, ...) and a `_target_` nested inside
  the arguments are refused; `_partial_` is not read from the config at all but follows the kind
  (objectives and optimizers receive their runtime arguments later, everything else is built whole).

`check_config(config, where)` applies the same checks to every node of a whole config (a stored one,
before anything is built from it) and refuses a `_target_` anywhere but the places in SITES.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass

from omegaconf import OmegaConf

from gan_cli.errors import UserError


@dataclass(frozen=True)
class Kind:
    name: str                       # in messages: "network", "dataset factory", ...
    partial: bool = False           # built as functools.partial, completed later with `runtime`
    runtime: tuple[str, ...] = ()   # arguments the code passes, never the config
    data_keys: tuple[str, ...] = ()  # keys of the node that are data for other code, not arguments


NETWORK = Kind("network")
DATASET = Kind("dataset factory")
OBJECTIVE = Kind("objective factory", partial=True, runtime=("run", "state", "execution", "stats"))
LOSS = Kind("adversarial loss", data_keys=("perceptual",))  # SRGAN's content loss settings ride along
AUXILIARY = Kind("auxiliary objective")
OPTIMIZER = Kind("optimizer", partial=True, runtime=("params",))

# Where a config may name a target, and what kind of object each place holds. Networks sit at
# model.generator and model.discriminator, or at a task's further keys of the same two kinds
# (model.generator_<name>, model.discriminator_<name>: gan_cli/tasks says which a task has).
NETWORK_SITE = re.compile(r"model\.(generator|discriminator)(_[a-z]+)?")
SITES: dict[str, Kind] = {
    "model.generator": NETWORK, "model.discriminator": NETWORK, "model.objective": OBJECTIVE, "model.auxiliary": AUXILIARY, "loss": LOSS,
    "data.dataset": DATASET, "optim.generator": OPTIMIZER, "optim.discriminator": OPTIMIZER,
}

_MODELS = {
    "attention": ("SAGANGenerator", "SAGANDiscriminator"),
    "biggan": ("BigGANGenerator", "BigGANDiscriminator"),
    "conditional": ("ConditionalDCGANGenerator", "ConditionalDCGANDiscriminator", "ACGANDiscriminator"),
    "dcgan": ("DCGANGenerator", "DCGANDiscriminator"),
    "hifigan": ("HiFiGANGenerator", "MultiPeriodDiscriminator", "MultiScaleDiscriminator"),
    "infogan": ("InfoGANDiscriminator",),
    "melgan": ("MelGANGenerator", "MelGANDiscriminator"),
    "mlp": ("MLPGenerator", "MLPDiscriminator"),
    "patchgan": ("PatchDiscriminator",),
    "progan": ("ProGANGenerator", "ProGANDiscriminator"),
    "resnet": ("ResNetGenerator", "ResNetDiscriminator"),
    "specgan": ("SpecGANGenerator", "SpecGANDiscriminator"),
    "srresnet": ("SRResNet", "SRGANDiscriminator"),
    "stackgan": ("StackGANGenerator", "StackGANDiscriminator"),
    "stylegan2": ("StyleGAN2Generator", "StyleGAN2Discriminator"),
    "translator": ("ResnetGenerator",),
    "unet": ("UNetGenerator",),
    "wavegan": ("WaveGANGenerator", "WaveGANDiscriminator"),
}
_DATASETS = {
    "digits": ("digits",), "captioned_digits": ("captioned_digits",),
    "captioned_folder": ("captioned_folder",), "folder": ("folder",),
    "mixtures": ("ring", "grid"),
    "offline_pairs": ("digit_edges", "photographs", "printed_digits"), "paired": ("paired_images",),
    "super_resolution": ("sr_images",), "unpaired": ("unpaired_images",),
    "torchvision_sets": ("mnist", "fashion_mnist", "cifar10", "celeba"),
    "spoken_digits": ("spoken_digits",), "audio_folder": ("audio_folder",), "speech": ("speech",),
}
_OBJECTIVES = ("adversarial", "cyclegan", "pix2pix", "progressive", "matching_aware", "srgan", "style_based", "vocoder")
_LOSSES = ("BCELoss", "HingeLoss", "LeastSquaresLoss", "WassersteinLoss")
_AUXILIARY = ("ClassifierLoss", "InformationLoss")
# torch's optimizers, by the name configs use and the class's own module and name.
_OPTIMIZERS = {f"torch.optim.{name}": f"torch.optim.{name.lower()}.{name}"
               for name in ("Adam", "AdamW", "RMSprop", "SGD")}


def _table() -> dict[str, tuple[Kind, str]]:
    """dotted name -> (kind, where the object must be defined: module.qualname)."""
    table: dict[str, tuple[Kind, str]] = {}
    for kind, package, modules in ((NETWORK, "gan_cli.models", _MODELS), (DATASET, "gan_cli.data", _DATASETS)):
        for module, names in modules.items():
            table.update({f"{package}.{module}.{n}": (kind, f"{package}.{module}.{n}") for n in names})
    objectives = "gan_cli.training.objectives"
    table.update({f"{objectives}.{m}.from_config": (OBJECTIVE, f"{objectives}.{m}.from_config") for m in _OBJECTIVES})
    table.update({f"{objectives}.losses.{n}": (LOSS, f"{objectives}.losses.{n}") for n in _LOSSES})
    table.update({f"{objectives}.auxiliary.{n}": (AUXILIARY, f"{objectives}.auxiliary.{n}") for n in _AUXILIARY})
    table.update({name: (OPTIMIZER, home) for name, home in _OPTIMIZERS.items()})
    return table


REGISTRY: dict[str, tuple[Kind, str]] = _table()


def names_of(kind: Kind) -> list[str]:
    return sorted(name for name, (k, _) in REGISTRY.items() if k is kind)


def build(node, site: str, **runtime):
    """The object that config `node` at `site` describes (see the module docstring for the checks).

    Objectives and optimizers come back as functools.partial, to be called with their runtime
    arguments; `runtime` given here is passed straight away instead."""
    kind = site_kind(site)
    target, kwargs = checked_node(node, site, kind)
    factory = _resolve(target, site, kind)
    _check_signature(factory, target, kwargs, site, kind)
    if kind.partial and not runtime:
        return functools.partial(_call, factory, target, site, kwargs)
    return _call(factory, target, site, kwargs, **runtime)


def _call(factory, target: str, site: str, kwargs: dict, *args, **runtime):
    try:
        return factory(*args, **kwargs, **runtime)
    except UserError:
        raise
    except (TypeError, ValueError, OverflowError, MemoryError, RuntimeError) as error:  # a value of the wrong
        # type or range for the class (10**20 channels, a negative size, more memory than there is)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{site}: {target} cannot be built from its settings "
                        f"({', '.join(f'{k}={v!r}' for k, v in kwargs.items()) or 'none'}): {first}. "
                        f"Check the values under {site}.") from None


def checked_node(node, site: str, kind: Kind) -> tuple[str, dict]:
    """(target, keyword arguments) of a config node, or a UserError naming what is wrong with it."""
    if OmegaConf.is_config(node):
        node = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    if not isinstance(node, dict) or "_target_" not in node:
        raise UserError(f"{site} must be a config node with a _target_ naming a {kind.name} of gan-cli "
                        f"(for example {names_of(kind)[0]}); got {node!r}.")
    target = node["_target_"]
    if not isinstance(target, str) or target not in REGISTRY or REGISTRY[target][0] is not kind:
        raise UserError(f"{site}._target_={target!r} is not one of gan-cli's {kind.name}s, so it is not built "
                        f"(only the classes and functions listed in gan_cli/registry.py are: "
                        f"{', '.join(names_of(kind))}).")
    kwargs = {}
    for key, value in node.items():
        if key == "_target_":
            continue
        if key in kind.data_keys:
            _check_plain(value, f"{site}.{key}")
            continue
        if key == "_partial_":
            if value is not kind.partial and value is not None:
                raise UserError(f"{site}._partial_={value!r}: a {kind.name} is built "
                                f"{'partially (its runtime arguments come later)' if kind.partial else 'whole'}; "
                                f"remove _partial_ or set it to {str(kind.partial).lower()}.")
            continue
        if not isinstance(key, str) or (key.startswith("_") and key.endswith("_")):
            raise UserError(f"{site}.{key} is not allowed: gan-cli builds a {kind.name} from keyword settings "
                            f"only (no _args_, _recursive_, _convert_ or other special keys).")
        _check_plain(value, f"{site}.{key}")
        kwargs[key] = value
    return target, kwargs


def _check_plain(value, where: str) -> None:
    """Settings are plain data: no nested _target_ (nothing inside a setting is ever built)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or (key.startswith("_") and key.endswith("_")):
                raise UserError(f"{where}.{key} is not allowed: a setting cannot hold a _target_ or another special "
                                f"key (nothing nested inside a setting is built).")
            _check_plain(item, f"{where}.{key}")
        return
    raise UserError(f"{where}={value!r} is a {type(value).__name__}, not a number, string, boolean, list or mapping.")


def _resolve(target: str, site: str, kind: Kind):
    """The registered object itself: imported by module and looked up by one name (no attribute walk),
    and checked to be defined where the registry says."""
    home = REGISTRY[target][1]
    module_name, _, name = target.rpartition(".")
    found = vars(importlib.import_module(module_name)).get(name)
    defined_at = f"{getattr(found, '__module__', None)}.{getattr(found, '__qualname__', None)}"
    if found is None or defined_at != home or not callable(found):
        raise UserError(f"{site}._target_={target!r} resolves to {defined_at}, which is not the {kind.name} "
                        f"gan-cli registers under that name ({home}); refusing to build it.")
    return found


def _check_signature(factory, target: str, kwargs: dict, site: str, kind: Kind) -> None:
    """Every setting is a parameter of the target, and every parameter without a default is set."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # pragma: no cover - every registered object has a signature
        return
    misplaced = [k for k in kwargs if k in kind.runtime]
    if misplaced:
        raise UserError(f"{site}.{misplaced[0]} cannot be set in the config: gan-cli passes it to {target} itself.")
    try:
        signature.bind_partial(*(["params"] if kind is OPTIMIZER else []), **kwargs)
    except TypeError as error:
        accepted = [p for p in signature.parameters if p not in kind.runtime and p != "self"]
        raise UserError(f"{site}: {target} does not take these settings ({error}); it takes "
                        f"{', '.join(accepted) or 'none'}.") from None
    required = [name for name, p in signature.parameters.items()
                if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                and name not in kwargs and name not in kind.runtime]
    if required:
        raise UserError(f"{site}: {target} needs {', '.join(site + '.' + r for r in required)}, which the config "
                        f"does not set.")


def site_kind(site: str) -> Kind | None:
    """The kind of object a config may name at `site` (a dotted path), or None where none belongs."""
    return NETWORK if NETWORK_SITE.fullmatch(site) else SITES.get(site)


def check_config(config, where: str) -> None:
    """Every `_target_` of a whole config (from a checkpoint, say) sits at one of SITES, names a
    registered object of that place's kind and holds only plain settings, before anything is built
    from it. Nothing is imported here: the object and its signature are checked when `build` builds
    it, so a command imports only what it uses."""
    container = OmegaConf.to_container(config, resolve=True, throw_on_missing=False) if OmegaConf.is_config(config) else config
    for path, node in _target_nodes(container, ""):
        kind = site_kind(path)
        if kind is None:
            raise UserError(f"{where} names {path}._target_={node.get('_target_')!r}, but no _target_ belongs at "
                            f"{path}: gan-cli builds only {', '.join(SITES)} (and model.generator_<name>, "
                            f"model.discriminator_<name>). Use a checkpoint written by gan-train.")
        try:
            checked_node(node, path, kind)
        except UserError as error:
            raise UserError(f"{where}: {error} Refusing to build anything from it; use a checkpoint written by "
                            f"gan-train.") from None


def _target_nodes(node, prefix: str):
    """(path, node) of every mapping that has a `_target_`, at any depth; SITES' nodes are not searched
    further (a target nested in their settings is refused by checked_node)."""
    if isinstance(node, dict):
        if "_target_" in node:
            yield prefix or "<root>", node
            if site_kind(prefix) is not None:
                return
        for key, value in node.items():
            if key != "_target_":
                yield from _target_nodes(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _target_nodes(item, f"{prefix}[{index}]")
