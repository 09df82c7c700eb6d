"""The component kinds are declared once (`COMPONENT_KINDS`); built components are checked against their interface."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ilm_core
from ilm_core import PluginError, Registry, Teacher, TeacherSpec, hookimpl
from ilm_core.config import ExperimentConfig
from ilm_core.hookspecs import IlmSpecs
from ilm_core.records import COMPONENT_KINDS, SPEC_TYPES


@pytest.mark.parametrize("kind", COMPONENT_KINDS, ids=lambda k: k.name)
def test_every_kind_has_its_hook_record_interface_and_config_field(kind) -> None:
    assert kind.hook in vars(IlmSpecs) and (getattr(IlmSpecs, kind.hook).__doc__ or "").startswith("Register ")
    record = SPEC_TYPES[kind.name]
    assert record.kind == kind.name and getattr(ilm_core, kind.record) is record
    assert isinstance(getattr(ilm_core, kind.interface), type)
    assert (kind.name in ExperimentConfig.model_fields) == kind.one_per_run  # else chosen by a list field


class NotATeacher:
    """Has a teacher's methods but does not subclass `ilm_core.Teacher`."""

    def select(self, context):
        return []


class Impostor:
    @hookimpl
    def ilm_teachers(self) -> Iterator[TeacherSpec]:
        yield TeacherSpec(name="impostor", summary="test", factory=lambda params: NotATeacher())
        yield TeacherSpec(name="honest", summary="test", factory=lambda params: Honest())


class Honest(Teacher):
    def select(self, context):
        return []

    def learn(self, feedback):
        raise NotImplementedError


def test_a_component_that_is_not_its_kinds_interface_is_refused_naming_the_plugin() -> None:
    registry = Registry()
    registry.register(Impostor(), name="impostor-test")
    assert isinstance(registry.build("teacher", "honest"), Teacher)
    with pytest.raises(
        PluginError, match=r"teacher plugin 'impostor' .* built a NotATeacher, which is not an ilm_core.Teacher"
    ) as info:
        registry.build("teacher", "impostor")
    assert info.value.plugin == "impostor" and info.value.stage == "build"


def test_the_hook_of_every_kind_is_written_out_and_yields_its_record() -> None:
    import inspect

    component_hooks = {name for name in vars(IlmSpecs) if name.startswith("ilm_") and name.endswith("s")}
    component_hooks -= {"ilm_roadmap_cells", "ilm_commands"}
    assert component_hooks == {kind.hook for kind in COMPONENT_KINDS}
    for kind in COMPONENT_KINDS:
        annotation = inspect.signature(getattr(IlmSpecs, kind.hook)).return_annotation
        assert annotation == f"Iterable[{kind.record}]" and kind.record_class.__name__ == kind.record
