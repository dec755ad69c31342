"""cpp-request-pipeline: pipeline.hpp under AddressSanitizer + UBSan and, in a
separate build, ThreadSanitizer + UBSan (ids ending in -tsan)."""
import pytest

from tui.core.labs.cpp import ADDRESS, THREAD, Suite, case_id

SUITE = Suite(__file__, "test_pipeline.cpp", sanitizers=(ADDRESS, THREAD))


def test_compiles(lab_dir):
    SUITE.assert_compiles(lab_dir)


@pytest.mark.parametrize("case", SUITE.cases, ids=case_id)
def test_cpp(lab_dir, case):
    SUITE.assert_passes(lab_dir, *case)
