"""cpp-safetensors-reader: safetensors.hpp under AddressSanitizer + UBSan."""
import pytest

from tui.core.labs.cpp import Suite, case_id

SUITE = Suite(__file__, "test_safetensors.cpp")


def test_compiles(lab_dir):
    SUITE.assert_compiles(lab_dir)


@pytest.mark.parametrize("case", SUITE.cases, ids=case_id)
def test_cpp(lab_dir, case):
    SUITE.assert_passes(lab_dir, *case)
