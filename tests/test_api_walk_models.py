"""The API walk of tests/test_api_walk.py over the models, training, policy gradients and chapter studies.

A file of its own so that pytest (one file per worker) runs it beside the rest of the walk.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_api_walk import (  # noqa: F401 - the fixture runs every call in a temporary folder
    MODEL_CASES,
    WALK_SETTINGS,
    _walk_in_a_temporary_folder,
    walk_case,
)


@pytest.mark.parametrize("key, parameter", MODEL_CASES, ids=[f"{k}:{p}" for k, p in MODEL_CASES])
@WALK_SETTINGS
@given(data=st.data())
def test_bad_value_is_named_or_the_result_is_finite(key, parameter, data):
    walk_case(key, parameter, data)
