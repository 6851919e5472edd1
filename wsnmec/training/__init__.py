"""Training of the learned clustering policies on the round simulator: :mod:`.ddnn` (``ddnn``'s networks) and
:mod:`.prices` (``ddnn-price``'s price weights). Above the simulator and the study runner in the package's
layering (``tests/test_layering.py``), so that no policy module imports the simulator that runs it.
"""
