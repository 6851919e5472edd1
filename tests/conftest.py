"""Test-session settings.

The DDLO learner multiplies small matrices (a batch of 128 through layers of about 100 units); a
multi-threaded BLAS only adds thread hand-offs there and, on a loaded 2-core machine, made a training step
8x slower. The suite therefore uses one BLAS thread unless the caller chose otherwise. numpy is not yet
imported when pytest loads this file, so the setting takes effect.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
