"""Plug-in values (``MODULE:OBJECT``) of every registry: a malformed value or a module that cannot be found is
a one-line :class:`ParameterError` naming the parameter, the form and what to do."""

from __future__ import annotations

import pytest

from wsnmec.clustering.registry import policy_class
from wsnmec.energy.harvesters.registry import harvest_model
from wsnmec.errors import ParameterError, import_object
from wsnmec.offload.registry import offload_family
from wsnmec.study.kinds import study_kind_object

#: (resolver, the parameter its errors name, how its form is written); the harvest models' values take a third
#: field (MODULE:OBJECT[:VALUES]), so only their missing-module hint is checked.
RESOLVERS = [
    (policy_class, "--protocol", "a plug-in policy is written MODULE:CLASS"),
    (offload_family, "--model", "a plug-in family is written MODULE:OBJECT"),
    (study_kind_object, "kind", "a plug-in study kind is written MODULE:OBJECT"),
]


@pytest.mark.parametrize("resolve, parameter, form", RESOLVERS)
@pytest.mark.parametrize("value", ["mod:", "mod:Thing:extra", ":Thing", " :Thing"])
def test_a_malformed_plugin_value_names_the_form(resolve, parameter, form, value):
    with pytest.raises(ParameterError) as error:
        resolve(value)
    assert error.value.parameter == parameter
    assert error.value.message.startswith(form) and error.value.message.endswith(f"got {value!r}")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("resolve, parameter", [(r, p) for r, p, _ in RESOLVERS] + [(harvest_model, "--harvest")])
@pytest.mark.parametrize("value, hint", [
    ("wsnmec_no_such_module:Thing", "(install its package, or put its directory on PYTHONPATH)"),
    ("plugins/my_thing.py:Thing", "(MODULE is a dotted module name, not a file path: put the file's directory on "
                                  "PYTHONPATH)"),
])
def test_a_missing_plugin_module_gets_a_hint(resolve, parameter, value, hint):
    with pytest.raises(ParameterError) as error:
        resolve(value)
    assert error.value.parameter == parameter and "cannot import the module" in error.value.message
    assert error.value.message.endswith(hint) and "\n" not in str(error.value)


def test_import_object_follows_dotted_attributes_and_names_a_missing_one():
    assert import_object("os.path:join", "x", "the test value") is __import__("os").path.join
    assert import_object("wsnmec.errors:ParameterError.__init__", "x", "the test value") is ParameterError.__init__
    with pytest.raises(ParameterError, match=r"^x: the module 'os' has no attribute 'nothing_here'"):
        import_object("os:nothing_here", "x", "the test value", form="a value is written MODULE:OBJECT")
