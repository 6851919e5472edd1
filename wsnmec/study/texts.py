"""Texts of a study file (title, description, figure titles) with placeholders in braces, filled from the
configuration of the variant that runs (full or ``--quick``): every study kind's mechanics (the placeholders
each kind offers: :mod:`wsnmec.study.spec`, :mod:`wsnmec.study.options`)."""

from __future__ import annotations

from dataclasses import replace

from ..errors import ParameterError


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _TextValue(str):
    """A placeholder's text that accepts any format specification (``{nodes:,}`` on a list of values gives
    the list's text)."""

    def __format__(self, spec):
        return str(self)


def _text_of(value):
    """A configuration value as a placeholder value: numbers and strings as they are (format
    specifications apply), ``None`` as "none", lists and tables as text."""
    if value is None:
        return _TextValue("none")
    if isinstance(value, dict):
        return _TextValue(value.get("name", str(value)))
    if isinstance(value, (list, tuple)):
        return _TextValue(", ".join(str(_text_of(v)) for v in value))
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def common_text_values(spec) -> dict:
    """Placeholders every study kind fills: ``seeds``, ``seed``, ``tasks``."""
    return {"seeds": spec.seeds, "seed": spec.seed, "tasks": spec.task_count}


def grid_text_values(grid: dict) -> dict:
    """``NAME`` (the values, comma-separated), ``NAME_count``, ``NAME_min`` and ``NAME_max`` of each swept
    parameter (min and max: numeric parameters only)."""
    values = {}
    for name, options in grid.items():
        values[name] = _text_of(list(options))
        values[f"{name}_count"] = len(options)
        numbers = [v for v in options if _is_number(v)]
        if numbers and len(numbers) == len(options):
            values[f"{name}_min"], values[f"{name}_max"] = _text_of(min(numbers)), _text_of(max(numbers))
    return values


def render_text(template: str, values: dict, where: str) -> str:
    """``template`` with its placeholders filled from ``values`` (``str.format`` syntax).

    Raises
    ------
    ParameterError
        ``where`` names the text; the message lists the known placeholders.
    """
    shown = {name: _text_of(value) for name, value in values.items()}
    try:
        return template.format_map(shown)
    except KeyError as exc:
        raise ParameterError(where, f"uses the unknown placeholder {{{exc.args[0]}}}; known: "
                                    f"{', '.join(sorted(shown))} ({{{{ and }}}} are literal braces)") from None
    except (ValueError, IndexError, AttributeError, TypeError) as exc:
        raise ParameterError(where, f"has a malformed placeholder ({exc}); placeholders are {{NAME}} or "
                                    "{NAME:FORMAT}, and {{ and }} are literal braces") from None


def render_texts(spec):
    """``spec`` with its title, description and figure titles rendered from its templates for its own
    configuration (:func:`render_text`; lifetime and offload studies alike). The templates are kept in
    ``spec.templates`` (taken from the spec's texts the first time), so a variant renders them again."""
    templates = spec.templates or {
        "title": spec.title, "description": spec.description, "figures": tuple(f.title for f in spec.figures)}
    values = spec.text_values()
    where = f"{spec.path}: " + ("quick variant, " if spec.quick else "")
    figures = tuple(replace(figure, title=render_text(title, values, f"{where}figures[{i}].title"))
                    for i, (figure, title) in enumerate(zip(spec.figures, templates["figures"])))
    return replace(spec, title=render_text(templates["title"], values, f"{where}title"),
                   description=render_text(templates["description"], values, f"{where}description"),
                   figures=figures, templates=templates)
