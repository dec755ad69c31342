"""Without a GPU a CUDA lab can only be compiled: that is said, it is not a pass
nor a failed attempt, and what does give a signal here is offered."""
from __future__ import annotations

import pytest

from tui.core.labs.gpu import cpu_twin, has_gpu
from tui.core.labs.runner import LabRunner, lab_state, record_run, track_progress


@pytest.mark.skipif(has_gpu(), reason="checks the no-GPU path")
def test_a_compiled_but_unverified_kernel_is_not_a_pass(catalog, db):
    from tui.core.gaps import lab_progress

    lab = catalog.labs["cuda-vector-add"]
    runner = LabRunner(db, warm=False)
    result = runner.run(lab, "workspace")  # the untouched starter: compiles, kernel body is a TODO
    assert result.status == "compiled" and not result.ok
    assert result.summary().startswith("COMPILED: correctness needs a GPU")
    assert "passed" not in result.summary()  # the compile check "passing" is not the kernel passing
    assert any("correctness needs a GPU" in note for note in result.notes)
    record_run(db, result)
    assert lab_state(db, lab.id).state == "in progress"
    assert track_progress(db, catalog)["cuda"][0] == 0
    # Gap analysis counts attempts from runs with a verdict only: this one is none.
    assert lab_progress(catalog, db)[lab.id] == {"units": 1, "passed": 0, "runs": 0}


@pytest.mark.parametrize("cuda,triton", [("cuda-softmax", "triton-softmax"),
                                         ("cuda-paged-attention", "triton-paged-attention"),
                                         ("cuda-vector-add", "triton-vector-add")])
def test_cuda_labs_offer_their_triton_twin(catalog, cuda, triton):
    twin = cpu_twin(catalog, catalog.labs[cuda])
    assert twin is not None and twin.id == triton and twin.gpu != "required"


def test_labs_without_a_twin_offer_none(catalog):
    assert cpu_twin(catalog, catalog.labs["cuda-sgemm"]) is None
    assert cpu_twin(catalog, catalog.labs["triton-softmax"]) is None
