"""The persisted instantiate state: the tasks' typed outputs, typed parts in memory and
their text form on disk; a state stored before outputs existed still loads."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from spfed.errors import Internal
from spfed.lifecycle.context import (
    Delegated,
    InstantiateOutputs,
    InstantiateState,
    LocalDeployed,
    Placed,
    RemotePart,
    dump_state,
    load_instantiate_state,
)
from spfed.model import DelegatedPart, LocalPart

# As a node stored it while parts were plain strings and tasks shared one mutable
# state: it must still load (a node restarted on an older database recovers its runs).
STORED = {
    "service_id": "s1",
    "operation_id": "op-1",
    "block": "10.1.0.0/16",
    "space": None,
    "block_from_pool": True,
    "placement": {"fw": "pop:ams", "dpi": "sp:wholesale-eu", "nat": "pop:fra"},
    "plan": None,
    "remote": {"sp:wholesale-eu": {"lower": "wholesale-eu", "service_id": "", "last_sequence": 3}},
}


def test_a_state_stored_with_string_parts_loads_typed() -> None:
    state = load_instantiate_state(json.dumps(STORED))
    assert state.placement == {
        "fw": LocalPart("ams"),
        "dpi": DelegatedPart("wholesale-eu"),
        "nat": LocalPart("fra"),
    }
    assert state.remote == {DelegatedPart("wholesale-eu"): RemotePart("wholesale-eu", "", 3)}


def test_parts_are_stored_in_their_text_form_under_their_tasks_outputs() -> None:
    stored = json.loads(dump_state(load_instantiate_state(json.dumps(STORED))))
    assert stored["outputs"]["place"]["placement"] == STORED["placement"]
    assert stored["outputs"]["delegate_subservices"]["remote"] == STORED["remote"]
    assert stored["outputs"]["plan_addresses"] is None


def test_typed_outputs_round_trip() -> None:
    state = InstantiateState(
        "s2",
        "op-2",
        InstantiateOutputs(
            place=Placed({"a": DelegatedPart("x"), "b": LocalPart("p")}),
            deploy_local=LocalDeployed([]),
            delegate_subservices=Delegated({DelegatedPart("x"): RemotePart("x", "sub-1")}),
        ),
    )
    assert load_instantiate_state(dump_state(state)) == state


def test_an_output_of_the_wrong_type_is_refused_and_a_plugins_is_not_kept() -> None:
    outputs = InstantiateOutputs()
    with pytest.raises(Internal, match="task place returned dict"):
        outputs.record("place", {"a": "pop:p"})
    outputs.record("verify_forwarding_paths", "whatever a plug-in returns")
    outputs.record("place", Placed({"a": LocalPart("p")}))
    assert outputs == InstantiateOutputs(place=Placed({"a": LocalPart("p")}))


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("placement", {"fw": "vim:ams"}),
        ("placement", {"fw": 7}),
        ("remote", {"pop:ams": {"lower": "x"}}),
    ],
)
def test_malformed_parts_are_refused_naming_the_field(where: str, value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        load_instantiate_state(json.dumps({**STORED, where: value}))
    assert where in str(raised.value)
