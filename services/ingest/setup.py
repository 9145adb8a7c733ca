"""Builds the ingest's C++ readers (native/: the walking network, the POI candidates)
with pybind11, as the extension `wildside_ingest._native`.

Needs a C++17 compiler and libosmium's headers (Debian: libosmium2-dev, libprotozero-dev,
zlib1g-dev); scripts/system-deps.sh --build installs them before scripts/venv.sh builds.
"""

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension
from setuptools import setup

# the sources compile side by side (one job per CPU)
ParallelCompile("WILDSIDE_BUILD_JOBS").install()

setup(
    ext_modules=[
        Pybind11Extension(
            "wildside_ingest._native",
            ["native/module.cpp", "native/reader.cpp"],
            depends=["native/native.hpp"],
            cxx_std=17,
            # the same floating-point operations as CPython's: no fused multiply-add
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            libraries=["z", "pthread"],
        )
    ],
)
