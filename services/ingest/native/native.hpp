// Shared by the sources of wildside_ingest._native.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <unordered_set>

namespace py = pybind11;

using StringSet = std::unordered_set<std::string>;

inline StringSet to_set(const py::iterable& values) {
    StringSet set;
    for (auto value : values) {
        set.insert(value.cast<std::string>());
    }
    return set;
}

void bind_reader(py::module_& m);
