// wildside_ingest._native: the ingest's .osm.pbf reader over libosmium (reader.cpp);
// wildside_ingest/adapters/outbound/pbf_native.py uses it.
#include "native.hpp"

PYBIND11_MODULE(_native, m) {
    m.doc() = "The ingest's C++ reader of .osm.pbf files (libosmium).";
    bind_reader(m);
}
