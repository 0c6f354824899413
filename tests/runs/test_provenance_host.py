"""What a run records of its host: enough to tell why two hosts' numbers differ in a last bit."""
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

from gancheck.runs.provenance import Host, Invocation


def test_the_host_records_numpys_vector_sets_and_older_records_still_load():
    # The oracle is numpy's own table of the sets it dispatches to and what this CPU supports
    # (what numpy.show_runtime() lists as "found"): the same code rounds sums differently on
    # X86_V3 and on X86_V4, so two hosts of one model name may differ there.
    host = Host.collect()
    assert host.simd.split() == [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]
    # A record written before the field existed loads with it empty.
    old = Invocation.from_dict({"command": "x", "host": {"cpu_model": "AMD EPYC", "cpu_count": 2}})
    assert old.host.simd == "" and old.host.cpu_model == "AMD EPYC"
