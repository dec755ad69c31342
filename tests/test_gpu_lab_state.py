"""Without a GPU a CUDA lab can only be compiled: that is said, and it is not a pass."""
from __future__ import annotations

import pytest

from tui.core.labs.gpu import has_gpu
from tui.core.labs.runner import LabRunner, lab_state, record_run, track_progress


@pytest.mark.skipif(has_gpu(), reason="checks the no-GPU path")
def test_a_compiled_but_unverified_kernel_is_not_a_pass(catalog, db):
    lab = catalog.labs["cuda-vector-add"]
    runner = LabRunner(db, warm=False)
    result = runner.run(lab, "workspace")  # the untouched starter: compiles, kernel body is a TODO
    assert result.status == "compiled" and not result.ok
    assert any("not verified" in note for note in result.notes)
    record_run(db, result)
    assert lab_state(db, lab.id).state == "in progress"
    assert track_progress(db, catalog)["cuda"][0] == 0
